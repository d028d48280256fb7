"""Loading press releases: Markdown with YAML front matter, plain text, or JSON lines.

Every record passes through the `Release` model. A broken file or line becomes a `Problem` naming the file,
the line and the field, and the rest of the corpus still loads.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import frontmatter
import yaml
from pydantic import BaseModel, ValidationError, field_validator

from .companies import company_name, ticker_tags

RELEASE_SUFFIXES = (".md", ".markdown", ".txt", ".jsonl")
DATETIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?")
# The longest real release in the shared corpus is ~150 KB; a "release" far beyond that is a mistake (a dump, a
# binary, a concatenation) that would stall indexing, so it is reported and skipped.
MAX_RELEASE_BYTES = 2_000_000


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

    @field_validator("id", mode="before")
    @classmethod
    def _id_is_text(cls, value):
        # An id a YAML or JSON writer typed as a number (`id: 2024001`) is still an id.
        return str(value).strip() if isinstance(value, (int, float)) and not isinstance(value, bool) else value

    @field_validator("id", "text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value or not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("title", "company", "ticker", "exchange", "publisher", "source_url", mode="before")
    @classmethod
    def _none_is_empty(cls, value):
        if isinstance(value, (list, dict, set, tuple)):
            raise ValueError(f"must be text, not a {type(value).__name__}")
        return "" if value is None else str(value).strip()

    @field_validator("date", mode="before")
    @classmethod
    def _blank_date_is_none(cls, value):
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, str) and DATETIME.fullmatch(value.strip()):
            try:  # '2009-05-29 10:00:00' or '2025-02-07T08:30:00Z': the day is what a citation shows
                return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
            except ValueError:
                pass
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


TEXT_METADATA = ("ticker", "exchange", "company", "publisher", "date", "title")   # what extract_metadata finds


def extract_metadata(text: str) -> dict[str, str | dt.date]:
    """What the text of a wire release says about itself: ticker, exchange, company, publisher, date."""
    head = text[:3000]
    meta: dict[str, str | dt.date] = {}
    tags = ticker_tags(head)
    if tags:
        name, exchange, ticker = tags[0]
        meta.update(ticker=ticker, exchange=exchange)
        company = company_name(name)
        if company:
            meta["company"] = company
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
    if 10 <= len(first_line) <= 200 and not first_line.endswith((".", ":")) and "--" not in first_line \
            and not DATELINE_DATE.search(first_line) and not any(p.search(first_line) for p, _ in PUBLISHERS):
        meta["title"] = first_line  # a headline, not the dateline paragraph
    return meta


# --- files ------------------------------------------------------------------------------------------------

class FileProblem(ValueError):
    """A release file that cannot be loaded, with the line and field it went wrong at, when known."""

    def __init__(self, message: str, line: int | None = None, field: str | None = None):
        super().__init__(message)
        self.line = line
        self.field = field


def _problem_from_validation(path: str, err: ValidationError, line: int | None = None) -> Problem:
    first = err.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or None
    return Problem(path=path, line=line, field=field, message=first.get("msg", str(err)))


def _decode(data: bytes, first_line: int = 1) -> str:
    """UTF-8 text (a leading BOM dropped); undecodable bytes are a problem at their line, never guessed at."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = first_line + data.count(b"\n", 0, e.start)
        raise FileProblem(f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})", line=line) from None


def _check_size(size: int) -> None:
    if size > MAX_RELEASE_BYTES:
        raise FileProblem(f"{size / 1e6:.1f} MB is too large for one release "
                          f"(at most {MAX_RELEASE_BYTES / 1e6:.0f} MB)", field="text")


def _read_text(path: Path) -> str:
    _check_size(path.stat().st_size)
    return _decode(path.read_bytes())


def _with_text_metadata(record: dict, text_meta: dict) -> dict:
    """Fill what the record leaves empty from what the text says; never overwrite given metadata."""
    for key, value in text_meta.items():
        if not record.get(key):
            record[key] = value
    return record


class _FrontMatterLoader(yaml.SafeLoader):
    """YAML without implicit types: `ticker: ON` is the ticker ON, not True; `id: 0700` is 0700, not the octal
    448; `date: 2009-13-45` reaches the `Release` model, which names the field, instead of failing in YAML."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                           "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


class _FrontMatter(frontmatter.YAMLHandler):
    def load(self, fm: str, **kwargs):
        data = yaml.load(fm, Loader=_FrontMatterLoader)
        if data is not None and not isinstance(data, dict):
            raise FileProblem(f"must be `key: value` lines, not a YAML {type(data).__name__}", line=2,
                              field="front matter")
        return data


FM_OPEN = re.compile(r"\A\s*^-{3,}\s*$", re.MULTILINE)
FM_LINE = re.compile(r"^-{3,}[ \t]*$", re.MULTILINE)


def load_markdown(path: Path) -> Release:
    raw = _read_text(path)
    try:
        post = frontmatter.loads(raw, handler=_FrontMatter())
    except yaml.YAMLError as e:
        # Where the broken construct starts (an unclosed quote), else where the parser noticed.
        mark = getattr(e, "context_mark", None) or getattr(e, "problem_mark", None)
        line = None
        if mark is not None:
            opening = FM_OPEN.match(raw)
            line = (raw[:opening.end()].count("\n") + 1 if opening else 1) + mark.line
        what = " ".join(p for p in (getattr(e, "problem", None), getattr(e, "context", None)) if p)
        raise FileProblem(f"bad YAML: {what or str(e).splitlines()[0]}", line=line, field="front matter") from None
    if FM_OPEN.match(raw) and not post.metadata and post.content.strip() == raw.strip():
        raise FileProblem("the front matter is not closed by a --- line", line=1, field="front matter")
    record = {str(k): v for k, v in post.metadata.items()}
    record.setdefault("id", path.stem)
    record["text"] = post.content.strip()
    if not record["text"]:
        closing = list(FM_LINE.finditer(raw))[1:2]
        line = raw[:closing[0].start()].count("\n") + 2 if closing else None
        raise FileProblem("the file has front matter but no release text", line=line, field="text")
    try:
        return Release.model_validate(_with_text_metadata(record, extract_metadata(record["text"])))
    except ValidationError as e:
        problem = _problem_from_validation(str(path), e)
        key = re.search(rf"^{re.escape(problem.field or '')}\s*:", raw, re.MULTILINE) if problem.field else None
        line = raw[:key.start()].count("\n") + 1 if key and problem.field in post.metadata else None
        raise FileProblem(problem.message, line=line, field=problem.field) from None


def load_text(path: Path) -> Release:
    text = _read_text(path).strip()
    record = {"id": path.stem, "text": text}
    return Release.model_validate(_with_text_metadata(record, extract_metadata(text)))


def _jsonl_records(path: Path):
    """(line number, Release or Problem) for each non-blank line of a JSON lines file."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                _check_size(len(raw))
                record = json.loads(_decode(raw, n))
                if not isinstance(record, dict):
                    raise FileProblem(f"a line must be a JSON object, not {type(record).__name__}")
                if isinstance(record.get("text"), str) and not all(record.get(k) for k in TEXT_METADATA):
                    record = _with_text_metadata(dict(record), extract_metadata(record["text"]))
                yield n, Release.model_validate(record)
            except ValidationError as e:
                yield n, _problem_from_validation(str(path), e, n)
            except FileProblem as e:
                yield n, Problem(path=str(path), line=n, field=e.field, message=str(e))
            except (ValueError, RecursionError) as e:
                yield n, Problem(path=str(path), line=n, message=f"bad JSON: {e}")


def corpus_files(root: Path) -> list[Path]:
    """The release files under `root`: hidden files and folders, and READMEs, are not releases."""
    if root.is_file():
        return [root] if root.suffix.lower() in RELEASE_SUFFIXES else []
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in RELEASE_SUFFIXES and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts)
                  and p.name.lower() != "readme.md")


def load_file(path: Path):
    """(line, Release or Problem) for each release a file holds or fails to hold."""
    try:
        if path.suffix.lower() == ".jsonl":
            yield from _jsonl_records(path)
        elif path.suffix.lower() == ".txt":
            yield None, load_text(path)
        else:
            yield None, load_markdown(path)
    except ValidationError as e:
        yield None, _problem_from_validation(str(path), e)
    except FileProblem as e:
        yield e.line, Problem(path=str(path), line=e.line, field=e.field, message=str(e))
    except (ValueError, OSError) as e:
        yield None, Problem(path=str(path), message=str(e))


def iter_corpus(root: str | os.PathLike, problems: list[Problem]) -> Iterator[Release]:
    """Each release under `root`, one at a time (a big corpus need not be in memory at once); what cannot be
    loaded is appended to `problems`, not fatal. CorpusError if nothing could be loaded."""
    root = Path(root)
    if not root.exists():
        raise CorpusError(f"{root}: no such file or directory")
    if root.is_file() and root.suffix.lower() not in RELEASE_SUFFIXES:
        raise CorpusError(f"{root}: not a release file: a corpus is a .md, .markdown, .txt or .jsonl file, or a "
                          "folder of them")
    first_seen: dict[str, str] = {}
    for path in corpus_files(root):
        for line, got in load_file(path):
            if isinstance(got, Problem):
                problems.append(got)
                continue
            where = str(path) + (f" line {line}" if line else "")
            if got.id in first_seen:
                problems.append(Problem(path=str(path), line=line, field="id",
                                        message=f"duplicate id {got.id!r} (first at {first_seen[got.id]}); first kept"))
                continue
            first_seen[got.id] = where
            yield got
    if not first_seen:
        detail = "; ".join(str(p) for p in problems[:5]) or "no release files found"
        raise CorpusError(f"{root}: no release could be loaded ({detail})")


def load_corpus(root: str | os.PathLike) -> Corpus:
    """Load every release under `root`; what cannot be loaded is reported, not fatal."""
    problems: list[Problem] = []
    releases = list(iter_corpus(root, problems))
    return Corpus(releases=releases, problems=problems)


def count_releases(root: str | os.PathLike) -> int:
    """About how many releases `root` holds (lines of JSON lines files, other files one each), found without
    parsing: the total of a progress bar."""
    total = 0
    for path in corpus_files(Path(root)):
        if path.suffix.lower() != ".jsonl":
            total += 1
            continue
        with contextlib.suppress(OSError), open(path, "rb") as f:
            last = b"\n"
            for chunk in iter(lambda: f.read(1 << 22), b""):
                total += chunk.count(b"\n")
                last = chunk[-1:]
            total += last != b"\n"
    return total


def fingerprint(root: str | os.PathLike) -> str:
    """Changes whenever any release file's content changes, so a cached index is never stale."""
    root = Path(root)
    h = hashlib.sha256()
    for path in corpus_files(root):
        h.update(str(path.relative_to(root) if root.is_dir() else path.name).encode())
        try:
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        except OSError as e:  # an unreadable file is reported by load_corpus; it must not stop the fingerprint
            h.update(f"unreadable: {e.strerror}".encode())
    return h.hexdigest()[:24]
