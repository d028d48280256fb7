"""The state database: contexts survive a reopen; a corrupt file is set aside, a foreign one refused."""
import sqlite3

import pytest

from bot.conversation import Context, SQLiteStore, StateError


def test_contexts_survive_closing_and_reopening(tmp_path):
    store = SQLiteStore(tmp_path / "state.sqlite3")
    store.put("chat:1", Context(release_id="fusion-fsn-2009-05-29", company="Fusion", terms=["delist"]))
    store.close()
    again = SQLiteStore(tmp_path / "state.sqlite3")
    assert again.get("chat:1").release_id == "fusion-fsn-2009-05-29"
    assert again.get("chat:2") == Context()
    again.close()


def test_a_corrupt_state_file_is_set_aside_with_its_bytes_not_overwritten(tmp_path, caplog):
    state = tmp_path / "state.sqlite3"
    garbage = b"this is not a database\x00\x01" * 100
    state.write_bytes(garbage)
    store = SQLiteStore(state)
    assert store.set_aside is not None and store.set_aside.read_bytes() == garbage
    assert "set aside" in caplog.text
    store.put("chat:1", Context(release_id="r1"))  # and the bot goes on with a fresh database
    assert store.get("chat:1").release_id == "r1"
    store.close()


def test_a_foreign_database_is_refused_and_left_as_it_was(tmp_path):
    state = tmp_path / "state.sqlite3"
    with sqlite3.connect(state) as db:
        db.execute("CREATE TABLE accounts (id INTEGER)")
        db.execute("INSERT INTO accounts VALUES (7)")
    before = state.read_bytes()
    with pytest.raises(StateError, match="not an irbot state database"):
        SQLiteStore(state)
    assert state.read_bytes() == before
