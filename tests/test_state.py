"""The state database: contexts survive a reopen; a corrupt file is set aside, a foreign one refused."""
import sqlite3

import pytest

from bot.conversation import Context, SQLiteStore, StateError
from botapi import age_state


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


def _write(state, conv, release_id, key, quote):
    """A bot run that answers once: the conversation's context and the answer behind its buttons."""
    store = SQLiteStore(state, keep_days=30)
    store.put(conv, Context(release_id=release_id))
    store.put_setting(key, {"quote": quote})
    store.close()


def _schema_1(state):
    """A state file as irbot wrote it before settings rows had a write time: one context, one answer."""
    with sqlite3.connect(state) as db:
        db.execute("CREATE TABLE contexts (conv TEXT PRIMARY KEY, context TEXT NOT NULL, updated REAL NOT NULL)")
        db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO contexts VALUES ('chat:1', ?, strftime('%s','now'))",
                   (Context(release_id="r1").model_dump_json(),))
        db.execute("""INSERT INTO settings VALUES ('answer:K', '{"quote": "q"}')""")
        db.execute("PRAGMA user_version=1")


def test_what_was_not_written_for_keep_days_is_forgotten_and_the_rest_kept(tmp_path):
    state = tmp_path / "state.sqlite3"
    _write(state, "chat:old", "r-old", "answer:OLD", "old")
    age_state(state, 31)
    _write(state, "chat:new", "r-new", "answer:NEW", "new")
    age_state(state, 29)  # the new ones are 29 days old, the old ones 60

    store = SQLiteStore(state, keep_days=30)
    assert store.get("chat:old") == Context() and store.get_setting("answer:OLD") is None
    assert store.get("chat:new").release_id == "r-new" and store.get_setting("answer:NEW") == {"quote": "new"}
    store.close()
    with sqlite3.connect(state) as db:  # gone from the file, not only hidden
        assert db.execute("SELECT count(*) FROM contexts").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM settings").fetchone()[0] == 1


def test_a_running_store_forgets_old_records_without_a_restart(tmp_path):
    state = tmp_path / "state.sqlite3"
    store = SQLiteStore(state, keep_days=1)
    store.put("chat:1", Context(release_id="r1"))
    store.put_setting("answer:A", {"quote": "a"})
    age_state(state, 2)
    store.put("chat:2", Context(release_id="r2"))  # within the hour since opening: nothing pruned yet
    assert store.get("chat:1").release_id == "r1" and store.get_setting("answer:A") == {"quote": "a"}
    store.PRUNE_EVERY = 0  # an hour later, a context written ...
    store.put("chat:2", Context(release_id="r2"))
    assert store.get("chat:1") == Context() and store.get_setting("answer:A") is None
    assert store.get("chat:2").release_id == "r2"
    store.put_setting("answer:B", {"quote": "b"})
    age_state(state, 2)
    store.put_setting("answer:C", {"quote": "c"})  # ... or a button's record, prunes as well
    assert store.get("chat:2") == Context() and store.get_setting("answer:B") is None
    assert store.get_setting("answer:C") == {"quote": "c"}
    store.close()


def test_a_record_written_again_is_kept_from_then(tmp_path):
    """An answer edited (its question was), a conversation asked again: the clock starts afresh."""
    state = tmp_path / "state.sqlite3"
    _write(state, "chat:1", "r1", "answer:A", "a")
    age_state(state, 20)
    _write(state, "chat:1", "r1-again", "answer:A", "a, edited")
    age_state(state, 20)  # 40 days after the first write, 20 after the second
    store = SQLiteStore(state, keep_days=30)
    assert store.get("chat:1").release_id == "r1-again" and store.get_setting("answer:A") == {"quote": "a, edited"}
    store.close()


def test_a_state_file_of_the_previous_schema_is_upgraded_with_its_records(tmp_path):
    """A bot upgraded in place keeps its conversations and buttons: version 1 had no time on settings rows."""
    state = tmp_path / "state.sqlite3"
    _schema_1(state)
    store = SQLiteStore(state, keep_days=30)
    assert store.get("chat:1").release_id == "r1" and store.get_setting("answer:K") == {"quote": "q"}
    store.put_setting("answer:L", {"quote": "l"})
    store.close()
    with sqlite3.connect(state) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SQLiteStore.SCHEMA_VERSION
    age_state(state, 31)  # the upgraded records count from the upgrade, and go in time like the rest
    store = SQLiteStore(state, keep_days=30)
    assert store.get_setting("answer:K") is None and store.get_setting("answer:L") is None
    store.close()


def test_a_foreign_database_that_looks_like_the_previous_schema_is_refused_unchanged(tmp_path):
    state = tmp_path / "state.sqlite3"
    with sqlite3.connect(state) as db:
        db.execute("CREATE TABLE contexts (conv TEXT PRIMARY KEY, context TEXT NOT NULL, updated REAL NOT NULL)")
        db.execute("CREATE TABLE settings (name TEXT, owner TEXT, value TEXT)")
        db.execute("PRAGMA user_version=1")
    with pytest.raises(StateError, match="not an irbot state database"):
        SQLiteStore(state)
    with sqlite3.connect(state) as db:
        assert [r[1] for r in db.execute("PRAGMA table_info(settings)")] == ["name", "owner", "value"]
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1


def _open_and_close(path, barrier, results):
    barrier.wait()
    try:
        SQLiteStore(path).close()
        results.put("ok")
    except Exception as e:  # reported to the test, which shows it
        results.put(f"{type(e).__name__}: {e}")


@pytest.mark.parametrize("start", ["new", "schema 1", "schema 2"])
def test_two_bots_opening_one_state_file_at_once_both_start(tmp_path, start):
    """Two processes on one file (webhook workers, a deploy that overlaps the old process): neither fails with
    'database is locked', neither takes a half-made file for a foreign one, and an old file is upgraded once."""
    import multiprocessing
    fork = multiprocessing.get_context("fork")
    outcomes = []
    for round_ in range(6):
        state = tmp_path / f"state-{round_}.sqlite3"
        if start != "new":
            _schema_1(state)
            if start == "schema 2":
                SQLiteStore(state).close()
        barrier, results = fork.Barrier(2), fork.Queue()
        both = [fork.Process(target=_open_and_close, args=(state, barrier, results)) for _ in range(2)]
        for p in both:
            p.start()
        for p in both:
            p.join(30)
        outcomes += [results.get(timeout=5) for _ in both]
        if start != "new":
            store = SQLiteStore(state)
            assert store.get_setting("answer:K") == {"quote": "q"}
            store.close()
    assert outcomes == ["ok"] * len(outcomes), outcomes
