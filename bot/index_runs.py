"""Releases split and packed as arrays: the unit the build moves between processes and appends to the index
(`SplitRun`, `SplitBatch`, made by `split_batch` in a worker), the growing columns the index is assembled in,
and the numbering of words (stems for the vocabulary, words for the directory's counts)."""
from __future__ import annotations

import array
import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import filterfalse

import numpy as np

from .companies import CompanyFacts, company_facts, lead_word_counts
from .passages import ReleaseParts, split_release

@dataclass
class SplitRun:
    """Consecutive releases split and tokenized, their arrays packed end to end in the compact form the index
    keeps: what the index appends in one step, however many releases it holds. Sentence and entry positions are
    relative to the run's start."""
    sentence_at: np.ndarray   # int64 (releases + 1): release k has sentences sentence_at[k]:sentence_at[k + 1]
    passage_at: np.ndarray    # int64 (releases + 1): the same for passages
    starts: np.ndarray        # int32, one per sentence: its character span in its release's text
    ends: np.ndarray
    kinds: np.ndarray         # int8, one per sentence
    first: np.ndarray         # int32, one per passage: its first sentence
    stop: np.ndarray          # one past its last sentence
    doc_indptr: np.ndarray    # int64 (passages + 1): passage p has doc_terms[doc_indptr[p]:doc_indptr[p + 1]]
    doc_terms: np.ndarray     # int32 positions in `ids`, each once per passage
    doc_counts: np.ndarray    # int32 how often each occurs in the passage
    facts: Sequence[CompanyFacts]
    ids: np.ndarray | None = None   # the index's term id of each value of doc_terms, once known

    def __len__(self) -> int:
        return len(self.sentence_at) - 1

    def part(self, lo: int, hi: int) -> SplitRun:
        """Releases lo..hi of the run, as a run of their own."""
        if lo == 0 and hi == len(self):
            return dataclasses.replace(self)    # (a new object: setting its ids must not set the whole run's)
        s0, s1 = int(self.sentence_at[lo]), int(self.sentence_at[hi])
        p0, p1 = int(self.passage_at[lo]), int(self.passage_at[hi])
        e0, e1 = int(self.doc_indptr[p0]), int(self.doc_indptr[p1])
        return SplitRun(self.sentence_at[lo:hi + 1] - s0, self.passage_at[lo:hi + 1] - p0,
                        self.starts[s0:s1], self.ends[s0:s1], self.kinds[s0:s1],
                        self.first[p0:p1] - s0, self.stop[p0:p1] - s0, self.doc_indptr[p0:p1 + 1] - e0,
                        self.doc_terms[e0:e1], self.doc_counts[e0:e1], self.facts[lo:hi], self.ids)


class _Numbering(dict):
    """stem -> its number, a new stem taking the next one (looked up at C speed; only a new stem runs Python)."""

    def __missing__(self, key: str) -> int:
        value = self[key] = len(self)
        return value


class _Packer:
    """A batch's releases packed end to end as they are split, in lists, so that the batch costs a few arrays
    rather than a few per release. Its stems are numbered once for the batch, as they first appear."""

    def __init__(self):
        self.positions = _Numbering()
        self.sentence_at, self.passage_at, self.indptr = [0], [0], [0]
        self.starts, self.ends, self.kinds, self.first, self.stop, self.terms, self.counts = ([] for _ in range(7))
        self.facts: list[CompanyFacts] = []

    def add(self, parts: ReleaseParts, facts: CompanyFacts) -> None:
        s0 = len(self.starts)
        self.starts.extend(s for s, _ in parts.spans)
        self.ends.extend(e for _, e in parts.spans)
        self.kinds.extend(parts.kinds)
        self.first.extend(a + s0 for a, _ in parts.passages)
        self.stop.extend(b + s0 for _, b in parts.passages)
        for tokens in parts.passage_tokens:
            c = Counter(tokens)     # (in order of first occurrence: each stem numbered once, as it first appears)
            self.terms.extend(map(self.positions.__getitem__, c))
            self.counts.extend(c.values())
            self.indptr.append(len(self.terms))
        self.sentence_at.append(len(self.starts))
        self.passage_at.append(len(self.first))
        self.facts.append(facts)

    def run(self) -> SplitRun:
        def i32(values):
            return np.array(values, dtype=np.int32)
        return SplitRun(np.array(self.sentence_at, dtype=np.int64), np.array(self.passage_at, dtype=np.int64),
                        i32(self.starts), i32(self.ends), np.array(self.kinds, dtype=np.int8), i32(self.first),
                        i32(self.stop), np.array(self.indptr, dtype=np.int64), i32(self.terms), i32(self.counts),
                        self.facts)


@dataclass
class SplitBatch:
    """Releases split together, as one run. Their stems are numbered once for the batch (the run's `doc_terms`
    are positions in `terms`), so the building process looks a stem up once per batch, not once per release;
    and the lead words are counted here, in the worker, for the company directory."""
    terms: list[str]
    run: SplitRun
    lead_words: Counter


def split_batch(batch: list[tuple[str, str, str, str]]) -> SplitBatch:
    packer = _Packer()
    for title, company, ticker, text in batch:
        parts = split_release(text)
        packer.add(parts, company_facts(title, company, ticker, text, parts.lead_words))
    return SplitBatch(list(packer.positions), packer.run(), lead_word_counts(packer.facts))


def word_ids(vocabulary: dict[str, int], words: list[str]) -> np.ndarray:
    """Each of `words` (distinct) as its id in `vocabulary`, a new word taking the next one."""
    for word in filterfalse(vocabulary.__contains__, words):    # (the new ones, in order, found at C speed)
        vocabulary[word] = len(vocabulary)
    return np.fromiter(map(vocabulary.__getitem__, words), dtype=np.int32, count=len(words))


class WordCounts:
    """How many releases use each word near their top (for build_companies), counted a batch at a time in an
    array rather than word by word in a Counter."""

    def __init__(self):
        self.ids: dict[str, int] = {}
        self.counts = np.zeros(1 << 16, dtype=np.int64)

    def add(self, counted: Counter) -> None:
        ids = word_ids(self.ids, list(counted))
        if len(self.ids) > len(self.counts):
            self.counts = np.concatenate([self.counts, np.zeros(max(len(self.ids), len(self.counts)),
                                                                dtype=np.int64)])
        self.counts[ids] += list(counted.values())      # (the words are distinct: no id twice)

    def get(self, word: str, default: int = 0) -> int:
        i = self.ids.get(word)
        return default if i is None else int(self.counts[i])


class _Column:
    """A growing array of one dtype: a million releases' small arrays, appended, without a million array objects
    and without the copy that concatenating them at the end would need."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.values = array.array({1: "b", 4: "i", 8: "q"}[self.dtype.itemsize])

    def add(self, values: np.ndarray) -> None:
        self.values.frombytes(np.ascontiguousarray(values, dtype=self.dtype).tobytes())

    def numpy(self) -> np.ndarray:
        return np.frombuffer(self.values, dtype=self.dtype) if len(self.values) else np.zeros(0, dtype=self.dtype)

    def offsets(self) -> np.ndarray:
        """A zero, then the values: the ends of consecutive ranges become where each starts, and the end."""
        return np.concatenate([np.zeros(1, dtype=self.dtype), self.numpy()])


class Arrays:
    """The index's arrays as they grow, a run of releases at a time."""

    def __init__(self):
        self.text_at, self.sentence_at, self.passage_at, self.indptr = (_Column(np.int64) for _ in range(4))
        self.starts, self.ends, self.first, self.stop, self.terms, self.counts = (_Column(np.int32) for _ in range(6))
        self.kinds = _Column(np.int8)
        self.text_bytes = self.sentences = self.passages = self.entries = 0

    def add(self, run: SplitRun, text_lengths: np.ndarray) -> None:
        """`run` (its terms' ids known), whose releases' texts have `text_lengths` bytes."""
        ends = np.cumsum(text_lengths) + self.text_bytes
        self.text_at.add(ends)
        self.text_bytes = int(ends[-1])     # (a run holds at least one release)
        self.sentence_at.add(run.sentence_at[1:] + self.sentences)
        self.passage_at.add(run.passage_at[1:] + self.passages)
        self.starts.add(run.starts)
        self.ends.add(run.ends)
        self.kinds.add(run.kinds)
        self.first.add(run.first + self.sentences)
        self.stop.add(run.stop + self.sentences)
        self.indptr.add(run.doc_indptr[1:] + self.entries)
        self.terms.add(run.ids[run.doc_terms])
        self.counts.add(run.doc_counts)
        self.sentences += int(run.sentence_at[-1])
        self.passages += int(run.passage_at[-1])
        self.entries += int(run.doc_indptr[-1])
