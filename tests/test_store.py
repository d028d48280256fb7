"""The bot's state, the same behaviour in both stores: a SQLite file (the default) and PostgreSQL (a real server,
tests/pgserver.py), through bot.conversation.open_store, as IRBOT_STATE names them."""
from __future__ import annotations

import threading
import time

import pytest

from bot.conversation import Context, StateError
from bot.store import open_store


def test_contexts_and_records_survive_closing_and_reopening(where):
    store = open_store(where)
    store.put("chat:1", Context(release_id="fusion-fsn-2009-05-29", company="Fusion", terms=["delist"]))
    store.put_setting("answer:abc", {"quote": "The Company decided…", "n": 1})
    store.close()
    again = open_store(where)
    assert again.get("chat:1").company == "Fusion" and again.get("chat:2") == Context()
    assert again.get_setting("answer:abc") == {"quote": "The Company decided…", "n": 1}
    again.forget("chat:1")
    assert again.get("chat:1") == Context() and again.get_setting("nope", 7) == 7
    again.close()


def test_old_records_are_forgotten_but_follows_and_alerts_owed_are_kept(where):
    store = open_store(where, keep_days=0.5 / 86400)   # half a second
    store.put("chat:1", Context(company="Fusion"))
    store.follow("42", "fusion", "Fusion")
    store.queue_alerts(["r1"], {"r1": "fusion"})
    store.queue_alerts(["r1", "r2"], {"r2": "fusion"})
    time.sleep(0.7)
    assert store.prune() >= 1
    assert store.get("chat:1") == Context()
    assert store.following("42") == [("fusion", "Fusion")] and store.pending_alerts() == [("42", "r2")]
    store.close()


def test_votes_change_and_feedback_is_read_back(where):
    store = open_store(where)
    assert store.vote("k1", "u1", 1, "why is FSN delisting?", "Fusion", "fsn", "The Company decided…") is None
    assert store.vote("k1", "u1", -1, "why is FSN delisting?", "Fusion", "fsn", "The Company decided…") == 1
    store.note_unanswered("what was Fusion's revenue?", "Fusion")
    unanswered, disliked = store.feedback_since(time.time() - 60)
    assert [u[:2] for u in unanswered] == [("what was Fusion's revenue?", "Fusion")]
    assert [d[:4] for d in disliked] == [("why is FSN delisting?", "Fusion", "fsn", "The Company decided…")]
    assert store.feedback_since(time.time() + 60) == ([], [])
    store.close()


def test_alerts_are_owed_once_per_follower_and_move_or_go_with_their_chat(where):
    store = open_store(where)
    assert store.queue_alerts(["r1"], {"r1": "acme"}) == (0, 0)      # a corpus is not news to a new state
    assert store.follow("1", "acme", "Acme") and not store.follow("1", "acme", "Acme")
    store.follow("2", "acme", "Acme")
    store.follow("terminal", "acme", "Acme")
    store.follow("3", "zeta", "Zeta")
    assert store.queue_alerts(["r1", "r2"], {"r1": "acme", "r2": "acme"}) == (1, 3)
    assert store.queue_alerts(["r1", "r2"], {"r1": "acme", "r2": "acme"}) == (0, 0)
    assert sorted(store.pending_alerts()) == [("1", "r2"), ("2", "r2")]
    assert store.pending_alerts("terminal") == [("terminal", "r2")]
    store.alert_sent("1", "r2")
    store.move_chat("2", "-1002")
    store.drop_chat("3")
    assert store.pending_alerts() == [("-1002", "r2")] and store.following("-1002") == [("acme", "Acme")]
    assert store.following("2") == [] and store.following("3") == []
    assert store.unfollow("-1002", "acme") and not store.unfollow("-1002", "acme")
    store.close()


def test_several_processes_opening_a_new_postgresql_state_at_once_all_start(postgres):
    from bot.inbox import open_inbox
    url = postgres.create_database("irbot_many")
    opened, failed, inboxes = [], [], []

    def start():
        try:
            store = open_store(url)
            opened.append(store)
            inboxes.append(open_inbox(store))  # (a webhook process: its table of updates too)
        except Exception as e:  # noqa: BLE001 - what failed is the assertion's message
            failed.append(repr(e))
    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failed and len(opened) == 4 and len(inboxes) == 4
    opened[0].put("c", Context(company="Fusion"))
    assert all(s.get("c").company == "Fusion" for s in opened)
    assert inboxes[0].accept(1, "chat:1", "{}") and not inboxes[3].accept(1, "chat:1", "{}")
    for inbox, s in zip(inboxes, opened):
        inbox.close()
        s.close()


def test_a_postgresql_database_with_tables_of_the_same_names_is_refused_unchanged(postgres):
    import psycopg
    url = postgres.create_database("someone_elses")
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE TABLE contexts (id INTEGER)")
    with pytest.raises(StateError, match="did not write") as caught:
        open_store(url)
    assert "irbot@" not in str(caught.value)  # the URL (and any password in it) is not in the message
    with psycopg.connect(url) as db:
        assert [r[0] for r in db.execute("SELECT column_name FROM information_schema.columns "
                                         "WHERE table_name = 'contexts'")] == ["id"]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_the_bot_keeps_its_conversations_in_postgresql_across_a_restart(postgres, api, tmp_path):
    from botapi import bot_settings, make_corpus
    from harness import running

    from bot.telegram import build_application
    url = postgres.create_database("irbot_bot")
    corpus = make_corpus(tmp_path / "corpus")
    alice = api.person(1001, "Alice")
    chat = api.private_chat(alice)

    def start():
        settings = bot_settings(api, url, corpus, irbot_cache=str(tmp_path / "cache"))
        return running(build_application(settings), poll_timeout=2)
    async with start():
        first = await api.reply(chat, await api.say(alice, chat, "why is FSN delisting?"))
        assert "(NYSE Amex: FSN)" in first.text
    async with start():                                     # a restart: the follow-up leans on the last answer
        more = await api.reply(chat, await api.say(alice, chat, "where will it trade?"))
        assert "over the counter" in more.text
    assert not (tmp_path / "irbot-state.sqlite3").exists()
