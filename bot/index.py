"""The searchable form of a corpus: passages for BM25, sentences for quoting, companies for routing.

Built once per corpus content and cached on disk (keyed by a fingerprint of the files and INDEX_VERSION), so
a second start on an unchanged corpus loads in a fraction of a second instead of re-splitting every release.
"""
from __future__ import annotations

import bisect
import logging
import multiprocessing
import os
import pickle
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import text as tx
from .bm25 import BM25
from .corpus import Corpus, Release, fingerprint, load_corpus, ticker_tags

log = logging.getLogger(__name__)

INDEX_VERSION = 4
PASSAGE_TARGET = 700      # characters: a passage is about one paragraph
PASSAGE_MIN = 150

# Sentence kinds: what part of a release a sentence belongs to.
BODY, BOILERPLATE, ABOUT, CONTACT, LEGAL, TITLE = range(6)

LEGAL_SUFFIXES = frozenset("""inc incorporated corp corporation co company ltd limited plc llc lp l.p sa s.a ag asa ab
oyj nv n.v se spa s.p.a bhd tbk pte pty group holdings holding the""".split())


def company_key(name: str) -> str:
    """'Mullen Automotive Inc.' -> 'mullen automotive': the words a person would type."""
    words = [w for w in tx.words(name.replace("®", "").replace("™", ""))]
    while words and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    while words and words[0] == "the":
        words.pop(0)
    return " ".join(words)


@dataclass
class ReleaseParts:
    """What one release contributes to the index (computed in a worker process)."""
    spans: list[tuple[int, int]]
    kinds: list[int]
    passages: list[tuple[int, int]]          # sentence index ranges, relative to the release
    passage_tokens: list[list[str]]


def _sentence_kinds(text: str, spans: list[tuple[int, int]]) -> list[int]:
    kinds = []
    section = BODY
    for s, e in spans:
        sentence = text[s:e]
        heading = tx.section_kind(sentence)
        if heading == "about" or re.match(r"About\s+[A-Z][\w&.,'’\- ]{1,60}:\s", sentence):
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
            kinds.append(BOILERPLATE if tx.is_boilerplate_sentence(sentence) else BODY)
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
    tokens = [tx.analyze(" ".join(text[s:e] for s, e in spans[a:b])) for a, b in passages]
    return ReleaseParts(spans, kinds, passages, tokens)


def _split_worker(text: str) -> ReleaseParts:
    return split_release(text)


@dataclass
class CompanyDirectory:
    """Which releases a company name or ticker in a question points to."""
    aliases: dict[str, set[int]] = field(default_factory=dict)   # 'mullen automotive' -> release indices
    tickers: dict[str, set[int]] = field(default_factory=dict)   # 'MULN' -> release indices
    max_words: int = 1

    def add_alias(self, alias: str, release: int) -> None:
        if alias and alias not in tx.STOP_WORDS and len(alias) >= 2:
            self.aliases.setdefault(alias, set()).add(release)
            self.max_words = max(self.max_words, alias.count(" ") + 1)

    def add_ticker(self, ticker: str, release: int) -> None:
        ticker = ticker.upper().strip()
        if re.fullmatch(r"[A-Z][A-Z0-9.\-]{0,9}", ticker):
            self.tickers.setdefault(ticker, set()).add(release)


def build_companies(releases: list[Release]) -> CompanyDirectory:
    directory = CompanyDirectory()
    release_df: Counter[str] = Counter()
    for r in releases:
        release_df.update(set(tx.words(r.title + " " + r.text[:4000])))
    first_words: dict[str, set[int]] = defaultdict(set)
    for i, r in enumerate(releases):
        names = {r.company} if r.company else set()
        tags = ticker_tags(r.text[:1500])
        tickers = {r.ticker} if r.ticker else set()
        if tags:
            names.add(tags[0][0])
            tickers.add(tags[0][2])
        for name in names:
            key = company_key(name)
            if not key:
                continue
            directory.add_alias(key, i)
            parts = key.split()
            if len(parts) > 2:
                directory.add_alias(" ".join(parts[:2]), i)
            if parts and not parts[0].isdigit() and len(parts[0]) >= 3:
                first_words[parts[0]].add(i)
        for t in tickers:
            directory.add_ticker(t, i)
    # A company's first word alone ("Oncolytics", "Sonoco") names it when the word is rare elsewhere.
    for word, own in first_words.items():
        if word in directory.aliases and directory.aliases[word] >= own:
            continue
        if word not in tx.STOP_WORDS and len(own) >= 0.4 * release_df.get(word, 0):
            for i in own:
                directory.add_alias(word, i)
    # Releases whose title names a company are that company's releases too.
    for i, r in enumerate(releases):
        title = tx.words(r.title)
        for n in range(1, directory.max_words + 1):
            for k in range(len(title) - n + 1):
                owners = directory.aliases.get(" ".join(title[k:k + n]))
                if owners is not None and len(title[k]) >= 3:
                    owners.add(i)
    return directory


@dataclass
class Index:
    releases: list[Release]
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

    def __post_init__(self):
        self.by_id = {r.id: i for i, r in enumerate(self.releases)}

    def sentence(self, i: int) -> str:
        r = self.releases[int(self.sent_release[i])]
        return r.text[int(self.sent_start[i]):int(self.sent_end[i])]

    def term_ids(self, tokens: list[str]) -> list[int]:
        return [self.vocabulary.get(t, -1) for t in tokens]

    def passages_of(self, releases) -> np.ndarray:
        return np.concatenate([np.arange(self.release_first_passage[r], self.release_stop_passage[r])
                               for r in releases]) if len(releases) else np.zeros(0, dtype=np.int64)

    def stats(self) -> dict:
        companies = {company_key(r.company) for r in self.releases if r.company}
        return {"releases": len(self.releases), "passages": int(len(self.passage_release)),
                "sentences": int(len(self.sent_release)), "companies": len(companies),
                "vocabulary": len(self.vocabulary), "build_seconds": round(self.build_seconds, 2)}


def build_index(corpus: Corpus, progress: bool = False, workers: int | None = None) -> Index:
    started = time.perf_counter()
    releases = corpus.releases
    texts = [r.text for r in releases]
    workers = workers or min(os.cpu_count() or 1, 4)
    bar = tqdm(total=len(texts), desc="indexing releases", unit="release", disable=not progress, file=sys.stderr)
    if workers > 1 and len(texts) > 50:
        with multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn").Pool(workers) as pool:
            parts = []
            for p in pool.imap(_split_worker, texts, chunksize=16):
                parts.append(p)
                bar.update()
    else:
        parts = []
        for t in texts:
            parts.append(split_release(t))
            bar.update()
    bar.close()

    vocabulary: dict[str, int] = {}
    documents: list[list[int]] = []
    sent_release, sent_start, sent_end, sent_kind = [], [], [], []
    passage_release, passage_first, passage_stop = [], [], []
    rel_first, rel_stop = [], []
    for ri, p in enumerate(parts):
        base = len(sent_start)
        rel_first.append(len(passage_release))
        for (s, e), k in zip(p.spans, p.kinds):
            sent_release.append(ri)
            sent_start.append(s)
            sent_end.append(e)
            sent_kind.append(k)
        for (a, b), tokens in zip(p.passages, p.passage_tokens):
            passage_release.append(ri)
            passage_first.append(base + a)
            passage_stop.append(base + b)
            documents.append([vocabulary.setdefault(t, len(vocabulary)) for t in tokens])
        rel_stop.append(len(passage_release))
    bm25 = BM25(documents, len(vocabulary))
    index = Index(
        releases=releases,
        sent_release=np.array(sent_release, dtype=np.int32), sent_start=np.array(sent_start, dtype=np.int32),
        sent_end=np.array(sent_end, dtype=np.int32), sent_kind=np.array(sent_kind, dtype=np.int8),
        passage_release=np.array(passage_release, dtype=np.int32),
        passage_first=np.array(passage_first, dtype=np.int32), passage_stop=np.array(passage_stop, dtype=np.int32),
        release_first_passage=np.array(rel_first, dtype=np.int64), release_stop_passage=np.array(rel_stop, dtype=np.int64),
        vocabulary=vocabulary, bm25=bm25, companies=build_companies(releases),
    )
    index.build_seconds = time.perf_counter() - started
    return index


def default_cache_dir() -> Path:
    return Path(os.environ.get("IRBOT_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "irbot")


@dataclass
class Loaded:
    index: Index
    problems: list
    from_cache: bool


def open_index(corpus_path: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
               progress: bool = False, use_cache: bool = True) -> Loaded:
    """The index of the corpus at `corpus_path`, from the cache when the corpus is unchanged."""
    corpus_path = Path(corpus_path)
    key = fingerprint(corpus_path) if corpus_path.exists() else ""
    cache_file = Path(cache_dir or default_cache_dir()) / f"index-v{INDEX_VERSION}-{key}.pkl"
    if use_cache and key and cache_file.exists():
        try:
            with open(cache_file, "rb") as f:
                saved = pickle.load(f)
            if saved.get("version") == INDEX_VERSION and saved.get("fingerprint") == key:
                return Loaded(saved["index"], saved["problems"], True)
        except Exception as e:  # a damaged or foreign cache file is rebuilt, never trusted
            log.warning("ignoring unreadable index cache %s: %s", cache_file, e)
    corpus = load_corpus(corpus_path)
    index = build_index(corpus, progress=progress)
    index.fingerprint = key
    if use_cache and key:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=cache_file.parent, prefix=".index-", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                pickle.dump({"version": INDEX_VERSION, "fingerprint": key, "index": index,
                             "problems": corpus.problems}, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, cache_file)
        except OSError as e:
            log.warning("could not write the index cache %s: %s", cache_file, e)
    return Loaded(index, corpus.problems, False)
