"""What the Telegram handlers share (`Service`): the answering core and the thread it runs in, the state database
(which answer each message shows, which reply answers which question), the settings, the question limits, a few
counters, and the example questions of /start. Also who is asking: the conversation a message belongs to."""
from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from telegram import Chat, Message
from telegram.ext import ContextTypes

from .answer import Answerer, answer as answer_once
from .companies import without_legal_suffix
from .conversation import SQLiteStore
from .inbox import HANDLING, Inbox, replied
from .index import Loaded
from .settings import Settings
from .telegram_infra import RateLimit


@dataclass
class Service:
    """What the handlers share: the answering core, the state database, the settings and a few counters."""
    settings: Settings
    answerer: Answerer
    store: SQLiteStore
    corpus: str
    loaded: Loaded | None = None  # what /reload compares the corpus against (None: the index was given)
    users: RateLimit | None = None
    chats: RateLimit | None = None
    started: float = field(default_factory=time.time)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # The example questions of /start, worked out when first shown (None: not yet), for the index they were for.
    examples_for: tuple[object, list[str]] | None = None
    alerting: asyncio.Lock = field(default_factory=asyncio.Lock)  # one alert sender at a time (telegram_follow)
    watcher: asyncio.Task | None = None                             # the corpus watcher, while the bot runs
    inbox: Inbox | None = None  # the webhook's updates in the state database (bot.webhook), when it serves one

    # Answering is CPU-bound: one worker thread keeps the event loop free without threads fighting over the GIL.
    worker: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="irbot-answer"))

    @property
    def index(self):
        return self.answerer.index

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.worker, fn, *args)

    async def ask(self, conv: str, question: str, count_it: bool = True) -> dict:
        """The answer to `question` in conversation `conv`, as the record the state database keeps (counted for
        /stats when `count_it`: a question typed, not an example pressed or an edit)."""
        handling = HANDLING.get()  # behind a webhook the context is written with the mark that the update was handled
        result = await self.run(self.answerer.ask, conv, question, handling is None)
        if handling is not None:
            handling.contexts[conv] = result.context
        if count_it:
            self.counts["answered" if result.answered else "not_found"] += 1
        return {"conv": conv, "answer": result.model_dump(mode="json", exclude={"context"})}

    async def examples(self) -> list[str]:
        """The example questions for the index now served: answered in the worker thread when first asked for
        (not at start-up, where a big corpus would keep the bot from starting for as long), then kept."""
        index = self.answerer.index
        if self.examples_for is None or self.examples_for[0] is not index:
            found = await self.run(example_questions, index, 3, self.answerer.reader)
            self.examples_for = (index, found)
        return self.examples_for[1]

    async def sample(self) -> str:
        """A question this corpus answers, for hints: 'why is fusion delisting?'"""
        examples = await self.examples()
        return examples[0][0].lower() + examples[0][1:] if examples else "what did the company announce?"

    # answers shown in chats, by key; which message shows which answer; which answer replied to which question
    def serve(self, loaded: Loaded) -> None:
        """Answer from the corpus as `loaded` now holds it (/reload, the corpus watcher). Questions in flight keep
        the index they started with; the /start examples are worked out anew when next shown (the old index is
        let go)."""
        self.loaded = loaded
        self.answerer.index = loaded.index
        self.examples_for = None

    def remember(self, key: str, record: dict, chat_id: int, message_id: int, question_id: int | None = None) -> None:
        """The answer `record` (by `key`), that message `message_id` shows it and, when it answered a question
        message, which: one write, which behind a webhook also marks the update handled (bot.inbox.replied)."""
        records = {f"answer:{key}": record, f"message:{chat_id}:{message_id}": key}
        if question_id is not None:
            records[f"asked:{chat_id}:{question_id}"] = {"key": key, "reply": message_id}
        replied(self.store, records)

    def load_answer(self, key: str) -> dict | None:
        return self.store.get_setting(f"answer:{key}")

    def answer_of_message(self, chat_id: int, message_id: int) -> str | None:
        return self.store.get_setting(f"message:{chat_id}:{message_id}")

    def reply_to_question(self, chat_id: int, question_id: int) -> dict | None:
        return self.store.get_setting(f"asked:{chat_id}:{question_id}")

    def share_link(self, username: str, question: str) -> str:
        """https://t.me/<bot>?start=s_<key>: opens the bot on `question`, answered (kept IRBOT_KEEP_DAYS). The key
        is the question's own, so asking again (every pause of an inline query) writes no new row."""
        key = hashlib.blake2b(" ".join(question.split()).encode(), digest_size=9).hexdigest()[:12]
        self.store.put_setting(f"share:{key}", question)
        return f"https://t.me/{username}?start=s_{key}"

    def shared_question(self, payload: str) -> str | None:
        """The question of a share link's payload ('s_<key>'), or None (expired, or not one of ours)."""
        if not re.fullmatch(r"s_[\w-]{12}", payload or ""):
            return None
        return self.store.get_setting(f"share:{payload[2:]}")


def service(context: ContextTypes.DEFAULT_TYPE) -> Service:
    return context.application.bot_data["irbot"]


def new_key() -> str:
    return secrets.token_urlsafe(9)  # 12 characters


# --- example questions ---------------------------------------------------------------------------------------------

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
        name = without_legal_suffix(r.company or "") or r.ticker
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


# --- who is asking --------------------------------------------------------------------------------------------------

def sender_id(message: Message) -> int:
    if message.from_user:
        return message.from_user.id
    if message.sender_chat:
        return message.sender_chat.id
    return 0


def private(chat: Chat) -> bool:
    return chat.type == Chat.PRIVATE


def conversation_id(chat: Chat, sender: int) -> str:
    """A private chat is one conversation; in a group, each member has their own."""
    return f"chat:{chat.id}" if private(chat) else f"chat:{chat.id}:user:{sender}"


def conversation_of(message: Message) -> str:
    return conversation_id(message.chat, sender_id(message))


def replies_to_bot(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot_id)


def conversation_for(svc: Service, message: Message, bot_id: int) -> str:
    """In a group, a reply to one of the bot's answers continues that answer's conversation."""
    if not private(message.chat) and replies_to_bot(message, bot_id):
        key = svc.answer_of_message(message.chat_id, message.reply_to_message.message_id)
        record = svc.load_answer(key) if key else None
        if record:
            return record["conv"]
    return conversation_of(message)
