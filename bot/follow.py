"""Following companies: what `/follow FSN` resolves to, which releases are news for whom, and the alert a
follower gets (the company, the headline, the date, the release's lead sentence quoted, the link).

The state lives in the store (bot.conversation.SQLiteStore: follows, known_releases, alerts); the Telegram layer
sends what is owed and the terminal prints it (`irbot follow`, `irbot alerts`). A release is news once: when the
bot first sees its id. Re-indexing it, replacing its text, or a restart is not news.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .answer import find_companies
from .answer.models import Citation, cite
from .answer.quote import tidy
from .answer.rank import dateline_sentence
from .index import Index, company_key


@dataclass
class Company:
    key: str          # what the store keeps: company_key of its name
    name: str
    ticker: str
    releases: int


def companies_named(index: Index, text: str) -> list[Company]:
    """The companies `text` names (a ticker or a name, read as questions read them), most releases first: none,
    one, or several for an ambiguous name ("Golden" when two companies' names start with it)."""
    releases, _ = find_companies(index, text)
    if not releases:
        return []
    grouped: dict[str, list[int]] = defaultdict(list)
    for r in releases:
        meta = index.releases.meta[r]
        grouped[company_key(meta.company or meta.ticker or "")].append(r)
    out = []
    for key, rs in grouped.items():
        if not key:
            continue
        newest = max(rs, key=lambda r: (str(index.releases.meta[r].date or ""), r))
        meta = index.releases.meta[newest]
        out.append(Company(key=key, name=meta.company or meta.ticker, ticker=meta.ticker or "", releases=len(rs)))
    return sorted(out, key=lambda c: (-c.releases, c.name))


def queue_new_releases(store, index: Index) -> tuple[int, int]:
    """Owe every follower an alert for each release of the index the store has not seen; (new, queued)."""
    metas = index.releases.meta
    return store.queue_alerts([m.id for m in metas], {m.id: company_key(m.company or m.ticker or "") for m in metas})


@dataclass
class Alert:
    chat: str
    release_id: str
    source: Citation
    lead: str         # the release's lead sentence, verbatim


def owed(store, index: Index, chat: str | None = None, limit: int = 1000) -> list[Alert]:
    """The alerts owed (oldest first); one whose release left the corpus since is dropped as sent."""
    alerts = []
    for chat_id, rid in store.pending_alerts(chat, limit):
        r = index.by_id.get(rid)
        if r is None:
            store.alert_sent(chat_id, rid)
            continue
        sentence = index.sentence(dateline_sentence(index, r))
        alerts.append(Alert(chat=chat_id, release_id=rid, source=cite(index, r), lead=tidy(sentence) or sentence))
    return alerts
