"""Step 3, ranking: BM25 finds the passages, then the rules score their sentences by how much of the question they
cover (alone, with the sentence before them, with their passage), the answer's shape and the release's structure.
The best of each scope make the shortlist the reader reads (bot.reader)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .. import text as tx
from ..bm25 import top_k
from ..companies import CORPORATE
from ..index import ABOUT, BOILERPLATE, CONTACT, Index, LEGAL
from .question import Bag, Concept, NEGATION, Question, plain_question
from .scope import issuer_words, release_tokens
from .shape import DURATION, FULL_DATE, HOW_LONG, PERIOD, graded_shape, new_information
from .vocabulary import DATELINE, EXCHANGE_NAMES, FRAME, GENERIC, NOT_NAMES, PRICE, SHAPE_WEIGHT, VERBS, YEAR, heading


TOP_PASSAGES = 12
LEAD_DISCOUNT = 0.8
FOCUS_ESCAPE = 0.6  # a release that covers this much of the question may word its focus differently
RARE_WEIGHT = 6.0  # an idf this high: the term is in fewer than about 1 in 400 passages


@dataclass
class Candidate:
    sentence: int
    score: float
    coverage: float          # of the question's concepts, by the sentence alone
    window_coverage: float   # ... by the sentence and the one before it
    passage_coverage: float  # ... by its whole passage
    has_focus: bool          # the focus is in the sentence or its passage
    release: int
    informative: bool = True  # it says what was asked: a new number for "how much", a date for "when"
    shape: float = 0.0        # how much it has the shape of the wanted answer
    global_scope: bool = False  # found searching every release, no company named or in context
    rare_found: bool = False    # a rare concept of the question is in its passage
    rest_found: bool = True     # ... and something else it asks about is in the sentence or the one before it
    measure_near: bool = True   # the figure asked about is named in the sentence or the one before it
    carried_window: float = 0.0  # a follow-up's carried concepts, covered by the sentence and the one before it
    features: dict | None = None
    scope: int = 0               # which of the question's scopes it was found in (0: the first looked in)
    position: int = 0            # its place in that scope's ranking by the rules
    probability: float = 0.0     # the trained ranker's belief that it answers the question
    reader_logit: float = 0.0    # the reader's own score (bot.reader)


def _coverage(concepts: list[Concept], tokens: Bag) -> float:
    total = sum(c.weight for c in concepts)
    return sum(c.weight for c in concepts if c.found_in(tokens)) / total if total else 0.0


# How much each feature of a sentence counts towards quoting it. Coverage is of the question's concepts, by
# the sentence, by it and the sentence before it ("window"), and by its whole passage; "rank" is its passage's
# BM25 score relative to the best. A reason or a use of proceeds rarely repeats the question's words (the
# sentence before it does), so for those questions the window and passage count for more ("reason_*").
WEIGHTS = {
    "coverage": 0.15, "window": 0.15, "rank": 0.2, "passage": 0.15,
    "reason_coverage": -0.15, "reason_window": 0.05, "reason_passage": 0.05,
    "shape": 2.0, "lead": 0.1, "reason_lead": -0.15, "price_missing": -0.1, "negation": 0.1, "table": -0.25,
    "focus_near": 0.08, "wanted_section": 0.25, "boilerplate": -0.35, "about": -0.2, "short": -0.15, "recent": 0.15,
}


class PassageScores:
    """The BM25 scores of a question's passages, computed only for the scopes that are searched: a company's
    passages alone, or (once, when a search reaches every release) all of them."""

    def __init__(self, index: Index, q: Question):
        self.index = index
        self.ids, self.weights = q.query(index)
        self._all: np.ndarray | None = None

    def of(self, releases: set[int] | None) -> tuple[np.ndarray | None, np.ndarray]:
        """(passage numbers, their scores); passage numbers None means every passage, in order."""
        if releases is None:
            if self._all is None:
                self._all = self.index.bm25.get_scores(self.ids, self.weights)
            return None, self._all
        passages = self.index.passages_of(sorted(releases))
        if self._all is not None:
            return passages, self._all[passages]
        return passages, self.index.bm25.get_batch_scores(self.ids, passages, self.weights)


def rank_sentences(index: Index, q: Question, releases: set[int] | None, scores: PassageScores) -> list[Candidate]:
    passages, local = scores.of(releases)
    section_question = q.kind in ("about", "contact") and releases is not None  # "what does Fusion do?"
    single_release = releases is not None and len(releases) == 1
    # A follow-up with nothing of its own ("why are they moving there?") reads its settled release whole, even
    # when none of the words it carries is in it: the answer's shape decides (see `confident`).
    settled = q.carried_only and single_release
    if not len(local) or (local.max() <= 0 and not section_question and not settled):
        return []
    k = len(local) if single_release or section_question else min(TOP_PASSAGES, len(local))
    top_local = top_k(local, k)
    top = top_local if passages is None else passages[top_local]
    score_of = dict(zip(top.tolist(), local[top_local].tolist()))
    best = max(score_of[int(top[0])], 1e-9)
    newest = {}
    if q.wants_recent:
        dated = sorted({int(index.passage_release[p]) for p in top if index.releases.meta[int(index.passage_release[p])].date},
                       key=lambda r: index.releases.meta[r].date, reverse=True)
        newest = {r: 1.0 - k / max(len(dated), 1) for k, r in enumerate(dated)}
    wants_kind = {"about": ABOUT, "contact": CONTACT}.get(q.kind)
    rare = min(RARE_WEIGHT, 0.6 * math.log(index.bm25.corpus_size + 1))  # in a small corpus, fewer terms are rare
    coverage_of: dict[int, float] = {}

    def release_coverage(r: int) -> float:
        if r not in coverage_of:
            coverage_of[r] = _coverage(q.concepts, release_tokens(index, r))
        return coverage_of[r]
    titles: dict[int, Bag] = {}
    candidates = []
    for p in top:
        p = int(p)
        if score_of[p] <= 0 and not (single_release or section_question):
            continue
        passage = _read_passage(index, p, titles)
        release, passage_tokens = passage.release, passage.tokens
        passage_cov = _coverage(q.concepts, passage_tokens)
        rank = max(score_of[p], 0.0) / best
        r = index.releases.meta[release]
        years_ok = all(passage_tokens.has((y,)) or (r.date and str(r.date.year) == y) or
                       release_tokens(index, release).has((y,)) for y in q.years)
        known = q.words | issuer_words(index, release)  # names a "who" answer must go beyond
        for j in range(passage.stop - passage.first):
            candidates.append(_candidate(index, q, passage, j, known=known, years_ok=years_ok, rank=rank,
                                         passage_cov=passage_cov, releases=releases, rare=rare,
                                         wants_kind=wants_kind, newest=newest, release_coverage=release_coverage))
    candidates.sort(key=lambda c: -c.score)
    return opening_or_body(index, q, candidates)


def _candidate(index: Index, q: Question, passage: "Passage", j: int, *, known: set[str], years_ok: bool,
               rank: float, passage_cov: float, releases: set[int] | None, rare: float, wants_kind: int | None,
               newest: dict[int, float], release_coverage) -> Candidate:
    """The passage's j-th sentence as a candidate: what the rules compute of it, and its score."""
    i, sentence, tokens = passage.first + j, passage.sentences[j], passage.sentence_tokens[j]
    single_release = releases is not None and len(releases) == 1
    passage_tokens = passage.tokens
    cov = _coverage(q.concepts, tokens)
    if i == passage.release_start:
        cov *= LEAD_DISCOUNT  # an opening sentence names everything the release is about
    window = Bag.of(passage.sentence_tokens[j - 1] if j else passage.previous_tokens, tokens)
    window_cov = _coverage(q.concepts, window)
    body = DATELINE.sub("", sentence, count=1)
    shape = graded_shape(q, body, known)
    if q.agent_of and shape > 0 and q.agent_of.search(sentence):
        shape += SHAPE_WEIGHT["who"][0]  # "who developed X?" - "X, developed by Ameresco"
    has_focus = _focus_found(index, q, passage.release, passage_tokens, window, shape, single_release,
                             release_coverage)
    has_focus = has_focus and years_ok and all(n.found_in(passage_tokens) for n in q.names)
    f = _features(q, sentence, tokens, window, kind=int(index.sent_kind[i]), wants_kind=wants_kind,
                  lead=i == passage.release_start, coverage=cov, window_coverage=window_cov,
                  passage_coverage=passage_cov, rank=rank, shape=shape,
                  recent=newest.get(int(index.sent_release[i]), 0.0))
    return Candidate(
        sentence=i, score=sum(WEIGHTS[k] * v for k, v in f.items()), coverage=cov,
        window_coverage=window_cov, passage_coverage=passage_cov, has_focus=has_focus,
        release=int(index.sent_release[i]), informative=new_information(q.kind, body, q.words),
        shape=shape, features=f, global_scope=releases is None,
        rare_found=any(c.weight >= rare and c.found_in(passage_tokens) for c in q.concepts),
        measure_near=q.measure is None or q.measure.found_in(window),
        carried_window=_coverage(q.carried, window) if q.carried and single_release else 0.0,
        rest_found=all(c.weight >= rare for c in q.concepts) or
        any(c.weight < rare and c.found_in(window) for c in q.concepts))


@dataclass
class Passage:
    """A passage's sentences as the ranking reads them, with the tokens of the sentence before it."""
    release: int
    first: int
    stop: int
    release_start: int        # the release's first sentence
    sentences: list[str]
    sentence_tokens: list[Bag]
    previous_tokens: Bag      # the sentence before the passage (empty at the release's start)
    tokens: Bag               # the whole passage's, with its release's title


def _read_passage(index: Index, p: int, titles: dict[int, Bag]) -> Passage:
    first, stop = int(index.passage_first[p]), int(index.passage_stop[p])
    release = int(index.passage_release[p])
    release_start = index.release_sentences(release).start
    before = max(first - 1, release_start)
    sentences = [index.sentence(i) for i in range(before, stop)]
    sent_tokens = [Bag(tx.analyze(s)) for s in sentences]
    previous_tokens = sent_tokens[0] if before < first else Bag()
    if before < first:
        sentences, sent_tokens = sentences[1:], sent_tokens[1:]
    if release not in titles:
        titles[release] = Bag(tx.analyze(index.releases.meta[release].title))
    return Passage(release, first, stop, release_start, sentences, sent_tokens, previous_tokens,
                   Bag.of(titles[release], *sent_tokens))


def _focus_found(index: Index, q: Question, release: int, passage_tokens: Bag, window: Bag, shape: float,
                 single_release: bool, release_coverage) -> bool:
    """Whether what the question asks for is there: in the passage or the release, or said in other words."""
    if q.focus is None:
        return True
    # the focus, in other words: the rest of the question well covered by the release
    if q.focus.found_in(passage_tokens) or q.focus.found_in(release_tokens(index, release)) \
            or release_coverage(release) >= FOCUS_ESCAPE:
        return True
    if q.kind in SHAPE_WEIGHT and shape >= SHAPE_WEIGHT[q.kind][0]:
        # The focus paraphrased ("strike" for "exercisable at", "room" for "availability"): the sentence
        # has the full shape of the wanted answer and, beside it, everything else the question names.
        others = [c for c in q.concepts if c is not q.focus and not c.word.isdigit()
                  and c.alternatives[0][0] not in GENERIC | FRAME | VERBS]
        if not others and single_release:  # a follow-up: what it carries is what "the buyer" is of
            others = [c for c in q.carried if not c.word.isdigit()
                      and c.alternatives[0][0] not in GENERIC | FRAME | VERBS]
        return bool(others) and all(c.found_in(window) for c in others)
    return False


def _features(q: Question, sentence: str, tokens: Bag, window: Bag, *, kind: int, wants_kind: int | None,
              lead: bool, coverage: float, window_coverage: float, passage_coverage: float, rank: float,
              shape: float, recent: float) -> dict:
    """What the rules' score (WEIGHTS) counts of a sentence."""
    reason = q.kind in ("why", "purpose")
    return {
        "coverage": coverage, "window": window_coverage, "rank": rank, "passage": passage_coverage,
        "reason_coverage": coverage * reason, "reason_window": window_coverage * reason,
        "reason_passage": passage_coverage * reason,
        "shape": shape,
        "lead": float(lead), "reason_lead": float(reason and lead),
        "price_missing": float(q.wants_price and not PRICE.search(sentence)),
        "negation": float(q.negated and bool(NEGATION.search(plain_question(sentence)))),
        "table": float(sentence.count("|") >= 3),
        "focus_near": float(q.focus is not None and q.focus.found_in(window)),
        "wanted_section": float(wants_kind is not None and kind == wants_kind),
        "boilerplate": float(wants_kind is None and kind in (BOILERPLATE, LEGAL, CONTACT)),
        "about": float(wants_kind is None and kind == ABOUT),
        "short": float(len(tokens.stems) < 3 or heading(sentence)),
        "recent": recent,
    }



# The opening (headline block and dateline sentence) restates what a release is about, so it covers a question's
# words as well as the body sentence that answers it, or better; and the reverse. Between the two, within this
# margin of score among a release's best few, the one that names what is asked decides: the person for "who",
# the date for "when".
OPENING_AMONG = 6
OPENING_MARGIN = 0.4


def dateline_sentence(index: Index, release: int) -> int:
    """The release's dateline sentence ("CITY, Feb. 7, 2025 /PRNewswire/ -- X today announced ..."), after any
    headline block; the first sentence when none is found."""
    def compute() -> int:
        sentences = index.release_sentences(release)
        start, stop = sentences.start, sentences.stop
        for i in range(start, min(stop, start + 12)):
            sentence = index.sentence(i)
            m = DATELINE.match(sentence)
            if m:  # a bare dateline line: the sentence after it is the summary
                return i if len(sentence) - m.end() >= 40 or i + 1 >= stop else i + 1
        return start
    return index.derived.per_release("dateline_sentence", release, 4096, compute)


# "Thomas Ottawa", "Matthew (Matt) Walker", "Eric R. Ball", "Katherine McCabe": a person's first and last name,
# not the end of a longer name ("Retail Opportunity Investments Corp.").
FULL_NAME = re.compile(r"(?<![\w&\-])\b([A-Z][a-z]+)(?:\s+\([A-Z][a-z]+\))?(?:\s+[A-Z]\.)?\s+"
                       r"((?:Ma?c|[DO]['’])?[A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b"
                       r"(?!\s+[A-Z&])(?!-)")
NAME_BEFORE = re.compile(r"([A-Z][\w&'’\-]*)\s+$")
# '..., said Mike McMullen, CFO': who speaks is not who is asked about.
SPEAKER = re.compile(r"[,”\"]\s*(?:said|says|added|noted|commented|stated|explained)\s+[A-Z][\w.\- ]{0,40}|"
                     r"\b[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z]+\s+(?:said|says|added|noted)\b")
MONTHS = frozenset("january february march april may june july august september october november december".split())
HONORIFICS = frozenset("ceo cfo coo cto mr ms mrs dr".split())


def answer_elements(index: Index, q: Question, c: Candidate) -> set[str] | None:
    """What a sentence could answer with, for the question's kind: the people it names (by surname) for "who",
    its dates for "when"; never what the question, the conversation or the dateline already says. None for
    other kinds."""
    body = DATELINE.sub("", index.sentence(c.sentence), count=1)
    if q.kind == "who":
        body = SPEAKER.sub(" ", body)
        not_names = NOT_NAMES | tx.STOP_WORDS | MONTHS | CORPORATE | EXCHANGE_NAMES | q.known | \
            issuer_words(index, c.release)
        found = set()
        for m in FULL_NAME.finditer(body):
            first, last = m.group(1).lower(), m.group(2).lower()
            before = NAME_BEFORE.search(body, 0, m.start())
            if before and before.group(1).lower() not in NOT_NAMES | HONORIFICS:
                continue  # the end of a longer name: a company's, a place's
            if not {first, last} & not_names:
                found.add(last)
        return found - q.words
    if q.kind in ("when", "time"):
        if HOW_LONG.search(q.text):
            got = [m.group(0) for m in DURATION.finditer(body)] + [m.group(0) for m in FULL_DATE.finditer(body)] + \
                YEAR.findall(body)
        else:
            got = [m.group(0) for m in FULL_DATE.finditer(body)] + [m.group(0) for m in PERIOD.finditer(body)]
        return {re.sub(r"\W+", " ", g.lower()).strip() for g in got} - q.words
    return None


def opening_or_body(index: Index, q: Question, candidates: list[Candidate]) -> list[Candidate]:
    """Between the release's opening and its body, the sentence that names something asked for (a person, a
    date) that the other does not, when the other names nothing the first does not: the best candidate stays
    unless one of the other part of its release, close behind and with as much of the wanted shape, does."""
    if len(candidates) < 2 or q.kind not in ("who", "when", "time"):
        return candidates
    top = candidates[0]
    dateline = dateline_sentence(index, top.release)
    top_opens = top.sentence <= dateline
    top_names = None
    for k, c in enumerate(candidates[1:OPENING_AMONG], start=1):
        if top.score - c.score > OPENING_MARGIN:
            break
        if c.release != top.release or (c.sentence <= dateline) == top_opens or c.shape < top.shape:
            continue
        if top_names is None:
            top_names = answer_elements(index, q, top)
        names = answer_elements(index, q, c)
        if names - top_names and not top_names - names:
            return [c] + candidates[:k] + candidates[k + 1:]
    return candidates


SHORTLIST = 16  # the rules' best sentences of the first scope that the reader reads; half as many of each later one


def shortlist(index: Index, q: Question, scopes: list[set[int] | None]) -> list[Candidate]:
    """The rules' best sentences of every scope, the first scope's first: what the trained ranker chooses among."""
    scores = PassageScores(index, q)
    found: list[Candidate] = []
    seen: set[int] = set()
    for n, scope in enumerate(scopes):
        ranked = [c for c in rank_sentences(index, q, scope, scores) if c.sentence not in seen]
        for k, c in enumerate(ranked[:SHORTLIST if n == 0 else SHORTLIST // 2]):
            c.scope, c.position = n, k
            seen.add(c.sentence)
            found.append(c)
    return found
