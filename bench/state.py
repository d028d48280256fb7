#!/usr/bin/env python3
"""What keeping and forgetting the bot's state costs: a state file of N answer records (as the Telegram front end
writes them, 600-character quotes), written over 60 days, then pruned to IRBOT_KEEP_DAYS.

    python bench/state.py [--records 300000] [--keep-days 30]

Prints one table: the file's size, the first prune (half the records are older than the window), a prune with
nothing to delete (what the running bot pays each hour), reopening the file, and one write's median time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bot.conversation import SQLiteStore  # noqa: E402


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--keep-days", type=float, default=30.0)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "state.sqlite3")
        store = SQLiteStore(path, keep_days=args.keep_days)
        now = time.time()
        record = '{"answer": {"quote": "' + "x" * 600 + '"}}'
        with store._lock:  # written as if over 60 days, in one transaction to be quick
            store._db.execute("BEGIN")
            store._db.executemany("INSERT INTO settings VALUES (?, ?, ?)",
                                  ((f"answer:{i}", record, now - (i % 60) * 86400 - 1) for i in range(args.records)))
            store._db.execute("COMMIT")
        rows.append(("records written over 60 days", f"{args.records:,}"))
        rows.append(("state file", f"{os.path.getsize(path) / 2**20:,.0f} MiB"))
        seconds, gone = timed(store.prune)
        rows.append((f"first prune to {args.keep_days:g} days ({gone:,} records go)", f"{seconds * 1000:,.1f} ms"))
        idle = [timed(store.prune)[0] for _ in range(21)]
        rows.append(("prune with nothing to delete (median of 21)", f"{statistics.median(idle) * 1000:.3f} ms"))
        writes = [timed(store.put_setting, f"answer:new{i}", {"quote": "x" * 600})[0] for i in range(2001)]
        rows.append(("one answer record written (median of 2,001)", f"{statistics.median(writes) * 1000:.3f} ms"))
        store.close()
        seconds, store = timed(SQLiteStore, path, args.keep_days)
        rows.append(("reopen (with its prune)", f"{seconds * 1000:,.1f} ms"))
        store.close()
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
