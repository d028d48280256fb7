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


def test_sigkill_while_writing_leaves_a_whole_database_with_every_acknowledged_write(tmp_path):
    """A process killed in the middle of a stream of writes: the file reopens as it is (not set aside), passes
    SQLite's integrity check, and holds the last write the process had finished."""
    import os
    import signal
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    state = tmp_path / "state.sqlite3"
    writer = (
        "import sys\n"
        f"sys.path.insert(0, {root!r})\n"
        "from bot.conversation import Context, SQLiteStore\n"
        "store = SQLiteStore(sys.argv[1])\n"
        "i = 0\n"
        "while True:\n"
        "    store.put(f'chat:{i % 50}', Context(release_id=f'r{i}', terms=['delist'] * 50))\n"
        "    print(i, flush=True)\n"
        "    i += 1\n")
    proc = subprocess.Popen([sys.executable, "-c", writer, str(state)], stdout=subprocess.PIPE, text=True)
    done = [int(proc.stdout.readline()) for _ in range(300)]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    last = done[-1]
    with sqlite3.connect(state) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = SQLiteStore(state)
    assert store.set_aside is None
    written = int(store.get(f"chat:{last % 50}").release_id[1:])
    assert written >= last  # the last acknowledged write (or a later one) is there
    assert all(store.get(f"chat:{n}").release_id for n in range(50))
    store.close()
