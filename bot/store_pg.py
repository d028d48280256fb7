"""The bot's state in PostgreSQL: what `SQLiteStore` keeps (conversation contexts, the records behind buttons,
feedback, the questions the releases did not answer, follows, the releases seen and the alerts owed), with the
same methods, for a bot whose processes share one database (IRBOT_STATE=postgresql://...).

psycopg 3 with its connection pool. Connections are in autocommit: a method of one statement is one round trip
to the server (no BEGIN and COMMIT around it); those of several run them in one transaction. The schema is created (and upgraded) under a
transaction-scoped advisory lock, so several processes starting at once create it once.
"""
from __future__ import annotations

import json
import logging
import time

from .conversation import Context, Pruning, StateError

log = logging.getLogger(__name__)

SCHEMA_LOCK = 0x69726F74  # pg_advisory_xact_lock key: "irot"
SCHEMA = [
    "CREATE TABLE IF NOT EXISTS irbot_schema (version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS contexts (conv TEXT PRIMARY KEY, context TEXT NOT NULL, updated DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS feedback (answer TEXT NOT NULL, \"user\" TEXT NOT NULL, vote INTEGER NOT NULL,"
    " question TEXT NOT NULL, company TEXT, release_id TEXT, quote TEXT, updated DOUBLE PRECISION NOT NULL,"
    " PRIMARY KEY (answer, \"user\"))",
    "CREATE TABLE IF NOT EXISTS unanswered (id BIGSERIAL PRIMARY KEY, question TEXT NOT NULL, company TEXT,"
    " updated DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS follows (chat TEXT NOT NULL, company TEXT NOT NULL, name TEXT NOT NULL,"
    " updated DOUBLE PRECISION NOT NULL, PRIMARY KEY (chat, company))",
    "CREATE TABLE IF NOT EXISTS known_releases (release_id TEXT PRIMARY KEY, updated DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS alerts (chat TEXT NOT NULL, release_id TEXT NOT NULL, sent INTEGER NOT NULL DEFAULT 0,"
    " updated DOUBLE PRECISION NOT NULL, seq BIGSERIAL, PRIMARY KEY (chat, release_id))",
] + [f"CREATE INDEX IF NOT EXISTS {t}_updated ON {t} (updated)"
     for t in ("contexts", "settings", "feedback", "unanswered", "alerts")]


class PostgresStore(Pruning):
    """SQLiteStore's interface over a PostgreSQL database (see bot.conversation.SQLiteStore for what each keeps)."""

    SCHEMA_VERSION = 3

    def __init__(self, url: str, keep_days: float = 30.0, pool_size: int = 4):
        from psycopg_pool import ConnectionPool
        import psycopg
        self.url = url
        self.keep_seconds = keep_days * 86400.0
        try:
            self._pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=True, timeout=10,
                                        kwargs={"autocommit": True})
            self._pool.wait(timeout=10)
        except (psycopg.Error, Exception) as e:
            raise StateError(f"cannot reach the PostgreSQL state database: {type(e).__name__}") from None
        try:
            self._create_schema()
        except BaseException:
            self._pool.close()
            raise
        self.prune()

    def _create_schema(self) -> None:
        with self._pool.connection() as db, db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            tables = {r[0] for r in db.execute("SELECT table_name FROM information_schema.tables "
                                                "WHERE table_schema = current_schema()")}
            if "irbot_schema" not in tables and tables & {*self.TABLES, "follows", "known_releases", "updates"}:
                raise StateError("the PostgreSQL state database holds tables of the same names that irbot did not "
                                 "write: give irbot a database (or schema) of its own")
            for sql in SCHEMA:
                db.execute(sql)
            if db.execute("SELECT version FROM irbot_schema").fetchone() is None:
                db.execute("INSERT INTO irbot_schema (version) VALUES (%s)", (self.SCHEMA_VERSION,))

    def _run(self, sql: str, args=(), fetch: str = ""):
        with self._pool.connection() as db:
            cur = db.execute(sql, args)
            if fetch == "one":
                return cur.fetchone()
            if fetch == "all":
                return cur.fetchall()
            return cur.rowcount

    # --- contexts and records ------------------------------------------------------------------------------

    def get(self, conv: str) -> Context:
        row = self._run("SELECT context FROM contexts WHERE conv=%s", (conv,), "one")
        return Context.stored(row[0] if row else None)

    def put(self, conv: str, context: Context) -> None:
        self._run("INSERT INTO contexts (conv, context, updated) VALUES (%s, %s, %s) ON CONFLICT (conv) DO UPDATE "
                  "SET context=excluded.context, updated=excluded.updated", (conv, context.model_dump_json(), time.time()))
        self._prune_now_and_then()

    def forget(self, conv: str) -> None:
        self._run("DELETE FROM contexts WHERE conv=%s", (conv,))

    def get_setting(self, key: str, default=None):
        row = self._run("SELECT value FROM settings WHERE key=%s", (key,), "one")
        return json.loads(row[0]) if row else default

    def put_setting(self, key: str, value) -> None:
        self._run("INSERT INTO settings (key, value, updated) VALUES (%s, %s, %s) ON CONFLICT (key) DO UPDATE "
                  "SET value=excluded.value, updated=excluded.updated", (key, json.dumps(value), time.time()))
        self._prune_now_and_then()

    PUT_SETTINGS = ("INSERT INTO settings (key, value, updated) SELECT k, v, %s FROM unnest(%s::text[], %s::text[]) AS "
                    "t(k, v) ON CONFLICT (key) DO UPDATE SET value=excluded.value, updated=excluded.updated")

    def put_settings(self, records: dict) -> None:
        """Several settings in one statement (the records of one answer)."""
        self._run(self.PUT_SETTINGS, self.settings_args(records))
        self._prune_now_and_then()

    @staticmethod
    def settings_args(records: dict) -> tuple:
        return time.time(), list(records), [json.dumps(v) for v in records.values()]

    PUT_CONTEXTS = ("INSERT INTO contexts (conv, context, updated) SELECT k, v, %s FROM unnest(%s::text[], %s::text[]) "
                    "AS t(k, v) ON CONFLICT (conv) DO UPDATE SET context=excluded.context, updated=excluded.updated")

    @staticmethod
    def contexts_args(contexts: dict) -> tuple:
        return time.time(), list(contexts), [c.model_dump_json() for c in contexts.values()]

    # --- feedback -------------------------------------------------------------------------------------------

    def vote(self, answer: str, user: str, vote: int, question: str, company: str | None = None,
             release_id: str | None = None, quote: str | None = None) -> int | None:
        with self._pool.connection() as db, db.transaction():
            row = db.execute("SELECT vote FROM feedback WHERE answer=%s AND \"user\"=%s FOR UPDATE",
                             (answer, user)).fetchone()
            db.execute("INSERT INTO feedback (answer, \"user\", vote, question, company, release_id, quote, updated) "
                       "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (answer, \"user\") DO UPDATE SET "
                       "vote=excluded.vote, updated=excluded.updated",
                       (answer, user, vote, question, company, release_id, quote, time.time()))
        return row[0] if row else None

    def note_unanswered(self, question: str, company: str | None) -> None:
        self._run("INSERT INTO unanswered (question, company, updated) VALUES (%s, %s, %s)",
                  (question, company, time.time()))

    def feedback_since(self, since: float) -> tuple[list[tuple], list[tuple]]:
        with self._pool.connection() as db:
            unanswered = db.execute("SELECT question, company, updated FROM unanswered WHERE updated >= %s "
                                    "ORDER BY updated, id", (since,)).fetchall()
            disliked = db.execute("SELECT question, company, release_id, quote, updated FROM feedback WHERE vote < 0 "
                                  "AND updated >= %s ORDER BY updated", (since,)).fetchall()
        return [tuple(r) for r in unanswered], [tuple(r) for r in disliked]

    # --- follows and alerts ---------------------------------------------------------------------------------

    def follow(self, chat: str, company: str, name: str) -> bool:
        return self._run("INSERT INTO follows (chat, company, name, updated) VALUES (%s, %s, %s, %s) "
                         "ON CONFLICT DO NOTHING", (chat, company, name, time.time())) == 1

    def unfollow(self, chat: str, company: str) -> bool:
        return self._run("DELETE FROM follows WHERE chat=%s AND company=%s", (chat, company)) == 1

    def following(self, chat: str) -> list[tuple[str, str]]:
        return [tuple(r) for r in self._run("SELECT company, name FROM follows WHERE chat=%s ORDER BY name",
                                            (chat,), "all")]

    def drop_chat(self, chat: str) -> None:
        with self._pool.connection() as db, db.transaction():
            db.execute("DELETE FROM follows WHERE chat=%s", (chat,))
            db.execute("DELETE FROM alerts WHERE chat=%s AND sent=0", (chat,))

    def move_chat(self, old: str, new: str) -> None:
        with self._pool.connection() as db, db.transaction():
            for table in ("follows", "alerts"):
                db.execute(f"UPDATE {table} SET chat=%s WHERE chat=%s AND NOT EXISTS (SELECT 1 FROM {table} t "
                           f"WHERE t.chat=%s AND t.{'company' if table == 'follows' else 'release_id'}="
                           f"{table}.{'company' if table == 'follows' else 'release_id'})", (new, old, new))
                db.execute(f"DELETE FROM {table} WHERE chat=%s", (old,))

    def queue_alerts(self, release_ids: list[str], companies: dict[str, str]) -> tuple[int, int]:
        now = time.time()
        with self._pool.connection() as db, db.transaction():
            db.execute("LOCK TABLE known_releases IN SHARE ROW EXCLUSIVE MODE")  # one process decides what is new
            first = db.execute("SELECT 1 FROM known_releases LIMIT 1").fetchone() is None
            known = {r[0] for r in db.execute("SELECT release_id FROM known_releases")}
            new = [rid for rid in dict.fromkeys(release_ids) if rid not in known]
            with db.cursor() as cur:
                cur.executemany("INSERT INTO known_releases (release_id, updated) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                [(rid, now) for rid in new])
            queued = 0
            if not first:
                for rid in new:
                    queued += db.execute("INSERT INTO alerts (chat, release_id, updated) SELECT chat, %s, %s FROM "
                                         "follows WHERE company=%s ON CONFLICT DO NOTHING",
                                         (rid, now, companies.get(rid, ""))).rowcount
        return (0 if first else len(new)), queued

    def pending_alerts(self, chat: str | None = None, limit: int = 1000) -> list[tuple[str, str]]:
        if chat is None:
            rows = self._run("SELECT chat, release_id FROM alerts WHERE sent=0 AND chat ~ '^-?[0-9]+$' "
                             "ORDER BY updated, seq LIMIT %s", (limit,), "all")
        else:
            rows = self._run("SELECT chat, release_id FROM alerts WHERE sent=0 AND chat=%s ORDER BY updated, seq "
                             "LIMIT %s", (chat, limit), "all")
        return [tuple(r) for r in rows]

    def alert_sent(self, chat: str, release_id: str) -> None:
        self._run("UPDATE alerts SET sent=1, updated=%s WHERE chat=%s AND release_id=%s", (time.time(), chat, release_id))

    # --- keeping it small ------------------------------------------------------------------------------------

    def _delete(self, cutoff: float) -> int:
        with self._pool.connection() as db, db.transaction():
            return sum(db.execute(self.stale(t, "%s"), (cutoff,)).rowcount for t in self.TABLES)

    def close(self) -> None:
        self._pool.close()
