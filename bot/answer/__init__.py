"""Answering: a question (and the conversation so far) in, one quoted, cited sentence out, or an honest no.

One module per step, each plain functions:
1. `question`: read the question: the kind of answer it wants (a reason, a date, a person, an amount ...), the
   companies it names, the concepts it asks about (stems, with synonyms; `vocabulary` holds the words);
2. `scope`: find where to look: the named companies' releases, or for a follow-up the release it follows;
3. `rank`: BM25 finds the passages, the rules score their sentences (`shape`: the wanted answer's shape) and
   shortlist the best; the trained reader (bot.reader) reads the shortlist;
4. `decide`: answer or refuse: the trained ranker (bot.ranker) where the reader ships, the hand rules otherwise;
5. `memory`: remember what a follow-up leans on; `quote`: what is quoted (a sentence, or a list it opens).
Rendering is not the core's: bot.render for the terminal, bot.telegram for Telegram.
"""
from __future__ import annotations

import datetime as dt

from .. import spelling
from .. import text as tx
from ..conversation import Context
from ..index import Index
from .decide import CONFIDENT_AMONG, MIN_COVERAGE, MIN_SCORE, choose, confident, rules_choice, score_of
from .memory import asked, people_in, remember
from .models import NOT_FOUND, Alternative, Answer, Citation, cite
from .question import (ADVICE, ADVICE_MESSAGE, Concept, Question, plain_question, find_companies, question_kind,
                       read_question, says_nothing, the_question, unmarked)
from .quote import LIST_CHARS, tidy, whole_quote
from .rank import WEIGHTS, Candidate, PassageScores, rank_sentences, shortlist
from .scope import read_in_context
from .shape import graded_shape, shape_score
from .vocabulary import NAMED_COMPANY, SHAPE_WEIGHT

__all__ = ["Answer", "Answerer", "Alternative", "Candidate", "Citation", "Concept", "CONFIDENT_AMONG", "LIST_CHARS",
           "MIN_COVERAGE", "MIN_SCORE", "NAMED_COMPANY", "NOT_FOUND", "PassageScores", "Question", "SHAPE_WEIGHT",
           "WEIGHTS", "graded_shape", "plain_question", "rules_choice", "shape_score", "answer", "asked", "confident",
           "find_companies", "people_in", "question_kind", "rank_sentences", "read_in_context", "read_question",
           "shortlist", "whole_quote"]


def answer(index: Index, question: str, context: Context | None = None, reader=None) -> Answer:
    """Answer one question, in the context of the conversation's last answer; with a reader (bot.reader), its
    trained ranking chooses the sentence and decides whether any answers, else the hand rules do."""
    context = context or Context()
    typed = question
    question = unmarked(question)
    if says_nothing(question):
        return Answer(question=typed, answered=False, message=hint(index), context=context)
    question, read_as = spelling.correct(index, question, keep=[m.span() for m in NAMED_COMPANY.finditer(question)])
    if ADVICE.search(the_question(question)):  # as read: "shuold I sell?" asks for advice too
        return Answer(question=typed, answered=False, message=ADVICE_MESSAGE, read_as=read_as, context=context)
    if context.pending and only_names_a_company(index, question):  # "Acme", after "which company do you mean?"
        meant = f"{context.pending} ({question})"
        result = answer(index, meant, Context(), reader)
        return result.model_copy(update={"question": typed, "understood": meant, "read_as": read_as | result.read_as})
    q, scopes = read_in_context(index, question, context)
    candidates, ok, rivals = choose(index, q, scopes, context, reader)
    understood = f"{typed} (after: {context.question.split(' | ')[-1]})" if q.follows and context.question else None
    if not candidates or not ok:
        return refusal(index, q, candidates, context, reader, rivals, typed=typed, read_as=read_as)
    best = candidates[0]
    r = best.release
    quote, last_sentence = whole_quote(index, best.sentence)
    sentences = index.release_sentences(r)
    before = [index.sentence(i) for i in range(max(sentences.start, best.sentence - 2), best.sentence)]
    after = [index.sentence(i) for i in range(last_sentence + 1, min(sentences.stop, last_sentence + 3))]
    return Answer(question=typed, answered=True, quote=quote, source=cite(index, r), understood=understood,
                  score=score_of(best, reader), read_as=read_as, context_before=before, context_after=after,
                  alternatives=alternatives(index, q, candidates, reader, range(best.sentence, last_sentence + 1)),
                  context=remember(index, q, context, r, best.sentence))


NOT_FOUND_START = ("I couldn't find", "I have no releases from", "No release mentions")  # a refusal for want of a release, not advice


def hint(index: Index) -> str:
    """For a message with no words in it: how to ask, with a question this corpus answers."""
    newest = max(range(len(index.releases.meta)), key=lambda r: index.releases.meta[r].date or dt.date.min,
                 default=None)
    company = index.releases.meta[newest].company if newest is not None else ""
    example = f"what's new with {company}?" if company else "what did the company announce?"
    return f"Ask me about the releases in words, for example: “{example}”"


def alternatives(index: Index, q: Question, candidates: list[Candidate], reader,
                 quoted: range) -> list[Alternative]:
    """Up to three other sentences that answer too (the "next best" buttons), each quoted once, none of them a
    sentence the answer already quotes (a list's items)."""
    seen = {tidy(index.sentence(candidates[0].sentence)) or index.sentence(candidates[0].sentence)}
    found = []
    for c in candidates[1:]:
        quote = tidy(index.sentence(c.sentence)) or index.sentence(c.sentence)
        if quote in seen or c.sentence in quoted or not (reader.quotable(c) if reader else confident(q, c)):
            continue
        seen.add(quote)
        found.append(Alternative(quote=quote, source=cite(index, c.release), score=score_of(c, reader)))
        if len(found) == 3:
            break
    return found


def refusal(index: Index, q: Question, candidates: list[Candidate], context: Context, reader, rivals: list[str], *,
            typed: str, read_as: dict[str, str]) -> Answer:
    """The honest no, with the releases nearest to what was asked (the company's newest when it named one); or,
    when several companies' releases answer alike (`rivals`, from choose), the question which one is meant."""
    related: list[int] = []
    for c in candidates:
        if c.release not in related:
            related.append(c.release)
    if q.releases and len(related) < 3:  # the company's own releases, newest first
        for r in sorted(q.releases - set(related), key=lambda r: index.releases.meta[r].date or dt.date.min,
                        reverse=True)[:3 - len(related)]:
            related.append(r)
    new_context = context
    if q.releases is not None:
        # the question switched company; its best release is what a follow-up most likely means
        likely = next((c.release for c in candidates if c.release in q.releases), None)
        new_context = remember(index, q, context, likely if likely is not None else next(iter(q.releases)))
    message = NOT_FOUND
    new_context = new_context.model_copy(update={"pending": typed if rivals else None})
    if rivals:
        message = which_company(rivals)
    elif q.unknown_company and q.releases is None:
        message = (f"No release mentions {q.unknown_company}" if q.unmentioned else
                   f"I have no releases from {q.unknown_company}") + ", so I couldn't find that in the releases."
    about = q.unknown_company or (new_context.company if q.releases is not None or q.follows else None)
    return Answer(question=typed, answered=False, message=message, read_as=read_as, about=about,
                  score=score_of(candidates[0], reader) if candidates else 0.0,
                  related=[cite(index, r) for r in related[:3]], context=new_context)


REPLY_FILLER = frozenset(tx.stem(w) for w in "mean meant one talk talking ask asking company".split())


def only_names_a_company(index: Index, message: str) -> bool:
    """Whether a message names a company and asks nothing of its own ("Acme", "I mean Fusion", "the fsn one")."""
    q = read_question(index, message)
    return q.releases is not None and all(c.word in REPLY_FILLER for c in q.concepts)


def which_company(names: list[str]) -> str:
    """The question back, for a question several companies' releases answer alike."""
    named = [n for n in names if n][:4]
    listed = ", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else "several companies"
    return f"Which company do you mean? The releases of {listed} each answer that: ask again with its name."


class Answerer:
    """The answering core with memory: one context per conversation id, in the given store; with the shipped
    reader unless given another (None: the hand rules alone)."""

    def __init__(self, index: Index, store=None, reader="default"):
        from ..conversation import MemoryStore
        from ..reader import shipped_reader
        self.index = index
        self.store = store if store is not None else MemoryStore()
        self.reader = shipped_reader() if reader == "default" else reader

    def ask(self, conv: str, question: str, remember: bool = True) -> Answer:
        """The answer, its context written for the next question (unless `remember` is False: the caller writes
        `result.context` itself, as the webhook does together with the mark that the update was handled)."""
        result = answer(self.index, question, self.store.get(conv), self.reader)
        if remember:
            self.store.put(conv, result.context)
        if not result.answered and result.message.startswith(NOT_FOUND_START):
            self.store.note_unanswered(question, result.about)  # for `irbot report`: what the releases lack
        return result

    def forget(self, conv: str) -> None:
        self.store.forget(conv)
