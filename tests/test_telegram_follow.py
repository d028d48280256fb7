"""End to end, against the tests' Bot API server: follow a company, a release added while the bot runs is
alerted once (and not again after a restart); 👍/👎 and /report; /sources for one company; the bot's description."""
from __future__ import annotations

import asyncio
import shutil

import pytest

from bot import cli
from bot.telegram import build_application
from botapi import bot_settings, make_corpus
from harness import running

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

ADMIN = 4242
NEW_ACME = """---
id: acme-acmw-2024-09-09
title: Acme Widgets Opens a Plant in Ohio
company: Acme Widgets Inc.
ticker: ACMW
exchange: NASDAQ
date: 2024-09-09
source_url: https://example.com/acme/ohio
---
DAYTON, Ohio, Sept. 9, 2024 -- Acme Widgets Inc. (NASDAQ: ACMW) today opened a widget plant in Dayton, Ohio, its third in the United States.

The plant employs 120 people and doubles Acme's widget output.
"""


@pytest.fixture
def live_corpus(tmp_path):
    return make_corpus(tmp_path / "corpus")


def start(api, tmp_path, corpus, **overrides):
    settings = bot_settings(api, tmp_path / "state.sqlite3", corpus, irbot_cache=str(tmp_path / "cache"),
                            irbot_admin_ids=[ADMIN], irbot_watch_seconds=0.2, **overrides)
    return running(build_application(settings), poll_timeout=2)


async def test_a_follower_is_alerted_once_to_a_release_added_while_the_bot_runs(api, tmp_path, live_corpus):
    alice, bob, carol = api.person(1001, "Alice"), api.person(1002, "Bob"), api.person(1003, "Carol")
    chat_a, chat_b, chat_c = api.private_chat(alice), api.private_chat(bob), api.private_chat(carol)
    group = api.group(-500)
    api.admins[-500] = {ADMIN}
    async with start(api, tmp_path, live_corpus):
        assert "press releases" in api.description["description"] and api.description["short_description"]
        m = await api.reply(chat_a, await api.say(alice, chat_a, "/follow acmw"))
        assert "Following Acme Widgets Inc." in m.text
        m = await api.reply(chat_b, await api.say(bob, chat_b, "/follow Acme Widgets"))
        assert "Following Acme Widgets Inc." in m.text
        await api.reply(chat_c, await api.say(carol, chat_c, "/follow ACMW"))
        m = await api.reply(group, await api.say(bob, group, "/follow ACMW"))
        assert "Only the group's administrators" in m.text
        m = await api.reply(group, await api.say(api.person(ADMIN, "Admin"), group, "/follow FSN"))
        assert "Following Fusion" in m.text
        m = await api.reply(chat_a, await api.say(alice, chat_a, "/follow Borealis Mining"))
        assert "no releases from a company called" in m.text
        m = await api.reply(chat_a, await api.say(alice, chat_a, "/following"))
        assert "Acme Widgets Inc." in m.text
        api.blocked.add(chat_c["id"])                       # Carol blocks the bot: her follows end, no one else's
        before = {c["id"]: len(api.bot_messages(c)) for c in (chat_a, chat_b, group)}

        new = tmp_path / "acme-ohio.md"
        new.write_text(NEW_ACME, encoding="utf-8")
        assert await asyncio.to_thread(cli.main, ["add", str(new), "--corpus", str(live_corpus)]) == 0
        for chat in (chat_a, chat_b):
            alert = (await api.until(lambda c=chat: api.bot_messages(c)[before[c["id"]]:], timeout=30))[0]
            assert "New release" in alert.text and "Acme Widgets Opens a Plant in Ohio" in alert.text
            assert alert.blockquotes == ["DAYTON, Ohio, Sept. 9, 2024 -- Acme Widgets Inc. (NASDAQ: ACMW) today "
                                         "opened a widget plant in Dayton, Ohio, its third in the United States."]
            assert alert.links[0][1].startswith("https://example.com/acme/ohio#:~:text=")
            assert "Ask about" in alert.labels[0]
        # the new release is served too, without /reload
        m = await api.reply(chat_a, await api.say(alice, chat_a, "how many people does Acme's Ohio plant employ?"))
        assert "120 people" in m.text
        await asyncio.sleep(1)
    assert len(api.bot_messages(group)) == before[group["id"]]  # Fusion published nothing new

    async with start(api, tmp_path, live_corpus):           # a restart: no alert again
        await asyncio.sleep(1.5)
    for chat in (chat_a, chat_b):
        assert sum("New release" in m.text for m in api.bot_messages(chat)) == 1
    from bot.conversation import SQLiteStore
    store = SQLiteStore(tmp_path / "state.sqlite3")
    assert store.following(str(chat_c["id"])) == [] and store.following(str(chat_a["id"]))
    store.close()


async def test_thumbs_are_acknowledged_changeable_and_reach_the_admins_report(api, tmp_path, live_corpus):
    alice, bob, admin = api.person(1001, "Alice"), api.person(1002, "Bob"), api.person(ADMIN, "Admin")
    chat_a, chat_b, chat_admin = api.private_chat(alice), api.private_chat(bob), api.private_chat(admin)
    async with start(api, tmp_path, live_corpus):
        m = await api.reply(chat_a, await api.say(alice, chat_a, "why is FSN delisting?"))
        assert m.labels[-3:] == ["👍", "👎", "Share"]
        ack = await api.callback_answer(await api.press(alice, m, "👎"))
        assert "noted 👎" in ack["text"]
        ack = await api.callback_answer(await api.press(alice, m, "👍"))
        assert ack["text"] == "Changed to 👍"
        ack = await api.callback_answer(await api.press(alice, m, "👎"))
        assert ack["text"] == "Changed to 👎"
        m2 = await api.reply(chat_b, await api.say(bob, chat_b, "why is FSN delisting?"))
        await api.callback_answer(await api.press(bob, m2, "👎"))
        await api.reply(chat_b, await api.say(bob, chat_b, "what was Fusion's revenue last year?"))
        await api.reply(chat_b, await api.say(bob, chat_b, "what was Fusion's revenue last year"))

        denied = await api.reply(chat_a, await api.say(alice, chat_a, "/report"))
        assert "for the bot's admins" in denied.text
        report = await api.reply(chat_admin, await api.say(admin, chat_admin, "/report"))
        assert "Fusion: 2 unanswered, 2 marked 👎" in report.text
        assert "2× what was Fusion's revenue last year?" in report.text
        assert "👎 2× why is FSN delisting? → “" in report.text


async def test_sources_of_one_company_newest_first(api, tmp_path, live_corpus):
    alice = api.person(1001, "Alice")
    chat = api.private_chat(alice)
    shutil.copy(tmp_path / "corpus" / "acme-acmw-2024-03-04.md", tmp_path / "x.md")
    async with start(api, tmp_path, live_corpus):
        m = await api.reply(chat, await api.say(alice, chat, "/sources acmw"))
        assert m.text.startswith("Acme Widgets Inc. (ACMW): 1 release") and "Fusion" not in m.text
        m = await api.reply(chat, await api.say(alice, chat, "/sources nobody"))
        assert "no releases from a company called" in m.text


async def test_a_shared_follow_up_carries_what_it_followed_and_its_link_opens_the_bot_on_it(api, tmp_path, live_corpus):
    from botapi import USERNAME
    alice, bob = api.person(1001, "Alice"), api.person(1002, "Bob")
    chat_a, chat_b = api.private_chat(alice), api.private_chat(bob)
    async with start(api, tmp_path, live_corpus):
        await api.reply(chat_a, await api.say(alice, chat_a, "why is FSN delisting?"))
        when = await api.reply(chat_a, await api.say(alice, chat_a, "and when?"))
        shared = when.button("Share")["switch_inline_query"]
        assert shared == "and when? (after: why is FSN delisting?)"

        results = (await api.inline_answer(await api.inline_query(alice, shared)))["results"]
        assert [q for q in results[0]["_entities"] if q["type"] == "blockquote"][0]["text"] == when.blockquotes[0]
        (url,) = [b["url"] for row in results[0]["reply_markup"]["inline_keyboard"] for b in row if "url" in b]
        assert url.startswith(f"https://t.me/{USERNAME}?start=s_")

        opened = await api.reply(chat_b, await api.say(bob, chat_b, f"/start {url.split('start=')[1]}"))
        assert opened.blockquotes == when.blockquotes       # Bob lands on the same answer ...
        more = await api.reply(chat_b, await api.say(bob, chat_b, "where will it trade?"))
        assert "over the counter" in more.text               # ... and his follow-ups go on from it
        stale = await api.reply(chat_b, await api.say(bob, chat_b, "/start s_AAAAAAAAAAAA"))
        assert "expired" in stale.text


async def test_a_name_two_companies_share_gets_buttons_to_choose(api, tmp_path, live_corpus):
    alice = api.person(1001, "Alice")
    chat = api.private_chat(alice)
    (live_corpus / "acme-rockets.md").write_text(
        "---\nid: acme-rockets-2024-05-01\ntitle: Acme Rockets Launches\ncompany: Acme Rockets Corp.\nticker: ACRK\n"
        "date: 2024-05-01\n---\nAcme Rockets Corp. (NYSE: ACRK) launched its first rocket.\n", encoding="utf-8")
    async with start(api, tmp_path, live_corpus):
        m = await api.reply(chat, await api.say(alice, chat, "/follow acme"))
        assert "could be several companies" in m.text
        assert sorted(m.labels) == ["Acme Rockets Corp. (ACRK)", "Acme Widgets Inc. (ACMW)"]
        await api.callback_answer(await api.press(alice, m, "Acme Rockets Corp. (ACRK)"))
        await api.edited(m)
        assert m.text.startswith("Following Acme Rockets Corp.")
        m = await api.reply(chat, await api.say(alice, chat, "/unfollow"))
        assert m.labels == ["Acme Rockets Corp."]
        await api.callback_answer(await api.press(alice, m, "Acme Rockets Corp."))
        await api.edited(m)
        assert m.text.startswith("No longer following Acme Rockets Corp")
