"""Step 5, remembering the conversation: what a follow-up leans on (the question it follows, the people the last
answer named)."""
from __future__ import annotations

from .. import text as tx
from ..conversation import Context
from ..index import Index
from .question import Question
from .vocabulary import NOT_NAMES, PERSON


def asked(q: Question, context: Context) -> str:
    """What the conversation is asking now, for the reader: a follow-up with the question it follows."""
    if q.follows and context.question:
        return f"{q.text} | {context.question}"[:300]
    return q.text


def people_in(sentence: str) -> list[str]:
    """Surnames of the people a sentence names: what "he" or "she" in the next question refers to."""
    names = []
    for m in PERSON.finditer(sentence):
        last = next(g for g in m.groups() if g).lower()
        if last not in tx.STOP_WORDS and last not in NOT_NAMES and last not in names:
            names.append(last)
    return names[:3]


def remember(index: Index, q: Question, context: Context, release: int, sentence: int | None = None) -> Context:
    """What the next question may lean on: this release and company, what was asked about (its five weightiest
    concepts), the people the quoted sentence names, and the question itself."""
    meta = index.releases.meta[release]
    terms = [c.word for c in sorted(q.concepts, key=lambda c: -c.weight)][:5]
    people = people_in(index.sentence(sentence)) if sentence is not None else []
    return Context(release_id=meta.id, company=meta.company, terms=terms, people=people, question=asked(q, context))
