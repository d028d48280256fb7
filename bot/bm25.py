"""BM25 scored exactly as rank-bm25's BM25Okapi scores it, from one precomputed sparse matrix.

rank-bm25 walks every document in Python for every query term. Each term's contribution to a document,
idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl)), depends only on the term and the document,
so it is computed once at build time, in float64 with rank-bm25's own order of operations; a query then adds
up the postings of its terms. Same formula, same idf floor (epsilon * average idf for terms in more than half
the documents), same numbers: tests/test_bm25.py checks them against rank-bm25 itself.

The matrix is kept as three flat arrays (a term's postings are one slice of `doc_ids` and `data`), so a saved
index can memory-map them instead of reading them, and a query touches only its terms' postings.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse

try:  # scipy's compiled y += A @ x for column-compressed A: one pass, int32 indices as they are
    from scipy.sparse._sparsetools import csc_matvec as _csc_matvec
except ImportError:  # pragma: no cover - a scipy without it: numpy's slower fancy indexing
    _csc_matvec = None

_CHUNK = 1 << 20  # entries per step when computing weights: bounds the temporaries at build time


class BM25:
    """BM25Okapi over documents given as term ids below `vocabulary_size`."""

    def __init__(self, documents: Sequence[Sequence[int]] | None = None, vocabulary_size: int = 0,
                 k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25):
        self.k1, self.b, self.epsilon = k1, b, epsilon
        if documents is None:  # filled in by a classmethod
            return
        lengths = np.fromiter((len(d) for d in documents), dtype=np.int64, count=len(documents))
        rows = np.repeat(np.arange(len(documents), dtype=np.int64), lengths)
        cols = np.fromiter((t for d in documents for t in d), dtype=np.int64, count=int(lengths.sum()))
        counts = sparse.csr_matrix((np.ones(len(cols), dtype=np.int64), (rows, cols)),
                                   shape=(len(documents), vocabulary_size))
        counts.sum_duplicates()
        self._build(counts.indptr, counts.indices, counts.data, vocabulary_size)

    @classmethod
    def from_counts(cls, indptr: np.ndarray, terms: np.ndarray, counts: np.ndarray, vocabulary_size: int,
                    k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25) -> "BM25":
        """From term counts by document: document d has terms[indptr[d]:indptr[d+1]] (each once per
        document) occurring counts[...] times."""
        self = cls(None, k1=k1, b=b, epsilon=epsilon)
        self._build(np.asarray(indptr), np.asarray(terms), np.asarray(counts), vocabulary_size)
        return self

    def _build(self, indptr, terms, counts, vocabulary_size: int) -> None:
        n_docs = len(indptr) - 1
        self.corpus_size = n_docs
        lengths = np.zeros(n_docs, dtype=np.int64)
        filled = np.diff(indptr) > 0   # (reduceat over the non-empty documents: no array as long as `counts`)
        if filled.any():
            lengths[filled] = np.add.reduceat(counts, np.asarray(indptr[:-1])[filled], dtype=np.int64)
        self.doc_len = lengths
        self.avgdl = float(lengths.sum()) / max(n_docs, 1)
        index_type = np.int32 if max(len(terms), n_docs, vocabulary_size) < 2**31 - 1 else np.int64
        by_doc = sparse.csr_matrix((counts.astype(np.int32, copy=False), terms.astype(index_type, copy=False),
                                    indptr.astype(index_type, copy=False)), shape=(n_docs, vocabulary_size))
        by_term = by_doc.tocsc()
        del by_doc
        self.indptr = by_term.indptr.astype(np.int64)
        self.doc_ids = by_term.indices.astype(np.int32, copy=False)
        tf = by_term.data
        del by_term
        self.df = np.diff(self.indptr)
        self.idf = self._idf(self.df, vocabulary_size)
        # Each entry's weight, exactly as rank-bm25 computes a term's contribution to a document.
        data = np.empty(len(tf), dtype=np.float64)
        k1, b, avgdl = self.k1, self.b, self.avgdl
        for lo in range(0, len(tf), _CHUNK):
            hi = min(lo + _CHUNK, len(tf))
            term_of_entry = np.searchsorted(self.indptr, np.arange(lo, hi), side="right") - 1
            f = tf[lo:hi].astype(np.float64)
            dl = lengths[self.doc_ids[lo:hi]].astype(np.float64)
            data[lo:hi] = self.idf[term_of_entry] * (f * (k1 + 1) / (f + k1 * (1 - b + b * dl / avgdl)))
            del term_of_entry, f, dl
        self.data = data

    def _idf(self, df: np.ndarray, vocabulary_size: int) -> np.ndarray:
        present = df > 0
        idf = np.zeros(vocabulary_size)
        n = df[present].astype(np.float64)
        raw = np.log(self.corpus_size - n + 0.5) - np.log(n + 0.5)
        # rank-bm25 sums the idfs one by one in the order words were first seen; math.fsum makes the average
        # exact, so it agrees with that running sum to the last bit that matters (1e-12).
        self.average_idf = math.fsum(raw.tolist()) / max(len(raw), 1)
        raw[raw < 0] = self.epsilon * self.average_idf
        idf[present] = raw
        return idf

    # --- saving and loading ------------------------------------------------------------------------------

    ARRAYS = ("indptr", "doc_ids", "data", "df", "idf", "doc_len")

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(small parameters, big arrays) that `from_state` turns back into this model."""
        params = {"k1": self.k1, "b": self.b, "epsilon": self.epsilon, "corpus_size": self.corpus_size,
                  "avgdl": self.avgdl, "average_idf": self.average_idf}
        return params, {name: getattr(self, name) for name in self.ARRAYS}

    @classmethod
    def from_state(cls, params: dict, arrays: dict[str, np.ndarray]) -> "BM25":
        self = cls(None, k1=params["k1"], b=params["b"], epsilon=params["epsilon"])
        self.corpus_size, self.avgdl, self.average_idf = params["corpus_size"], params["avgdl"], params["average_idf"]
        for name in cls.ARRAYS:
            setattr(self, name, arrays[name])
        return self

    # --- querying ----------------------------------------------------------------------------------------

    @property
    def vocabulary_size(self) -> int:
        return len(self.indptr) - 1

    @property
    def weights(self) -> sparse.csc_matrix:
        """Documents x terms, column-compressed (a view for inspection; queries do not use it)."""
        return sparse.csc_matrix((self.data, self.doc_ids, self.indptr),
                                 shape=(self.corpus_size, self.vocabulary_size), copy=False)

    def df_of(self, term: int) -> int:
        """In how many documents the term occurs (0 for an unknown term id)."""
        return int(self.df[term]) if 0 <= term < len(self.df) else 0

    def _terms(self, query: Iterable[int], weights: Iterable[float] | None) -> list[tuple[int, float]]:
        """The query's known terms with their weights; a repeated term's weights add up (it counts again)."""
        query = list(query)
        factors = [1.0] * len(query) if weights is None else [float(w) for w in weights]
        merged: dict[int, float] = {}
        v = self.vocabulary_size
        for term, factor in zip(query, factors):
            term = int(term)
            if 0 <= term < v and self.indptr[term] != self.indptr[term + 1]:
                merged[term] = merged.get(term, 0.0) + factor
        return list(merged.items())

    def get_scores(self, query: Iterable[int], weights: Iterable[float] | None = None) -> np.ndarray:
        """Scores of every document; a term repeated in the query counts again, as in rank-bm25."""
        scores = np.zeros(self.corpus_size)
        indptr, doc_ids, data = self.indptr, self.doc_ids, self.data
        for term, factor in self._terms(query, weights):
            lo, hi = int(indptr[term]), int(indptr[term + 1])
            postings = doc_ids[lo:hi]
            if _csc_matvec is not None and postings.dtype == np.int32 and data.dtype == np.float64:
                # scores[postings] += data[lo:hi] * factor, in C, without numpy's index conversion and copies
                _csc_matvec(self.corpus_size, 1, np.array([0, hi - lo], dtype=np.int32), postings, data[lo:hi],
                            np.array([factor]), scores)
            else:
                scores[postings] += data[lo:hi] if factor == 1.0 else data[lo:hi] * factor
        return scores

    def get_batch_scores(self, query: Iterable[int], documents: Sequence[int] | np.ndarray,
                         weights: Iterable[float] | None = None) -> np.ndarray:
        """Scores of the given documents only (as rank-bm25's get_batch_scores), in their order. Costs
        O(len(documents) * log(df)) per term instead of touching every posting."""
        documents = np.asarray(documents, dtype=np.int64)
        scores = np.zeros(len(documents))
        if not len(documents):
            return scores
        indptr, doc_ids, data = self.indptr, self.doc_ids, self.data
        for term, factor in self._terms(query, weights):
            lo, hi = int(indptr[term]), int(indptr[term + 1])
            postings = doc_ids[lo:hi]
            at = np.searchsorted(postings, documents)
            at_clipped = np.minimum(at, hi - lo - 1)
            hit = postings[at_clipped] == documents
            if hit.any():
                scores[hit] += data[lo + at_clipped[hit]] * factor
        return scores

    def search(self, query: Iterable[int], weights: Iterable[float] | None = None, k: int = 10,
               documents: Sequence[int] | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The k best documents (among `documents`, when given) and their scores, best first; ties go to
        the lower document number, exactly as a stable sort of all the scores would order them."""
        if documents is None:
            scores = self.get_scores(query, weights)
            best = top_k(scores, k)
            return best, scores[best]
        documents = np.asarray(documents, dtype=np.int64)
        scores = self.get_batch_scores(query, documents, weights)
        best = top_k(scores, k)
        return documents[best], scores[best]


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores, highest first, ties in position order: the same as
    `np.argsort(-scores, kind="stable")[:k]`, without sorting everything."""
    n = len(scores)
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if n <= 4 * k or n <= 2048:
        return np.argsort(-scores, kind="stable")[:k]
    # A threshold from a strided sample leaves few documents strictly above it. Every one of the top k is at
    # or above it (at least k sampled scores are); when fewer than k are strictly above, the rest are the
    # first documents exactly at it. np.sort, not np.partition, which is slow on many equal scores (zeros).
    step = max(1, n // 16384)
    sample = scores[::step]
    m = min(len(sample), 2 * k)
    threshold = np.sort(sample)[len(sample) - m] if m >= k else np.sort(scores)[n - k]
    above = np.flatnonzero(scores > threshold)
    if len(above) >= k:
        return above[np.argsort(-scores[above], kind="stable")[:k]]
    need, ties, lo = k - len(above), [], 0
    while need > 0 and lo < n:  # the first documents at the threshold, a block at a time
        hit = np.flatnonzero(scores[lo:lo + 65536] == threshold)[:need] + lo
        ties.append(hit)
        need -= len(hit)
        lo += 65536
    return np.concatenate([above[np.argsort(-scores[above], kind="stable")], *ties])
