"""The index on disk, one file: MAGIC, the format version and a JSON header (what wrote it, for which corpus,
where each part is), then a pickle of the small parts (vocabulary, company directory), the big arrays and the
release texts (UTF-8), raw, which are memory-mapped on load rather than read, a pickle of the releases' metadata,
and one of each release's company facts (read only by a later build). The version, the code digest and the
corpus fingerprint are checked before anything else is read: a file written by another version or for another
corpus is rebuilt."""
from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import pickle
import struct
import tempfile
from pathlib import Path

import numpy as np

from .bm25 import BM25
from .index_model import Index, ReleaseList, Texts

INDEX_VERSION = 7
# The modules whose code decides what an index holds (splitting, stemming, naming companies, scoring, the format).
INDEXING_CODE = ("text.py", "sentences.py", "corpus.py", "companies.py", "passages.py", "bm25.py", "index_model.py",
                 "index_runs.py", "index_build.py", "index_file.py")

MAGIC = b"IRBOT-INDEX\n"
_PREFIX = struct.Struct("<IQ")   # format version, header length
_ALIGN = 64
_ARRAYS = ("sent_release", "sent_start", "sent_end", "sent_kind", "passage_release", "passage_first",
           "passage_stop", "release_first_passage", "release_stop_passage", "release_first_sentence",
           "release_hash", "doc_indptr", "doc_terms", "doc_counts")


class StaleIndex(Exception):
    """An index file that must not be used: another version, another corpus, or damaged."""


def code_digest() -> str:
    """Changes whenever the code that decides what the index holds changes (splitting, stemming, scoring)."""
    h = hashlib.sha256(str(INDEX_VERSION).encode())
    here = Path(__file__).resolve().parent
    for name in INDEXING_CODE:
        try:
            h.update((here / name).read_bytes())
        except OSError:
            h.update(name.encode())
    return h.hexdigest()[:12]


def _aligned(n: int) -> int:
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


def save_index(index: Index, path: str | os.PathLike, problems: list | None = None, corpus_path: str = "") -> None:
    """Write `index` to `path` atomically (a reader sees the old file or the new one, never half of one).
    Then the texts, the biggest part, copied from the build's file; the releases' metadata; and what only a later
    build reads (each release's company facts)."""
    path = Path(path)
    params, bm25_arrays = index.bm25.state()
    arrays = {name: np.ascontiguousarray(getattr(index, name)) for name in _ARRAYS}
    texts = index.releases.texts
    arrays["text_offsets"] = np.ascontiguousarray(texts.offsets, dtype=np.int64)
    arrays.update({"bm25." + k: np.ascontiguousarray(v) for k, v in bm25_arrays.items()})
    meta = pickle.dumps({"vocabulary": index.vocabulary, "companies": index.companies,
                         "problems": list(problems or []), "bm25": params, "build_seconds": index.build_seconds},
                        protocol=pickle.HIGHEST_PROTOCOL)
    layout, offset = {}, _aligned(len(meta))
    for name, a in arrays.items():
        layout[name] = [offset, a.dtype.str, list(a.shape)]
        offset = _aligned(offset + a.nbytes)
    texts_at = offset
    releases_at = _aligned(texts_at + texts.nbytes())

    def header_for(releases_length: int, facts_length: int, size: int) -> bytes:
        return json.dumps({"version": INDEX_VERSION, "code": code_digest(), "fingerprint": index.fingerprint,
                           "corpus": corpus_path, "meta": [0, len(meta)], "texts": [texts_at, texts.nbytes()],
                           "releases": [releases_at, releases_length],
                           "facts": [releases_at + releases_length, facts_length],
                           "arrays": layout, "size": size}).encode()

    room = len(header_for(10**15, 10**15, 10**15))   # the header is padded to this, whatever the two lengths
    data_start = _aligned(len(MAGIC) + _PREFIX.size + room)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".index-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.seek(data_start)
            f.write(meta)
            for name, a in arrays.items():
                f.seek(data_start + layout[name][0])
                f.write(memoryview(a.reshape(-1)).cast("B") if a.nbytes else b"")
            f.seek(data_start + texts_at)
            texts.copy_to(f)
            f.seek(data_start + releases_at)
            pickle.dump(index.releases.meta, f, protocol=pickle.HIGHEST_PROTOCOL)
            releases_length = f.tell() - data_start - releases_at
            pickle.dump(index.company_facts, f, protocol=pickle.HIGHEST_PROTOCOL)
            facts_length = f.tell() - data_start - releases_at - releases_length
            f.truncate(f.tell())
            header = header_for(releases_length, facts_length, releases_at + releases_length + facts_length)
            f.seek(0)
            f.write(MAGIC + _PREFIX.pack(INDEX_VERSION, room) + header.ljust(room))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_header(path: str | os.PathLike) -> dict:
    """The header of an index file; StaleIndex if it is not one this version can read."""
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise StaleIndex("not an irbot index file")
        prefix = f.read(_PREFIX.size)
        if len(prefix) != _PREFIX.size:
            raise StaleIndex("truncated")
        version, length = _PREFIX.unpack(prefix)
        if version != INDEX_VERSION:
            raise StaleIndex(f"written by index format {version}, this is {INDEX_VERSION}")
        try:
            header = json.loads(f.read(length))
        except ValueError:
            raise StaleIndex("damaged header") from None
    header["data_start"] = _aligned(len(MAGIC) + _PREFIX.size + length)
    return header


def load_index(path: str | os.PathLike, fingerprint: str | None = None, releases: bool = True,
               facts: bool = False) -> tuple[Index, list]:
    """(index, problems) from `path`, the arrays memory-mapped. StaleIndex unless the file was written by this
    version of the code for the corpus with this fingerprint (when given), and is whole. Without `releases`,
    the index has none; with `facts`, it has each release's company facts (what a later build needs)."""
    header = read_header(path)
    if header.get("code") != code_digest():
        raise StaleIndex("written by another version of the indexing code")
    if fingerprint is not None and header.get("fingerprint") != fingerprint:
        raise StaleIndex("written for another corpus")
    start = header["data_start"]
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size != start + header["size"]:
            raise StaleIndex("truncated or padded")
        f.seek(start + header["meta"][0])
        meta = pickle.loads(f.read(header["meta"][1]))
        if releases:
            f.seek(start + header["releases"][0])
            meta["releases"] = pickle.load(f)
            if f.tell() != start + header["releases"][0] + header["releases"][1]:
                raise StaleIndex("damaged releases")
        if facts:
            f.seek(start + header["facts"][0])
            meta["company_facts"] = pickle.load(f)
            if f.tell() != start + header["facts"][0] + header["facts"][1]:
                raise StaleIndex("damaged company facts")
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    arrays = {}
    for name, (offset, dtype, shape) in header["arrays"].items():
        count = int(np.prod(shape, dtype=np.int64))
        arrays[name] = (np.frombuffer(mapped, dtype=np.dtype(dtype), count=count, offset=start + offset).reshape(shape)
                        if count else np.zeros(shape, dtype=np.dtype(dtype)))
    bm25 = BM25.from_state(meta["bm25"], {k[5:]: v for k, v in arrays.items() if k.startswith("bm25.")})
    texts_at, texts_length = header["texts"]
    texts = Texts(memoryview(mapped)[start + texts_at:start + texts_at + texts_length], arrays.pop("text_offsets"))
    index = Index(releases=ReleaseList(meta.get("releases", []), texts), vocabulary=meta["vocabulary"], bm25=bm25,
                  companies=meta["companies"],
                  company_facts=meta.get("company_facts"), mapping=mapped,
                  fingerprint=header["fingerprint"], build_seconds=meta["build_seconds"],
                  **{name: arrays[name] for name in _ARRAYS})
    return index, meta["problems"]


def written_for(path: str | os.PathLike) -> str | None:
    """The corpus an index file of any format version was written for (None: not an index file). Raises
    OSError, ValueError or struct.error for a file it cannot read."""
    with open(path, "rb") as f:
        head = f.read(len(MAGIC) + _PREFIX.size)
        if head[:len(MAGIC)] != MAGIC:
            return None
        header = json.loads(f.read(_PREFIX.unpack(head[len(MAGIC):])[1]))
    return header.get("corpus")
