#!/usr/bin/env python3
"""Several webhook processes against one: the same burst of questions, through HAProxy, to 1, 2 and 3
`irbot run --webhook` processes on PostgreSQL, and to one on SQLite (a SQLite state file serves one webhook
process), answering through the tests' Bot API server on 127.0.0.1. Then where the time goes: what the state
database costs per answer on each backend (the writes one answer makes, timed in one process).

    python bench/webhook.py [--chats 50] [--questions 8] [--reader on|off] [--processes 1,2,3] [--rate 4]

Prints one line per configuration: answers per second, the latency from Telegram's delivery of a question to
its answer (p50, p95), and "mark": the median time from the answer reaching the Bot API server to the process
writing down that it was sent (the moment in which a killed process's answer would be sent again by another). All at once (the default) the latency is mostly waiting in line; at a `--rate` the bot
keeps up with, it is what one answer costs. Needs PostgreSQL and HAProxy installed (as .ci/run installs them) and the test extras;
not ../shared (the corpus is tests/fixtures/corpus).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

from botapi import BotAPI  # noqa: E402
from pgserver import PostgresServer  # noqa: E402
from test_webhook_e2e import OPENERS, Deployment, Telegram, query_state  # noqa: E402

QUESTIONS = [q for q in OPENERS.values()] + ["and when?", "who said that?"]


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def burst(state: str, processes: int, chats: int, questions: int, reader: str, tmp: Path,
                rate: float = 0.0) -> dict:
    api = await BotAPI().start()
    deployment = Deployment(api, state, processes, tmp)
    deployment.env["IRBOT_READER"] = reader
    try:
        await deployment.start_all()
        telegram = Telegram(f"http://127.0.0.1:{deployment.lb_port}/hook")
        asked: list[tuple[int, int, float, int]] = []   # (chat, message id, when delivered, update id)
        wall = time.time() - time.perf_counter()           # (perf_counter to time.time, for the database's times)

        start = time.perf_counter()

        async def chat(n: int) -> None:
            user = api.person(20_000 + n, f"p{n}")
            c = api.private_chat(user)
            for k in range(questions):
                if rate:  # question k of chat n is the (k * chats + n)th of the run, at `rate` a second
                    await asyncio.sleep(max(0.0, start + (k * chats + n) / rate - time.perf_counter()))
                text = QUESTIONS[(n + k) % len(QUESTIONS)]
                m, update = api.message_update(user, c, text)
                asked.append((c["id"], m.message_id, time.perf_counter(), update["update_id"]))
                await telegram.deliver(update)   # the next once this one is acknowledged, as Telegram does

        await asyncio.gather(*(chat(n) for n in range(chats)))
        total = chats * questions
        while api.sent < total:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - start
        await telegram.client.aclose()
        marked = handled_at(state)
        latencies, unmarked = [], []
        for chat_id in {a[0] for a in asked}:
            mine = sorted((mid, t, uid) for c, mid, t, uid in asked if c == chat_id)
            answers = sorted(m.created for m in api.chats[chat_id].values() if m.from_bot)
            latencies += [a - t for (_, t, _), a in zip(mine, answers)]   # a chat's answers come in order
            unmarked += [marked[uid] - (a + wall) for (_, _, uid), a in zip(mine, answers)]
        return {"answers": api.sent, "per_second": total / elapsed, "p50": percentile(latencies, 50) * 1000,
                "p95": percentile(latencies, 95) * 1000, "mark": percentile(unmarked, 50) * 1000}
    finally:
        deployment.stop()
        await api.stop()


def handled_at(state: str) -> dict[int, float]:
    """When each update was marked handled (time.time()), from the state database."""
    return dict(query_state(state, "SELECT update_id, updated FROM updates WHERE done"))


def store_cost(where: str, rounds: int = 300) -> float:
    """Milliseconds the state database takes for what one answer writes and reads, as the webhook handles it:
    keep the update, take its chat, read it back, read the context, write the new context, the answer record and
    its two links with the mark that it is handled (and the look for the next), let the chat go."""
    from bot.conversation import Context
    from bot.inbox import open_inbox
    from bot.store import open_store
    store = open_store(where)
    inbox = open_inbox(store)
    times = []
    for i in range(rounds):
        lane, context = f"chat:{i % 50}", Context(release_id="r", company="Fusion", terms=["delist"])
        start = time.perf_counter()
        inbox.accept(1_000_000 + i, lane, '{"update_id": 1}')
        inbox.take(lane)
        update_id = inbox.next(lane)[0]
        store.get(lane)
        more = inbox.done(update_id, {f"answer:{i}": {"conv": lane, "answer": {"quote": "x" * 400}},
                                      f"message:{i}:1": f"{i}", f"asked:{i}:1": {"key": f"{i}", "reply": 2}}, lane,
                          {lane: context})
        assert not more and not inbox.leave(lane)
        times.append(time.perf_counter() - start)
    inbox.close()
    store.close()
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--questions", type=int, default=8, help="questions per chat")
    parser.add_argument("--reader", default="on", choices=["on", "off"])
    parser.add_argument("--processes", default="1,2,3")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="questions a second, spread over the chats (default 0: all at once, each chat's next "
                             "question as soon as the last is acknowledged)")
    args = parser.parse_args()
    server = PostgresServer().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            os.environ["IRBOT_CACHE"] = str(tmp / "cache")
            pace = f"{args.rate:g} a second" if args.rate else "all at once"
            print(f"{args.chats} chats x {args.questions} questions ({pace}), reader {args.reader}, "
                  f"{os.cpu_count()} cores")
            print(f"{'backend':<11}{'processes':>10}{'answers/s':>11}{'p50 ms':>9}{'p95 ms':>9}{'mark ms':>9}")
            configs = [("sqlite", 1)] + [("postgresql", int(n)) for n in args.processes.split(",")]
            for i, (backend, n) in enumerate(configs):
                run_dir = tmp / f"run{i}"
                run_dir.mkdir()
                state = (str(run_dir / "state.sqlite3") if backend == "sqlite"
                         else server.create_database(f"bench_{i}"))
                r = asyncio.run(burst(state, n, args.chats, args.questions, args.reader, run_dir, args.rate))
                print(f"{backend:<11}{n:>10}{r['per_second']:>11.1f}{r['p50']:>9.0f}{r['p95']:>9.0f}{r['mark']:>9.1f}",
                      flush=True)
            sqlite_ms = store_cost(str(tmp / "cost.sqlite3"))
            pg_ms = store_cost(server.create_database("bench_cost"))
            print(f"state database per answer (median of 300): SQLite {sqlite_ms:.2f} ms, PostgreSQL {pg_ms:.2f} ms "
                  f"(+{pg_ms - sqlite_ms:.2f} ms)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
