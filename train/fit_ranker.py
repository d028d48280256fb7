"""Fit the ranker (bot.ranker) over the rules' features and the reader's score, and the threshold above which the
best sentence is quoted.

It is fitted on turns the reader never trained on (a held-out part of the training questions, written over other
releases), with the shipped reader's scores, so it sees the reader as it reads unseen questions. The model is
a logistic regression (what ships: it cross-validated better), or with --model trees gradient-boosted trees
(scikit-learn, exported to plain arrays: no scikit-learn at run time). The threshold is the one that gets the most
held-out turns right (a quote holding a gold span, or an unanswerable question refused), with the bot's other
condition for quoting applied: the reader scores the sentence above "none of them". --folds K first compares
both models by K-fold cross-validation over the held-out turns and prints the table.

    python train/fit_ranker.py --candidates HELD_OUT.jsonl [--folds 5] [--model logistic|trees]
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from bot.ranker import FEATURES, Ranker, reader_features  # noqa: E402
from bot.reader import MODELS, NONE_LOGIT, Reader  # noqa: E402

READER = FEATURES.index("reader")
TREES = {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.1, "min_samples_leaf": 20, "subsample": 0.8}


def reader_logits(rows: list[dict], models: str, cache: str) -> list[list[float]]:
    """The reader's logit for every candidate of every turn, as bot.reader reads it (the best of the sentences its
    quote shows: the sentence and, for a list's lead-in, its items), read once and kept in `cache`."""
    if any("more" not in c or "quote_label" not in c for row in rows for c in row["cands"]):
        sys.exit("these candidates predate lists read whole (no `more`, `quote_label`): write them anew with "
                 "train/candidates.py")
    if os.path.exists(cache):
        with open(cache) as f:
            return json.load(f)
    reader = Reader(models)
    logits = []
    for n, row in enumerate(rows):
        logits.append(reader.best_scores(row["a"], [[c["b"], *c["more"]] for c in row["cands"]]).tolist())
        if (n + 1) % 200 == 0:
            print(f"{n + 1} turns read", file=sys.stderr)
    with open(cache, "w") as f:
        json.dump(logits, f)
    return logits


def turns_of(rows, logits):
    """Per turn: its candidates' feature matrix, their labels, and whether it is answerable."""
    turns = []
    for row, lg in zip(rows, logits):
        if not row["cands"]:
            turns.append((np.zeros((0, len(FEATURES))), np.zeros(0), row["answerable"]))
            continue
        x = np.hstack([np.array([c["f"] for c in row["cands"]], dtype=np.float64), reader_features(np.array(lg))])
        labels = [c["quote_label"] for c in row["cands"]]   # the quote shown holds a gold span
        turns.append((x, np.array(labels, dtype=np.float64), row["answerable"]))
    return turns


def fit(turns, model: str) -> dict:
    """The ranker's weights (ranker.json's content, less the threshold)."""
    x = np.vstack([t[0] for t in turns if len(t[0])])
    y = np.concatenate([t[1] for t in turns if len(t[1])])
    if model == "logistic":
        from sklearn.linear_model import LogisticRegression
        mean, scale = x.mean(0), x.std(0)
        scale[scale == 0] = 1.0
        lr = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / scale, y)
        return {"features": list(FEATURES), "mean": mean.tolist(), "scale": scale.tolist(),
                "coef": lr.coef_[0].tolist(), "bias": float(lr.intercept_[0])}
    from sklearn.ensemble import GradientBoostingClassifier
    gb = GradientBoostingClassifier(random_state=16, **TREES).fit(x, y)
    prior = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    trees = []
    for est in gb.estimators_[:, 0]:
        t = est.tree_
        trees.append({"feature": t.feature.tolist(), "threshold": t.threshold.tolist(),
                      "left": t.children_left.tolist(), "right": t.children_right.tolist(),
                      "value": t.value[:, 0, 0].tolist()})
    weights = {"features": list(FEATURES), "bias": float(np.log(prior / (1 - prior))), "trees": trees,
               "learning_rate": TREES["learning_rate"]}
    check = Ranker({**weights, "threshold": 0.5}).probabilities(x[:500])
    assert np.allclose(check, gb.predict_proba(x[:500])[:, 1], atol=1e-6), "exported trees disagree with sklearn"
    return weights


def best_of(turns, ranker: Ranker):
    """Per turn: the best candidate's probability, whether it holds a gold span, and whether it is answerable."""
    out = []
    for x, y, answerable in turns:
        if len(x) == 0:
            out.append((0.0, False, answerable))
            continue
        p = ranker.probabilities(x)
        k = int(np.argmax(p))
        # as bot.reader decides: no quote where the reader scores its best below "none of them"
        out.append((float(p[k]) if x[k, READER] > NONE_LOGIT else 0.0, bool(y[k]), answerable))
    return out


def report(best, threshold):
    right = sum((p >= threshold and gold) if answerable else p < threshold for p, gold, answerable in best)
    refused = [answerable for p, gold, answerable in best if p < threshold]
    unanswerable = sum(1 for _, _, a in best if not a)
    answerable = [gold for _, gold, a in best if a]
    return {"accuracy": round(right / len(best), 4),
            "top1_answerable": round(sum(answerable) / max(1, len(answerable)), 4),
            "abstention_precision": round(sum(not a for a in refused) / len(refused), 4) if refused else 1.0,
            "abstention_recall": round(sum(not a for a in refused) / unanswerable, 4) if unanswerable else 1.0,
            "turns": len(best)}


def threshold_for(best) -> float:
    grid = [round(t, 3) for t in np.linspace(0.02, 0.98, 97)]
    return max(grid, key=lambda t: (report(best, t)["accuracy"], -abs(t - 0.5)))


def cross_validate(turns, folds: int) -> None:
    """Each model fitted on K-1 folds of the held-out turns, measured on the last; the rules' and the reader's own
    first choice beside them."""
    order = np.random.default_rng(16).permutation(len(turns))
    parts = np.array_split(order, folds)
    results = {"rules": [], "reader": [], "logistic": [], "trees": []}
    for k in range(folds):
        test = [turns[i] for i in parts[k]]
        train = [turns[i] for j in range(folds) if j != k for i in parts[j]]
        for name in ("logistic", "trees"):
            ranker = Ranker({**fit(train, name), "threshold": 0.5})
            best_train = best_of(train, ranker)
            results[name] += [(b, threshold_for(best_train)) for b in [best_of(test, ranker)]]
        for name, column in (("rules", None), ("reader", FEATURES.index("reader"))):
            picks = []
            for x, y, a in test:
                if len(x) == 0:
                    picks.append((0.0, False, a))
                    continue
                order_by = x[:, column] if column is not None else \
                    x[:, FEATURES.index("first_in_scope")] + 10 * x[:, FEATURES.index("first_scope")]
                k_best = int(np.argmax(order_by))
                picks.append((1.0, bool(y[k_best]), a))
            results[name].append((picks, 0.5))
    print(f"{folds}-fold cross-validation over {len(turns)} held-out turns:")
    for name, runs in results.items():
        best = [b for picks, _ in runs for b in picks]
        if name in ("rules", "reader"):
            print(f"  {name:9} first choice right on {report(best, 0.0)['top1_answerable']:.3f} of answerable turns")
        else:
            scored = [report(picks, t) for picks, t in runs]
            mean = {k: float(np.mean([s[k] for s in scored])) for k in ("top1_answerable", "accuracy",
                                                                       "abstention_precision", "abstention_recall")}
            print(f"  {name:9} " + ", ".join(f"{k} {v:.3f}" for k, v in mean.items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", required=True, help="candidates (train/candidates.py) of held-out turns")
    ap.add_argument("--models", default=str(MODELS))
    ap.add_argument("--model", choices=("logistic", "trees"), default="logistic")
    ap.add_argument("--folds", type=int, default=0, help="compare the models by cross-validation first")
    args = ap.parse_args()
    with open(args.candidates, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    ranker_path = os.path.join(args.models, "ranker.json")
    try:
        Ranker.load(ranker_path)
    except (OSError, ValueError):  # the reader loads with a ranker: give it one that has no say yet
        with open(ranker_path, "w") as f:
            json.dump({"features": list(FEATURES), "bias": 0.0, "threshold": 0.5}, f)
    with open(os.path.join(args.models, "reader.onnx"), "rb") as f:  # a cache per reader: a new one reads anew
        digest = hashlib.sha1(f.read()).hexdigest()[:10]
    turns = turns_of(rows, reader_logits(rows, args.models, f"{args.candidates}.{digest}.quote.logits.json"))
    if args.folds:
        cross_validate(turns, args.folds)
    weights = fit(turns, args.model)
    best = best_of(turns, Ranker({**weights, "threshold": 0.5}))
    weights["threshold"] = threshold_for(best)
    weights["fitted_on"] = {"candidates": os.path.basename(args.candidates), "model": args.model,
                            **report(best, weights["threshold"])}
    with open(ranker_path, "w") as f:
        json.dump(weights, f)
    print(json.dumps(weights["fitted_on"]))


if __name__ == "__main__":
    main()
