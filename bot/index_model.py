"""What a built index holds, and its lookups: the releases (metadata in memory, texts memory-mapped), the
sentence and passage arrays, the vocabulary, BM25, the company directory; and `derived`, what the answering
core works out from it at question time and keeps with it. Built by `index_build`, saved and loaded by
`index_file`."""
from __future__ import annotations

import mmap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .bm25 import BM25
from .companies import CompanyDirectory, CompanyFacts, company_key
from .corpus import Release


class DerivedCache:
    """Values the answering core derives from an index as questions need them (a release's words, its dateline
    sentence, whether the corpus is one company's), kept with the index they come from, so that a reloaded index
    never sees another's. Per release, a table is emptied when it grows past its limit."""

    def __init__(self):
        self.tables: dict[str, dict] = {}
        self.values: dict[str, object] = {}

    def per_release(self, name: str, release: int, limit: int, compute: Callable[[], object]):
        table = self.tables.setdefault(name, {})
        value = table.get(release)
        if value is None:   # (a local: another thread may clear the table meanwhile)
            if len(table) > limit:
                table.clear()
            value = table[release] = compute()
        return value

    def once(self, name: str, compute: Callable[[], object]):
        if name not in self.values:
            self.values[name] = compute()
        return self.values[name]


class Texts(Sequence[str]):
    """Release texts, UTF-8, one after another in a buffer (a memory-mapped file): a big corpus is read from the
    page cache as quotes need it instead of being held in memory."""

    def __init__(self, buffer, offsets: np.ndarray, file=None):
        self.buffer, self.offsets = buffer, offsets
        self.file = file    # the file behind `buffer`, when this process wrote it
        self._recent: dict[int, str] = {}     # a few decoded texts (an answer reads one release many times)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def _decode(self, i: int) -> str:
        return bytes(self.buffer[int(self.offsets[i]):int(self.offsets[i + 1])]).decode("utf-8", "surrogatepass")

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        text = self._recent.get(i)
        if text is None:
            if len(self._recent) >= 64:
                self._recent.clear()
            text = self._recent[i] = self._decode(i)
        return text

    def nbytes(self) -> int:
        return int(self.offsets[-1])

    def copy_to(self, out) -> None:
        """Write all the texts to `out`: read from the file when there is one, since reading through the
        mapping would make every page of it resident in this process."""
        size = self.nbytes()
        if self.file is not None:
            self.file.seek(0)
            while size > 0:
                chunk = self.file.read(min(size, 1 << 24))
                if not chunk:
                    raise OSError("the texts file ended early")
                out.write(chunk)
                size -= len(chunk)
            return
        for lo in range(0, size, 1 << 24):
            out.write(self.buffer[lo:min(lo + (1 << 24), size)])


class ReleaseList(Sequence[Release]):
    """The releases of an index: their metadata in memory (`meta`, texts empty), each text read when asked."""

    def __init__(self, meta: list[Release], texts: Texts):
        self.meta, self.texts = meta, texts

    def __len__(self) -> int:
        return len(self.meta)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        return self.meta[i].model_copy(update={"text": self.texts[i if i >= 0 else i + len(self)]})


@dataclass
class Index:
    releases: ReleaseList
    sent_release: np.ndarray
    sent_start: np.ndarray
    sent_end: np.ndarray
    sent_kind: np.ndarray
    passage_release: np.ndarray
    passage_first: np.ndarray     # first sentence of the passage
    passage_stop: np.ndarray      # one past its last sentence
    release_first_passage: np.ndarray
    release_stop_passage: np.ndarray
    vocabulary: dict[str, int]
    bm25: BM25
    companies: CompanyDirectory
    fingerprint: str = ""
    build_seconds: float = 0.0
    by_id: dict[str, int] = field(default_factory=dict)
    # What lets a later build take a release over without splitting it again (see build_index's `reuse`):
    release_first_sentence: np.ndarray | None = None   # offsets, one per release plus the end
    release_hash: np.ndarray | None = None             # release_digest of each release (uint8, n x 20)
    company_facts: list[CompanyFacts] | None = None
    doc_indptr: np.ndarray | None = None               # passage p's distinct terms are doc_terms[doc_indptr[p]:...]
    doc_terms: np.ndarray | None = None
    doc_counts: np.ndarray | None = None
    reused: int = 0                                    # releases taken over from a previous index
    mapping: mmap.mmap | None = None                   # the file the arrays are mapped from, when loaded
    derived: DerivedCache = field(default_factory=DerivedCache, repr=False, compare=False)

    def __post_init__(self):
        self.by_id = {r.id: i for i, r in enumerate(self.releases.meta)}

    def text(self, release: int) -> str:
        return self.releases.texts[release]

    def sentence(self, i: int) -> str:
        return self.text(int(self.sent_release[i]))[int(self.sent_start[i]):int(self.sent_end[i])]

    def release_sentences(self, release: int) -> range:
        """The ids of a release's sentences, first to last."""
        return range(int(self.passage_first[self.release_first_passage[release]]),
                     int(self.passage_stop[self.release_stop_passage[release] - 1]))

    def term_ids(self, tokens: list[str]) -> list[int]:
        return [self.vocabulary.get(t, -1) for t in tokens]

    def passages_of(self, releases) -> np.ndarray:
        return np.concatenate([np.arange(self.release_first_passage[r], self.release_stop_passage[r])
                               for r in releases]) if len(releases) else np.zeros(0, dtype=np.int64)

    def stats(self) -> dict:
        companies = {company_key(r.company) for r in self.releases.meta if r.company}
        return {"releases": len(self.releases), "passages": int(len(self.passage_release)),
                "sentences": int(len(self.sent_release)), "companies": len(companies),
                "vocabulary": len(self.vocabulary), "build_seconds": round(self.build_seconds, 2)}
