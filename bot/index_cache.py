"""Opening the index of a corpus: from the cache (a folder of index files, one per corpus path, keyed by the
corpus's fingerprint and the code digest) when the corpus is unchanged, else built, taking over what the previous
index of that corpus holds. A corpus's signature (its files' names, sizes and modification times) saves reading
the whole corpus to fingerprint it when nothing changed; `reload_index` is what a running bot calls."""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .corpus import corpus_files, count_releases, fingerprint, iter_corpus
from .index_build import build_index
from .index_file import INDEX_VERSION, StaleIndex, code_digest, load_index, read_header, save_index, written_for
from .index_model import Index

log = logging.getLogger(__name__)

def default_cache_dir() -> Path:
    return Path(os.environ.get("IRBOT_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "irbot")


def corpus_signature(corpus_path: str | os.PathLike) -> tuple:
    """Cheap to compute (no file is read): changes when a release file is added, removed, resized or touched."""
    root = Path(corpus_path)
    if not root.exists():
        return ()
    out = []
    for p in corpus_files(root):
        st = p.stat()
        out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)


RACY_NS = 3_000_000_000


def settled(signature: tuple, signed_at: int) -> bool:
    """Whether a signature taken at `signed_at` can stand for the files' content: a file modified within a few
    seconds of it could have changed again within the file system's timestamp granularity, so it is hashed."""
    return bool(signature) and all(mtime < signed_at - RACY_NS for _, _, mtime in signature)


@dataclass
class Loaded:
    index: Index
    problems: list
    from_cache: bool
    corpus_path: str = ""
    signature: tuple = ()
    cache_file: str = ""
    signed_at: int = 0


def _cache_files(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("index-*.idx"), key=lambda p: p.stat().st_mtime, reverse=True) if cache_dir.is_dir() else []


def _previous_for(cache_dir: Path, corpus: str, skip: Path) -> Index | None:
    """The newest readable index this code wrote for the same corpus path: its releases need no splitting."""
    for p in _cache_files(cache_dir):
        if p == skip:
            continue
        try:
            if read_header(p).get("corpus") == corpus:
                return load_index(p, releases=False, facts=True)[0]
        except (StaleIndex, OSError, ValueError, KeyError, pickle.UnpicklingError, EOFError) as e:
            log.info("not reusing %s: %s", p, e)
    return None


def _signature_file(cache_dir: Path, corpus: str) -> Path:
    return cache_dir / f"signature-{hashlib.sha1(corpus.encode()).hexdigest()[:16]}.json"


def _key_by_signature(cache_dir: Path, corpus: str, signature: tuple) -> str:
    """The fingerprint of the corpus at `corpus`, if its files are as they were when it was last fingerprinted
    (same names, sizes and modification times, all settled by then)."""
    try:
        saved = json.loads(_signature_file(cache_dir, corpus).read_text())
    except (OSError, ValueError):
        return ""
    if saved.get("code") == code_digest() and saved.get("signature") == [list(x) for x in signature] \
            and settled(signature, saved.get("signed_at", 0)):
        return str(saved.get("fingerprint", ""))
    return ""


def _remember_signature(cache_dir: Path, corpus: str, signature: tuple, signed_at: int, key: str) -> None:
    if not settled(signature, signed_at):
        return
    path = _signature_file(cache_dir, corpus)
    with contextlib.suppress(OSError):
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".signature-", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump({"corpus": corpus, "code": code_digest(), "signature": [list(x) for x in signature],
                       "signed_at": signed_at, "fingerprint": key}, f)
        os.replace(tmp, path)


def _forget_others(cache_dir: Path, corpus: str, keep: Path) -> None:
    """Remove the older index files of the same corpus path (of any version): they would only take space."""
    for p in _cache_files(cache_dir):
        if p == keep:
            continue
        try:
            if written_for(p) == corpus:
                p.unlink()
        except (OSError, ValueError, struct.error):
            continue


def open_index(corpus_path: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
               progress: bool = False, use_cache: bool = True) -> Loaded:
    """The index of the corpus at `corpus_path`: from the cache when the corpus is unchanged; otherwise built,
    splitting only the releases that the previous index of this corpus does not already hold."""
    corpus_path = Path(corpus_path)
    where = str(corpus_path.resolve())
    signature, signed_at = corpus_signature(corpus_path), time.time_ns()
    cache_dir = Path(cache_dir or default_cache_dir())
    # Unchanged files (same names, sizes and modification times as when the index was saved) need no hashing:
    # at a million passages, reading the whole corpus to fingerprint it would take most of the load time.
    key = _key_by_signature(cache_dir, where, signature) if use_cache else ""
    trusted = bool(key)
    if not key:
        key = fingerprint(corpus_path) if corpus_path.exists() else ""
    cache_file = cache_dir / f"index-v{INDEX_VERSION}-{code_digest()}-{key}.idx"
    if use_cache and key and cache_file.exists():
        try:
            index, problems = load_index(cache_file, key)
            if not trusted:
                _remember_signature(cache_dir, where, signature, signed_at, key)
            return Loaded(index, problems, True, where, signature, str(cache_file), signed_at)
        except Exception as e:  # another version, another corpus, damaged: rebuilt, never trusted
            log.warning("rebuilding the index: not using %s: %s", cache_file, e)
    problems: list = []
    releases = iter_corpus(corpus_path, problems)
    previous = _previous_for(cache_dir, where, cache_file) if use_cache and key else None
    if use_cache and key:
        with contextlib.suppress(OSError):
            cache_dir.mkdir(parents=True, exist_ok=True)
    index = build_index(releases, progress=progress, reuse=previous,
                        total=count_releases(corpus_path) if progress else None,
                        scratch=cache_dir if use_cache and key and cache_dir.is_dir() else None)
    del previous
    index.fingerprint = key
    if use_cache and key:
        try:
            save_index(index, cache_file, problems, where)
            _forget_others(cache_dir, where, cache_file)
            _remember_signature(cache_dir, where, signature, signed_at, key)
        except OSError as e:
            log.warning("could not write the index cache %s: %s", cache_file, e)
    return Loaded(index, problems, False, where, signature, str(cache_file), signed_at)


def reload_index(loaded: Loaded | None, corpus_path: str | os.PathLike | None = None,
                 cache_dir: str | os.PathLike | None = None, progress: bool = False) -> Loaded:
    """For a running bot: `loaded` itself when no release file changed (a few stat calls), else the index of
    the corpus as it is now (cached, or rebuilt splitting only new releases). Swap the returned index in;
    questions in flight keep the old one, which stays valid."""
    corpus_path = corpus_path or (loaded.corpus_path if loaded else None)
    if corpus_path is None:
        raise ValueError("reload_index needs a corpus path")
    if loaded is not None and settled(loaded.signature, loaded.signed_at) \
            and loaded.signature == corpus_signature(corpus_path) and loaded.corpus_path == str(Path(corpus_path).resolve()):
        return loaded
    return open_index(corpus_path, cache_dir=cache_dir, progress=progress)
