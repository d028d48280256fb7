"""The Telegram front end: translates Telegram updates into questions for the answering core, and answers
into messages. It knows Telegram; `bot.answer` does not.

Wiring lives in `build_application`; each handler below does one job. Everything sent is HTML with every piece
of text escaped, under Telegram's 4,096-character limit; callback data is `view:key:n` (well under 64 bytes),
where `key` names an answer kept in the state database, so buttons keep working after a restart and a stale or
forged button gets a polite notice.
"""
from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
import secrets
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from telegram import (BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats, Chat,
                      ChatMember, ChatMemberUpdated, InlineKeyboardButton, InlineKeyboardMarkup,
                      InlineQueryResultArticle, InlineQueryResultsButton, InputTextMessageContent,
                      LinkPreviewOptions, Message, Update)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut
from telegram.ext import (AIORateLimiter, Application, ApplicationBuilder, ApplicationHandlerStop,
                          BaseUpdateProcessor, CallbackQueryHandler, ChatMemberHandler, CommandHandler,
                          ContextTypes, Defaults, InlineQueryHandler, MessageHandler, TypeHandler, filters)

from .answer import Answerer, Citation, answer as answer_once
from .render import citation_line, count, read_as_line
from .conversation import SQLiteStore
from .index import Loaded, company_key, open_index, reload_index
from .settings import Settings

log = logging.getLogger(__name__)

MAX_CHARS = 4096                 # Telegram's limit on a message's text
MAX_INLINE_RESULTS = 4
MIN_INLINE_QUERY = 4             # characters; shorter inline queries get a hint
SOURCES_PER_PAGE = 8
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY,
                   Update.MY_CHAT_MEMBER, Update.CHANNEL_POST]
EXPIRED = "This button has expired. Ask the question again and I'll answer it afresh."
UNKNOWN_BUTTON = "Sorry, I don't recognise that button."


# --- keeping the token out of logs -----------------------------------------------------------------------

TOKEN_IN_TEXT = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{30,64}")
_secrets: set[str] = set()
_base_factory = logging.getLogRecordFactory()


def redact(text: str) -> str:
    for s in _secrets:
        text = text.replace(s, "[TOKEN]")
    return TOKEN_IN_TEXT.sub("[TOKEN]", text)


def _redacting_factory(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a broken log call is not ours to fix; leave it as it was
        return record
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        text = logging.Formatter().formatException(record.exc_info)
        record.exc_text = redact(text)
    return record


def install_redaction(token: str) -> None:
    """Every log record from now on has the token (and anything shaped like one) replaced by [TOKEN]; httpx's
    request lines, which carry the token in the URL, are silenced below WARNING."""
    if token and len(token) >= 8:
        _secrets.add(token)
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


# --- talking to the Bot API through faults, and in order ------------------------------------------------------

# Calls that do the same thing however often they are made: safe to retry even when a timed-out attempt may
# have reached Telegram. (Sending a message is not: a retry after a timeout could post the answer twice.)
IDEMPOTENT = {"getMe", "setMyCommands", "deleteMyCommands", "deleteWebhook", "setWebhook", "getWebhookInfo",
              "editMessageText", "sendChatAction", "leaveChat"}


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter (Telegram's flood limits; 429 retry_after is waited out and retried), plus retries with
    backoff when the server fails (5xx) or the connection drops before an answer came. A timeout is retried
    only for idempotent calls. getUpdates is left to the Updater, whose loop retries it with the same offset."""

    def __init__(self, *args, network_retries: int = 4, backoff: float = 0.5, **kwargs):
        super().__init__(*args, **kwargs)
        self.network_retries, self.backoff = network_retries, backoff

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        attempt = 0
        while True:
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except BadRequest:
                raise
            except TimedOut:
                if endpoint not in IDEMPOTENT or attempt >= self.network_retries:
                    raise
            except NetworkError:
                if endpoint == "getUpdates" or attempt >= self.network_retries:
                    raise
            attempt += 1
            log.warning("Bot API call %s failed; retry %d of %d", endpoint, attempt, self.network_retries)
            await asyncio.sleep(self.backoff * 2 ** (attempt - 1))


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Updates are processed concurrently, but those of one chat one after another, in the order they came:
    a follow-up never overtakes the question it follows."""

    def __init__(self, max_concurrent_updates: int):
        super().__init__(max_concurrent_updates)
        self._locks: dict[Any, asyncio.Lock] = {}
        self._waiting: dict[Any, int] = defaultdict(int)

    @staticmethod
    def key(update: object) -> Any:
        if isinstance(update, Update):
            if update.effective_chat:
                return ("chat", update.effective_chat.id)
            if update.effective_user:
                return ("user", update.effective_user.id)
        return ("update", id(update))

    async def do_process_update(self, update, coroutine) -> None:
        key = self.key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


# --- rendering: answers to HTML --------------------------------------------------------------------------

def e(text: Any) -> str:
    return html.escape(str(text), quote=False)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fits(text: str) -> bool:
    return utf16_len(text) <= MAX_CHARS


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def citation_html(c: Citation | dict) -> str:
    c = c if isinstance(c, Citation) else Citation.model_validate(c)
    who = f"<b>{e(c.company or 'Unknown company')}</b>"
    if c.ticker:
        who += f" ({e(c.exchange + ': ' if c.exchange else '')}{e(c.ticker)})"
    title = clip(c.title, 300)
    if re.match(r"https?://\S+$", c.url or ""):
        title_html = f'<a href="{html.escape(c.url, quote=True)}">{e(title)}</a>'
    else:
        title_html = f"<i>{e(title)}</i>"
    return " · ".join([who, title_html] + [e(p) for p in (c.date, c.publisher) if p])


def _fit_quote(quote: str, build) -> str:
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
    cite = citation_html(a["source"])
    return _fit_quote(a["quote"], lambda q: f"<blockquote>{q}</blockquote>\n{cite}{read_as}")


def render_alternative(a: dict, n: int) -> str:
    alt = a["alternatives"][n - 1]
    total = len(a["alternatives"]) + 1
    cite = citation_html(alt["source"])
    head = f"<i>Next best quote ({n + 1} of {total})</i>"
    return _fit_quote(alt["quote"], lambda q: f"{head}\n<blockquote>{q}</blockquote>\n{cite}")


def render_context(a: dict) -> str:
    cite = citation_html(a["source"])
    before = " ".join(a.get("context_before") or [])
    after = " ".join(a.get("context_after") or [])

    def build(q: str) -> str:
        around = " ".join(p for p in (e(clip(before, 1200)), f"<b>{q}</b>", e(clip(after, 1200))) if p)
        return f"<blockquote expandable>{around}</blockquote>\n{cite}"
    return _fit_quote(a["quote"], build)


def answer_keyboard(a: dict, key: str, view: str, n: int = 0) -> InlineKeyboardMarkup | None:
    """More / Context / Share under an answer; which ones depends on the view shown."""
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
    rows.append([InlineKeyboardButton("Share", switch_inline_query=a["question"][:256])])
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


def inline_text(a: dict, quote: str, source: dict) -> str:
    """A self-contained message for inline mode: the question, the quote, the citation with its link."""
    cite = citation_html(source)
    head = f"<b>Q:</b> {e(clip(a['question'], 300))}"
    read_as = read_as_html(a)   # (others in the chat see the question as typed: say how it was read)
    return _fit_quote(quote, lambda q: f"{head}\n<blockquote>{q}</blockquote>\n{cite}{read_as}")


# --- the bot's own state ------------------------------------------------------------------------------------

class RateLimit:
    """At most `limit` events per `window` seconds per key; a refusal is 'new' once per window (to warn once)."""

    def __init__(self, limit: int, window: float, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._events: dict[Any, deque] = defaultdict(deque)
        self._warned: dict[Any, float] = {}

    def hit(self, key) -> tuple[bool, bool]:
        """(allowed, first refusal in this window)."""
        if self.limit <= 0:
            return True, False
        now = self.clock()
        events = self._events[key]
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) < self.limit:
            events.append(now)
            return True, False
        warned = self._warned.get(key)
        first = warned is None or warned <= now - self.window
        if first:
            self._warned[key] = now
        return False, first


@dataclass
class Service:
    """What the handlers share: the answering core, the state database, the settings and a few counters."""
    settings: Settings
    answerer: Answerer
    store: SQLiteStore
    corpus: str
    examples: list[str] = field(default_factory=list)
    loaded: Loaded | None = None  # what /reload compares the corpus against (None: the index was given)
    users: RateLimit | None = None
    chats: RateLimit | None = None
    started: float = field(default_factory=time.time)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    # Answering is CPU-bound: one worker thread keeps the event loop free without threads fighting over the GIL.
    worker: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="irbot-answer"))

    @property
    def index(self):
        return self.answerer.index

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.worker, fn, *args)

    # answers shown in chats, by key; which message shows which answer; which answer replied to which question
    def save_answer(self, key: str, record: dict) -> None:
        self.store.put_setting(f"answer:{key}", record)

    def load_answer(self, key: str) -> dict | None:
        return self.store.get_setting(f"answer:{key}")

    def link_message(self, chat_id: int, message_id: int, key: str) -> None:
        self.store.put_setting(f"message:{chat_id}:{message_id}", key)

    def answer_of_message(self, chat_id: int, message_id: int) -> str | None:
        return self.store.get_setting(f"message:{chat_id}:{message_id}")

    def link_question(self, chat_id: int, question_id: int, key: str, reply_id: int) -> None:
        self.store.put_setting(f"asked:{chat_id}:{question_id}", {"key": key, "reply": reply_id})

    def reply_to_question(self, chat_id: int, question_id: int) -> dict | None:
        return self.store.get_setting(f"asked:{chat_id}:{question_id}")


def service(context: ContextTypes.DEFAULT_TYPE) -> Service:
    return context.application.bot_data["irbot"]


def sample(context: ContextTypes.DEFAULT_TYPE) -> str:
    """A question this corpus answers, for hints: 'why is fusion delisting?'"""
    examples = service(context).examples
    return examples[0][0].lower() + examples[0][1:] if examples else "what did the company announce?"


def new_key() -> str:
    return secrets.token_urlsafe(9)  # 12 characters


TITLE_QUESTIONS = [
    (re.compile(r"delist", re.I), "Why is {name} delisting?"),
    (re.compile(r"dividend", re.I), "What dividend did {name} declare?"),
    (re.compile(r"acqui|merger", re.I), "What is {name} acquiring?"),
    (re.compile(r"results|earnings|revenue", re.I), "What were {name}'s results?"),
    (re.compile(r"appoint|names|chief|ceo", re.I), "Who did {name} appoint?"),
    (re.compile(r"offering|financing|placement", re.I), "How much is {name} raising?"),
    (re.compile(r"split|consolidat", re.I), "What is {name}'s split ratio?"),
    (re.compile(r"recall", re.I), "Why is {name} recalling products?"),
]
GENERIC_QUESTIONS = ["What did {name} announce?", "Who is the CEO of {name}?", "Where will {name} trade?"]


def example_questions(index, n: int = 3, reader=None) -> list[str]:
    """Up to n questions the corpus really answers, about its newest releases (checked by answering them)."""
    order = sorted(range(len(index.releases)), key=lambda i: (index.releases.meta[i].date is not None,
                                                              index.releases.meta[i].date or 0), reverse=True)
    found: list[str] = []
    for i in order[:20]:
        r = index.releases.meta[i]
        name = re.sub(r",?\s+(?:Inc|Corp|Corporation|Ltd|Limited|plc|PLC|LLC|Co|N\.V|S\.A|AG|SE)\.?$", "",
                      r.company or "") or r.ticker
        if not name:
            continue
        templates = [q for pattern, q in TITLE_QUESTIONS if pattern.search(r.title)] + GENERIC_QUESTIONS
        for template in templates:
            question = template.format(name=name)
            if question not in found and answer_once(index, question, None, reader).answered:
                found.append(question)
                if len(found) == n or sum(q.count(name) for q in found) >= 2 and len(order) > 1:
                    break
        if len(found) >= n:
            break
    return found[:n]


# --- conversations: who is asking, and what ------------------------------------------------------------------

def sender_id(message: Message) -> int:
    if message.from_user:
        return message.from_user.id
    if message.sender_chat:
        return message.sender_chat.id
    return 0


def private(chat: Chat) -> bool:
    return chat.type == Chat.PRIVATE


def conversation_of(message: Message) -> str:
    """A private chat is one conversation; in a group, each member has their own."""
    if private(message.chat):
        return f"chat:{message.chat_id}"
    return f"chat:{message.chat_id}:user:{sender_id(message)}"


def command_text(text: str) -> str:
    """'/ask@ThisBot why?' -> 'why?'"""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def without_mention(text: str, username: str) -> str:
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.I).strip(" \t\n,:;-")


def mentions(message: Message, username: str) -> bool:
    return any(text.lower() == f"@{username.lower()}" for text in message.parse_entities(["mention"]).values())


def replies_to_bot(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot_id)


def conversation_for(svc: "Service", message: Message, bot_id: int) -> str:
    """In a group, a reply to one of the bot's answers continues that answer's conversation."""
    if not private(message.chat) and replies_to_bot(message, bot_id):
        key = svc.answer_of_message(message.chat_id, message.reply_to_message.message_id)
        record = svc.load_answer(key) if key else None
        if record:
            return record["conv"]
    return conversation_of(message)


# --- answering a question in a chat ------------------------------------------------------------------------

async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str, conv: str) -> None:
    """Answer `question` in the message's chat, as a reply, with its buttons; remember what was shown."""
    svc = service(context)
    message = update.effective_message
    if not question:
        await message.reply_text(f"Ask me a question after the command, e.g. <code>/ask {e(sample(context))}"
                                 "</code>", do_quote=not private(message.chat))
        return
    allowed, first = svc.users.hit(sender_id(message))
    if allowed:
        allowed, first = svc.chats.hit(message.chat_id)
    if not allowed:
        svc.counts["rate_limited"] += 1
        if first:
            await message.reply_text("You're asking faster than I can keep up with. Please wait a minute and "
                                     "ask again.", do_quote=not private(message.chat))
        return
    if private(message.chat):  # "typing…" in a private chat; in a busy group it would only be noise
        with contextlib.suppress(TelegramError):
            await context.bot.send_chat_action(message.chat_id, "typing")
    result = await svc.run(svc.answerer.ask, conv, question)
    svc.counts["answered" if result.answered else "not_found"] += 1
    key = new_key()
    record = {"conv": conv, "answer": result.model_dump(mode="json", exclude={"context"})}
    text, markup = render_view(record["answer"], key, "a", 0)
    svc.save_answer(key, record)
    sent = await message.reply_text(text, reply_markup=markup, do_quote=not private(message.chat))
    svc.link_message(sent.chat_id, sent.message_id, key)
    svc.link_question(message.chat_id, message.message_id, key, sent.message_id)


async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a private chat, any text is a question."""
    message = update.effective_message
    await ask(update, context, message.text.strip(), conversation_of(message))


async def on_ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask question (also /ask@ThisBot in groups)."""
    message = update.effective_message
    await ask(update, context, command_text(message.text), conversation_for(service(context), message, context.bot.id))


async def on_group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group: a reply to one of the bot's messages, or a message mentioning it, is a question;
    everything else is none of the bot's business."""
    message = update.effective_message
    if replies_to_bot(message, context.bot.id) or mentions(message, context.bot.username):
        await ask(update, context, without_mention(message.text, context.bot.username),
                  conversation_for(service(context), message, context.bot.id))


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited question is answered again, by editing the bot's reply to it."""
    svc = service(context)
    message = update.edited_message
    asked = svc.reply_to_question(message.chat_id, message.message_id)
    if asked is None:
        return  # not a question the bot answered (an edit in a group, or to an ignored message)
    record = svc.load_answer(asked["key"])
    text = message.text
    if text.startswith("/"):
        text = command_text(text)
    text = without_mention(text, context.bot.username)
    if not text or record is None:
        return
    result = await svc.run(svc.answerer.ask, record["conv"], text)
    record["answer"] = result.model_dump(mode="json", exclude={"context"})
    svc.save_answer(asked["key"], record)
    # written again with the answer, so that they are kept as long (IRBOT_KEEP_DAYS)
    svc.link_message(message.chat_id, asked["reply"], asked["key"])
    svc.link_question(message.chat_id, message.message_id, asked["key"], asked["reply"])
    body, markup = render_view(record["answer"], asked["key"], "a", 0)
    try:
        await context.bot.edit_message_text(body, chat_id=message.chat_id, message_id=asked["reply"],
                                            reply_markup=markup)
    except BadRequest as err:
        if "not modified" not in str(err).lower():
            raise


# --- buttons ----------------------------------------------------------------------------------------------

async def on_view(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """More / Context / Best: show another view of an answer by editing its message in place."""
    query = update.callback_query
    view, key, n = query.data.split(":")
    record = service(context).load_answer(key)
    shown = render_view(record["answer"], key, view, int(n)) if record else None
    if shown is None:
        await query.answer(EXPIRED, show_alert=True)
        return
    await query.answer()
    try:
        await query.edit_message_text(shown[0], reply_markup=shown[1])
    except BadRequest as err:
        if "not modified" not in str(err).lower():
            raise


async def on_example(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An example question's button, from /start: ask it."""
    query = update.callback_query
    examples = service(context).examples
    n = int(query.data.split(":")[1])
    if n >= len(examples) or query.message is None:
        await query.answer(EXPIRED, show_alert=True)
        return
    await query.answer()
    message = query.message
    conv = f"chat:{message.chat_id}" if private(message.chat) else f"chat:{message.chat_id}:user:{query.from_user.id}"
    svc = service(context)
    result = await svc.run(svc.answerer.ask, conv, examples[n])
    key = new_key()
    record = {"conv": conv, "answer": result.model_dump(mode="json", exclude={"context"})}
    svc.save_answer(key, record)
    text, markup = render_view(record["answer"], key, "a", 0)
    sent = await context.bot.send_message(message.chat_id, text, reply_markup=markup)
    svc.link_message(sent.chat_id, sent.message_id, key)


async def on_sources_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    page = int(query.data.split(":")[1])
    text, markup = sources_page(service(context).index, page)
    await query.answer()
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as err:
        if "not modified" not in str(err).lower():
            raise


async def on_unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Callback data the bot never issued (or from an older version): a polite notice, nothing else."""
    await update.callback_query.answer(UNKNOWN_BUTTON, show_alert=True)


# --- commands ---------------------------------------------------------------------------------------------

HELP = ("Ask me about a company's press releases and I'll quote the one sentence that answers you, with its "
        "source: company, release, date, publisher and link. Follow-up questions (\"and where will it "
        "trade?\") continue from my last answer.\n\n"
        "<b>In a private chat</b> just type your question.\n"
        "<b>In a group</b> use /ask <i>question</i>, or reply to one of my answers.\n"
        "<b>In any chat</b> type <code>@{bot} question</code> to share an answer.\n\n"
        "/sources lists the releases I know · /new starts a fresh conversation · /help shows this.")


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A welcome, and example questions from the corpus as buttons."""
    svc = service(context)
    examples = svc.examples
    buttons = [[InlineKeyboardButton(q, callback_data=f"ex:{n}")] for n, q in enumerate(examples)]
    text = (f"Hi! I answer investors' questions from {len(svc.index.releases)} press "
            f"release{'s' if len(svc.index.releases) != 1 else ''}, quoting the sentence that answers and citing "
            "its source.\n\n" + ("Try one of these, or type your own question:" if examples else
                                 "Type a question to begin."))
    await update.effective_message.reply_text(text, reply_markup=InlineKeyboardMarkup(buttons) if buttons else None)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(HELP.replace("{bot}", e(context.bot.username)))


async def on_new(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/new: forget this conversation's context."""
    service(context).answerer.forget(conversation_of(update.effective_message))
    await update.effective_message.reply_text("Fresh start: I've forgotten what we were talking about.",
                                              do_quote=not private(update.effective_chat))


def sources_page(index, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """The releases the bot knows, by company, one page at a time."""
    releases = sorted(range(len(index.releases)),
                      key=lambda i: (company_key(index.releases.meta[i].company or "~"),
                                     -(index.releases.meta[i].date.toordinal() if index.releases.meta[i].date else 0)))
    companies = {company_key(r.company) for r in index.releases.meta if r.company}
    pages = max(1, -(-len(releases) // SOURCES_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    lines = [f"<b>{len(companies)} compan{'ies' if len(companies) != 1 else 'y'}, {len(releases)} "
             f"release{'s' if len(releases) != 1 else ''}</b> (page {page + 1} of {pages})"]
    company = None
    for i in releases[page * SOURCES_PER_PAGE:(page + 1) * SOURCES_PER_PAGE]:
        r = index.releases.meta[i]
        if r.company != company:
            company = r.company
            lines.append(f"\n<b>{e(r.company or 'Unknown company')}</b>" + (f" ({e(r.ticker)})" if r.ticker else ""))
        title = e(clip(r.title or r.id, 200))
        if re.match(r"https?://\S+$", r.source_url or ""):
            title = f'<a href="{html.escape(r.source_url, quote=True)}">{title}</a>'
        lines.append(f"• {title}" + (f", {r.date.isoformat()}" if r.date else ""))
    row = []
    if page > 0:
        row.append(InlineKeyboardButton("◂ Previous", callback_data=f"src:{page - 1}"))
    if page + 1 < pages:
        row.append(InlineKeyboardButton("Next ▸", callback_data=f"src:{page + 1}"))
    return "\n".join(lines), InlineKeyboardMarkup([row]) if row else None


async def on_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text, markup = sources_page(service(context).index, 0)
    await update.effective_message.reply_text(text, reply_markup=markup)


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text("I don't know that command. /help shows what I can do.")


async def on_not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo, sticker, voice note ... in a private chat: say what the bot understands."""
    await update.effective_message.reply_text("I answer questions sent as text, for example: "
                                              f"<i>{e(sample(context))}</i>")


# admin commands

def is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return bool(user) and user.id in service(context).settings.irbot_admin_ids


async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_admin(update, context):
        await update.effective_message.reply_text("That command is for the bot's admins.")
        return
    svc = service(context)
    stats = svc.index.stats()
    lines = [f"<b>Corpus</b> {e(svc.corpus)}"] + [f"{e(k)}: {e(v)}" for k, v in stats.items()]
    lines += [f"uptime: {int(time.time() - svc.started)} s"] + [f"{e(k)}: {v}" for k, v in sorted(svc.counts.items())]
    await update.effective_message.reply_text("\n".join(lines))


async def on_reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Re-read the corpus (new releases) without restarting; the conversations are kept."""
    if not is_admin(update, context):
        await update.effective_message.reply_text("That command is for the bot's admins.")
        return
    svc = service(context)
    loaded = await asyncio.to_thread(reload_index, svc.loaded, svc.corpus, cache_dir=svc.settings.irbot_cache)
    if loaded is svc.loaded:  # no release file changed since the last load: nothing to do
        await update.effective_message.reply_text(f"No change: {count(len(loaded.index.releases), 'release')}.")
        return
    svc.loaded = loaded
    svc.answerer.index = loaded.index  # questions in flight keep the index they started with
    svc.examples = await asyncio.to_thread(example_questions, loaded.index, reader=svc.answerer.reader)
    log.info("reloaded corpus %s: %d releases", svc.corpus, len(loaded.index.releases))
    skipped = f", skipped {len(loaded.problems)} file(s)" if loaded.problems else ""
    await update.effective_message.reply_text(f"Reloaded: {count(len(loaded.index.releases), 'release')}{e(skipped)}.")


# --- inline mode ---------------------------------------------------------------------------------------------

async def on_inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@ThisBot question: the answer and the next best ones, as messages ready to send."""
    query = update.inline_query
    text = query.query.strip()
    if len(text) < MIN_INLINE_QUERY:
        await query.answer([], cache_time=5, button=InlineQueryResultsButton(
            text=clip(f"Type a question, e.g. {sample(context)}", 64), start_parameter="inline-help"))
        return
    svc = service(context)
    result = await svc.run(answer_once, svc.index, text, None, svc.answerer.reader)
    a = result.model_dump(mode="json", exclude={"context"})
    share = InlineKeyboardMarkup([[InlineKeyboardButton("Ask another", switch_inline_query_current_chat="")]])
    results = []
    if result.answered:
        quotes = [(a["quote"], a["source"])] + [(x["quote"], x["source"]) for x in a["alternatives"]]
        for n, (quote, source) in enumerate(quotes[:MAX_INLINE_RESULTS]):
            results.append(InlineQueryResultArticle(
                id=f"{n}", title=clip(quote, 120), description=clip(citation_line(Citation.model_validate(source)), 200),
                input_message_content=InputTextMessageContent(inline_text(a, quote, source),
                                                              parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW),
                reply_markup=share))
        await query.answer(results, cache_time=30)
    else:
        await query.answer([], cache_time=30, button=InlineQueryResultsButton(
            text="Not in the releases: try other words", start_parameter="not-found"))


# --- groups: joining, and the allow-list ------------------------------------------------------------------------

def chat_allowed(svc: Service, chat: Chat | None) -> bool:
    allowed = svc.settings.irbot_allowed_chats
    return not allowed or chat is None or chat.type == Chat.PRIVATE or chat.id in allowed


async def guard_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every handler: in a chat not on the allow-list, the bot leaves and does nothing else."""
    chat = update.effective_chat
    if chat_allowed(service(context), chat):
        return
    if not (update.my_chat_member and update.my_chat_member.new_chat_member.status in (ChatMember.LEFT, ChatMember.BANNED)):
        log.info("leaving chat %s: not on the allow-list", chat.id)
        with contextlib.suppress(TelegramError):
            await context.bot.leave_chat(chat.id)
    raise ApplicationHandlerStop


def added(change: ChatMemberUpdated) -> bool:
    was = change.old_chat_member.status in (ChatMember.LEFT, ChatMember.BANNED)
    now = change.new_chat_member.status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER) or (
        change.new_chat_member.status == ChatMember.RESTRICTED and getattr(change.new_chat_member, "is_member", False))
    return was and now


async def on_my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Added to a group: introduce myself, in one short message."""
    change = update.my_chat_member
    if change.chat.type in (Chat.GROUP, Chat.SUPERGROUP) and added(change):
        await context.bot.send_message(
            change.chat.id, f"Hi, I'm {e(context.bot.first_name)}. I answer questions about company press releases "
            f"with a verbatim quote and its source. Ask with <code>/ask {e(sample(context))}</code>, or reply "
            f"to one of my answers to follow up.")


# --- errors -------------------------------------------------------------------------------------------------

async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log (the token is redacted by the logging setup) and make sure no button is left spinning."""
    if isinstance(context.error, Forbidden):  # the user blocked the bot, or it was removed from the group
        log.warning("cannot write to a chat any more: %s", redact(str(context.error)))
        return
    log.error("error while handling an update: %s", redact(repr(context.error)), exc_info=context.error)
    if isinstance(update, Update) and update.callback_query:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer("Sorry, something went wrong. Please try again.")
    elif isinstance(update, Update) and update.effective_message and update.effective_chat \
            and private(update.effective_chat) and not isinstance(context.error, (Forbidden, BadRequest)):
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text("Sorry, something went wrong on my side. Please try again.")


# --- wiring -------------------------------------------------------------------------------------------------

PRIVATE_COMMANDS = [("start", "welcome and example questions"), ("help", "how to ask"),
                    ("sources", "the companies and releases I know"), ("new", "forget our conversation")]
GROUP_COMMANDS = [("ask", "ask a question about the releases"), ("sources", "the companies and releases I know"),
                  ("new", "forget your conversation with me"), ("help", "how to ask")]


async def on_startup(app: Application) -> None:
    """Register the command lists and say which corpus is served."""
    svc: Service = app.bot_data["irbot"]
    await app.bot.set_my_commands([BotCommand(*c) for c in PRIVATE_COMMANDS], scope=BotCommandScopeAllPrivateChats())
    await app.bot.set_my_commands([BotCommand(*c) for c in GROUP_COMMANDS], scope=BotCommandScopeAllGroupChats())
    log.info("@%s serving corpus %s: %d releases", app.bot.username, svc.corpus, len(svc.index.releases))


def build_application(settings: Settings, index=None) -> Application:
    """The whole bot: settings in, a python-telegram-bot Application out (not yet started). `index` is the
    corpus's index when the caller has it already; otherwise it is opened from IRBOT_CORPUS."""
    from .cli import default_corpus

    token = settings.token()
    install_redaction(token)
    corpus = settings.irbot_corpus or default_corpus()
    # first: a foreign state file is reported before any indexing
    store = SQLiteStore(settings.irbot_state, keep_days=settings.irbot_keep_days)
    loaded = None
    if index is None:
        try:
            loaded = open_index(corpus, cache_dir=settings.irbot_cache)
        except BaseException:
            store.close()
            raise
        for problem in loaded.problems:
            log.warning("skipped %s", problem)
        index = loaded.index
    answerer = Answerer(index, store, reader="default" if settings.irbot_reader else None)
    svc = Service(settings=settings, answerer=answerer, store=store, corpus=str(corpus), loaded=loaded,
                  users=RateLimit(settings.irbot_user_questions, settings.irbot_rate_window),
                  chats=RateLimit(settings.irbot_chat_questions, settings.irbot_rate_window))
    svc.examples = example_questions(answerer.index, reader=answerer.reader)

    app = (ApplicationBuilder().token(token)
           .base_url(settings.telegram_base_url).base_file_url(settings.telegram_base_file_url)
           .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW))
           .rate_limiter(RetryingRateLimiter(overall_max_rate=settings.irbot_flood_per_second,
                                             group_max_rate=settings.irbot_flood_group_per_minute,
                                             max_retries=settings.irbot_flood_retries,
                                             network_retries=settings.irbot_network_retries,
                                             backoff=settings.irbot_retry_backoff))
           .concurrent_updates(ChatOrderedProcessor(settings.irbot_concurrency))
           .connect_timeout(settings.telegram_timeout).read_timeout(settings.telegram_timeout)
           .write_timeout(settings.telegram_timeout).pool_timeout(settings.telegram_timeout)
           .connection_pool_size(max(8, settings.irbot_concurrency * 2))
           .post_init(on_startup).post_shutdown(_close_store)
           .build())
    app.bot_data["irbot"] = svc

    new = filters.UpdateType.MESSAGE
    app.add_handler(TypeHandler(Update, guard_chat), group=-1)
    app.add_handlers([
        CommandHandler("start", on_start, filters=new),
        CommandHandler("help", on_help, filters=new),
        CommandHandler("sources", on_sources, filters=new),
        CommandHandler("new", on_new, filters=new),
        CommandHandler("ask", on_ask, filters=new),
        CommandHandler("stats", on_stats, filters=new),
        CommandHandler("reload", on_reload, filters=new),
        MessageHandler(new & filters.ChatType.PRIVATE & filters.COMMAND, on_unknown_command),
        # (a message sent through the bot inline is an answer someone shared, not a question)
        MessageHandler(new & filters.ChatType.PRIVATE & filters.TEXT & ~filters.VIA_BOT, on_private_text),
        MessageHandler(new & filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND & ~filters.VIA_BOT,
                       on_group_text),
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, on_edited),
        MessageHandler(new & filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, on_not_text),
        CallbackQueryHandler(on_view, pattern=r"^[amc]:[\w-]{12}:\d{1,2}$"),
        CallbackQueryHandler(on_example, pattern=r"^ex:\d{1,2}$"),
        CallbackQueryHandler(on_sources_page, pattern=r"^src:\d{1,5}$"),
        CallbackQueryHandler(on_unknown_button),
        InlineQueryHandler(on_inline),
        ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
    ])
    app.add_error_handler(on_error)
    return app


async def check_token(settings: Settings) -> str:
    """Ask the Bot API who we are: '@username', or a one-line SettingsError (the token never in it)."""
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError

    from .settings import SettingsError
    try:
        async with Bot(settings.token(), base_url=settings.telegram_base_url,
                       base_file_url=settings.telegram_base_file_url) as probe:
            return f"@{probe.username}"
    except InvalidToken:
        raise SettingsError("TELEGRAM_BOT_TOKEN was rejected by the Bot API server: check it with @BotFather") from None
    except NetworkError as err:
        raise SettingsError(f"cannot reach the Bot API server at {redact(settings.telegram_base_url)}: "
                            f"{redact(str(err))}") from None


async def _close_store(app: Application) -> None:
    app.bot_data["irbot"].worker.shutdown(wait=True)
    app.bot_data["irbot"].store.close()


@contextlib.asynccontextmanager
async def running(app: Application, webhook: dict | None = None, poll_timeout: float = 10):
    """Run `app` inside an existing event loop (as `run_polling`/`run_webhook` do, minus the signal handling):
    polling by default, or a webhook server with `webhook` = start_webhook's keyword arguments."""
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        if webhook is None:
            await app.updater.start_polling(poll_interval=0, timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES)
        else:
            await app.updater.start_webhook(allowed_updates=ALLOWED_UPDATES, **webhook)
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            await app.stop()
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
