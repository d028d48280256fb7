#!/usr/bin/env python3
"""Alerts to many followers: N private chats follow one company, a release of it enters the corpus, and the
running bot (the real Application, over HTTP, against the tests' Bot API server on 127.0.0.1) sends them. With
Telegram's broadcast limit (IRBOT_FLOOD_PER_SECOND, 30 messages a second by default, python-telegram-bot's
rate limiter) N alerts take about N/30 s; the benchmark checks none is lost or doubled.

    python bench/alerts.py [--followers 10000] [--per-second 30]

Needs the test extras (tornado, through python-telegram-bot's webhooks extra); not ../shared.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

from botapi import BotAPI, bot_settings, make_corpus  # noqa: E402
from harness import running  # noqa: E402

from bot import cli  # noqa: E402
from bot.conversation import SQLiteStore  # noqa: E402
from bot.telegram import build_application  # noqa: E402

RELEASE = """---
id: acme-acmw-2024-09-09
title: Acme Widgets Opens a Plant in Ohio
company: Acme Widgets Inc.
ticker: ACMW
date: 2024-09-09
---
DAYTON, Ohio, Sept. 9, 2024 -- Acme Widgets Inc. (NASDAQ: ACMW) today opened a widget plant in Dayton, Ohio.
"""


async def bench(followers: int, per_second: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["IRBOT_CACHE"] = str(tmp / "cache")
        corpus = make_corpus(tmp / "corpus")
        state = tmp / "state.sqlite3"
        api = await BotAPI().start()
        chats = [api.private_chat(api.person(10_000 + n, f"P{n}"))["id"] for n in range(followers)]
        settings = bot_settings(api, state, corpus, irbot_cache=str(tmp / "cache"), irbot_watch_seconds=0.5,
                                irbot_flood_per_second=per_second)
        try:
            async with running(build_application(settings), poll_timeout=2):
                store = SQLiteStore(state)
                key = "acme widgets"
                for chat in chats:
                    store.follow(str(chat), key, "Acme Widgets Inc.")
                store.close()
                (tmp / "new.md").write_text(RELEASE, encoding="utf-8")
                sent_before = api.sent
                started = time.perf_counter()
                assert await asyncio.to_thread(cli.main, ["add", str(tmp / "new.md"), "--corpus", str(corpus)]) == 0
                while api.sent - sent_before < followers and time.perf_counter() - started < followers / per_second * 3 + 60:
                    await asyncio.sleep(0.2)
                took = time.perf_counter() - started
                await asyncio.sleep(2)  # anything doubled would arrive now
        finally:
            await api.stop()
        got = [sum(m.text.startswith("📰 New release") for m in api.bot_messages({"id": c})) for c in chats]
        print(f"followers                 {followers:,}")
        print(f"flood limit               {per_second:g} messages/s")
        print(f"all delivered in          {took:.1f} s ({followers / took:.1f} alerts/s, from the corpus change)")
        print(f"chats with one alert      {sum(g == 1 for g in got):,}")
        print(f"lost / doubled            {sum(g == 0 for g in got):,} / {sum(g > 1 for g in got):,}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--followers", type=int, default=10_000)
    ap.add_argument("--per-second", type=float, default=30.0)
    args = ap.parse_args()
    asyncio.run(bench(args.followers, args.per_second))


if __name__ == "__main__":
    main()
