#!/usr/bin/env python3
"""Time the answering path on real questions: the median and p95 per question, in milliseconds.

    python bench/answer_latency.py                       # dev set + the sets in bench/, shared corpus
    python bench/answer_latency.py --gold bench/final.jsonl --repeat 5
    python bench/answer_latency.py --reader off          # the hand rules alone, as before the reader

Questions are asked the way the evaluation asks them (each conversation in order, with its context); the
index is loaded first and not timed. With the reader (the default when bot/models holds it), the time to load
it and the resident memory it adds are printed first. Prints one table. Skips with a message when ../shared is
absent.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from bot.answer import answer  # noqa: E402
from bot.reader import MODELS, Reader  # noqa: E402
from bot.conversation import Context  # noqa: E402
from bot.index import open_index  # noqa: E402

SHARED = os.path.join(HERE, "..", "..", "shared")


def resident_mib() -> float:
    """This process's resident memory now (Linux), in MiB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def main() -> int:
    default_gold = [os.path.join(SHARED, "eval", "dev.jsonl")] + [
        os.path.join(HERE, name) for name in ("heldout.jsonl", "fresh.jsonl", "final.jsonl")
        if os.path.exists(os.path.join(HERE, name))]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", action="append", help="question sets (default: dev and bench/*.jsonl)")
    ap.add_argument("--corpus", default=os.path.join(SHARED, "corpus", "releases.jsonl"))
    ap.add_argument("--repeat", type=int, default=3, help="times each set is asked (the first warms caches)")
    ap.add_argument("--reader", choices=("on", "off"), default="on" if (MODELS / "reader.onnx").exists() else "off")
    args = ap.parse_args()
    if not os.path.exists(args.corpus):
        print(f"skipped: no corpus at {args.corpus}")
        return 0
    started = time.perf_counter()
    loaded = open_index(args.corpus)
    load_s = time.perf_counter() - started
    print(f"index: {len(loaded.index.releases)} releases, {len(loaded.index.passage_release)} passages, "
          f"loaded in {load_s:.2f} s ({'cache' if loaded.from_cache else 'built'})")
    reader = None
    if args.reader == "on":
        before, started = resident_mib(), time.perf_counter()
        reader = Reader()
        reader.scores("warm up", ["the first run sets up the session"])
        print(f"reader: loaded in {time.perf_counter() - started:.2f} s, resident memory +{resident_mib() - before:.0f} MiB")
    else:
        print("reader: off (the hand rules decide)")
    print(f"{'set':<14}{'questions':>10}{'median ms':>11}{'p95 ms':>9}{'max ms':>9}")
    for path in args.gold or default_gold:
        convs = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
        times = []
        for _ in range(args.repeat):
            for conv in convs:
                context = Context()
                for turn in conv["turns"]:
                    t = time.perf_counter()
                    context = answer(loaded.index, turn["q"], context, reader).context
                    times.append((time.perf_counter() - t) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        name = os.path.basename(path).removesuffix(".jsonl")
        print(f"{name:<14}{len(times) // args.repeat:>10}{statistics.median(times):>11.1f}{p95:>9.1f}{times[-1]:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
