"""The searchable form of a corpus: passages for BM25, sentences for quoting, companies for routing.

Built once per corpus content and cached on disk (keyed by a fingerprint of the files, INDEX_VERSION and a digest
of the indexing code), so a second start on an unchanged corpus loads in a fraction of a second instead of
re-splitting every release: the big arrays and the release texts are memory-mapped, not read. The build
streams the corpus through worker processes, so only arrays and metadata are ever held. When the corpus changes,
the new index takes over every release the previous one already held (matched by a hash of its text and naming
metadata) and splits only the new ones.
"""
from __future__ import annotations

import array
import bisect
import contextlib
import dataclasses
import hashlib
import json
import logging
import mmap
import multiprocessing
import os
import pickle
import re
import struct
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain, filterfalse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import text as tx
from .bm25 import BM25
from .corpus import Corpus, Release, corpus_files, count_releases, fingerprint, iter_corpus, ticker_tags

log = logging.getLogger(__name__)

INDEX_VERSION = 7
PASSAGE_TARGET = 700      # characters: a passage is about one paragraph
PASSAGE_MIN = 150
LEAD = 4000               # characters: where a release names its issuer and its business

# Sentence kinds: what part of a release a sentence belongs to.
BODY, BOILERPLATE, ABOUT, CONTACT, LEGAL, TITLE = range(6)

LEGAL_SUFFIXES = frozenset("""inc incorporated corp corporation co company ltd limited plc llc lp l.p sa s.a ag asa ab
oyj nv n.v se spa s.p.a bhd tbk pte pty group holdings holding the""".split())


def company_key(name: str) -> str:
    """'Mullen Automotive Inc.' -> 'mullen automotive': the words a person would type."""
    words = [w for w in tx.words(name.replace("®", "").replace("™", ""))]
    while words and (words[-1] in LEGAL_SUFFIXES or words[-1] in tx.STOP_WORDS):
        words.pop()
    while words and words[0] in ("the", "a", "an", "and", "of", "by", "from", "with"):
        words.pop(0)
    return " ".join(words)


def tag_name(name: str) -> str:
    """The capitalised run of words that ends a `Name (EXCHANGE: TICKER)` tag: 'today, Acme Corp' -> 'Acme Corp'."""
    words = name.split()
    while words and not words[0][:1].isupper() and not words[0][:1].isdigit():
        words.pop(0)
    return " ".join(words)


@dataclass
class ReleaseParts:
    """What one release contributes to the index (computed in a worker process)."""
    spans: list[tuple[int, int]]
    kinds: list[int]
    passages: list[tuple[int, int]]          # sentence index ranges, relative to the release
    passage_tokens: list[list[str]]
    lead_words: set[str]                     # the words of its first LEAD characters


ABOUT_LEAD = re.compile(r"About\s+[A-Z][\w&.,'’\- ]{1,60}:\s")   # "About Acme: Acme is ..." on one line


def _sentence_kinds(text: str, spans: list[tuple[int, int]]) -> list[int]:
    kinds = []
    section = BODY
    boilerplate = tx.boilerplate_flags(text, spans)
    for i, (s, e) in enumerate(spans):
        sentence = text[s:e]
        heading = tx.section_kind(sentence)
        if heading == "about" or ABOUT_LEAD.match(sentence):
            section = ABOUT
        elif heading == "legal" and section != CONTACT:
            section = LEGAL
        elif heading == "contact":
            section = CONTACT
        elif section == ABOUT and "\n" in text[max(0, s - 2):s] and len(sentence) < 60 and not sentence.endswith("."):
            section = BODY  # a new heading after an "About" block: back to substance
        if section != BODY:
            kinds.append(section)
        else:
            kinds.append(BOILERPLATE if boilerplate[i] else BODY)
    return kinds


def split_release(text: str) -> ReleaseParts:
    spans = tx.sentence_spans(text)
    kinds = _sentence_kinds(text, spans)
    breaks = tx.paragraph_breaks(text)
    passages: list[tuple[int, int]] = []
    start, size = 0, 0
    for i, (s, e) in enumerate(spans):
        previous_end = spans[i - 1][1] if i else -1
        k = bisect.bisect_right(breaks, previous_end)
        new_paragraph = k < len(breaks) and breaks[k] <= s
        if i > start and ((new_paragraph and size >= PASSAGE_MIN) or size + (e - s) > PASSAGE_TARGET
                          or (kinds[i] != kinds[i - 1] and size >= PASSAGE_MIN)):
            passages.append((start, i))
            start, size = i, 0
        size += e - s
    if spans:
        passages.append((start, len(spans)))
    tokens, lead = [], set()
    for a, b in passages:
        words = tx.words(" ".join(text[s:e] for s, e in spans[a:b]))
        tokens.append(tx.stems(words))
        if spans[b - 1][1] <= LEAD:
            lead.update(words)
        elif spans[a][0] < LEAD:
            lead.update(tx.words(text[spans[a][0]:LEAD]))
    return ReleaseParts(spans, kinds, passages, tokens, lead)


@dataclass
class CompanyDirectory:
    """Which releases a company name or ticker in a question points to."""
    aliases: dict[str, set[int]] = field(default_factory=dict)   # 'mullen automotive' -> release indices
    tickers: dict[str, set[int]] = field(default_factory=dict)   # 'MULN' -> release indices
    max_words: int = 1

    def add_alias(self, alias: str, release: int) -> None:
        if alias and len(alias) >= 2 and not all(w in tx.STOP_WORDS for w in alias.split()):
            self.aliases.setdefault(alias, set()).add(release)
            self.max_words = max(self.max_words, alias.count(" ") + 1)

    def add_ticker(self, ticker: str, release: int) -> None:
        ticker = ticker.upper().strip()
        if re.fullmatch(r"[A-Z][A-Z0-9.\-]{0,9}", ticker):
            self.tickers.setdefault(ticker, set()).add(release)


# `Lucara Diamond Corp. (“Lucara” or the “Company”)`: a release defining its own short name.
DEFINED_AS = re.compile(r"([A-Z][\w&.,'’\- ]{1,80}?)\s*\((?:the\s+)?[“\"]([^”\"]{2,40})[”\"],?\s+(?:or|and)\s+the\s+"
                        r"[“\"](?:Company|Corporation|Issuer)[”\"]")
DEFINED_TAIL = re.compile(r"\((?:the\s+)?[“\"][^”\"]{2,40}[”\"],?\s+(?:or|and)\s+the\s+"
                          r"[“\"](?:Company|Corporation|Issuer)[”\"]")
# `Lucara Announces Historic Diamond Sale`: a headline's subject is its issuer.
TITLE_SUBJECT = re.compile(r"^((?:[A-Z0-9][\w&.'’\-]*\s+){0,4}?[A-Z][\w&.'’\-]*)\s+(?:Announces?|Reports?|Completes?|"
                           r"Declares?|Enters?|Signs?|Receives?|Launches|Appoints?|Provides?|Closes?|Files?|Secures?|"
                           r"Names?|Expands?|Acquires?|Updates?|Issues?|Achieves?|Reiterates?|Prices?|Begins?|Starts?|"
                           r"Confirms?|Releases?|Posts?|Unveils?|Introduces?|Partners|Awarded|Wins?|Raises?|Regains?|"
                           r"Strengthens|Celebrates|Notifies|Delivers?|Expects?|Plans?|Agrees?|Terminates?|Withdraws?|Increases?|"
                           r"Boosts?|Cuts?|Lowers?|Reaffirms?|Maintains?|Adopts?|Approves?|Authori[sz]es?|Extends?|"
                           r"Amends?|Sets?|Schedules?|Hosts?|Invites?|Joins?|Selects?|Opens?|Executes?|Publishes|"
                           r"Reveals?|Shares|Welcomes?|Elects?|Obtains?|Gains?|Surpasses|Doubles|Posts?|Provides?|"
                           r"Submits?|Resumes?|Retires?|Sells?|Buys?|Invests?|Commences?|Initiates?|Responds?|"
                           r"Comments?|Highlights?|Outlines?|Issues?|Names?|Files?|to\s)\b")


def issuer_names(release: Release) -> set[str]:
    """Every name the release gives its issuer: metadata, its ticker tag, its own definition, its headline."""
    return _issuer_names(release.title, release.company, release.text, ticker_tags(release.text[:1500]))


_NAME_CHARS = re.compile(r"[\w&.,'’\- ]")


def _defined_as(head: str) -> re.Match | None:
    """DEFINED_AS.search(head), without trying the pattern at every capital letter: a match ends with a
    DEFINED_TAIL (a name holds no "(" or quote), and starts at the first capital of the run of name characters
    just before it; the first tail with such a run gives the first match."""
    at = head.find("(")
    while at >= 0:
        tail = DEFINED_TAIL.match(head, at)      # (tails can nest: a short name may hold a "(")
        at = head.find("(", at + 1)
        if tail is None:
            continue
        q = tail.start()
        while q > 0 and head[q - 1].isspace():
            q -= 1
        start = q
        while start > max(0, q - 81) and _NAME_CHARS.match(head, start - 1):
            start -= 1
        for p in range(start, q):
            if "A" <= head[p] <= "Z":
                m = DEFINED_AS.match(head, p)
                if m is not None and m.end() == tail.end():
                    return m
                return DEFINED_AS.search(head)   # an odd case: the pattern itself decides
    return None


def _issuer_names(title: str, company: str, text: str, tags: list[tuple[str, str, str]]) -> set[str]:
    names = {company} if company else set()
    if tags and tag_name(tags[0][0]):
        names.add(tag_name(tags[0][0]))
    m = _defined_as(text[:2500])
    if m:
        names.add(tag_name(m.group(1).strip(" ,")))
        names.add(m.group(2))
    m = TITLE_SUBJECT.match(title)
    if m:
        names.add(m.group(1))
    return {n for n in names if n}


@dataclass(frozen=True)
class CompanyFacts:
    """What one release tells the company directory: worked out with its split, kept for the next build."""
    keys: tuple[str, ...]          # company_key of each name it gives its issuer
    tickers: tuple[str, ...]
    title_words: tuple[str, ...]
    words: str                     # its distinct words near the top (title and lead), space-separated


def _number_start(word: str) -> bool:
    return word[0].isdigit()     # (not r"\d": "¹", "²" are digits to isdigit, footnote marks in a lead)


def company_facts(title: str, company: str, ticker: str, text: str, lead_words: set[str]) -> CompanyFacts:
    tags = ticker_tags(text[:1500])
    keys = {company_key(n) for n in _issuer_names(title, company, text, tags)} - {""}
    tickers = ({ticker} if ticker else set()) | ({tags[0][2]} if tags else set())
    title_words = tx.words(title)
    lead = lead_words.union(title_words)      # (the directory asks only about names: no number, no stop word)
    return CompanyFacts(tuple(sorted(keys)), tuple(sorted(tickers)), tuple(title_words),
                        " ".join(filterfalse(_number_start, lead)))


REPORTING_WORDS = frozenset("""first second third fourth quarter quarterly full half year annual interim fiscal results
financial report update q1 q2 q3 q4 fy""".split())


def build_companies(facts: list[CompanyFacts], release_df: _WordCounts) -> CompanyDirectory:
    """The directory from each release's facts. How many releases use a word near their top (`release_df`, the
    count of their `words`) tells a company's distinctive first word ("Oncolytics") from a common one ("New")."""
    directory = CompanyDirectory()

    def release_count(word: str) -> int:
        return release_df.get(word, 0)

    first_words: dict[str, set[int]] = defaultdict(set)
    for i, f in enumerate(facts):
        for key in f.keys:
            directory.add_alias(key, i)
            parts = key.split()
            if len(parts) > 2 and parts[1] not in tx.STOP_WORDS:
                directory.add_alias(" ".join(parts[:2]), i)
            if parts and not parts[0].isdigit() and len(parts[0]) >= 3:
                first_words[parts[0]].add(i)
        for t in f.tickers:
            directory.add_ticker(t, i)
    # A company's first word alone ("Oncolytics", "Sonoco") names it when the word is rare elsewhere.
    for word, own in first_words.items():
        if word in directory.aliases and directory.aliases[word] >= own:
            continue
        if word not in tx.STOP_WORDS and len(own) >= 0.4 * release_count(word):
            for i in own:
                directory.add_alias(word, i)
    # Releases whose title names a company are that company's releases too.
    for i, f in enumerate(facts):
        title = f.title_words
        for n in range(1, directory.max_words + 1):
            for k in range(len(title) - n + 1):
                owners = directory.aliases.get(" ".join(title[k:k + n]))
                if owners is not None and len(title[k]) >= 3:
                    owners.add(i)
    # A one-word name that much of the corpus uses ("New", "Mining", "Digital"), or a reporting phrase taken for
    # a headline's subject ("Fourth Quarter"), names nobody. Longer names are specific even of common words.
    common = max(20, 0.03 * len(facts))
    for alias in [a for a in directory.aliases
                  if (" " not in a and release_count(a) > common)
                  or all(w in tx.STOP_WORDS or w in REPORTING_WORDS for w in a.split())]:
        del directory.aliases[alias]
    return directory


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


# --- building ----------------------------------------------------------------------------------------------

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


class _Previous:
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
            self.new_ids[new] = _ids(vocabulary, [words[t] for t in new.tolist()])
        return self.new_ids

    def old_words(self) -> list[str]:
        """The old vocabulary by id (made when a release is first taken over: a build may take over none)."""
        if self.words is None:
            self.words = [""] * len(self.index.vocabulary)
            for w, i in self.index.vocabulary.items():
                self.words[i] = w
        return self.words


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


@dataclass
class SplitBatch:
    """Releases split together, as one run. Their stems are numbered once for the batch (the run's `doc_terms`
    are positions in `terms`), so the building process looks a stem up once per batch, not once per release;
    and the lead words are counted here, in the worker, for the company directory."""
    terms: list[str]
    run: SplitRun
    lead_words: Counter


def _start_method() -> str:
    return "spawn" if sys.platform == "win32" else "fork"


def _lead_word_counts(facts: Iterable[CompanyFacts]) -> Counter:
    """How many of the releases use each word near their top (a release's `words` are distinct)."""
    return Counter(chain.from_iterable(f.words.split() for f in facts))


def _split_batch(batch: list[tuple[str, str, str, str]]) -> SplitBatch:
    packer = _Packer()
    for title, company, ticker, text in batch:
        parts = split_release(text)
        packer.add(parts, company_facts(title, company, ticker, text, parts.lead_words))
    return SplitBatch(list(packer.positions), packer.run(), _lead_word_counts(packer.facts))


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


def _split_stream(releases: Iterable[Release], previous: _Previous | None, workers: int, bar,
                  on_batch) -> Iterator[tuple[list[Release], list[bytes], SplitRun]]:
    """Runs of consecutive releases, with their release_digests and their SplitRun, in order: taken over from
    `previous` a stretch at a time where it holds them one after another, else split by `workers` processes
    (`on_batch` sees each SplitBatch as it arrives, before its releases are handed out). Reading runs at most a
    few batches ahead of splitting (a stretch taken over is no longer than that), so a corpus bigger than memory
    streams through."""
    pool = None
    ahead = 4 * max(workers, 1)
    limit = (ahead + 1) * BATCH     # releases read and not yet handed out
    pending: deque[_Stretch] = deque()
    waiting = 0                     # the releases in `pending`
    results: dict[int, object] = {}  # batch number -> its Future, its SplitBatch, or (once seen) its SplitRun
    batch: list[tuple[str, str, str, str]] = []
    submitted = 0
    try:
        def submit() -> None:
            nonlocal pool, batch, submitted
            if not batch:
                return
            if pool is None and workers > 1 and submitted >= IN_PROCESS:
                pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(_start_method()))
            results[submitted] = pool.submit(_split_batch, batch) if pool else _split_batch(batch)
            submitted, batch = submitted + 1, []

        def stretch_for(release: Release, old: int) -> _Stretch:
            """The stretch `release` joins: the last one, if it continues it."""
            tail = pending[-1] if pending else None
            if old >= 0:
                if tail is None or tail.old < 0 or tail.old + len(tail) != old or len(tail) >= limit:
                    pending.append(_Stretch(old=old))
            else:
                if tail is None or tail.batch != submitted:
                    pending.append(_Stretch(batch=submitted, at=len(batch)))
                batch.append((release.title, release.company, release.ticker, release.text))
            return pending[-1]

        def ready(head: _Stretch) -> bool:
            if head.batch < 0:     # taken over: once nothing more can join it
                return len(pending) > 1 or len(head) >= limit
            got = results.get(head.batch)
            return head.batch < submitted and (isinstance(got, (SplitBatch, SplitRun)) or got.done()
                                               or len(results) > ahead or waiting > limit)

        def emit():
            nonlocal waiting
            head = pending.popleft()
            if head.batch < 0:
                run = previous.run(head.old, head.old + len(head))
                previous.release_pages(len(head))
            else:
                got = results[head.batch]
                if not isinstance(got, SplitRun):
                    arrived = got if isinstance(got, SplitBatch) else got.result()   # (a dead worker raises)
                    on_batch(arrived)
                    got = results[head.batch] = arrived.run
                run = got.part(head.at, head.at + len(head))
                if head.at + len(head) == len(got):
                    del results[head.batch]
            waiting -= len(head)
            bar.update(len(head))
            return head.releases, head.digests, run

        for release in releases:
            digest = release_digest(release)
            old = previous.position.get(digest, -1) if previous is not None else -1
            stretch = stretch_for(release, old)
            stretch.releases.append(release)
            stretch.digests.append(digest)
            waiting += 1
            if len(batch) >= BATCH:
                submit()
            if waiting > limit and pending[0].batch == submitted:
                submit()   # releases taken over pile up behind ones waiting in a batch still filling: send it
            while pending and ready(pending[0]):
                yield emit()
        submit()
        while pending:
            yield emit()
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _ids(vocabulary: dict[str, int], words: list[str]) -> np.ndarray:
    """Each of `words` (distinct) as its id in `vocabulary`, a new word taking the next one."""
    for word in filterfalse(vocabulary.__contains__, words):    # (the new ones, in order, found at C speed)
        vocabulary[word] = len(vocabulary)
    return np.fromiter(map(vocabulary.__getitem__, words), dtype=np.int32, count=len(words))


class _WordCounts:
    """How many releases use each word near their top (for build_companies), counted a batch at a time in an
    array rather than word by word in a Counter."""

    def __init__(self):
        self.ids: dict[str, int] = {}
        self.counts = np.zeros(1 << 16, dtype=np.int64)

    def add(self, counted: Counter) -> None:
        ids = _ids(self.ids, list(counted))
        if len(self.ids) > len(self.counts):
            self.counts = np.concatenate([self.counts, np.zeros(max(len(self.ids), len(self.counts)),
                                                                dtype=np.int64)])
        self.counts[ids] += list(counted.values())      # (the words are distinct: no id twice)

    def get(self, word: str, default: int = 0) -> int:
        i = self.ids.get(word)
        return default if i is None else int(self.counts[i])


class _Arrays:
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
    previous = _Previous(reuse) if reuse is not None and reuse.company_facts is not None else None
    workers = workers or min(os.cpu_count() or 1, 4)
    bar = tqdm(total=total, desc="indexing releases", unit="release", disable=not progress,
               file=sys.stderr, mininterval=0.5)

    vocabulary: dict[str, int] = {}
    meta: list[Release] = []
    hashes: list[bytes] = []
    facts: list[CompanyFacts] = []
    release_df = _WordCounts()
    text_file = tempfile.TemporaryFile(prefix="irbot-texts-", dir=scratch)
    grown = _Arrays()
    reused = 0

    def on_batch(batch: SplitBatch) -> None:
        batch.run.ids = _ids(vocabulary, batch.terms)
        release_df.add(batch.lead_words)

    stream = _split_stream(releases, previous, workers, bar, on_batch)
    with contextlib.closing(stream), bar:   # (on an error too: the workers stop, the bar ends)
        for run_releases, digests, run in stream:
            encoded = [release.text.encode("utf-8", "surrogatepass") for release in run_releases]
            text_file.write(b"".join(encoded))
            meta.extend(release.model_copy(update={"text": ""}) for release in run_releases)
            hashes.extend(digests)
            if run.ids is None:    # taken over from the previous index
                run.ids = previous.term_ids(run, vocabulary)
                release_df.add(_lead_word_counts(run.facts))
                reused += len(run)
            facts.extend(run.facts)
            grown.add(run, np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))
    n = len(meta)

    doc_indptr = grown.indptr.offsets()
    doc_terms, doc_counts = grown.terms.numpy(), grown.counts.numpy()
    bm25 = BM25.from_counts(doc_indptr, doc_terms, doc_counts, len(vocabulary))
    release_first_sentence, passage_at, text_offsets = (c.offsets() for c in (grown.sentence_at, grown.passage_at,
                                                                               grown.text_at))
    text_file.flush()
    texts = Texts(mmap.mmap(text_file.fileno(), 0, access=mmap.ACCESS_READ) if text_offsets[-1] else b"",
                  text_offsets, text_file)   # (an unnamed file: gone with the index)
    index = Index(
        releases=ReleaseList(meta, texts),
        sent_release=np.repeat(np.arange(n, dtype=np.int32), np.diff(release_first_sentence)),
        sent_start=grown.starts.numpy(), sent_end=grown.ends.numpy(), sent_kind=grown.kinds.numpy(),
        passage_release=np.repeat(np.arange(n, dtype=np.int32), np.diff(passage_at)),
        passage_first=grown.first.numpy(), passage_stop=grown.stop.numpy(),
        release_first_passage=passage_at[:-1], release_stop_passage=passage_at[1:],
        vocabulary=vocabulary, bm25=bm25, companies=build_companies(facts, release_df), company_facts=facts,
        release_first_sentence=release_first_sentence,
        release_hash=np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(n, 20),
        doc_indptr=doc_indptr, doc_terms=doc_terms, doc_counts=doc_counts, reused=reused,
    )
    index.build_seconds = time.perf_counter() - started
    return index


# --- the index on disk -------------------------------------------------------------------------------------
#
# One file: MAGIC, the format version and a JSON header (what wrote it, for which corpus, where each part is),
# then a pickle of the small parts (vocabulary, company directory), the big arrays and the release texts (UTF-8),
# raw, which are memory-mapped on load rather than read, a pickle of the releases' metadata, and one of each
# release's company facts (read only by a later build). The version, the code digest and the corpus fingerprint are
# checked before anything else is read: a file written by another version or for another corpus is rebuilt.

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
    for name in ("text.py", "sentences.py", "index.py", "bm25.py", "corpus.py"):
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
            with open(p, "rb") as f:
                head = f.read(len(MAGIC) + _PREFIX.size)
                if head[:len(MAGIC)] != MAGIC:
                    continue
                header = json.loads(f.read(_PREFIX.unpack(head[len(MAGIC):])[1]))
            if header.get("corpus") == corpus:
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
