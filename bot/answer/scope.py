"""Step 2, where to look: the named companies' releases; for a follow-up that names none, the release of the
conversation's last answer, then that company's other releases; with what the conversation carries."""
from __future__ import annotations

from .. import text as tx
from ..conversation import Context
from ..index import Index, company_key, issuer_names
from .question import Bag, Question, concepts_of, read_question
from .vocabulary import PERSON_PRONOUN


def company_releases(index: Index, release: int) -> set[int]:
    r = index.releases.meta[release]
    found: set[int] = {release}
    key = company_key(r.company) if r.company else ""
    if key in index.companies.aliases:
        found |= index.companies.aliases[key]
    if r.ticker and r.ticker.upper() in index.companies.tickers:
        found |= index.companies.tickers[r.ticker.upper()]
    return found


def one_company(index: Index) -> bool:
    """Whether every release is of one company (a company's own bot): then a question that names none is
    about that company, not one that could be any company's."""
    def compute() -> bool:
        meta = index.releases.meta
        keys = {company_key(r.company) for r in meta if r.company} - {""}
        return len(meta) > 0 and (
            len(keys) == 1 or any(len(owners) == len(meta) for owners in index.companies.tickers.values()))
    return index.derived.once("one_company", compute)


def _release_words(index: Index, release: int) -> frozenset[str]:
    """Unstemmed words of a release's text (for matching company names said in a follow-up)."""
    return index.derived.per_release("release_words", release, 1024, lambda: frozenset(tx.words(index.text(release))))


def issuer_words(index: Index, release: int) -> frozenset[str]:
    """The words of the names a release gives its issuer: never news to a "who" question."""
    return index.derived.per_release("issuer_words", release, 4096, lambda: frozenset(
        w for name in issuer_names(index.releases[release]) for w in tx.words(name)))


def release_tokens(index: Index, release: int) -> Bag:
    """Every stem of a release: where a question's focus must be found for an answer to exist. Cached on the
    index it belongs to, so a reloaded index never sees another's tokens."""
    return index.derived.per_release("release_tokens", release, 4096, lambda: Bag(
        tx.analyze(index.releases.meta[release].title + "\n" + index.text(release))))


def read_in_context(index: Index, question: str, context: Context) -> tuple[Question, list[set[int] | None]]:
    """The question read with what the conversation carries, and where to look for its answer, in order."""
    q = read_question(index, question)
    last = index.by_id.get(context.release_id) if context.release_id else None
    if q.releases is None and last is not None:
        # "why are they doing it?", "when does she start?": nothing, or only verbs, of its own to go on
        leans = not q.concepts or q.focus is None
        # a term may be a phrase ("special meeting"): its words, so that concepts_of finds the phrase again
        carried = concepts_of([w for t in context.terms for w in tx.words(t) if w not in tx.STOP_WORDS], index)
        for c in carried:
            c.weight *= 0.4 if not q.concepts else 0.15  # its own words, even verbs, say more than carried ones
        if PERSON_PRONOUN.search(question):  # "he", "she": the person the last answer was about
            people = concepts_of([w for w in context.people if w not in tx.STOP_WORDS], index)
            for c in people:
                c.weight *= 0.15
            carried += people
            q.known = set(context.people)
        q.carried_only = leans and bool(carried)
        own = {k.word for k in q.concepts}
        carried = [c for c in carried if c.word not in own]
        if not q.concepts:
            q.concepts = carried  # nothing of its own: what it carries is all it asks about
        else:
            q.carried = carried  # where to look, not what to quote

    if q.unknown_company and q.releases is None:
        scopes: list[set[int] | None] = []
    elif q.releases is not None:
        scopes = [q.releases]
        if last is not None and (last in q.releases or all(w in _release_words(index, last) for w in q.company_words)):
            scopes.insert(0, {last})  # the company is the last answer's, or one its release speaks of
    elif last is not None:
        scopes = [{last}, company_releases(index, last)]  # a follow-up stays with the company it follows
    elif one_company(index):
        scopes = [set(range(len(index.releases)))]
    else:
        scopes = [None]
    q.follows = last is not None and q.releases is None
    return q, scopes
