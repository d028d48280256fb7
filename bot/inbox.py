"""The webhook's inbox: every update Telegram delivers is written to the state database before Telegram hears that
it arrived, then handled once, and the updates of one conversation ("lane": a chat, or a user for what has no chat)
one after another in the order Telegram numbered them, whichever process received them.

- Delivered twice (Telegram retries a webhook call that did not answer in time): the second is not accepted,
  because `update_id` is the table's key.
- A lane is held by one process at a time. In PostgreSQL the hold is a session advisory lock on a connection the
  process keeps for it, so a process that dies (SIGKILL, a lost machine once TCP keepalive notices) lets go of its
  lanes at once, and another process takes over what it had accepted but not handled. In SQLite there is one
  process (the file is not shared between machines): the holds are kept in memory, and a restarted bot handles
  what it had accepted before it stopped.
- An update is marked handled when its handler has run, so a process killed between sending an answer and that
  mark sends the answer again (at least once; in practice the window is a few milliseconds). An update that
  killed its handler `MAX_TRIES` times is given up, not retried for ever.

`bot.webhook` serves the HTTP side and runs the lanes; this module is only the database side.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

try:
    import fcntl
except ImportError:  # (Windows: no second process is refused there)
    fcntl = None

from .conversation import StateError

log = logging.getLogger(__name__)

MAX_TRIES = 3
KEEP_HANDLED = 86400.0  # seconds a handled update's id is kept (Telegram gives up redelivering well before that)
PRUNE_EVERY = 600.0
NOTICE_CHANNEL = "irbot"


@dataclass
class Handling:
    """The update being handled in this task (bot.webhook sets it), and whether it is marked handled yet."""
    inbox: "Inbox"
    update_id: int
    lane: str
    done: bool = False
    more: bool = True   # (once done: whether other updates wait in its lane)
    records: dict | None = None  # what the handler's answer wrote down, if it got that far
    contexts: dict = field(default_factory=dict)  # conversation -> the context its answer left, written with the mark


HANDLING: contextvars.ContextVar[Handling | None] = contextvars.ContextVar("irbot_handling", default=None)


def replied(store, records: dict) -> None:
    """A handler has sent its reply: write down what it showed (`records`, settings of the state database) and,
    behind a webhook, in the same statement, the conversation's new context and that the update is handled (so
    that an update answered again after a crash reads the context its predecessor left, not its own). At once,
    with no wait in between: the moment in which a killed process has answered but not yet said so (so that its
    update is answered again elsewhere) is kept to the few milliseconds of this one round trip."""
    handling = HANDLING.get()
    if handling is None or handling.done:
        store.put_settings(records)
    else:
        handling.records = records
        try:
            handling.more = handling.inbox.done(handling.update_id, records, handling.lane, handling.contexts)
            handling.done = True
        except LaneLost:  # (the conversation is another process's now: it answers this update again)
            log.warning("inbox: update %d was answered after its conversation was let go", handling.update_id)


class Inbox:
    """What both backends do the same way."""

    def __init__(self):
        self._pruned_at = 0.0
        self.token = uuid.uuid4().hex[:12]  # this process, in the notices it sends (it ignores its own)

    def prune_now_and_then(self) -> None:
        """Forget the ids of updates handled more than a day ago (bot.webhook calls it as it looks for work)."""
        if time.monotonic() - self._pruned_at > PRUNE_EVERY:
            self._pruned_at = time.monotonic()
            gone = self._prune(time.time() - KEEP_HANDLED)
            if gone:
                log.info("inbox: forgot %d handled updates", gone)

    def _prune(self, cutoff: float) -> int:
        raise NotImplementedError


class SQLiteInbox(Inbox):
    """The inbox in the SQLite state file (one process)."""

    def __init__(self, store):
        super().__init__()
        self._store, self._db, self._lock = store, store._db, store._lock
        self._held: set[str] = set()
        # The holds are this process's memory: a second webhook process on the same file would take the same
        # conversations. It is refused (the lock goes with the process, however it ends).
        self._only = open(store.path.with_name(store.path.name + ".webhook-lock"), "a+")
        try:
            if fcntl is not None:
                fcntl.flock(self._only, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._only.close()
            raise StateError(f"{store.path} already serves another webhook process: a SQLite state file serves one; "
                             "for several processes use PostgreSQL (IRBOT_STATE=postgresql://...)") from None
        with self._lock:
            self._db.execute("CREATE TABLE IF NOT EXISTS updates (update_id INTEGER PRIMARY KEY, lane TEXT NOT NULL,"
                             " payload TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0, tries INTEGER NOT NULL DEFAULT 0,"
                             " updated REAL NOT NULL)")
            self._db.execute("CREATE INDEX IF NOT EXISTS updates_waiting ON updates (lane, update_id) WHERE done=0")
            self._db.execute("CREATE INDEX IF NOT EXISTS updates_handled ON updates (updated) WHERE done=1")
        self.prune_now_and_then()

    def accept(self, update_id: int, lane: str, payload: str) -> bool:
        """Keep a delivered update; False when it was delivered before."""
        with self._lock:
            return self._db.execute("INSERT OR IGNORE INTO updates (update_id, lane, payload, updated) VALUES (?, ?, ?, ?)",
                                    (update_id, lane, payload, time.time())).rowcount == 1

    def waiting(self, limit: int = 100) -> list[str]:
        """Lanes with updates not yet handled, the longest waiting first."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT lane FROM updates WHERE done=0 GROUP BY lane "
                                                   "ORDER BY min(update_id) LIMIT ?", (limit,))]

    def take(self, lane: str) -> bool:
        with self._lock:
            if lane in self._held:
                return False
            self._held.add(lane)
            return True

    def leave(self, lane: str) -> bool:
        """Let the lane go; whether updates wait in it (one may have come in since the last look)."""
        with self._lock:
            self._held.discard(lane)
            return self._waits(lane)

    def pending(self, lane: str) -> bool:
        with self._lock:
            return self._waits(lane)

    def _waits(self, lane: str) -> bool:
        """(with the lock held)"""
        return self._db.execute("SELECT 1 FROM updates WHERE lane=? AND done=0 LIMIT 1", (lane,)).fetchone() is not None

    def next(self, lane: str) -> tuple[int, str, int] | None:
        """The lane's oldest update not yet handled, as (update_id, payload, tries so far including this one)."""
        with self._lock:
            row = self._db.execute("SELECT update_id, payload, tries FROM updates WHERE lane=? AND done=0 "
                                   "ORDER BY update_id LIMIT 1", (lane,)).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE updates SET tries=tries+1 WHERE update_id=?", (row[0],))
            return row[0], row[1], row[2] + 1

    def done(self, update_id: int, settings: dict | None = None, lane: str | None = None,
             contexts: dict | None = None) -> bool:
        """Mark the update handled (with `settings` and the conversations' `contexts` written in the same
        transaction); whether other updates wait in `lane`."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for conv, context in (contexts or {}).items():
                    self._db.execute(self._store.PUT_CONTEXT, (conv, context.model_dump_json(), now))
                for key, value in (settings or {}).items():
                    self._db.execute(self._store.PUT_SETTING, (key, json.dumps(value), now))
                self._db.execute("UPDATE updates SET done=1, payload='', updated=? WHERE update_id=?", (now, update_id))
                more = lane is not None and self._waits(lane)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return more

    def lead(self, name: str) -> bool:
        return True  # one process: it always leads

    def leading(self, name: str) -> bool:
        return True

    def unlead(self, name: str) -> None:
        pass

    def announce(self, what: str) -> None:
        pass  # nobody else to tell

    def listen(self, callback) -> None:
        pass

    def _prune(self, cutoff: float) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM updates WHERE done=1 AND updated < ?", (cutoff,)).rowcount

    def close(self) -> None:
        self._only.close()  # (the store closes the database)


class LaneLost(Exception):
    """This process no longer holds the conversation (its database connection was lost, and with it its locks):
    whoever takes the conversation next handles what is left of it."""


class PostgresInbox(Inbox):
    """The inbox in the PostgreSQL state database, shared by every process of the bot.

    The work on the conversations this process holds goes through the one connection whose session holds them
    (one round trip a step, without a pool's bookkeeping), and each step checks the hold first: if that
    connection was lost, so were the holds, and the step raises `LaneLost` instead of touching a conversation
    another process may have taken. The server is told to probe the connection (TCP keepalive, user timeout), so
    that the holds of a machine that vanished without closing it are let go within about half a minute."""

    # client side: notice a dead server; server side (options): notice a dead client, and let go of its locks
    CONNECT = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
               "keepalives_count": 3,
               "options": "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3 "
                          "-c tcp_user_timeout=30000"}

    def __init__(self, store):
        import psycopg
        super().__init__()
        self._pool, self.url = store._pool, store.url
        self._run = store._run  # (a statement on the store's pool: one of its connections, as the store's own)
        self._session = None
        self._session_lock = threading.Lock()
        self._held: set[str] = set()
        self._listener: threading.Thread | None = None
        self._closing = False
        try:
            with self._pool.connection() as db, db.transaction():
                db.execute("SELECT pg_advisory_xact_lock(%s)", (0x69726F74,))  # the store's schema lock
                db.execute("CREATE TABLE IF NOT EXISTS updates (update_id BIGINT PRIMARY KEY, lane TEXT NOT NULL,"
                           " payload TEXT NOT NULL, done BOOLEAN NOT NULL DEFAULT FALSE, tries INTEGER NOT NULL"
                           " DEFAULT 0, updated DOUBLE PRECISION NOT NULL)")
                db.execute("CREATE INDEX IF NOT EXISTS updates_waiting ON updates (lane, update_id) WHERE NOT done")
                db.execute("CREATE INDEX IF NOT EXISTS updates_handled ON updates (updated) WHERE done")
            self._on_session("SELECT 1")
        except psycopg.Error as e:
            raise StateError(f"cannot keep the webhook's updates in the PostgreSQL state database: "
                             f"{type(e).__name__}") from None
        self.prune_now_and_then()

    def _on_session(self, sql: str, args=(), fetch: str = "", holding: str | None = None):
        """Run `sql` on the session that holds this process's lanes, if it still holds `holding` (else
        LaneLost). A lost session is opened again, holding nothing."""
        import psycopg
        with self._session_lock:
            for attempt in (1, 2):
                if self._closing:
                    raise LaneLost("the inbox is closed")
                if self._session is None or self._session.closed or self._session.broken:
                    if self._held:
                        log.warning("inbox: the connection holding %d conversation(s) was lost; they are let go",
                                    len(self._held))
                    self._held.clear()
                    self._session = psycopg.connect(self.url, autocommit=True, **self.CONNECT)
                if holding is not None and holding not in self._held:
                    raise LaneLost(holding)
                try:
                    cur = self._session.execute(sql, args)
                    return cur.fetchone() if fetch == "one" else cur.rowcount
                except psycopg.OperationalError as err:
                    if not (self._session.broken or self._session.closed):
                        raise  # this statement's error (a deadlock, a cancel), not the connection's: the holds stand
                    # the connection is gone, and its locks with it
                    log.warning("inbox: the connection holding %d conversation(s) failed (%s: %s); they are let go",
                                len(self._held), type(err).__name__, err)
                    self._session.close()
                    self._held.clear()
                    if holding is not None:
                        raise LaneLost(holding) from None
                    if attempt == 2:
                        raise

    def _hold(self, key: str) -> bool:
        """Hold `key` (a session advisory lock; not twice: PostgreSQL's would stack)."""
        if key in self._held:
            return False
        if self._on_session("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,), "one")[0]:
            with self._session_lock:
                self._held.add(key)
            return True
        return False

    def _let_go(self, key: str) -> None:
        with contextlib.suppress(LaneLost):
            self._on_session("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,), holding=key)
        self._held.discard(key)

    def accept(self, update_id: int, lane: str, payload: str) -> bool:
        return self._run("INSERT INTO updates (update_id, lane, payload, updated) VALUES (%s, %s, %s, %s) "
                         "ON CONFLICT DO NOTHING", (update_id, lane, payload, time.time())) == 1

    def waiting(self, limit: int = 100) -> list[str]:
        return [r[0] for r in self._run("SELECT lane FROM updates WHERE NOT done GROUP BY lane ORDER BY min(update_id) "
                                        "LIMIT %s", (limit,), "all")]

    def take(self, lane: str) -> bool:
        return self._hold("lane:" + lane)

    def leave(self, lane: str) -> bool:
        """Let the lane go; whether updates wait in it. The look comes after the unlock, in a statement of its
        own (a statement sees the database as it was when it began): an update that another process kept
        meanwhile, and could not take the lane for, is seen here."""
        key = "lane:" + lane
        if key not in self._held:
            return self.pending(lane)
        self._held.discard(key)
        self._on_session("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))
        return self._on_session("SELECT EXISTS (SELECT 1 FROM updates WHERE lane=%s AND NOT done)", (lane,), "one")[0]

    def pending(self, lane: str) -> bool:
        return self._run("SELECT 1 FROM updates WHERE lane=%s AND NOT done LIMIT 1", (lane,), "one") is not None

    def next(self, lane: str) -> tuple[int, str, int] | None:
        row = self._on_session("UPDATE updates SET tries=tries+1 WHERE update_id=(SELECT min(update_id) FROM updates "
                               "WHERE lane=%s AND NOT done) AND NOT done RETURNING update_id, payload, tries",
                               (lane,), "one", holding="lane:" + lane)
        return tuple(row) if row else None

    def done(self, update_id: int, settings: dict | None = None, lane: str | None = None,
             contexts: dict | None = None) -> bool:
        """Mark the update handled, with `settings` and the conversations' `contexts` written and the look whether
        other updates wait in `lane` (its answer) in the same statement: one round trip. Only while this process
        holds the lane."""
        from .store_pg import PostgresStore
        put, args = (f"s AS ({PostgresStore.PUT_SETTINGS}), ", PostgresStore.settings_args(settings)) if settings else ("", ())
        if contexts:
            put += f"c AS ({PostgresStore.PUT_CONTEXTS}), "
            args += PostgresStore.contexts_args(contexts)
        row = self._on_session(f"WITH {put}d AS (UPDATE updates SET done=TRUE, payload='', updated=%s WHERE "
                               "update_id=%s) SELECT EXISTS (SELECT 1 FROM updates WHERE lane=%s AND NOT done AND "
                               "update_id<>%s)", args + (time.time(), update_id, lane or "", update_id), "one",
                               holding=None if lane is None else "lane:" + lane)
        return bool(row[0])

    def lead(self, name: str) -> bool:
        """Whether this process may do the one-at-a-time job `name` (sending alerts) now; until `unlead`."""
        return self._hold("lead:" + name)

    def leading(self, name: str) -> bool:
        """Whether this process still leads `name` (its connection, and the lock with it, may have been lost)."""
        try:
            self._on_session("SELECT 1", holding="lead:" + name)
            return True
        except Exception:  # LaneLost among them
            return False

    def unlead(self, name: str) -> None:
        self._let_go("lead:" + name)

    def announce(self, what: str) -> None:
        """Tell the other processes (`listen`): 'reload' after /reload."""
        self._run("SELECT pg_notify(%s, %s)", (NOTICE_CHANNEL, f"{self.token}:{what}"))

    def listen(self, callback) -> None:
        """Call `callback(what)` (in a thread of its own) for each notice another process announces."""
        import psycopg

        def loop():
            while not self._closing:
                try:
                    with psycopg.connect(self.url, autocommit=True, **self.CONNECT) as conn:
                        conn.execute(f"LISTEN {NOTICE_CHANNEL}")
                        while not self._closing:
                            for notice in conn.notifies(timeout=1.0):
                                sender, _, what = notice.payload.partition(":")
                                if sender != self.token:
                                    callback(what)
                except Exception as err:  # the database restarting, say: listen again
                    if not self._closing:
                        log.warning("inbox: listening for notices failed (%s); again in 1 s", type(err).__name__)
                        time.sleep(1.0)

        self._listener = threading.Thread(target=loop, name="irbot-notices", daemon=True)
        self._listener.start()

    def _prune(self, cutoff: float) -> int:
        return self._run("DELETE FROM updates WHERE done AND updated < %s", (cutoff,))

    def close(self) -> None:
        with self._session_lock:
            self._closing = True
            if self._session is not None:
                self._session.close()  # every lane and lead this process held is let go
            self._held.clear()
        if self._listener is not None:
            self._listener.join(timeout=3)


def open_inbox(store) -> Inbox:
    """The inbox in the state database `store` keeps."""
    from .conversation import SQLiteStore
    return SQLiteInbox(store) if isinstance(store, SQLiteStore) else PostgresInbox(store)
