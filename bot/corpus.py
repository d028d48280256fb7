"""Loading press releases: Markdown with YAML front matter, plain text, or JSON lines.

Every record passes through the `Release` model. A broken file or line becomes a `Problem` naming the file,
the line and the field, and the rest of the corpus still loads.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from pathlib import Path

import frontmatter
import yaml
from pydantic import BaseModel, ValidationError, field_validator

RELEASE_SUFFIXES = (".md", ".markdown", ".txt", ".jsonl")


class Release(BaseModel):
    """One press release, as the bot cites it."""

    id: str
    title: str = ""
    company: str = ""
    ticker: str = ""
    exchange: str = ""
    date: dt.date | None = None
    publisher: str = ""
    source_url: str = ""
    text: str

    @field_validator("id", "text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value or not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("title", "company", "ticker", "exchange", "publisher", "source_url", mode="before")
    @classmethod
    def _none_is_empty(cls, value):
        return "" if value is None else str(value).strip()

    @field_validator("date", mode="before")
    @classmethod
    def _blank_date_is_none(cls, value):
        return None if value in ("", None) else value


class Problem(BaseModel):
    """Why one file, or one line of a file, was not loaded."""

    path: str
    line: int | None = None
    field: str | None = None
    message: str

    def __str__(self) -> str:
        where = self.path + (f" line {self.line}" if self.line else "")
        what = f"{self.field}: " if self.field else ""
        return f"{where}: {what}{self.message}"


class Corpus(BaseModel):
    releases: list[Release]
    problems: list[Problem] = []


class CorpusError(Exception):
    """Nothing could be loaded from the corpus path."""


# --- metadata that the text itself gives -------------------------------------------------------------------

EXCHANGES = (
    r"NYSE\s+American|NYSE\s+Amex|NYSE\s+MKT|NYSE\s+Arca|NYSE|Nasdaq(?:\s+(?:GS|GM|CM|Global\s+Select|Capital"
    r"\s+Market|Global\s+Market|Stockholm|Helsinki|Copenhagen|First\s+North))?|NASDAQ|AMEX|TSXV?|TSX-V|TSX\s+Venture"
    r"|CSE|CBOE|Cboe(?:\s+Canada)?|OTCQX|OTCQB|OTC\s+Pink|OTC\s*Markets|OTC|ASX|AIM|LSE|FSE|SIX|TASE|Euronext"
    r"(?:\s+\w+)?|Oslo\s+B[øo]rs|OSE|XETRA|Frankfurt|HKEX|SGX|JSE|NEO|BMV"
)
TICKER_TAG = re.compile(r"\(\s*(?P<exchange>" + EXCHANGES + r")\s*:\s*(?P<ticker>[A-Z0-9][A-Z0-9.\-]{0,9})\s*[;),]",
                        re.IGNORECASE)
# "Fusion (NYSE Amex: FSN)" or "Mullen Automotive Inc. (NASDAQ: MULN)": the name stands right before the tag.
NAMED_TAG = re.compile(
    r"(?P<name>(?:[A-Z0-9&][\w&.'’\-]*,?\s+){0,6}?[A-Z0-9&][\w&.'’\-]*)\s*" + TICKER_TAG.pattern, re.IGNORECASE)
PUBLISHERS = [
    (re.compile(r"GLOBE\s*NEWSWIRE", re.I), "GlobeNewswire"),
    (re.compile(r"/?PRNewswire", re.I), "PR Newswire"),
    (re.compile(r"BUSINESS\s*WIRE", re.I), "Business Wire"),
    (re.compile(r"ACCESS\s*Newswire|ACCESSWIRE", re.I), "ACCESS Newswire"),
    (re.compile(r"NewMediaWire", re.I), "NewMediaWire"),
    (re.compile(r"TheNewswire", re.I), "TheNewswire"),
    (re.compile(r"Newsfile", re.I), "Newsfile"),
    (re.compile(r"CNW Group|Canada NewsWire", re.I), "Canada NewsWire"),
    (re.compile(r"Marketwired", re.I), "Marketwired"),
]
MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
DATELINE_DATE = re.compile(
    r"\b(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+(?P<day>\d{1,2}),?\s+(?P<year>(?:19|20)\d\d)\b")
NAME_NOISE = re.compile(r"^(?:.*?\b(?:--|–|—)\s*|.*?\b(?:today|announced|that)\s+)", re.I)


def ticker_tags(text: str) -> list[tuple[str, str, str]]:
    """(name before the tag, exchange, ticker) for each `Name (EXCHANGE: TICKER)` in the text."""
    found = []
    for m in NAMED_TAG.finditer(text):
        name = NAME_NOISE.sub("", m.group("name")).strip(" ,")
        found.append((name, normal_exchange(m.group("exchange")), m.group("ticker").upper().rstrip(".")))
    return found


def normal_exchange(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip()


def extract_metadata(text: str) -> dict[str, str | dt.date]:
    """What the text of a wire release says about itself: ticker, exchange, company, publisher, date."""
    head = text[:3000]
    meta: dict[str, str | dt.date] = {}
    tags = ticker_tags(head)
    if tags:
        name, exchange, ticker = tags[0]
        meta.update(ticker=ticker, exchange=exchange)
        if name:
            meta["company"] = name
    for pattern, publisher in PUBLISHERS:
        if pattern.search(head):
            meta["publisher"] = publisher
            break
    m = DATELINE_DATE.search(head[:600])
    if m:
        try:
            meta["date"] = dt.date(int(m.group("year")), MONTHS[m.group("month")[:3].lower()], int(m.group("day")))
        except ValueError:
            pass
    first_line = text.strip().splitlines()[0].strip() if text.strip() else ""
    if 10 <= len(first_line) <= 200 and not first_line.endswith((".", ":")) and "--" not in first_line:
        meta["title"] = first_line
    return meta


# --- files ------------------------------------------------------------------------------------------------

def _problem_from_validation(path: str, err: ValidationError, line: int | None = None) -> Problem:
    first = err.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or None
    return Problem(path=path, line=line, field=field, message=first.get("msg", str(err)))


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text (byte {e.start})") from None


def _with_text_metadata(record: dict, text_meta: dict) -> dict:
    """Fill what the record leaves empty from what the text says; never overwrite given metadata."""
    for key, value in text_meta.items():
        if not record.get(key):
            record[key] = value
    return record


def load_markdown(path: Path) -> Release:
    post = frontmatter.loads(_read_text(path))
    record = {k: v for k, v in post.metadata.items()}
    record.setdefault("id", path.stem)
    record["text"] = post.content.strip()
    if not record["text"]:
        raise ValueError("text: the file has front matter but no release text")
    return Release.model_validate(_with_text_metadata(record, extract_metadata(record["text"])))


def load_text(path: Path) -> Release:
    text = _read_text(path).strip()
    record = {"id": path.stem, "text": text}
    return Release.model_validate(_with_text_metadata(record, extract_metadata(text)))


def load_jsonl(path: Path) -> tuple[list[Release], list[Problem]]:
    releases, problems = [], []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
                if not isinstance(record, dict):
                    raise ValueError("a line must be a JSON object")
                release = Release.model_validate(record)
            except ValidationError as e:
                problems.append(_problem_from_validation(str(path), e, n))
                continue
            except (ValueError, UnicodeDecodeError) as e:
                problems.append(Problem(path=str(path), line=n, message=f"bad JSON: {e}"))
                continue
            releases.append(release)
    return releases, problems


def corpus_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in RELEASE_SUFFIXES
                  and not p.name.startswith(".") and p.name.lower() != "readme.md")


def load_corpus(root: str | os.PathLike) -> Corpus:
    """Load every release under `root`; what cannot be loaded is reported, not fatal."""
    root = Path(root)
    if not root.exists():
        raise CorpusError(f"{root}: no such file or directory")
    releases: list[Release] = []
    problems: list[Problem] = []
    for path in corpus_files(root):
        try:
            if path.suffix.lower() == ".jsonl":
                got, bad = load_jsonl(path)
                releases += got
                problems += bad
            elif path.suffix.lower() == ".txt":
                releases.append(load_text(path))
            else:
                releases.append(load_markdown(path))
        except ValidationError as e:
            problems.append(_problem_from_validation(str(path), e))
        except yaml.YAMLError as e:
            problems.append(Problem(path=str(path), field="front matter", message=f"bad YAML: {e}".splitlines()[0]))
        except (ValueError, OSError) as e:
            field, _, message = str(e).partition(": ") if str(e).startswith("text: ") else (None, "", str(e))
            problems.append(Problem(path=str(path), field=field, message=message))
    seen: dict[str, int] = {}
    unique = []
    for release in releases:
        if release.id in seen:
            problems.append(Problem(path=str(root), field="id", message=f"duplicate id {release.id!r}; first kept"))
            continue
        seen[release.id] = 1
        unique.append(release)
    if not unique:
        detail = "; ".join(str(p) for p in problems[:5]) or "no release files found"
        raise CorpusError(f"{root}: no release could be loaded ({detail})")
    return Corpus(releases=unique, problems=problems)


def fingerprint(root: str | os.PathLike) -> str:
    """Changes whenever any release file's content changes, so a cached index is never stale."""
    root = Path(root)
    h = hashlib.sha256()
    for path in corpus_files(root):
        h.update(str(path.relative_to(root) if root.is_dir() else path.name).encode())
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:24]
