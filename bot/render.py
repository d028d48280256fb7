"""Rendering an answer, in one place for every front end: plain text for the terminal (`irbot ask`, `irbot chat`)
and Telegram's HTML (every piece of text escaped, the whole message under Telegram's 4,096-character limit).
Both show the same things: the quote, its citation, what a typing slip was read as, or the honest no with
related releases. The Telegram buttons that go with a view live in `telegram_views`."""
from __future__ import annotations

import html
import re
from typing import Any

from .answer.models import Answer, Citation
from .links import link_to_quote

MAX_CHARS = 4096                 # Telegram's limit on a message's text


# --- plain text --------------------------------------------------------------------------------------------------

def read_as_line(read_as: dict[str, str]) -> str:
    """'(read "Oncoytics" as "Oncolytics")': what the answer was to, when the question had a typing slip."""
    if not read_as:
        return ""
    return "(read " + ", ".join(f"“{typed}” as “{meant}”" for typed, meant in read_as.items()) + ")"


def citation_line(c: Citation, quote: str | None = None) -> str:
    """'Fusion (NYSE Amex: FSN), "Title", 2009-05-29, PR Newswire, http://...' with what is known; the link opens
    the page at `quote` when one is given (bot.links)."""
    who = c.company or "Unknown company"
    if c.ticker:
        who += f" ({c.exchange + ': ' if c.exchange else ''}{c.ticker})"
    parts = [who, f'"{c.title}"'] + [p for p in (c.date, c.publisher, link_to_quote(c.url, quote)) if p]
    return ", ".join(parts)


def count(n: int, noun: str) -> str:
    """'1 release', '2,883 releases', '2 companies'."""
    if n == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou") else noun + "s"
    return f"{n:,} {plural}"


def render_text(a: Answer) -> str:
    """An answer for the terminal: the quote and its citation, or the honest no with related releases."""
    read_as = [read_as_line(a.read_as)] if a.read_as else []
    if not a.answered:
        lines = [a.message] + read_as
        if a.related:
            lines.append("Related releases:")
            lines += [f"  - {citation_line(c)}" for c in a.related]
        return "\n".join(lines)
    return "\n".join([f"“{a.quote}”", f"— {citation_line(a.source, a.quote)}"] + read_as)


# --- Telegram's HTML (answers as dicts: Answer.model_dump(mode="json"), as the state database keeps them) ---------

def e(text: Any) -> str:
    return html.escape(str(text), quote=False)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fits(text: str) -> bool:
    return utf16_len(text) <= MAX_CHARS


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def web_address(url: str | None) -> bool:
    return bool(re.match(r"https?://\S+$", url or ""))


def link(text_html: str, url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{text_html}</a>'


def citation_html(c: Citation | dict, quote: str | None = None) -> str:
    """The citation with its title linked to the source (opened at `quote`, when given)."""
    c = c if isinstance(c, Citation) else Citation.model_validate(c)
    who = f"<b>{e(c.company or 'Unknown company')}</b>"
    if c.ticker:
        who += f" ({e(c.exchange + ': ' if c.exchange else '')}{e(c.ticker)})"
    title = e(clip(c.title, 300))
    title = link(title, link_to_quote(c.url, quote)) if web_address(c.url) else f"<i>{title}</i>"
    return " · ".join([who, title] + [e(p) for p in (c.date, c.publisher) if p])


def fit_quote(quote: str, build) -> str:
    """`build(quote_html)` with the quote clipped until the whole message fits Telegram's limit."""
    limit = len(quote)
    while True:
        text = build(e(clip(quote, limit)))
        if fits(text) or limit <= 20:
            return text
        limit -= max(utf16_len(text) - MAX_CHARS, 50)


def read_as_html(a: dict) -> str:
    """'(read "delsiting" as "delisting")' on a line of its own, when the question had a typing slip."""
    return f"\n<i>{e(read_as_line(a['read_as']))}</i>" if a.get("read_as") else ""


def render_answer(a: dict) -> str:
    """The best quote in a blockquote, then its citation; or the honest no, with related releases."""
    read_as = read_as_html(a)
    if not a["answered"]:
        lines = [e(a.get("message") or "I couldn't find that in the releases.") + read_as]
        if a.get("related"):
            lines.append("\nRelated releases:")
            lines += [f"• {citation_html(c)}" for c in a["related"]]
        return "\n".join(lines)
    cite = citation_html(a["source"], a["quote"])
    return fit_quote(a["quote"], lambda q: f"<blockquote>{q}</blockquote>\n{cite}{read_as}")


def render_alternative(a: dict, n: int) -> str:
    """The n-th next best quote (1: the second best), with its citation."""
    alt = a["alternatives"][n - 1]
    total = len(a["alternatives"]) + 1
    cite = citation_html(alt["source"], alt["quote"])
    head = f"<i>Next best quote ({n + 1} of {total})</i>"
    return fit_quote(alt["quote"], lambda q: f"{head}\n<blockquote>{q}</blockquote>\n{cite}")


def render_context(a: dict) -> str:
    """The quote in bold among the sentences around it, in an expandable blockquote."""
    cite = citation_html(a["source"], a["quote"])
    before = " ".join(a.get("context_before") or [])
    after = " ".join(a.get("context_after") or [])

    def build(q: str) -> str:
        around = " ".join(p for p in (e(clip(before, 1200)), f"<b>{q}</b>", e(clip(after, 1200))) if p)
        return f"<blockquote expandable>{around}</blockquote>\n{cite}"
    return fit_quote(a["quote"], build)


def inline_text(a: dict, quote: str, source: dict) -> str:
    """A self-contained message for inline mode: the question, the quote, the citation with its link."""
    cite = citation_html(source, quote)
    head = f"<b>Q:</b> {e(clip(a['question'], 300))}"
    read_as = read_as_html(a)   # (others in the chat see the question as typed: say how it was read)
    return fit_quote(quote, lambda q: f"{head}\n<blockquote>{q}</blockquote>\n{cite}{read_as}")
