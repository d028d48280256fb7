"""Step 4, deciding: answer or refuse. With the trained reader, bot.ranker decides; without it, the hand rules
below do (`confident`): the focus found, enough of the question covered, the wanted shape present."""
from __future__ import annotations

import datetime as dt
import re

from .. import text as tx
from ..index import Index
from .memory import asked
from .question import Question
from .quote import quoted_sentences
from .rank import Candidate, PassageScores, dateline_sentence, rank_sentences, shortlist
from .scope import company_releases
from .vocabulary import ANSWER_SHAPES, SHAPE_WEIGHT


CONFIDENT_AMONG = 3
MIN_COVERAGE = 0.25
MIN_SCORE = 0.2


def specific_enough(c: Candidate) -> bool:
    """Across all companies, only something specific (a name, a rare term) picks one release, and the sentence
    must say something else asked about: a name alone ("palantir") is no answer. A question that names no company
    and leans on no earlier answer ("why are they delisting?") is not one release's question."""
    return not c.global_scope or (c.rare_found and c.rest_found)


def confident(q: Question, c: Candidate) -> bool:
    """The calibrated rule for answering rather than abstaining."""
    if not q.concepts:
        return c.score >= MIN_SCORE
    if q.carried_only:  # "why are they doing it?": the release is settled; the answer needs only the right shape
        return c.score >= MIN_SCORE and c.informative and (q.kind not in ANSWER_SHAPES or c.shape > 0)
    if (c.features or {}).get("boilerplate") and c.coverage < 0.5:
        return False  # a disclaimer, a contact block, a wire's footer: an answer only if it says what was asked itself
    if not specific_enough(c):
        return False
    support = max(c.window_coverage, 0.5 * (c.coverage + c.passage_coverage))
    if q.kind in SHAPE_WEIGHT and c.shape >= SHAPE_WEIGHT[q.kind][0] and not (c.features or {}).get("lead"):
        # a follow-up in the release it follows ("who's the buyer?"): an answer of the full wanted shape beside
        # what the conversation was about is supported by it
        support = max(support, c.carried_window)
    if q.kind == "amount" and q.measure is not None and not c.measure_near:
        return False  # "what was X's net income?", "what will the split cost?": a number is the answer only
        # next to what it measures ("net income", "cost")
    if q.kind in ("amount", "when", "time") and not c.informative:
        return False  # "how much?" needs a number, "when?" a date, where the question's subject is
    if q.kind == "amount" and c.shape <= 0:
        return False  # ... and the shape of an amount (a number with its unit or currency), not any number, e.g. a time
    if q.kind == "why" and c.shape <= 0:
        return False  # "why?" needs a reason ("due to", "in order to", "as a condition of"): a sentence that only
        # restates what happened ("the new dividend is payable on ...") is no reason
    return c.has_focus and support >= MIN_COVERAGE and c.score >= MIN_SCORE


def rules_choice(index: Index, q: Question, scopes: list[set[int] | None]) -> tuple[list[Candidate], bool]:
    """The candidates of the first scope that has a confident answer among its best few, that answer first."""
    scores = PassageScores(index, q)
    first: list[Candidate] = []
    for scope in scopes:
        candidates = rank_sentences(index, q, scope, scores)
        if not first:
            first = candidates
        for k, c in enumerate(candidates[:CONFIDENT_AMONG]):
            if confident(q, c):
                return [c] + candidates[:k] + candidates[k + 1:], True
    return first, False


def choose(index: Index, q: Question, scopes: list[set[int] | None], context,
           reader) -> tuple[list[Candidate], bool, list[str]]:
    """The candidates, the one to quote first, whether to quote it, and the companies to ask between when several
    answer alike (then it is not quoted): the company's latest news when that is all that is asked; else the
    trained ranker's choice where the reader ships, the hand rules' otherwise."""
    news = latest_news(index, q)
    if news is not None:
        return [news], True, []
    if not scopes:
        return [], False, []
    if reader is not None:
        ranked, ok = reader.decide(index, q, shortlist(index, q, scopes), asked(q, context), confident,
                                   quoted_sentences)
        rivals = companies_answering(index, ranked, reader)
        return ranked, ok and len(rivals) < 2, rivals if len(rivals) > 1 else []
    return *rules_choice(index, q, scopes), []


AS_LIKELY = 0.75  # another company's answer at least this likely, against the best: the best is no better


def companies_answering(index: Index, ranked: list[Candidate], reader) -> list[str]:
    """For a question that names no company and follows no answer ("who is the CEO?"), the companies (best
    first) whose releases answer it about as likely as the best sentence: more than one, and the question is
    theirs alike, so the bot asks which company is meant rather than quote one of them. Empty for a question
    with a company, or without a quotable answer."""
    if not ranked or not ranked[0].global_scope or not reader.quotable(ranked[0]):
        return []
    names: list[str] = []
    seen: set[int] = set()  # the releases of the companies found so far, as a follow-up's scope knows them
    for c in ranked:
        if c.release not in seen and c.probability >= AS_LIKELY * ranked[0].probability and reader.quotable(c):
            seen |= company_releases(index, c.release)
            names.append(index.releases.meta[c.release].company or "")
    return names


def score_of(c: Candidate, reader) -> float:
    """What an answer's score says: the trained ranker's probability, or the rules' score without it."""
    return round(c.probability if reader else c.score, 4)


# "what's new with Ryder?", "any news from Fusion?": what the company's newest release opens with.
NEWS = re.compile(r"\bwhat(?:'|’)?s (?:new|the latest|happening|going on)\b|\b(?:any|latest|recent) (?:news|updates?)\b|"
                  r"\bnews (?:on|from|about|with)\b|\bwhat(?:'|’)?s up with\b", re.I)
NEWS_WORDS = frozenset(tx.stem(w) for w in "new news latest recent update updates happening going up lately".split())


def latest_news(index: Index, q: Question) -> Candidate | None:
    """For a question that asks only what is new with the companies it names, their newest release's opening."""
    if not q.releases or not NEWS.search(q.text) or any(c.alternatives[0][0] not in NEWS_WORDS for c in q.concepts):
        return None
    newest = max(q.releases, key=lambda r: (index.releases.meta[r].date or dt.date.min, r))
    return Candidate(sentence=dateline_sentence(index, newest), score=1.0, coverage=0.0, window_coverage=0.0,
                     passage_coverage=0.0, has_focus=True, release=newest, probability=1.0)
