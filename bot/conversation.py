"""Conversation state: what a follow-up question leans on, kept per conversation.

A `Context` is small (the release and company of the last answer, and the words it was about). The store
keeps one per conversation id, in memory or in SQLite (WAL mode, one transaction a write), so a restarted
bot still knows what "it" was. The SQLite store forgets contexts and the records behind buttons not written
for `keep_days`: a bot that runs for years keeps a file of weeks, and an old button says it has expired.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)


class Context(BaseModel):
    release_id: str | None = None
    company: str | None = None
    terms: list[str] = []
    people: list[str] = []
    question: str | None = None  # what was asked (with what it followed): the reader reads a follow-up with it
    pending: str | None = None   # a question the bot asked back about ("which company do you mean?"): a reply
    #                              that only names a company is answered as that question about it

    @classmethod
    def stored(cls, text: str | None) -> "Context":
        """A context as a store keeps it (JSON), or a fresh one when there is none or it no longer reads."""
        if not text:
            return cls()
        try:
            return cls.model_validate_json(text)
        except ValidationError:
            return cls()


class MemoryStore:
    def __init__(self):
        self._items: dict[str, Context] = {}

    def get(self, conv: str) -> Context:
        return self._items.get(conv) or Context()

    def put(self, conv: str, context: Context) -> None:
        self._items[conv] = context

    def forget(self, conv: str) -> None:
        self._items.pop(conv, None)

    def note_unanswered(self, question: str, company: str | None) -> None:
        pass  # a terminal session keeps no record of what it asked

    def close(self) -> None:
        pass


class StateError(Exception):
    """The state file is not a database this bot wrote."""


class Pruning:
    """What both stores (SQLiteStore here, bot.store_pg.PostgresStore) forget, and when: the rows of TABLES not
    written for `keep_days`, on opening and hourly while running. Each store runs the deletes its own way
    (`_delete`)."""

    PRUNE_EVERY = 3600.0  # seconds between prunes while running (and one when opened)
    TABLES = ("contexts", "settings", "feedback", "unanswered", "alerts")  # each row with when it was last written ("updated")
    keep_seconds: float
    _pruned_at: float = 0.0

    @staticmethod
    def stale(table: str, placeholder: str) -> str:
        """The DELETE for `table`'s rows written before the cutoff (an alert only once sent: one still owed waits
        for its chat however long it takes)."""
        return f"DELETE FROM {table} WHERE updated < {placeholder}" + (" AND sent=1" if table == "alerts" else "")

    def _delete(self, cutoff: float) -> int:
        raise NotImplementedError

    def prune(self) -> int:
        """Forget contexts and records not written for `keep_days`; how many rows went."""
        self._pruned_at = time.monotonic()
        gone = self._delete(time.time() - self.keep_seconds)
        if gone:
            log.info("state: forgot %d records not written for %g days", gone, self.keep_seconds / 86400)
        return gone

    def _prune_now_and_then(self) -> None:
        if time.monotonic() - self._pruned_at >= self.PRUNE_EVERY:
            self.prune()


class SQLiteStore(Pruning):
    """Conversation contexts (and small per-chat settings) in one SQLite file that survives restarts."""

    SCHEMA_VERSION = 3  # 2: settings rows carry when they were written, so they can be pruned; 3: feedback

    def __init__(self, path: str | os.PathLike, keep_days: float = 30.0):
        self.path = Path(path)
        self.keep_seconds = keep_days * 86400.0
        self._pruned_at = 0.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.set_aside: Path | None = None  # where a corrupt state file was moved, if one was
        try:
            version, tables = self._open()
        except sqlite3.DatabaseError as e:
            # Not a database at all (a torn copy, a stray file): keep its bytes under another name, start afresh.
            self.set_aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            self._db.close()
            os.replace(self.path, self.set_aside)
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    os.replace(side, self.set_aside.with_name(self.set_aside.name + suffix))
            log.warning("state file %s was not a usable SQLite database (%s); set aside as %s, starting afresh",
                        self.path, e, self.set_aside)
            try:
                version, tables = self._open()
            except sqlite3.DatabaseError as e:
                raise StateError(f"{self.path}: not a usable SQLite database ({e})") from None
        # A database of something else is somebody's data: refuse it rather than move or change it.
        if tables and (version not in (1, 2, self.SCHEMA_VERSION) or "contexts" not in tables):
            self._db.close()
            raise StateError(f"{self.path}: not an irbot state database (schema {version}, tables {sorted(tables)})")
        self._wal()
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            # IMMEDIATE: another process opening the file at the same time waits for this one (busy timeout)
            # rather than reading the old version too and upgrading it twice.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._create_or_upgrade()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._db.close()
                raise
        self.prune()

    def _create_or_upgrade(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]  # again: another process may have upgraded
        if version == 1:  # written by an older irbot: its records count as written now
            columns = [r[1] for r in self._db.execute("PRAGMA table_info(settings)")]
            if columns != ["key", "value"]:
                raise StateError(f"{self.path}: not an irbot state database (schema 1, settings {columns})")
            self._db.execute(f"ALTER TABLE settings ADD COLUMN updated REAL NOT NULL DEFAULT {time.time()!r}")
        self._db.execute("CREATE TABLE IF NOT EXISTS contexts (conv TEXT PRIMARY KEY, context TEXT NOT NULL,"
                         " updated REAL NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL,"
                         " updated REAL NOT NULL)")
        # What investors thought of answers (one vote per user and answer, changeable) and the questions the
        # releases did not answer: what `irbot report` reads. No user is named in the second.
        self._db.execute("CREATE TABLE IF NOT EXISTS feedback (answer TEXT NOT NULL, user TEXT NOT NULL,"
                         " vote INTEGER NOT NULL, question TEXT NOT NULL, company TEXT, release_id TEXT, quote TEXT,"
                         " updated REAL NOT NULL, PRIMARY KEY (answer, user))")
        self._db.execute("CREATE TABLE IF NOT EXISTS unanswered (id INTEGER PRIMARY KEY, question TEXT NOT NULL,"
                         " company TEXT, updated REAL NOT NULL)")
        # Followed companies (never pruned: a follow lasts until unfollowed or the chat goes away), the releases
        # the bot has seen (a release is new once, whatever re-indexes it), and the alerts owed to followers, kept
        # until sent, so that a restart loses none.
        self._db.execute("CREATE TABLE IF NOT EXISTS follows (chat TEXT NOT NULL, company TEXT NOT NULL,"
                         " name TEXT NOT NULL, updated REAL NOT NULL, PRIMARY KEY (chat, company))")
        self._db.execute("CREATE TABLE IF NOT EXISTS known_releases (release_id TEXT PRIMARY KEY, updated REAL NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS alerts (chat TEXT NOT NULL, release_id TEXT NOT NULL,"
                         " sent INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL, PRIMARY KEY (chat, release_id))")
        for table in self.TABLES:  # a prune reads only what it deletes
            self._db.execute(f"CREATE INDEX IF NOT EXISTS {table}_updated ON {table} (updated)")
        if version != self.SCHEMA_VERSION:
            self._db.execute(f"PRAGMA user_version={self.SCHEMA_VERSION}")

    def _open(self) -> tuple[int, set[str]]:
        """Connect and read what the file is, changing nothing yet (WAL mode would rewrite a foreign header)."""
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        # one snapshot: not the tables of a file that another process is creating together with its old version
        self._db.execute("BEGIN")
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            self._db.execute("COMMIT")
        return version, tables

    def _wal(self) -> None:
        """WAL mode, once for the file; switching needs the file to itself, which another process opening or
        writing it may hold for a moment (SQLite does not wait for that on its own)."""
        for attempt in range(50):
            try:
                if self._db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or attempt == 49:
                    self._db.close()
                    raise
                time.sleep(0.1)

    # (also written by bot.inbox, with the mark that an update was handled)
    PUT_CONTEXT = ("INSERT INTO contexts (conv, context, updated) VALUES (?, ?, ?) ON CONFLICT(conv) DO UPDATE SET "
                   "context=excluded.context, updated=excluded.updated")
    PUT_SETTING = ("INSERT INTO settings (key, value, updated) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                   "value=excluded.value, updated=excluded.updated")

    def get(self, conv: str) -> Context:
        with self._lock:
            row = self._db.execute("SELECT context FROM contexts WHERE conv=?", (conv,)).fetchone()
        return Context.stored(row[0] if row else None)

    def put(self, conv: str, context: Context) -> None:
        with self._lock:
            self._db.execute(self.PUT_CONTEXT, (conv, context.model_dump_json(), time.time()))
        self._prune_now_and_then()

    def forget(self, conv: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM contexts WHERE conv=?", (conv,))

    def get_setting(self, key: str, default=None):
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def put_setting(self, key: str, value) -> None:
        with self._lock:
            self._db.execute(self.PUT_SETTING, (key, json.dumps(value), time.time()))
        self._prune_now_and_then()

    def put_settings(self, records: dict) -> None:
        """Several settings in one transaction (the records of one answer)."""
        now = time.time()
        self._in_transaction(*[(self.PUT_SETTING, (k, json.dumps(v), now)) for k, v in records.items()])
        self._prune_now_and_then()

    def vote(self, answer: str, user: str, vote: int, question: str, company: str | None = None,
             release_id: str | None = None, quote: str | None = None) -> int | None:
        """A 👍 (1) or 👎 (-1) on an answer; the same user pressing again changes their vote. Their vote before."""
        with self._lock:
            row = self._db.execute("SELECT vote FROM feedback WHERE answer=? AND user=?", (answer, user)).fetchone()
            self._db.execute("INSERT INTO feedback (answer, user, vote, question, company, release_id, quote, updated)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(answer, user) DO UPDATE SET"
                             " vote=excluded.vote, updated=excluded.updated",
                             (answer, user, vote, question, company, release_id, quote, time.time()))
        return row[0] if row else None

    def note_unanswered(self, question: str, company: str | None) -> None:
        with self._lock:
            self._db.execute("INSERT INTO unanswered (question, company, updated) VALUES (?, ?, ?)",
                             (question, company, time.time()))

    def feedback_since(self, since: float) -> tuple[list[tuple], list[tuple]]:
        """(question, company, when) of each unanswered question and (question, company, release_id, quote, when)
        of each answer marked 👎, written since `since` (seconds since the epoch)."""
        with self._lock:
            unanswered = self._db.execute("SELECT question, company, updated FROM unanswered WHERE updated >= ?"
                                          " ORDER BY updated", (since,)).fetchall()
            disliked = self._db.execute("SELECT question, company, release_id, quote, updated FROM feedback"
                                        " WHERE vote < 0 AND updated >= ? ORDER BY updated", (since,)).fetchall()
        return unanswered, disliked

    def follow(self, chat: str, company: str, name: str) -> bool:
        """Follow `company` (its key) in `chat`; False when it was followed already."""
        with self._lock:
            return self._db.execute("INSERT OR IGNORE INTO follows (chat, company, name, updated) VALUES (?, ?, ?, ?)",
                                    (chat, company, name, time.time())).rowcount == 1

    def unfollow(self, chat: str, company: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM follows WHERE chat=? AND company=?", (chat, company)).rowcount == 1

    def following(self, chat: str) -> list[tuple[str, str]]:
        """(company key, name) of what `chat` follows, by name."""
        with self._lock:
            return self._db.execute("SELECT company, name FROM follows WHERE chat=? ORDER BY name", (chat,)).fetchall()

    def drop_chat(self, chat: str) -> None:
        """A chat that blocked the bot or was deleted: its follows and the alerts owed to it go."""
        self._in_transaction(("DELETE FROM follows WHERE chat=?", (chat,)),
                             ("DELETE FROM alerts WHERE chat=? AND sent=0", (chat,)))

    def move_chat(self, old: str, new: str) -> None:
        """A group that became a supergroup (a new chat id): its follows and the alerts owed to it move along."""
        self._in_transaction(("UPDATE OR IGNORE follows SET chat=? WHERE chat=?", (new, old)),
                             ("UPDATE OR IGNORE alerts SET chat=? WHERE chat=?", (new, old)),
                             ("DELETE FROM follows WHERE chat=?", (old,)), ("DELETE FROM alerts WHERE chat=?", (old,)))

    def _in_transaction(self, *statements) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    self._db.execute(sql, args)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def queue_alerts(self, release_ids: list[str], companies: dict[str, str]) -> tuple[int, int]:
        """Mark releases as seen, and owe each follower of their company one alert for each release not seen
        before (`companies`: release id -> company key). The first call on a new state file only marks what is
        there: a corpus is not news. Returns (releases new, alerts queued); one transaction."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                first = self._db.execute("SELECT 1 FROM known_releases LIMIT 1").fetchone() is None
                new = []
                for rid in release_ids:
                    if self._db.execute("INSERT OR IGNORE INTO known_releases (release_id, updated) VALUES (?, ?)",
                                        (rid, now)).rowcount:
                        new.append(rid)
                queued = 0
                if not first:
                    for rid in new:
                        queued += self._db.execute(
                            "INSERT OR IGNORE INTO alerts (chat, release_id, updated) SELECT chat, ?, ? FROM follows"
                            " WHERE company=?", (rid, now, companies.get(rid, ""))).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return (0 if first else len(new)), queued

    def pending_alerts(self, chat: str | None = None, limit: int = 1000) -> list[tuple[str, str]]:
        """(chat, release id) of alerts owed, oldest first: one chat's when `chat` is given, else every Telegram
        chat's (numeric ids: the terminal's user, `irbot alerts`, reads its own)."""
        with self._lock:
            if chat is None:
                return self._db.execute("SELECT chat, release_id FROM alerts WHERE sent=0 AND chat NOT GLOB"
                                        " '*[^0-9-]*' ORDER BY updated, rowid LIMIT ?", (limit,)).fetchall()
            return self._db.execute("SELECT chat, release_id FROM alerts WHERE sent=0 AND chat=? ORDER BY updated,"
                                    " rowid LIMIT ?", (chat, limit)).fetchall()

    def alert_sent(self, chat: str, release_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE alerts SET sent=1, updated=? WHERE chat=? AND release_id=?",
                             (time.time(), chat, release_id))

    def _delete(self, cutoff: float) -> int:
        with self._lock:
            return sum(self._db.execute(self.stale(table, "?"), (cutoff,)).rowcount for table in self.TABLES)

    def close(self) -> None:
        with self._lock:
            self._db.close()
