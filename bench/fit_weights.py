#!/usr/bin/env python3
"""Fit the hand rules' sentence-scoring weights (WEIGHTS, bot/answer/rank.py) and their abstention thresholds
(bot/answer/decide.py) on question sets; the rules alone, as the bot answers without its reader.

    python bench/fit_weights.py --gold ../shared/eval/dev.jsonl --gold bench/heldout.jsonl

For every answerable turn it replays the conversation, collects the candidate sentences of the scope the bot
searches, and fits a listwise logistic model (softmax over one turn's candidates, the gold sentences as the
target), regularised towards the current weights so that features the sets say little about keep their
hand-set values. Then it grid-searches MIN_SCORE and MIN_COVERAGE for accuracy on the same sets. It prints
the weights and thresholds to paste into bot/answer/; it changes no file. Report figures on a set that was
not used here (bench/fresh.jsonl).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import unicodedata

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bot import answer as A  # noqa: E402
from bot.answer import decide as D  # noqa: E402  (where the rules' search and thresholds live)
from bot.conversation import Context  # noqa: E402
from bot.index import open_index  # noqa: E402

QMAP = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", s or "").translate(QMAP)).strip().lower()


def conversations(gold_paths):
    return [json.loads(line) for path in gold_paths for line in open(path, encoding="utf-8") if line.strip()]


def gold_mask(index, candidates, spans):
    """Which candidate sentences hold a gold span (spans already normalised)."""
    return [any(s in norm(index.sentence(c.sentence)) for s in spans) for c in candidates]


def replay(index, convs):
    """Each turn of the conversations asked in order, with context: (turn, answer, the question as read and the
    scopes searched, or None when the bot did not search)."""
    captured = {}
    real_search = D.rules_choice

    def spy(ix, q, scopes):
        captured["q"], captured["scopes"] = q, scopes
        return real_search(ix, q, scopes)

    D.rules_choice = spy
    try:
        for conv in convs:
            context = Context()
            for t in conv["turns"]:
                captured.clear()
                result = A.answer(index, t["q"], context)
                context = result.context
                yield t, result, (captured["q"], captured["scopes"]) if captured else None
    finally:
        D.rules_choice = real_search


def collect(index, gold_paths):
    """(feature matrix, gold mask) for each answerable turn whose gold sentence the bot can reach."""
    turns, unreachable = [], 0
    for t, _, searched in replay(index, conversations(gold_paths)):
        if not t["answerable"] or searched is None:
            continue
        q, scopes = searched
        scores = A.PassageScores(index, q)
        spans = [norm(s) for s in t["gold_spans"]]
        for scope in scopes:
            cands = A.rank_sentences(index, q, scope, scores)
            gold = gold_mask(index, cands, spans)
            if any(gold):
                X = np.array([[c.features[k] for k in A.WEIGHTS] for c in cands])
                turns.append((X, np.array(gold)))
                break
        else:
            unreachable += 1
    return turns, unreachable


def fit(turns, w0, l2=2.0, steps=3000, lr=0.05):
    w = w0.copy()
    for _ in range(steps):
        grad = np.zeros_like(w)
        for X, gold in turns:
            s = X @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            pg = p * gold
            pg /= pg.sum()
            grad += X.T @ (p - pg)  # d/dw of -log(sum over gold of softmax)
        grad = grad / len(turns) + l2 * (w - w0) / len(turns)
        w -= lr * grad
    return w


def search(turns, w0, rounds=3, min_gain=2):
    """Coordinate search on top-1 accuracy: scale one weight at a time, keep a change only when it gets
    at least `min_gain` more turns right (fewer, larger steps overfit less on small sets)."""
    w = w0.copy()
    best = sum(bool(gold[np.argmax(X @ w)]) for X, gold in turns)
    for _ in range(rounds):
        improved = False
        for k in range(len(w)):
            for value in (w[k] * f for f in (0.0, 0.5, 0.75, 1.5, 2.0, 3.0)) if w[k] else (-0.2, -0.1, 0.1, 0.2):
                trial = w.copy()
                trial[k] = value
                got = sum(bool(gold[np.argmax(X @ trial)]) for X, gold in turns)
                if got >= best + min_gain:
                    best, w, improved = got, trial, True
        if not improved:
            break
    return w


def top1(turns, w):
    return sum(bool(gold[np.argmax(X @ w)]) for X, gold in turns) / len(turns)


def right(turn, answer) -> bool:
    """The scorer's rule: an unanswerable turn is right when the bot abstains, an answerable one when the quote
    holds a gold span."""
    if not turn["answerable"]:
        return not answer.answered
    return answer.answered and any(norm(s) in norm(answer.quote) for s in turn["gold_spans"])


def accuracy(index, gold_paths):
    results = [right(t, a) for t, a, _ in replay(index, conversations(gold_paths))]
    return sum(results) / len(results)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", action="append", required=True)
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus",
                                                     "releases.jsonl"))
    ap.add_argument("--l2", type=float, default=2.0)
    ap.add_argument("--search", action="store_true", help="coordinate search on top-1 instead of the logistic fit")
    args = ap.parse_args()
    if not os.path.exists(args.corpus):
        sys.exit(f"no corpus at {args.corpus}")
    index = open_index(args.corpus).index
    keys = list(A.WEIGHTS)
    w0 = np.array([A.WEIGHTS[k] for k in keys])
    before = accuracy(index, args.gold)
    turns, unreachable = collect(index, args.gold)
    w = search(turns, w0) if args.search else fit(turns, w0, l2=args.l2)
    print(f"turns: {len(turns)} reachable, {unreachable} unreachable; top-1 in scope: "
          f"{top1(turns, w0):.3f} with the current weights, {top1(turns, w):.3f} fitted")
    A.WEIGHTS.update({k: float(v) for k, v in zip(keys, w)})
    best = (accuracy(index, args.gold), D.MIN_SCORE, D.MIN_COVERAGE)
    for min_score in np.arange(0.2, 0.75, 0.05):
        for min_cov in np.arange(0.2, 0.65, 0.05):
            D.MIN_SCORE, D.MIN_COVERAGE = float(min_score), float(min_cov)
            acc = accuracy(index, args.gold)
            if acc > best[0] + 1e-9:
                best = (acc, D.MIN_SCORE, D.MIN_COVERAGE)
    print(f"accuracy on these sets: {before:.3f} before, {best[0]:.3f} fitted")
    print("WEIGHTS = {\n" + "".join(f'    "{k}": {round(float(v), 3)},\n' for k, v in zip(keys, w)) + "}")
    print(f"MIN_SCORE = {best[1]:.2f}\nMIN_COVERAGE = {best[2]:.2f}")


if __name__ == "__main__":
    main()
