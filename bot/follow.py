"""Following companies: what `/follow FSN` resolves to, which releases are news for whom, and the alert a
follower gets (the company, the headline, the date, the release's lead sentence quoted, the link).

The state lives in the store (bot.conversation.SQLiteStore: follows, known_releases, alerts); the Telegram layer
sends what is owed and the terminal prints it (`irbot follow`, `irbot alerts`). A release is news once: when the
bot first sees its id. Re-indexing it, replacing its text, or a restart is not news. An alert is marked sent
after Telegram took it: a restart loses none, and one sent in the instant before a crash may come twice.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

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
    ids: list[int] = field(default_factory=list)   # its releases in the index, newest first
    newest: str = ""                                # the newest one's date (ISO), when it has one


def company_of(index: Index, release: int) -> str:
    """The key a release's company is followed by: its name's; for a release that gives only a ticker, the name
    the other releases with that ticker give (so "ZFI" alone is still Zephyr Foods)."""
    meta = index.releases.meta[release]
    if meta.company:
        return company_key(meta.company)
    if meta.ticker:
        for r in index.companies.tickers.get(meta.ticker.upper(), ()):
            if index.releases.meta[r].company:
                return company_key(index.releases.meta[r].company)
        return company_key(meta.ticker)
    return ""


def button_id(key: str) -> str:
    """A company key as button data: short (Telegram allows 64 bytes) and exact."""
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def companies_in(index: Index, releases, unknown: str = "") -> list[Company]:
    """The companies of `releases` (release numbers), most releases first; releases that name no company at all
    make one called `unknown` when it is given, and are left out otherwise."""
    grouped: dict[str, list[int]] = defaultdict(list)
    for r in releases:
        grouped[company_of(index, r)].append(r)
    meta = index.releases.meta
    out = []
    for key, rs in grouped.items():
        if not key and not unknown:
            continue
        rs.sort(key=lambda r: (str(meta[r].date or ""), r), reverse=True)
        newest = meta[rs[0]]
        name = newest.company or next((meta[r].company for r in rs if meta[r].company), newest.ticker) or unknown
        out.append(Company(key=key, name=name, ticker=next((meta[r].ticker for r in rs if meta[r].ticker), ""),
                           releases=len(rs), ids=rs, newest=newest.date.isoformat() if newest.date else ""))
    return sorted(out, key=lambda c: (-c.releases, c.name))


def companies_named(index: Index, text: str) -> list[Company]:
    """The companies `text` names (a ticker or a name, read as questions read them), most releases first: none,
    one, or several for an ambiguous name ("Golden" when two companies' names start with it)."""
    releases, _ = find_companies(index, text)
    return companies_in(index, releases) if releases else []


def queue_new_releases(store, index: Index) -> tuple[int, int]:
    """Owe every follower an alert for each release of the index the store has not seen; (new, queued)."""
    metas = index.releases.meta
    return store.queue_alerts([m.id for m in metas], {m.id: company_of(index, r) for r, m in enumerate(metas)})


def company_by_button(index: Index, ident: str) -> Company | None:
    """The company whose button_id is `ident`, among all the index knows."""
    return next((c for c in companies_in(index, range(len(index.releases.meta))) if button_id(c.key) == ident), None)


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
