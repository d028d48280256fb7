"""The webhook server (bot/webhook.py) in this test's event loop, against the tests' Bot API server: what it
accepts and refuses, an update delivered twice answered once, and (two bot processes' worth of Applications on
one PostgreSQL database) /reload in one reaching the other."""
from __future__ import annotations

import asyncio
import contextlib
import socket

import httpx
import pytest

from bot.inbox import open_inbox
from bot.telegram import ALLOWED_UPDATES, build_application
from bot.webhook import serving
from botapi import add_zeta_release, bot_settings, make_corpus
from conftest import fresh_database

SECRET = "webhook-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def webhook_process(api, state, corpus, tmp_path, **overrides):
    """One bot process's Application behind its webhook server; yields (its URL, the Application)."""
    port = free_port()
    settings = bot_settings(api, state, corpus, irbot_cache=str(tmp_path / "cache"), irbot_watch_seconds=0, **overrides)
    app = build_application(settings)
    inbox = open_inbox(app.bot_data["irbot"].store)
    async with serving(app, inbox, listen="127.0.0.1", port=port, path="/hook", url="https://bot.example/hook",
                       secret=SECRET, allowed_updates=ALLOWED_UPDATES):
        yield f"http://127.0.0.1:{port}", app


async def post(url: str, update, secret: str = SECRET) -> int:
    async with httpx.AsyncClient() as client:
        body = update if isinstance(update, (bytes, str)) else None
        r = await client.post(url + "/hook", content=body, json=None if body else update,
                              headers={"X-Telegram-Bot-Api-Secret-Token": secret})
        return r.status_code


async def test_an_update_delivered_twice_is_answered_once_and_bad_calls_are_refused(api, tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    async with webhook_process(api, tmp_path / "state.sqlite3", corpus, tmp_path) as (url, app):
        async with httpx.AsyncClient() as client:
            assert (await client.get(url + "/healthz")).status_code == 200
        alice = api.person(1, "Alice")
        chat = api.private_chat(alice)
        question, update = api.message_update(alice, chat, "why is FSN delisting?")
        assert await post(url, update) == 200
        assert await post(url, update) == 200            # Telegram's retry of a call it thinks timed out
        assert await post(url, update, secret="wrong") == 403
        assert await post(url, b"{not json") == 400
        assert await post(url, {"no": "update_id"}) == 400
        answer = await api.reply(chat, question)
        assert "(NYSE Amex: FSN)" in answer.text
        marker, update = api.message_update(alice, chat, "what is Acme acquiring?")
        assert await post(url, update) == 200
        await api.reply(chat, marker)
        assert [m.text[:30] for m in api.bot_messages(chat)].count(answer.text[:30]) == 1


async def test_reload_in_one_process_reaches_the_other(api, postgres, tmp_path):
    state = fresh_database(postgres)
    corpus = make_corpus(tmp_path / "corpus")
    alice = api.person(1, "Alice")
    chat = api.private_chat(alice)
    async with webhook_process(api, state, corpus, tmp_path, irbot_admin_ids=[alice["id"]]) as (one, _), \
            webhook_process(api, state, corpus, tmp_path, irbot_admin_ids=[alice["id"]]) as (two, app_two):
        add_zeta_release(corpus)
        reload, update = api.message_update(alice, chat, "/reload")
        assert await post(one, update) == 200
        assert "Reloaded: 3 releases" in (await api.reply(chat, reload)).text
        # the other process was told (PostgreSQL NOTIFY; its corpus watcher is off here) and serves it too
        await api.until(lambda: len(app_two.bot_data["irbot"].index.releases) == 3, timeout=15)
        question, update = api.message_update(alice, chat, "what is Zeta Turbines acquiring?")
        assert await post(two, update) == 200
        assert "(NASDAQ: ZTX)" in (await api.reply(chat, question)).text


@pytest.fixture(autouse=True)
async def _tick(api):
    """Wake `api.until` now and then: the other process's index changes outside the API server's condition."""
    async def tick():
        while True:
            await asyncio.sleep(0.1)
            async with api._changed:
                api._changed.notify_all()
    task = asyncio.create_task(tick())
    yield
    task.cancel()


async def test_a_stopping_process_leaves_what_it_cannot_finish_unmarked(tmp_path):
    """SIGTERM: what is in hand gets DRAIN_SECONDS; a handler still running then is stopped where it is, and its
    update stays waiting for another process (or this one's restart), not marked handled."""
    from types import SimpleNamespace

    from bot.store import open_store
    from bot.webhook import Lanes
    started = asyncio.Event()

    async def process_update(update):   # a handler that never finishes (a hung Bot API call, say)
        started.set()
        await asyncio.sleep(3600)
    store = open_store(tmp_path / "state.sqlite3")
    inbox = open_inbox(store)
    lanes = Lanes(SimpleNamespace(bot=None, process_update=process_update), inbox, concurrency=4)
    inbox.accept(1, "chat:1", '{"update_id": 1}')
    running = asyncio.create_task(lanes.run())
    await asyncio.wait_for(started.wait(), 5)
    await lanes.stop(timeout=0.2)
    await asyncio.wait_for(running, 5)
    assert not lanes.held and inbox.pending("chat:1")       # not marked handled ...
    assert inbox.take("chat:1") and inbox.next("chat:1")[0] == 1   # ... and free for whoever comes next
    inbox.close()
    store.close()
