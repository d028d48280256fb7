"""What the Telegram front end stands on, none of it about answering: keeping the token out of logs, talking to
the Bot API through faults (retries, flood limits), processing each chat's updates in order, and the per-user
and per-chat question limits. Separate from the handlers so that they read as what the bot does."""
from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import defaultdict
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Update
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter, BaseUpdateProcessor

log = logging.getLogger(__name__)


# --- keeping the token out of logs -----------------------------------------------------------------------------

TOKEN_IN_TEXT = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{30,64}")


class Redaction(logging.Filter):
    """A logging filter that replaces the secrets it knows (and anything shaped like a bot token) with [TOKEN] in
    a record's message and traceback. It never drops a record."""

    def __init__(self):
        super().__init__()
        self.secrets: set[str] = set()

    def redact(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "[TOKEN]")
        return TOKEN_IN_TEXT.sub("[TOKEN]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken log call is not ours to fix; leave it as it was
            return True
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        return True


REDACTION = Redaction()


def redact(text: str) -> str:
    return REDACTION.redact(text)


def install_redaction(token: str) -> None:
    """Every log handler there is now (the root logger's, and the last-resort one) redacts the token, and
    anything shaped like one, to [TOKEN]; httpx's request lines, which carry the token in the URL, are silenced
    below WARNING."""
    if token and len(token) >= 8:
        REDACTION.secrets.add(token)
    for handler in logging.getLogger().handlers + [logging.lastResort]:
        if handler is not None and REDACTION not in handler.filters:
            handler.addFilter(REDACTION)
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


# --- talking to the Bot API through faults, and in order ---------------------------------------------------------

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


# --- questions per user and per chat -----------------------------------------------------------------------------

class RateLimit:
    """At most `limit` questions per `window` seconds per key (aiolimiter's leaky bucket, one per key); a refusal
    is 'first' once per window, so that the asker is warned once, not at every message."""

    def __init__(self, limit: int, window: float, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._buckets: dict[Any, AsyncLimiter] = {}
        self._warned: dict[Any, float] = {}

    async def hit(self, key) -> tuple[bool, bool]:
        """(allowed, first refusal in this window). Never waits: a question over the limit is refused."""
        if self.limit <= 0:
            return True, False
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = AsyncLimiter(self.limit, self.window)
        if bucket.has_capacity():
            await bucket.acquire()      # (there is room: it takes it without waiting)
            return True, False
        now = self.clock()
        warned = self._warned.get(key)
        first = warned is None or warned <= now - self.window
        if first:
            self._warned[key] = now
        return False, first
