"""What the bot's Telegram messages show: each view of an answer (best quote, next best, context) with its
buttons, the paged list of sources, and the fixed texts. Pure functions of an answer record or the index: no
update, no network. Callback data is `view:key:n` (well under 64 bytes), where `key` names an answer kept in
the state database, so buttons keep working after a restart and a stale or forged button gets a polite notice."""
from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from .render import clip, e, fits, inline_text, link, render_alternative, render_answer, render_context, web_address

__all__ = ["render_view", "answer_keyboard", "sources_page", "inline_text", "render_answer", "HELP", "EXPIRED",
           "UNKNOWN_BUTTON", "SOURCES_PER_PAGE", "VOTED", "VOTE_CHANGED"]

SOURCES_PER_PAGE = 20  # companies a page
EXPIRED = "This button has expired. Ask the question again and I'll answer it afresh."
UNKNOWN_BUTTON = "Sorry, I don't recognise that button."
VOTED = {1: "Thanks! Noted 👍", 0: "Thanks: noted 👎. It goes into the report of what the releases miss."}
VOTE_CHANGED = {1: "Changed to 👍", 0: "Changed to 👎"}
HELP = ("Ask me about a company's press releases and I'll quote the one sentence that answers you, with its "
        "source: company, release, date, publisher and link. Follow-up questions (\"and where will it "
        "trade?\") continue from my last answer.\n\n"
        "<b>In a private chat</b> just type your question.\n"
        "<b>In a group</b> use /ask <i>question</i>, or reply to one of my answers.\n"
        "<b>In any chat</b> type <code>@{bot} question</code> to share an answer.\n\n"
        "/sources lists the releases I know · /new starts a fresh conversation · /help shows this.")


def answer_keyboard(a: dict, key: str, view: str, n: int = 0) -> InlineKeyboardMarkup | None:
    """More / Context, then 👍 / 👎 / Share under an answer; which ones depends on the view shown."""
    if not a["answered"]:
        return None
    alternatives = len(a.get("alternatives") or [])
    row = []
    if view == "a":
        if alternatives:
            row.append(InlineKeyboardButton("More ▸", callback_data=f"m:{key}:1"))
        if a.get("context_before") or a.get("context_after"):
            row.append(InlineKeyboardButton("Context", callback_data=f"c:{key}:0"))
    elif view == "m":
        row.append(InlineKeyboardButton("◂ Best", callback_data=f"a:{key}:0"))
        if n < alternatives:
            row.append(InlineKeyboardButton("More ▸", callback_data=f"m:{key}:{n + 1}"))
    elif view == "c":
        row.append(InlineKeyboardButton("◂ Back", callback_data=f"a:{key}:0"))
    rows = [row] if row else []
    # a follow-up is shared as it was understood ("and when? (after: why is FSN delisting?)"), never bare
    last = [InlineKeyboardButton("Share", switch_inline_query=(a.get("understood") or a["question"])[:256])]
    if view == "a":  # what the reader thought of the answer: irbot report shows the 👎 to the IR team
        last = [InlineKeyboardButton("👍", callback_data=f"v:{key}:1"),
                InlineKeyboardButton("👎", callback_data=f"v:{key}:0")] + last
    rows.append(last)
    return InlineKeyboardMarkup(rows)


def render_view(a: dict, key: str, view: str, n: int) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """The message text and buttons for one view of an answer, or None when that view does not exist."""
    if view == "a":
        return render_answer(a), answer_keyboard(a, key, "a")
    if view == "m" and a["answered"] and 1 <= n <= len(a.get("alternatives") or []):
        return render_alternative(a, n), answer_keyboard(a, key, "m", n)
    if view == "c" and a["answered"] and (a.get("context_before") or a.get("context_after")):
        return render_context(a), answer_keyboard(a, key, "c")
    return None


def start_text(releases: int, examples: list[str]) -> tuple[str, InlineKeyboardMarkup | None]:
    """The welcome of /start, with the example questions as buttons."""
    buttons = [[InlineKeyboardButton(q, callback_data=f"ex:{n}")] for n, q in enumerate(examples)]
    text = (f"Hi! I answer investors' questions from {releases} press "
            f"release{'s' if releases != 1 else ''}, quoting the sentence that answers and citing "
            "its source.\n\n" + ("Try one of these, or type your own question:" if examples else
                                 "Type a question to begin."))
    return text, InlineKeyboardMarkup(buttons) if buttons else None


def company_sources(index, asked: str, limit: int = 20) -> str:
    """/sources FSN: the releases of the company (or companies) named, newest first, as many as one message holds."""
    from .follow import companies_named
    found = companies_named(index, asked)
    if not found:
        return f"I have no releases from a company called <i>{e(clip(asked, 100))}</i>. /sources lists the companies."
    meta = index.releases.meta
    lines: list[str] = []
    for c in found[:3]:
        mine = c.ids
        lines.append(f"<b>{e(c.name)}</b>" + (f" ({e(c.ticker)})" if c.ticker else "") +
                     f": {c.releases} release{'s' if c.releases != 1 else ''}")
        shown = 0
        for r in mine[:limit]:
            title = e(clip(meta[r].title or meta[r].id, 200))
            if web_address(meta[r].source_url):
                title = link(title, meta[r].source_url)
            line = f"• {title}" + (f", {meta[r].date.isoformat()}" if meta[r].date else "")
            if not fits("\n".join(lines + [line, "… and 99999 older", ""])):
                break
            lines.append(line)
            shown += 1
        if len(mine) > shown:
            lines.append(f"… and {len(mine) - shown} older")
        lines.append("")
    return "\n".join(lines).strip()


def sources_page(index, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """The companies the bot knows (with their ticker, how many releases and the newest one's date), by name,
    one page at a time; /sources COMPANY lists one company's releases."""
    from .follow import companies_in
    meta = index.releases.meta
    companies = sorted(companies_in(index, range(len(meta)), unknown="Unknown company"), key=lambda c: c.key or "~")
    pages = max(1, -(-len(companies) // SOURCES_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    lines = [f"<b>{len(companies)} compan{'ies' if len(companies) != 1 else 'y'}, {len(meta)} "
             f"release{'s' if len(meta) != 1 else ''}</b> (page {page + 1} of {pages}). "
             "<code>/sources</code> <i>company</i> lists one company's releases.\n"]
    for c in companies[page * SOURCES_PER_PAGE:(page + 1) * SOURCES_PER_PAGE]:
        lines.append(f"• <b>{e(c.name)}</b>" + (f" ({e(c.ticker)})" if c.ticker else "") +
                     f": {c.releases} release{'s' if c.releases != 1 else ''}" +
                     (f", newest {c.newest}" if c.newest else ""))
    row = []
    if page > 0:
        row.append(InlineKeyboardButton("◂ Previous", callback_data=f"src:{page - 1}"))
    if page + 1 < pages:
        row.append(InlineKeyboardButton("Next ▸", callback_data=f"src:{page + 1}"))
    return "\n".join(lines), InlineKeyboardMarkup([row]) if row else None
