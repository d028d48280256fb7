"""The answer as the core gives it: the quote, its citation, the alternatives, or an honest no."""
from __future__ import annotations

from pydantic import BaseModel

from ..conversation import Context
from ..index import Index


NOT_FOUND = "I couldn't find that in the releases."


class Citation(BaseModel):
    id: str
    title: str
    company: str
    ticker: str
    exchange: str
    date: str | None
    publisher: str
    url: str


class Alternative(BaseModel):
    quote: str
    source: Citation
    score: float


class Answer(BaseModel):
    question: str
    answered: bool
    quote: str | None = None
    source: Citation | None = None
    score: float = 0.0
    context_before: list[str] = []
    context_after: list[str] = []
    alternatives: list[Alternative] = []
    related: list[Citation] = []
    message: str = ""
    read_as: dict[str, str] = {}    # words of the question read as another (a typing slip: bot/spelling.py)
    about: str | None = None        # the company a refused question asked about, when it named or followed one
    understood: str | None = None   # a follow-up as it was read, standalone: "and when? (after: why is FSN delisting?)"
    context: Context = Context()


def cite(index: Index, release: int) -> Citation:
    r = index.releases.meta[release]
    title = r.title or headline(index.text(release))
    return Citation(id=r.id, title=title, company=r.company,
                    ticker=r.ticker, exchange=r.exchange, date=r.date.isoformat() if r.date else None,
                    publisher=r.publisher, url=r.source_url)


TITLE_CHARS = 120


def headline(text: str) -> str:
    """What a release without a title is called: its first line, cut at a word boundary when it is long."""
    first = (text.strip().splitlines() or [""])[0].strip()
    if len(first) <= TITLE_CHARS:
        return first
    cut = first[:TITLE_CHARS + 1].rsplit(None, 1)[0] if " " in first[:TITLE_CHARS + 1] else first[:TITLE_CHARS]
    return cut.rstrip(" ,;:–—-") + "…"
