"""Which store keeps the bot's state: IRBOT_STATE names a SQLite file (bot.conversation.SQLiteStore, the default)
or a PostgreSQL database by its postgresql:// URL (bot.store_pg.PostgresStore, for processes that share it).
Both have the same methods; tests/test_store.py runs the same tests on both."""
from __future__ import annotations

import os
from pathlib import Path

from .conversation import SQLiteStore


def open_store(where: str | os.PathLike, keep_days: float = 30.0):
    """The store IRBOT_STATE (`where`) names."""
    text = str(where)
    if text.startswith(("postgresql://", "postgres://")):
        from .store_pg import PostgresStore  # psycopg only where PostgreSQL is used (the "postgres" extra)
        return PostgresStore(text, keep_days=keep_days)
    return SQLiteStore(Path(text), keep_days=keep_days)
