"""BM25 scored exactly as rank-bm25's BM25Okapi scores it, from one precomputed sparse matrix.

rank-bm25 walks every document in Python for every query term. Each term's contribution to a document,
idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl)), depends only on the term and the document,
so it is computed once at build time; a query then adds up the columns of its terms. Same formula, same idf
floor (epsilon * average idf for terms in more than half the documents), same numbers: tests/test_bm25.py
checks them against rank-bm25 itself.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse


class BM25:
    def __init__(self, documents: Sequence[Sequence[int]], vocabulary_size: int,
                 k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25):
        """`documents` are lists of term ids below `vocabulary_size`."""
        self.k1, self.b, self.epsilon = k1, b, epsilon
        self.corpus_size = len(documents)
        lengths = np.fromiter((len(d) for d in documents), dtype=np.int64, count=self.corpus_size)
        self.doc_len = lengths
        self.avgdl = float(lengths.sum()) / max(self.corpus_size, 1)
        rows = np.repeat(np.arange(self.corpus_size, dtype=np.int64), lengths)
        cols = np.fromiter((t for d in documents for t in d), dtype=np.int64, count=int(lengths.sum()))
        tf = sparse.csc_matrix((np.ones(len(cols), dtype=np.float64), (rows, cols)),
                               shape=(self.corpus_size, vocabulary_size))
        tf.sum_duplicates()
        self.df = np.diff(tf.indptr).astype(np.int64)
        self.idf = self._idf(self.df, vocabulary_size)
        doc_of_entry = tf.indices
        term_of_entry = np.repeat(np.arange(vocabulary_size), np.diff(tf.indptr))
        norm = self.k1 * (1 - self.b + self.b * lengths[doc_of_entry] / self.avgdl)
        tf.data = self.idf[term_of_entry] * (tf.data * (self.k1 + 1) / (tf.data + norm))
        self.weights = tf  # documents x terms, column-compressed: a term's postings are one slice

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

    def df_of(self, term: int) -> int:
        """In how many documents the term occurs (0 for an unknown term id)."""
        return int(self.df[term]) if 0 <= term < len(self.df) else 0

    def get_scores(self, query: Iterable[int], weights: Iterable[float] | None = None) -> np.ndarray:
        """Scores of every document; a term repeated in the query counts again, as in rank-bm25."""
        scores = np.zeros(self.corpus_size)
        w = self.weights
        for i, term in enumerate(query):
            if term < 0 or term >= w.shape[1]:
                continue
            lo, hi = w.indptr[term], w.indptr[term + 1]
            if lo == hi:
                continue
            factor = 1.0 if weights is None else float(weights[i])
            scores[w.indices[lo:hi]] += w.data[lo:hi] * factor
        return scores
