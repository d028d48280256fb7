"""Spelling: a question word that no release uses, read as the releases' word one slip of the keyboard away.

Investors type fast, on phones: "Oncoytics", "delsiting", "divdend". BM25 cannot forgive a slip (a word no
release uses matches nothing), so such a word is read as a word of the releases one edit away (a letter dropped,
doubled, swapped with its neighbour or mistyped: Damerau's four, which make most typing errors), with the same
first letter, the one that the most passages use. Left as typed: words of fewer than five letters (too many
neighbours to choose from), words in capitals (tickers, acronyms), English words (pyspellchecker's word list:
"doses" is no slip of "does", nor "Boeing" of "being", though a small corpus has neither), and what the caller
keeps (a company's name written out, "Entergy Corp", which the answer should name as typed). A word with no
such neighbour stays as it is too; and the answer says how it read the question, since a name one letter from a
known one may still be another company's.
"""
from __future__ import annotations

import functools
import re

from . import text as tx

MIN_LENGTH = 5
MAX_LENGTH = 30     # longer is no word mistyped but a paste (and its one-edit strings would cost gigabytes)
MAX_SLIPS = 4       # unknown words tried in one question (a long paste of names should not cost seconds)
TRIES = 3           # the most used stems among the candidates, tried in turn ...
PROBE = 200         # ... each candidate looked for, as spelled, in the releases of this many passages of its stem,
SCAN_BYTES = 256_000  # ... reading at most this much of their text (a bound on a question's time)
LETTERS = "abcdefghijklmnopqrstuvwxyz"
WORD = re.compile(r"(?<![\w'’.-])[A-Za-z][a-z]+(?![\w-]|['’](?!s\b))")   # (a possessive's word too)
NAME = re.compile(r"\b[A-Z][\w&'’.-]*(?:\s+[A-Z][\w&'’.-]*)+")   # capitalised words in a row: "Satya Nadella"


@functools.cache
def english() -> dict[str, int]:
    """pyspellchecker's English words (with their frequencies), loaded once, when first needed (0.1 s)."""
    from spellchecker import SpellChecker
    return SpellChecker(language="en").word_frequency.dictionary


def edits(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion of a letter away from `word`."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in LETTERS}
            | {a + c + b for a, b in splits for c in LETTERS})


def correction(index, word: str, name: bool = False) -> str | None:
    """The word `word` (lower case, unknown to the index) was most likely meant to be, or None. A `name` (a
    capitalised word inside the question) is never read as a function word."""
    # (the first letter stays: people seldom mistype it, and a name that starts otherwise is another name:
    # "Rivian" is not "Vivian")
    candidates = sorted(c for c in edits(word) if c[:1] == word[0])
    function_words = [] if name else [c for c in candidates if c in tx.STOP_WORDS]
    if function_words:   # "wheere", "acteally": a word of the question's frame, read and dropped
        return max(function_words, key=lambda c: english().get(c, 0))
    by_term: dict[int, list[str]] = {}
    for candidate, stem in zip(candidates, tx.stem_words(candidates)):
        term = index.vocabulary.get(stem)
        if term is not None:
            by_term.setdefault(term, []).append(candidate)
    ranked = sorted(by_term, key=lambda t: -index.bm25.df_of(t))
    for term in ranked[:TRIES]:
        found = _spelled(index, term, by_term[term])
        if found:
            return found
    return None


def _spelled(index, term: int, words: list[str]) -> str | None:
    """The one of `words` that a release using `term` has as it is: the index keeps stems, and a string one edit
    from the question's word may stem to a known word without being one ("deckeds" is no word, "deck" is)."""
    pattern = re.compile(rb"(?<![A-Za-z])(?:" + b"|".join(w.encode() for w in words) + rb")(?![A-Za-z])", re.I)
    texts, bm25 = index.releases.texts, index.bm25
    start = int(bm25.indptr[term])
    passages = bm25.doc_ids[start:min(start + PROBE, int(bm25.indptr[term + 1]))]
    budget = SCAN_BYTES
    for r in dict.fromkeys(index.passage_release[passages].tolist()):   # (the release texts, as stored: UTF-8)
        a, b = int(texts.offsets[r]), int(texts.offsets[r + 1])
        m = pattern.search(texts.buffer, a, min(b, a + budget))
        if m:
            return m.group(0).decode().lower()
        budget -= b - a
        if budget <= 0:
            break
    return None


def correct(index, question: str, keep: list[tuple[int, int]] = ()) -> tuple[str, dict[str, str]]:
    """The question with each unknown word of MIN_LENGTH letters or more, outside the spans to `keep`, replaced by
    its correction; and the corrections made (as typed -> as read)."""
    made: dict[str, str] = {}
    meant_by_word: dict[tuple[str, bool], str | None] = {}   # (a word typed twice is tried once)
    first = WORD.search(question)

    def unknown(word: str) -> bool:
        """Neither a word of the releases (by its stem) nor an English word."""
        low = word.lower().strip(".'’")
        return tx.stem(low) not in index.vocabulary and low not in english()
    # A name of which two words are unknown ("Satya Nadella") is a name the releases lack, not a slip in one
    # they have ("Oncoytics Biotech"): it is kept as typed ("Satya" is not read as "Sanya").
    keep = list(keep) + [m.span() for m in NAME.finditer(question) if sum(map(unknown, m.group(0).split())) >= 2]

    def fix(m: re.Match) -> str:
        typed = m.group(0)
        low = typed.lower()
        if not MIN_LENGTH <= len(low) <= MAX_LENGTH or low in tx.STOP_WORDS or not unknown(low) \
                or any(a < m.end() and m.start() < b for a, b in keep):
            return typed
        name = typed[0].isupper() and m.start() != first.start()
        if (low, name) not in meant_by_word:
            meant_by_word[low, name] = correction(index, low, name) if len(meant_by_word) < MAX_SLIPS else None
        meant = meant_by_word[low, name]
        if meant is None:
            return typed
        meant = meant.capitalize() if typed[0].isupper() else meant
        made[typed] = meant
        return meant

    return WORD.sub(fix, question), made
