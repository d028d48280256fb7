#!/usr/bin/env python3
"""Where the sentence ranking loses on questions it was not tuned on, in two tables.

    python bench/ranking_gap.py              # tuned sets, bench/paraphrased.jsonl, sealed2 to sealed5
    python bench/ranking_gap.py --ablate     # and the turns each scoring feature is worth, set by set

The first table sorts the answerable turns by how the gold sentence's coverage of the question's concepts
compares with the best other candidate's: more, the same, or less (the answer is in other words than the
question's), or the gold sentence is not among the candidates (those of the first scope searched: the company
named, or the release followed up); and counts the turns answered right in each.
The second sets one weight of bot/answer/rank.py's WEIGHTS to zero at a time and prints the turns won or lost on
each group of sets. Counting, not reading: no question or sentence is printed. Needs ../shared.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from bot import answer as A  # noqa: E402
from bot.index import open_index  # noqa: E402
from fit_weights import conversations, gold_mask, norm, replay, right  # noqa: E402

SHARED = os.path.join(HERE, "..", "..", "shared")
GROUPS = {
    "tuned": [os.path.join(SHARED, "eval", "dev.jsonl")] +
             [os.path.join(HERE, f"{s}.jsonl") for s in ("heldout", "fresh", "final", "untouched", "sealed")],
    "paraphrased": [os.path.join(HERE, "paraphrased.jsonl")],
    "sealed2-5": [os.path.join(HERE, f"sealed{n}.jsonl") for n in (2, 3, 4, 5)],
}
BINS = ("gold covers more", "gold covers the same", "gold covers less", "gold not a candidate")


def accuracy_count(index, convs) -> int:
    return sum(right(t, a) for t, a, _ in replay(index, convs))


def coverage_bins(index, convs) -> tuple[collections.Counter, collections.Counter]:
    """(turns, turns answered right) per bin, over the answerable turns the bot searched for."""
    turns, ok = collections.Counter(), collections.Counter()
    for t, a, searched in replay(index, convs):
        if not t["answerable"] or searched is None:
            continue
        (q, scopes), spans = searched, [norm(s) for s in t["gold_spans"]]
        cands = A.rank_sentences(index, q, scopes[0], A.PassageScores(index, q))
        is_gold = gold_mask(index, cands, spans)
        gold = [c.coverage for c, g in zip(cands, is_gold) if g]
        other = [c.coverage for c, g in zip(cands, is_gold) if not g]
        if not gold:
            b = BINS[3]
        else:
            g, o = gold[0], max(other, default=-1.0)
            b = BINS[0] if g > o + 1e-9 else BINS[1] if g > o - 1e-9 else BINS[2]
        turns[b] += 1
        ok[b] += right(t, a)
    return turns, ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.join(SHARED, "corpus", "releases.jsonl"))
    ap.add_argument("--ablate", action="store_true", help="also the turns each weight is worth")
    args = ap.parse_args()
    if not os.path.exists(args.corpus):
        print(f"skipped: no corpus at {args.corpus}")
        return 0
    index = open_index(args.corpus).index
    groups = {name: conversations(paths) for name, paths in GROUPS.items()}

    print(f"{'answerable turns':22s}" + "".join(f" | {name:>20s}" for name in groups))
    counted = {name: coverage_bins(index, convs) for name, convs in groups.items()}
    for b in BINS:
        row = f"{b:22s}"
        for turns, ok in counted.values():
            n = sum(turns.values())
            row += f" | {turns[b]:3d} {turns[b] / n:4.0%}, {ok[b]:3d} right" if turns[b] else f" | {'-':>20s}"
        print(row)

    if args.ablate:
        base = {name: accuracy_count(index, convs) for name, convs in groups.items()}
        print(f"\n{'weight set to 0':22s}" + "".join(f" | {name:>11s}" for name in groups))
        print(f"{'(turns right now)':22s}" + "".join(f" | {base[name]:11d}" for name in groups))
        weights = dict(A.WEIGHTS)
        try:
            for key in weights:
                A.WEIGHTS[key] = 0.0
                print(f"{key:22s}" + "".join(f" | {accuracy_count(index, convs) - base[name]:+11d}"
                                             for name, convs in groups.items()), flush=True)
                A.WEIGHTS[key] = weights[key]
        finally:
            A.WEIGHTS.update(weights)
    return 0


if __name__ == "__main__":
    sys.exit(main())
