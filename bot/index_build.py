"""Building an index, in parallel and incrementally: releases stream through worker processes that split them
(`index_runs.split_batch`), in order, while the runs come back and are appended; releases that the previous
index of the corpus already holds (matched by `release_digest`: their text and naming metadata) are taken over
from it instead of being split again. Then the matrices are assembled for the whole corpus."""
from __future__ import annotations

import contextlib
import hashlib
import mmap
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from .bm25 import BM25
from .companies import CompanyFacts, build_companies, lead_word_counts
from .corpus import Corpus, Release
from .index_model import Index, ReleaseList, Texts
from .index_runs import Arrays, SplitBatch, SplitRun, WordCounts, split_batch, word_ids

def release_digest(r: Release) -> bytes:
    """What a previous build's work on a release depends on: its text and the metadata that names its company."""
    h = hashlib.sha1()
    for part in (r.title, r.company, r.ticker):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    h.update(r.text.encode("utf-8", "surrogatepass"))
    return h.digest()


def _held_run(index: Index) -> SplitRun:
    """All the releases of a built index as one run (its arrays, not copies): a stretch of them is a part of it."""
    passage_at = np.concatenate([np.zeros(1, dtype=np.int64), index.release_stop_passage])
    return SplitRun(np.asarray(index.release_first_sentence), passage_at,
                    index.sent_start, index.sent_end, index.sent_kind, index.passage_first, index.passage_stop,
                    np.asarray(index.doc_indptr), index.doc_terms, index.doc_counts, index.company_facts)


class Previous:
    """Releases of a previous index, by release_digest, handed back a stretch of consecutive ones at a time."""

    def __init__(self, index: Index):
        self.index = index
        self.position = {h.tobytes(): i for i, h in enumerate(np.asarray(index.release_hash))}
        self.held = _held_run(index)
        self.new_ids = np.full(len(index.vocabulary), -1, dtype=np.int32)   # old term id -> the new index's
        self.words: list[str] | None = None
        self.taken = 0

    def release_pages(self, taken: int) -> None:
        """Every so many releases taken over, let the pages of the old file already read go (they are read
        once, in order; kept, they would count against the build's memory)."""
        self.taken += taken
        mapping = self.index.mapping
        if self.taken >= 4096 and mapping is not None and hasattr(mapping, "madvise"):
            self.taken = 0
            with contextlib.suppress(OSError, ValueError):
                mapping.madvise(mmap.MADV_DONTNEED)

    def run(self, lo: int, hi: int) -> SplitRun:
        """Its releases lo..hi, their terms still the old index's ids (see term_ids)."""
        return self.held.part(lo, hi)

    def term_ids(self, run: SplitRun, vocabulary: dict[str, int]) -> np.ndarray:
        """Old term id -> id in `vocabulary` for every term of `run`, a word new to `vocabulary` taking the next
        id in the order a release-by-release take-over would give it: release by release, each release's
        distinct terms in the order of their old ids."""
        unknown = self.new_ids[run.doc_terms] < 0
        if unknown.any():
            entries = np.diff(run.doc_indptr[run.passage_at])
            release = np.repeat(np.arange(len(run), dtype=np.int64), entries)[unknown]
            new = np.asarray(run.doc_terms)[unknown]
            in_order = np.unique(release * len(self.new_ids) + new) % len(self.new_ids)   # by release, then id
            _, first_seen = np.unique(in_order, return_index=True)
            new = in_order[np.sort(first_seen)]
            words = self.old_words()
            self.new_ids[new] = word_ids(vocabulary, [words[t] for t in new.tolist()])
        return self.new_ids

    def old_words(self) -> list[str]:
        """The old vocabulary by id (made when a release is first taken over: a build may take over none)."""
        if self.words is None:
            self.words = [""] * len(self.index.vocabulary)
            for w, i in self.index.vocabulary.items():
                self.words[i] = w
        return self.words


def start_method() -> str:
    return "spawn" if sys.platform == "win32" else "fork"



BATCH = 128          # releases sent to a worker at once (the fewer new stems a batch brings, the less the main
                     # process spends numbering them: 58 a release at 128, 104 at 32)
IN_PROCESS = 2       # batches split in this process before workers are started (a small corpus needs none)


@dataclass
class _Stretch:
    """Releases read and not yet handed out, consecutive in the corpus and from one place: releases `old`,
    `old` + 1, ... of the previous index, or positions `at`, `at` + 1, ... of batch number `batch`."""
    releases: list[Release] = field(default_factory=list)
    digests: list[bytes] = field(default_factory=list)
    old: int = -1
    batch: int = -1
    at: int = 0

    def __len__(self) -> int:
        return len(self.releases)


class SplitStream:
    """Runs of consecutive releases, with their release_digests and their SplitRun, in order (`runs`): taken over
    from `previous` a stretch at a time where it holds them one after another, else split by `workers` processes
    (`on_batch` sees each SplitBatch as it arrives, before its releases are handed out). Reading runs at most a
    few batches ahead of splitting (a stretch taken over is no longer than that), so a corpus bigger than memory
    streams through."""

    def __init__(self, previous: Previous | None, workers: int, bar, on_batch):
        self.previous, self.workers, self.bar, self.on_batch = previous, workers, bar, on_batch
        self.pool = None
        self.ahead = 4 * max(workers, 1)
        self.limit = (self.ahead + 1) * BATCH     # releases read and not yet handed out
        self.pending: deque[_Stretch] = deque()
        self.waiting = 0                          # the releases in `pending`
        self.results: dict[int, object] = {}      # batch number -> its Future, its SplitBatch, or (once seen) its SplitRun
        self.batch: list[tuple[str, str, str, str]] = []
        self.submitted = 0

    def runs(self, releases: Iterable[Release]) -> Iterator[tuple[list[Release], list[bytes], SplitRun]]:
        try:
            for release in releases:
                digest = release_digest(release)
                old = self.previous.position.get(digest, -1) if self.previous is not None else -1
                stretch = self.stretch_for(release, old)
                stretch.releases.append(release)
                stretch.digests.append(digest)
                self.waiting += 1
                if len(self.batch) >= BATCH:
                    self.submit()
                if self.waiting > self.limit and self.pending[0].batch == self.submitted:
                    self.submit()   # releases taken over pile up behind ones waiting in a batch still filling: send it
                while self.pending and self.ready(self.pending[0]):
                    yield self.emit()
            self.submit()
            while self.pending:
                yield self.emit()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=False, cancel_futures=True)

    def submit(self) -> None:
        """Send the batch being filled to be split (in this process for the first IN_PROCESS batches)."""
        if not self.batch:
            return
        if self.pool is None and self.workers > 1 and self.submitted >= IN_PROCESS:
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context(start_method()))
        self.results[self.submitted] = (self.pool.submit(split_batch, self.batch) if self.pool
                                        else split_batch(self.batch))
        self.submitted, self.batch = self.submitted + 1, []

    def stretch_for(self, release: Release, old: int) -> _Stretch:
        """The stretch `release` joins: the last one, if it continues it."""
        pending = self.pending
        tail = pending[-1] if pending else None
        if old >= 0:
            if tail is None or tail.old < 0 or tail.old + len(tail) != old or len(tail) >= self.limit:
                pending.append(_Stretch(old=old))
        else:
            if tail is None or tail.batch != self.submitted:
                pending.append(_Stretch(batch=self.submitted, at=len(self.batch)))
            self.batch.append((release.title, release.company, release.ticker, release.text))
        return pending[-1]

    def ready(self, head: _Stretch) -> bool:
        if head.batch < 0:     # taken over: once nothing more can join it
            return len(self.pending) > 1 or len(head) >= self.limit
        got = self.results.get(head.batch)
        return head.batch < self.submitted and (isinstance(got, (SplitBatch, SplitRun)) or got.done()
                                                or len(self.results) > self.ahead or self.waiting > self.limit)

    def emit(self) -> tuple[list[Release], list[bytes], SplitRun]:
        head = self.pending.popleft()
        if head.batch < 0:
            run = self.previous.run(head.old, head.old + len(head))
            self.previous.release_pages(len(head))
        else:
            got = self.results[head.batch]
            if not isinstance(got, SplitRun):
                arrived = got if isinstance(got, SplitBatch) else got.result()   # (a dead worker raises)
                self.on_batch(arrived)
                got = self.results[head.batch] = arrived.run
            run = got.part(head.at, head.at + len(head))
            if head.at + len(head) == len(got):
                del self.results[head.batch]
        self.waiting -= len(head)
        self.bar.update(len(head))
        return head.releases, head.digests, run


def split_stream(releases: Iterable[Release], previous: Previous | None, workers: int, bar,
                 on_batch) -> Iterator[tuple[list[Release], list[bytes], SplitRun]]:
    """SplitStream(...).runs(releases): close it to stop the workers early."""
    return SplitStream(previous, workers, bar, on_batch).runs(releases)


class _Growing:
    """An index as it grows, a run of releases at a time: its arrays, the texts (to a temporary file, as they
    pass), the releases' metadata, digests and company facts, the vocabulary and the directory's word counts."""

    def __init__(self, scratch: str | os.PathLike | None):
        self.vocabulary: dict[str, int] = {}
        self.meta: list[Release] = []
        self.hashes: list[bytes] = []
        self.facts: list[CompanyFacts] = []
        self.release_df = WordCounts()
        self.text_file = tempfile.TemporaryFile(prefix="irbot-texts-", dir=scratch)
        self.grown = Arrays()
        self.reused = 0

    def on_batch(self, batch: SplitBatch) -> None:
        """A batch split by a worker has arrived: number its stems, count its lead words."""
        batch.run.ids = word_ids(self.vocabulary, batch.terms)
        self.release_df.add(batch.lead_words)

    def add(self, run_releases: list[Release], digests: list[bytes], run: SplitRun, previous: Previous | None) -> None:
        encoded = [release.text.encode("utf-8", "surrogatepass") for release in run_releases]
        self.text_file.write(b"".join(encoded))
        self.meta.extend(release.model_copy(update={"text": ""}) for release in run_releases)
        self.hashes.extend(digests)
        if run.ids is None:    # taken over from the previous index
            run.ids = previous.term_ids(run, self.vocabulary)
            self.release_df.add(lead_word_counts(run.facts))
            self.reused += len(run)
        self.facts.extend(run.facts)
        self.grown.add(run, np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))

    def index(self) -> Index:
        """The index of every release added: the matrices assembled for the whole corpus."""
        n, grown, text_file = len(self.meta), self.grown, self.text_file
        doc_indptr = grown.indptr.offsets()
        doc_terms, doc_counts = grown.terms.numpy(), grown.counts.numpy()
        bm25 = BM25.from_counts(doc_indptr, doc_terms, doc_counts, len(self.vocabulary))
        release_first_sentence, passage_at, text_offsets = (c.offsets() for c in (grown.sentence_at,
                                                                                   grown.passage_at, grown.text_at))
        text_file.flush()
        texts = Texts(mmap.mmap(text_file.fileno(), 0, access=mmap.ACCESS_READ) if text_offsets[-1] else b"",
                      text_offsets, text_file)   # (an unnamed file: gone with the index)
        return Index(
            releases=ReleaseList(self.meta, texts),
            sent_release=np.repeat(np.arange(n, dtype=np.int32), np.diff(release_first_sentence)),
            sent_start=grown.starts.numpy(), sent_end=grown.ends.numpy(), sent_kind=grown.kinds.numpy(),
            passage_release=np.repeat(np.arange(n, dtype=np.int32), np.diff(passage_at)),
            passage_first=grown.first.numpy(), passage_stop=grown.stop.numpy(),
            release_first_passage=passage_at[:-1], release_stop_passage=passage_at[1:],
            vocabulary=self.vocabulary, bm25=bm25, companies=build_companies(self.facts, self.release_df),
            company_facts=self.facts, release_first_sentence=release_first_sentence,
            release_hash=np.frombuffer(b"".join(self.hashes), dtype=np.uint8).reshape(n, 20),
            doc_indptr=doc_indptr, doc_terms=doc_terms, doc_counts=doc_counts, reused=self.reused,
        )


def build_index(corpus: Corpus | Iterable[Release], progress: bool = False, workers: int | None = None,
                reuse: Index | None = None, total: int | None = None, scratch: str | os.PathLike | None = None) -> Index:
    """The index of `corpus` (a Corpus, or releases as they are read: `total` says about how many). Releases
    that `reuse` (a previous index) already holds are taken over from it; only the others are split, in
    `workers` processes; then the matrices are assembled for the whole corpus (every score depends on the
    whole corpus through idf and the average passage length). The texts go to a temporary file as they pass,
    so only the arrays and the releases' metadata are ever held in memory (in `scratch`, a folder: where the
    index will be saved, rather than a temporary folder that may be memory)."""
    started = time.perf_counter()
    releases = corpus.releases if isinstance(corpus, Corpus) else corpus
    total = len(releases) if isinstance(releases, list) else total
    previous = Previous(reuse) if reuse is not None and reuse.company_facts is not None else None
    workers = workers or min(os.cpu_count() or 1, 4)
    bar = tqdm(total=total, desc="indexing releases", unit="release", disable=not progress,
               file=sys.stderr, mininterval=0.5)
    growing = _Growing(scratch)
    stream = split_stream(releases, previous, workers, bar, growing.on_batch)
    with contextlib.closing(stream), bar:   # (on an error too: the workers stop, the bar ends)
        for run_releases, digests, run in stream:
            growing.add(run_releases, digests, run, previous)
    index = growing.index()
    index.build_seconds = time.perf_counter() - started
    return index
