"""Growing a corpus: add releases, remove them, and turn a raw wire release into a corpus file.

`irbot add`, `irbot remove` and `irbot ingest` call these. A corpus is a folder of release files or one
`.jsonl` file; adding and removing change only the files concerned, and the index that follows splits only
the releases it has not seen before (see bot.index.open_index).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .corpus import (Problem, Release, load_file, corpus_files, extract_metadata)

FIELDS = ("id", "title", "company", "ticker", "exchange", "date", "publisher", "source_url")


class ManageError(Exception):
    """The request cannot be carried out (nothing was changed)."""


@dataclass
class Change:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    incomplete: dict[str, list[str]] = field(default_factory=dict)  # release id -> the citation fields it lacks


def read_releases(path: Path) -> tuple[list[Release], list[Problem]]:
    """The releases a Markdown, text or JSON lines file holds, and what could not be loaded."""
    releases, problems = [], []
    for _, got in load_file(path):
        (problems if isinstance(got, Problem) else releases).append(got)
    return releases, problems


def _file_mode(path: Path) -> int:
    """The permission bits `path` has, or those a new file gets under the umask (mkstemp alone gives 0600)."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` all at once, keeping the file's permissions."""
    mode = _file_mode(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".irbot-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _append_lines(path: Path, lines: list[str]) -> None:
    """Add JSON lines at the end of `path` (created if absent) without rewriting what it holds: adding one release
    to a large corpus file costs one line. Written in one call, after a newline if the file lacks its last one."""
    if not lines:
        return
    if not path.exists():
        _atomic_write(path, "\n".join(lines) + "\n")
        return
    with open(path, "rb+") as f:
        f.seek(0, os.SEEK_END)
        lead = b""
        if f.tell():
            f.seek(-1, os.SEEK_END)
            lead = b"" if f.read(1) == b"\n" else b"\n"
        f.write(lead + ("\n".join(lines) + "\n").encode("utf-8"))


def to_markdown(release: Release | dict) -> str:
    """A corpus file: YAML front matter with the metadata, then the text."""
    record = release.model_dump() if isinstance(release, Release) else dict(release)
    meta = {k: (record[k].isoformat() if isinstance(record.get(k), dt.date) else record[k])
            for k in FIELDS if record.get(k)}
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{front}---\n{record['text'].strip()}\n"


def _json_line(release: Release) -> str:
    record = release.model_dump(mode="json")
    return json.dumps({k: record[k] for k in (*FIELDS, "text")}, ensure_ascii=False)


def _safe_name(release_id: str) -> str:
    return re.sub(r"[^\w.\-]+", "-", release_id).strip(".-")[:120] or "release"


def _where_ids(corpus: Path) -> dict[str, Path]:
    """Every release id of the corpus and the file that holds it."""
    where: dict[str, Path] = {}
    for path in corpus_files(corpus):
        releases, _ = read_releases(path)
        for r in releases:
            where.setdefault(r.id, path)
    return where


def add_releases(corpus: str | os.PathLike, files: list[str | os.PathLike], replace: bool = False) -> Change:
    """Add the releases of `files` to the corpus: into a folder as one file per release (JSON lines files are
    added whole, as lines of a file of the same name), onto a `.jsonl` corpus as lines. An id already in the
    corpus is a problem unless `replace`."""
    batches, problems = [], []
    for f in map(Path, files):
        if not f.is_file():
            problems.append(Problem(path=str(f), message="no such file"))
            continue
        releases, unreadable = read_releases(f)
        problems += unreadable
        batches.append((str(f), f.name if f.suffix.lower() == ".jsonl" else "", releases))
    return _add(Path(corpus), batches, replace, problems)


def add_release(corpus: str | os.PathLike, release: Release, label: str, replace: bool = False) -> Change:
    """Add one release that is not in a file yet (`irbot ingest --add`); problems name it by `label`."""
    return _add(Path(corpus), [(label, "", [release])], replace, [])


def _add(corpus: Path, batches: list[tuple[str, str, list[Release]]], replace: bool, problems: list) -> Change:
    """`batches`: (what problems call it, the .jsonl file name its lines go to in a folder corpus or "" for one
    Markdown file per release, its releases)."""
    if not corpus.exists():
        raise ManageError(f"{corpus}: no such corpus (a folder of release files or a .jsonl file)")
    change = Change(problems=list(problems))
    where = _where_ids(corpus)
    incoming: list[tuple[str, list[Release]]] = []
    seen: set[str] = set()
    for label, jsonl_name, releases in batches:
        keep = []
        for r in releases:
            if r.id in seen:
                change.problems.append(Problem(path=label, field="id", message=f"duplicate id {r.id!r} among the added files"))
            elif r.id in where and not replace:
                change.problems.append(Problem(path=label, field="id",
                                               message=f"id {r.id!r} is already in the corpus ({where[r.id]}); "
                                                       f"use --replace to replace it"))
            else:
                seen.add(r.id)
                keep.append(r)
        if keep:
            incoming.append((jsonl_name, keep))
    replaced = [r.id for _, rs in incoming for r in rs if r.id in where]
    if replaced:
        remove_releases(corpus, replaced)
        change.replaced = replaced
    for jsonl_name, releases in incoming:
        if not corpus.is_dir():
            _append_lines(corpus, [_json_line(r) for r in releases])
        elif jsonl_name:
            _append_lines(corpus / jsonl_name, [_json_line(r) for r in releases])
        else:
            for r in releases:
                target = corpus / f"{_safe_name(r.id)}.md"
                n = 2
                while target.exists():
                    target = corpus / f"{_safe_name(r.id)}-{n}.md"
                    n += 1
                _atomic_write(target, to_markdown(r))
        change.added += [r.id for r in releases if r.id not in replaced]
        for r in releases:
            lacking = [f for f in ("title", "company", "date") if not getattr(r, f)]
            if lacking:
                change.incomplete[r.id] = lacking
    return change


def remove_releases(corpus: str | os.PathLike, ids: list[str]) -> Change:
    """Remove releases by id: a release file is deleted; a JSON lines file is rewritten without the line."""
    corpus = Path(corpus)
    change = Change()
    wanted = set(ids)
    for path in corpus_files(corpus):
        if path.suffix.lower() == ".jsonl":
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = []
            for line in lines:
                try:
                    rid = json.loads(line).get("id") if line.strip() else None
                except (ValueError, AttributeError):
                    rid = None
                rid = str(rid) if rid is not None else None
                if rid in wanted:
                    change.removed.append(rid)
                else:
                    kept.append(line)
            if len(kept) != len(lines):
                if not kept and path != corpus:
                    path.unlink()
                else:
                    _atomic_write(path, "".join(kept))
        else:
            releases, _ = read_releases(path)
            if releases and releases[0].id in wanted:
                path.unlink()
                change.removed.append(releases[0].id)
    for rid in ids:
        if rid not in change.removed:
            change.problems.append(Problem(path=str(corpus), field="id", message=f"no release with id {rid!r}"))
    return change


# --- ingest: a raw wire release to a corpus file -------------------------------------------------------------

SOURCE_URL = re.compile(r"(?:Web\s*Site|Website|Source|Original(?:\s+release)?|Read more|View source version[^:]*)"
                        r"\s*:\s*(https?://[^\s<>\")]+)", re.I)
ANY_URL = re.compile(r"https?://[^\s<>\")]+")
DATELINE_DAY = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+(\d{1,2})\b(?!,?\s+(?:19|20)\d\d)")
ISO_DATE = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b")


@dataclass
class Ingested:
    record: dict
    found: dict[str, str]
    missing: dict[str, str]     # field -> why it could not be found

    @property
    def markdown(self) -> str:
        return to_markdown(self.record)


def _slug(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", " ".join(p for p in parts if p).lower()).strip("-")[:80]


def ingest_text(text: str, overrides: dict[str, str] | None = None, name: str = "") -> Ingested:
    """The corpus record of a raw wire release: metadata from its text (bot.corpus.extract_metadata, plus the
    source link and an ISO date), `overrides` on top, and what could not be found, with why."""
    text = text.strip()
    if not text:
        raise ManageError("the release text is empty")
    meta: dict = dict(extract_metadata(text))
    missing: dict[str, str] = {}
    if "source_url" not in meta:
        m = SOURCE_URL.search(text)
        if m:
            meta["source_url"] = m.group(1).rstrip(".,;")
    if "date" not in meta:
        m = ISO_DATE.search(text[:600])
        if m:
            try:
                meta["date"] = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                pass
    for key, value in (overrides or {}).items():
        if key not in FIELDS:
            raise ManageError(f"unknown field {key!r} (fields: {', '.join(FIELDS)})")
        meta[key] = value
    if isinstance(meta.get("date"), str):
        try:
            meta["date"] = dt.date.fromisoformat(meta["date"])
        except ValueError:
            raise ManageError(f"date {meta['date']!r} is not YYYY-MM-DD") from None
    if "id" not in meta:
        date = meta["date"].isoformat() if isinstance(meta.get("date"), dt.date) else ""
        meta["id"] = _slug(meta.get("company", "").split()[0] if meta.get("company") else "", meta.get("ticker", ""),
                           date) or _slug(name) or "release"
    reasons = {
        "title": "the first line reads as a sentence, not a headline",
        "company": "no 'Name (EXCHANGE: TICKER)' tag in the first 3,000 characters",
        "ticker": "no '(EXCHANGE: TICKER)' tag in the first 3,000 characters",
        "exchange": "no '(EXCHANGE: TICKER)' tag in the first 3,000 characters",
        "publisher": "no known newswire named in the first 3,000 characters",
        "source_url": "no 'Web site: URL' or 'Source: URL' line",
        "date": "no dateline date with a year in the first 600 characters",
    }
    if "date" not in meta:
        m = DATELINE_DAY.search(text[:600])
        if m:
            reasons["date"] = f"the dateline says {m.group(0)!r} without a year"
    urls = ANY_URL.findall(text)
    if "source_url" not in meta and urls:
        reasons["source_url"] += f" ({len(urls)} other links in the text, e.g. {urls[0].rstrip('.,;')})"
    for key in FIELDS:
        if key != "id" and not meta.get(key):
            missing[key] = reasons[key]
    record = {k: meta[k] for k in FIELDS if meta.get(k)}
    record["text"] = text
    Release.model_validate(record)
    found = {k: (v.isoformat() if isinstance(v, dt.date) else str(v)) for k, v in record.items() if k != "text"}
    return Ingested(record, found, missing)


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ManageError(f"--set wants FIELD=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out
