"""The webhook's inbox (bot/inbox.py) on both stores: an update delivered twice is kept once, a conversation's
updates come out in order and to one holder at a time, and (PostgreSQL) a process that dies lets go of what it
held, so another takes over what it had accepted."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from bot.conversation import Context
from bot.inbox import open_inbox
from bot.store import open_store
from conftest import fresh_database


def opened(where):
    store = open_store(where)
    return store, open_inbox(store)


def test_an_update_delivered_twice_is_kept_and_handed_out_once(where):
    store, inbox = opened(where)
    assert inbox.accept(7, "chat:1", '{"update_id": 7}')
    assert not inbox.accept(7, "chat:1", '{"update_id": 7}')   # Telegram's retry of a call that timed out
    assert inbox.take("chat:1")
    assert inbox.next("chat:1") == (7, '{"update_id": 7}', 1)
    # with what the answer wrote and the context it left, in one go
    inbox.done(7, {"asked:1:7": {"key": "k", "reply": 8}}, "chat:1", {"chat:1": Context(company="Fusion")})
    assert store.get_setting("asked:1:7") == {"key": "k", "reply": 8} and store.get("chat:1").company == "Fusion"
    assert inbox.next("chat:1") is None and not inbox.pending("chat:1") and not inbox.leave("chat:1")
    assert not inbox.accept(7, "chat:1", '{"update_id": 7}')   # ... also once it was handled
    inbox.close()
    store.close()


def test_a_conversation_comes_out_in_update_order_and_to_one_holder(where):
    store, inbox = opened(where)
    for update_id, lane in [(12, "chat:1"), (10, "chat:1"), (11, "chat:2"), (13, "chat:1")]:
        inbox.accept(update_id, lane, f'{{"update_id": {update_id}}}')
    assert inbox.waiting() == ["chat:1", "chat:2"]   # the longest waiting first
    assert inbox.take("chat:1") and not inbox.take("chat:1")
    order, more = [], []
    while (item := inbox.next("chat:1")) is not None:
        order.append(item[0])
        more.append(inbox.done(item[0], None, "chat:1"))   # (and whether more wait in the chat)
    assert order == [10, 12, 13] and more == [True, True, False]
    assert not inbox.leave("chat:1")                       # nothing waits in it
    inbox.accept(14, "chat:1", '{"update_id": 14}')
    assert inbox.take("chat:1") and inbox.leave("chat:1")   # one came in before it was let go: look again
    assert inbox.take("chat:1")
    assert inbox.waiting() == ["chat:2", "chat:1"]
    inbox.close()
    store.close()


def test_an_update_that_keeps_failing_is_counted(where):
    store, inbox = opened(where)
    inbox.accept(1, "chat:1", "{}")
    inbox.take("chat:1")
    assert [inbox.next("chat:1")[2] for _ in range(3)] == [1, 2, 3]  # tried three times, never marked done
    inbox.close()
    store.close()
    store, inbox = opened(where)   # ... and the count survives a restart
    assert inbox.take("chat:1") and inbox.next("chat:1")[2] == 4
    inbox.close()
    store.close()


def test_sqlite_keeps_what_was_accepted_across_a_restart(tmp_path):
    store, inbox = opened(str(tmp_path / "state.sqlite3"))
    inbox.accept(3, "chat:9", '{"update_id": 3}')
    inbox.close()
    store.close()
    store, inbox = opened(str(tmp_path / "state.sqlite3"))
    assert inbox.waiting() == ["chat:9"] and inbox.take("chat:9") and inbox.next("chat:9")[0] == 3
    inbox.close()
    store.close()


# --- several processes on one PostgreSQL database ------------------------------------------------------------------

@pytest.fixture
def pg(postgres):
    return fresh_database(postgres)


def test_a_lane_held_by_a_killed_process_is_taken_over(pg):
    store, inbox = opened(pg)
    inbox.accept(5, "chat:1", '{"update_id": 5}')
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from bot.store import open_store\nfrom bot.inbox import open_inbox\n"
        f"inbox = open_inbox(open_store({pg!r}))\n"
        "assert inbox.take('chat:1') and inbox.lead('alerts')\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not inbox.take("chat:1") and not inbox.lead("alerts")
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        deadline = time.monotonic() + 10
        while not inbox.take("chat:1"):   # the server notices the closed connection (at once, on one machine)
            assert time.monotonic() < deadline, "the dead process's lane was never let go"
            time.sleep(0.05)
        assert inbox.next("chat:1")[0] == 5 and inbox.lead("alerts")
    finally:
        holder.kill()
        inbox.close()
        store.close()


def test_one_leader_at_a_time_and_notices_reach_the_other_processes(pg):
    (store1, one), (store2, two) = opened(pg), opened(pg)
    heard = []
    got = threading.Event()
    two.listen(lambda what: (heard.append(what), got.set()))
    time.sleep(0.3)                                   # (LISTEN is in place)
    one.announce("reload")
    assert got.wait(10) and heard == ["reload"]
    two.announce("reload")                            # a process does not hear itself
    time.sleep(1.5)
    assert heard == ["reload"]
    assert one.lead("alerts") and not two.lead("alerts")
    one.unlead("alerts")
    assert two.lead("alerts")
    for inbox, store in ((one, store1), (two, store2)):
        inbox.close()
        store.close()


def test_a_second_webhook_process_on_one_sqlite_file_is_refused(tmp_path):
    """Its holds are one process's memory: two processes would answer the same chat at once."""
    from bot.conversation import StateError
    state = str(tmp_path / "state.sqlite3")
    store, inbox = opened(state)
    other = open_store(state)
    with pytest.raises(StateError, match="serves one; for several processes use PostgreSQL"):
        open_inbox(other)
    inbox.close()
    second = open_inbox(other)   # once the first has gone, a restarted process serves it
    second.close()
    other.close()
    store.close()


def test_a_process_that_lost_its_connection_stops_touching_what_it_held(pg):
    """Its locks went with the connection: another process may have taken the chat, so it must not hand out or
    mark its updates any more."""
    import psycopg
    from bot.inbox import LaneLost
    (store1, one), (store2, two) = opened(pg), opened(pg)
    one.accept(1, "chat:1", '{"update_id": 1}')
    assert one.take("chat:1") and one.lead("alerts") and one.leading("alerts")
    update_id = one.next("chat:1")[0]
    with psycopg.connect(pg, autocommit=True) as admin:  # a database restart, a network blip, a DBA
        admin.execute("SELECT pg_terminate_backend(%s)", (one._session.info.backend_pid,))
    time.sleep(0.2)
    assert two.take("chat:1") and two.next("chat:1")[0] == update_id   # the other process takes over
    with pytest.raises(LaneLost):
        one.next("chat:1")
    with pytest.raises(LaneLost):
        one.done(update_id, {"asked:1:1": {"key": "k", "reply": 2}}, "chat:1")
    assert store1.get_setting("asked:1:1") is None
    assert not one.leading("alerts") and two.lead("alerts")
    # and the server probes a holder's connection, so a vanished machine's locks go in about half a minute
    assert one._on_session("SHOW tcp_keepalives_idle", fetch="one")[0] in ("10", "10s")
    for inbox, store in ((one, store1), (two, store2)):
        inbox.close()
        store.close()
