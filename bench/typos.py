#!/usr/bin/env python3
"""A question set as investors would type it in a hurry: the same conversations, with one typing slip (a letter
dropped, doubled, swapped with its neighbour or mistyped, never the first) in some of the questions' words.

    python bench/typos.py --gold ../shared/eval/dev.jsonl --out /tmp/dev-typos.jsonl
    python ../shared/eval/evaluate.py --gold /tmp/dev-typos.jsonl

--word longest: the longest word of every first turn (usually the company or the topic: the hardest case);
--word random (the default): a random word of five letters or more, in a share (--share) of all turns;
--word none: no slips. --lower: every question in lower case, tickers and names too (as phones send them).
--chatty: "hey " before each conversation's first question, and no question mark or full stop at the end of any.
Seeded: the same arguments give the same set. The gold answers stay as they were.
"""
from __future__ import annotations

import argparse
import json
import random
import re

WORD = re.compile(r"[A-Za-z]{5,}")


def slip(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    return rng.choice([
        word[:i] + word[i + 1:],                            # dropped
        word[:i] + word[i] + word[i:],                      # doubled
        word[:i] + word[i + 1] + word[i] + word[i + 2:],    # swapped with the next
        word[:i] + rng.choice("aeioulnrst") + word[i + 1:],  # mistyped
    ])


def with_slip(question: str, rng: random.Random, longest: bool) -> str:
    words = list(WORD.finditer(question))
    if not words:
        return question
    m = max(words, key=lambda m: len(m.group())) if longest else rng.choice(words)
    return question[:m.start()] + slip(m.group(), rng) + question[m.end():]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--word", choices=["random", "longest", "none"], default="random")
    ap.add_argument("--lower", action="store_true", help="every question in lower case (before any slip)")
    ap.add_argument("--chatty", action="store_true", help='"hey " before first questions, no closing "?" or "."')
    ap.add_argument("--share", type=float, default=0.6, help="with --word random: the share of turns given a slip")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    slipped = turns = 0
    with open(args.gold, encoding="utf-8") as f, open(args.out, "w", encoding="utf-8") as out:
        for line in f:
            if not line.strip():
                continue
            conv = json.loads(line)
            for k, turn in enumerate(conv["turns"]):
                turns += 1
                if args.lower:
                    turn["q"] = turn["q"].lower()
                if args.chatty:
                    turn["q"] = ("hey " if k == 0 else "") + re.sub(r"[?.!]+\s*$", "", turn["q"].strip())
                if args.word == "longest" and k == 0 or args.word == "random" and rng.random() < args.share:
                    typed = with_slip(turn["q"], rng, args.word == "longest")
                    slipped += typed != turn["q"]
                    turn["q"] = typed
            out.write(json.dumps(conv, ensure_ascii=False) + "\n")
    print(f"{slipped} of {turns} questions now have a slip: {args.out}")


if __name__ == "__main__":
    main()
