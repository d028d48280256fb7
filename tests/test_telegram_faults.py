"""Reliability and security of the Telegram front end, end to end against the tests' Bot API server:
faults (429, 500, dropped connections, timeouts), updates the bot does not expect, admin commands, rate limits,
the chat allow-list, and a load test. Nothing here is timed; the load test measures and prints its figures."""
from __future__ import annotations

import logging
import os
import statistics
import time

import pytest

from bot.telegram import build_application
from harness import running
from botapi import add_zeta_release, bot_settings, make_corpus

# python-telegram-bot warns about its own retry_after type while handling a 429; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
def start(api, tmp_path, corpus, index):
    def starter(corpus_dir=None, **overrides):
        settings = bot_settings(api, tmp_path / "state.sqlite3", corpus_dir or corpus, **overrides)
        return running(build_application(settings, index=None if corpus_dir else index), poll_timeout=1)
    return starter


def replies_by_question(api, chat) -> dict[int, list]:
    out: dict[int, list] = {}
    for m in api.bot_messages(chat):
        out.setdefault(m.reply_to, []).append(m)
    return out


# --- faults -------------------------------------------------------------------------------------------------

async def test_api_faults_lose_nothing_and_answer_nothing_twice(api, start, caplog):
    caplog.set_level(logging.INFO)
    alice = api.person(1, "Alice")
    group = api.group(-2001)
    # polling fails in every way, then sending does: each question must still be answered, exactly once
    api.fail("getUpdates", "500")
    api.fail("getUpdates", "drop")
    api.fail("getUpdates", "lose")               # updates handed out, the answer lost: fetched again
    api.fail("getUpdates", "429", retry_after=1)
    api.fail("getUpdates", "slow", delay=2)      # longer than the bot waits (0.5 s + the 1 s long poll)
    api.fail("sendMessage", "429", retry_after=1)
    api.fail("sendMessage", "500", times=2)
    api.fail("sendMessage", "drop")
    questions = ["why is FSN delisting?", "what is Acme acquiring?", "who is the CEO?", "when will it close?",
                 "why is FSN delisting?", "where is Borealis based?"]
    async with start(telegram_timeout=0.5):
        asked = [await api.say(alice, group, f"/ask {q}") for q in questions]
        await api.until(lambda: len(api.bot_messages(group)) >= len(asked), timeout=60)
        # a button whose answer is dropped, then a 500 on the edit: answered once, edited once
        first = replies_by_question(api, group)[asked[0].message_id][0]
        api.fail("answerCallbackQuery", "drop")
        api.fail("editMessageText", "500")
        answer = await api.callback_answer(await api.press(alice, first, "More"))
        await api.edited(first)
        assert answer is not None and first.edits == 1
        # and a reply that is slow to come back is not sent again (sending twice is not safe to retry)
        api.fail("sendMessage", "slow", delay=1)
        slow = await api.say(alice, group, "/ask why is FSN delisting?")
        marker = await api.say(alice, group, "/ask what is Acme acquiring?")
        await api.until(lambda: marker.message_id in replies_by_question(api, group), timeout=60)
        await api.until(lambda: slow.message_id in replies_by_question(api, group), timeout=60)
    by_question = replies_by_question(api, group)
    for q in asked + [slow, marker]:
        assert len(by_question.get(q.message_id, [])) == 1, (q.text, by_question.get(q.message_id))
        reply = by_question[q.message_id][0]
        assert reply.blockquotes or reply.text.startswith("I couldn't find"), reply.text
    assert len(api.bot_messages(group)) == len(asked) + 2
    assert all(f["times"] == 0 for f in api.faults)        # every fault really happened
    assert max(api.handed_out.values()) >= 2                 # some updates were fetched again ...
    assert api.token not in caplog.text                      # ... and the token never reached a log line


# --- updates the bot does not expect -------------------------------------------------------------------------

PHOTO = [{"file_id": "p", "file_unique_id": "p", "width": 10, "height": 10}]
STICKER = {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512, "height": 512,
           "is_animated": False, "is_video": False}
VOICE = {"file_id": "v", "file_unique_id": "v", "duration": 2}


async def test_unexpected_updates_are_handled_quietly(api, start, caplog, corpus):
    caplog.set_level(logging.WARNING)
    alice, bob = api.person(1, "Alice"), api.person(2, "Bob")
    chat = api.private_chat(alice)
    group = api.group(-2002)
    channel = {"id": -1009, "type": "channel", "title": "News"}
    api.chat_info[channel["id"]] = channel
    async with start():
        # private: media get a hint; a forwarded question is a question
        for kind, payload in [("photo", PHOTO), ("sticker", STICKER), ("voice", VOICE)]:
            await api.send_other(alice, chat, kind, payload)
        await api.until(lambda: len(api.bot_messages(chat)) == 3)
        assert all("text" in m.text for m in api.bot_messages(chat))
        forwarded = await api.say(alice, chat, "why is FSN delisting?", forward_origin={
            "type": "user", "date": 1, "sender_user": bob})
        assert (await api.reply(chat, forwarded)).blockquotes
        # an answer shared inline into the chat is not a question
        shared = await api.say(alice, chat, "Q: why is FSN delisting? The Company decided ...", via_bot=api.me)
        marker = await api.reply(chat, await api.say(alice, chat, "why is FSN delisting?"))
        assert api.bot_messages(chat, shared)[0] is marker
        # group: media, service messages, channel posts, edits of non-questions, another bot's commands
        start_id = max(api.chats.get(group["id"], {0: None}).keys() or [0])
        await api.send_other(bob, group, "photo", PHOTO)
        await api.send_other(bob, group, "sticker", STICKER)
        await api.send_other(bob, group, "new_chat_members", [api.person(3, "Carol")])
        await api.send_other(bob, group, "left_chat_member", api.person(3, "Carol"))
        await api.send_other(None, channel, "text", "FSN news", update_type="channel_post")
        chatter = await api.say(bob, group, "nice weather")
        await api.edit(chatter, "nice weather today")
        # a message without any sender, and one from a channel speaking in the group
        anonymous = await api.say(None, group, "/ask why is FSN delisting?")
        as_channel = await api.say(None, group, "/ask what is Acme acquiring?", sender_chat=channel)
        long_query = await api.inline_answer(await api.inline_query(alice, ("why is FSN delisting " * 20)[:256]))
        await api.until(lambda: len(api.bot_messages(group, start_id)) == 2)
    replies = replies_by_question(api, group)
    assert set(replies) == {anonymous.message_id, as_channel.message_id}
    assert "(NYSE Amex: FSN)" in replies[anonymous.message_id][0].text
    assert "(NASDAQ: ACMW)" in replies[as_channel.message_id][0].text
    assert long_query["results"] or long_query.get("button")
    assert not api.errors
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_long_and_odd_questions_always_render(api, start):
    alice = api.person(1, "Alice")
    chat = api.private_chat(alice)
    questions = ["x" * 4000, "🙂🙂🙂", "a", "<b>why</b> is FSN delisting?", "FSN *_[`delisting`](x)",
                 "למה FSN מתבטלת?", "почему FSN уходит с биржи?", "why\u200b is\u202e FSN\x07 delisting?"]
    async with start():
        for q in questions:
            await api.say(alice, chat, q)
        await api.until(lambda: len(api.bot_messages(chat)) == len(questions))
    assert not api.errors
    assert all(m.text.strip() for m in api.bot_messages(chat))


# --- admins, limits, allow-list ---------------------------------------------------------------------------------

async def test_admin_commands_only_for_admins_and_reload_picks_up_new_releases(api, start, tmp_path):
    corpus = make_corpus(tmp_path / "own-corpus")
    alice, bob = api.person(1, "Alice"), api.person(2, "Bob")
    a_chat, b_chat = api.private_chat(alice), api.private_chat(bob)
    async with start(corpus_dir=corpus, irbot_admin_ids=[alice["id"]], irbot_cache=str(tmp_path / "cache")):
        denied = await api.reply(b_chat, await api.say(bob, b_chat, "/stats"))
        assert "admins" in denied.text and "releases" not in denied.text
        denied = await api.reply(b_chat, await api.say(bob, b_chat, "/reload"), )
        assert "admins" in denied.text
        stats = await api.reply(a_chat, await api.say(alice, a_chat, "/stats"))
        assert "releases: 2" in stats.text
        add_zeta_release(corpus)
        before = await api.reply(a_chat, await api.say(alice, a_chat, "what is Zeta Turbines acquiring?"))
        assert "ZTX" not in before.text
        done = await api.reply(a_chat, await api.say(alice, a_chat, "/reload"))
        assert "Reloaded: 3 releases" in done.text
        after = await api.reply(a_chat, await api.say(alice, a_chat, "what is Zeta Turbines acquiring?"))
        assert "(NASDAQ: ZTX)" in after.text
        again = await api.reply(a_chat, await api.say(alice, a_chat, "/reload"))  # nothing changed since
        assert "No change: 3 releases" in again.text


async def test_per_chat_rate_limit(api, start):
    alice, bob = api.person(1, "Alice"), api.person(2, "Bob")
    group = api.group(-2003)
    async with start(irbot_chat_questions=2):
        asked = [await api.say(p, group, "/ask why is FSN delisting?") for p in (alice, bob, alice, bob)]
        other = api.group(-2004)
        await api.reply(other, await api.say(bob, other, "/ask why is FSN delisting?"))  # another chat is not limited
        await api.until(lambda: len(api.bot_messages(group)) >= 3)
    messages = api.bot_messages(group)
    assert [m.reply_to for m in messages] == [asked[0].message_id, asked[1].message_id, asked[2].message_id]
    assert messages[0].blockquotes and messages[1].blockquotes and "wait a minute" in messages[2].text


async def test_allow_list_leaves_other_groups(api, start):
    alice = api.person(1, "Alice")
    allowed, stranger, already = api.group(-3001), api.group(-3002), api.group(-3003)
    chat = api.private_chat(alice)
    async with start(irbot_allowed_chats=[allowed["id"]]):
        await api.add_bot(alice, stranger)
        ignored = await api.say(alice, already, "/ask why is FSN delisting?")
        await api.add_bot(alice, allowed)
        intro = await api.reply(allowed)
        answered = await api.reply(chat, await api.say(alice, chat, "why is FSN delisting?"))  # private: fine
        await api.until(lambda: stranger["id"] in api.left and already["id"] in api.left)
    assert "/ask" in intro.text and answered.blockquotes
    assert not api.bot_messages(stranger) and not api.bot_messages(already)
    assert allowed["id"] not in api.left and ignored


# --- load --------------------------------------------------------------------------------------------------------

LOAD_QUESTIONS = int(os.environ.get("IRBOT_LOAD_QUESTIONS", "400"))


async def test_load_100_chats(api, start, capsys):
    """100 group chats asking LOAD_QUESTIONS questions in all (IRBOT_LOAD_QUESTIONS=2000 for the full run;
    400 by default to keep the suite quick), all sent at once: every question answered exactly once, every
    follow-up answered from its own chat's context. Throughput and latency are printed, not asserted."""
    per_chat = max(LOAD_QUESTIONS // 100, 2)
    total = per_chat * 100
    chats = [api.group(-5000 - n) for n in range(100)]
    people = [api.person(10_000 + n, f"P{n}") for n in range(100)]
    asked: dict[int, list] = {}
    async with start():
        started = time.perf_counter()
        for n, (chat, person) in enumerate(zip(chats, people)):
            first = "/ask why is FSN delisting?" if n % 2 == 0 else "/ask what is Acme acquiring?"
            asked[chat["id"]] = [await api.say(person, chat, first)]
        for _ in range(per_chat - 1):
            for chat, person in zip(chats, people):
                asked[chat["id"]].append(await api.say(person, chat, "/ask who is the CEO?"))
        await api.until(lambda: api.sent >= total, timeout=600)
        elapsed = time.perf_counter() - started
    latencies = []
    for n, chat in enumerate(chats):
        by_question = replies_by_question(api, chat)
        ticker = "(NYSE Amex: FSN)" if n % 2 == 0 else "(NASDAQ: ACMW)"
        for q in asked[chat["id"]]:
            replies = by_question.get(q.message_id, [])
            assert len(replies) == 1
            assert ticker in replies[0].text, (n, q.text, replies[0].text)
            latencies.append(replies[0].created - q.created)
        # and each chat sees its answers in the order it asked
        assert [m.reply_to for m in api.bot_messages(chat)] == [q.message_id for q in asked[chat["id"]]]
    assert sum(len(api.bot_messages(c)) for c in chats) == total
    latencies.sort()
    p95 = latencies[int(0.95 * len(latencies)) - 1]
    with capsys.disabled():
        print(f"\nload: {total} questions in 100 chats in {elapsed:.1f} s: {total / elapsed:.0f} answers/s, "
              f"latency p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
