"""The trained ranking: which of the shortlisted sentences answers the question, and whether any does.

The rules (bot.answer) find where to look and shortlist sentences with what they compute about each (coverage of
the question, the answer's shape, the release's structure). The reader (bot.reader) reads each shortlisted
sentence with the question and says how well it answers. A logistic regression over both, fitted on the
project's own training questions (train/fit_ranker.py), turns them into the probability that a sentence answers;
the best sentence is quoted when that probability reaches the fitted threshold, and the bot says it couldn't
find the answer otherwise. The weights and the threshold ship beside the model, in `ranker.json`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# What the rules say of a sentence (Candidate.features and the rest of Candidate), in this order; then the
# reader's score, as it is and against the best of the shortlist.
KINDS = ("why", "purpose", "who", "when", "time", "amount", "where", "composition", "yesno", "about", "contact")
RULE_FEATURES = ("score", "first_in_scope", "first_scope", "confident", "coverage", "window", "passage", "shape",
                 "has_focus", "global_scope", "rare_and_rest", "informative", "measure_near", "carried_window",
                 "lead", "boilerplate", "about", "short", "table", "rank", "follows") + tuple("kind_" + k for k in KINDS)
READER_FEATURES = ("reader", "reader_gap", "reader_best", "reader_place")
FEATURES = RULE_FEATURES + READER_FEATURES


def pair_text(index, release: int, sentence: int, title_chars: int = 80) -> str:
    """What the reader reads of a candidate: its release's title, then the sentence."""
    title = index.releases.meta[release].title or ""
    return f"{title[:title_chars]} — {index.sentence(sentence)}"


def rule_features(q, c, confident) -> list[float]:
    f = c.features or {}
    return [c.score, 1.0 / (1 + c.position), float(c.scope == 0), float(confident(q, c)), c.coverage,
            c.window_coverage, c.passage_coverage, c.shape, float(c.has_focus), float(c.global_scope),
            float(c.rare_found and c.rest_found), float(c.informative), float(c.measure_near), c.carried_window,
            f.get("lead", 0.0), f.get("boilerplate", 0.0), f.get("about", 0.0), f.get("short", 0.0),
            f.get("table", 0.0), f.get("rank", 0.0), float(q.follows)] + [float(q.kind == k) for k in KINDS]


def reader_features(logits: np.ndarray) -> np.ndarray:
    """(n, 4): each logit, its gap to the shortlist's best, whether it is the best, and 1 / (1 + its place)."""
    logits = np.asarray(logits, dtype=np.float64)
    best = logits.max() if len(logits) else 0.0
    place = np.empty(len(logits))
    place[np.argsort(-logits, kind="stable")] = np.arange(len(logits))
    return np.stack([logits, logits - best, (logits >= best).astype(np.float64), 1.0 / (1.0 + place)], axis=1)


class Ranker:
    """A logistic regression over FEATURES (or gradient-boosted trees, which train/fit_ranker.py can fit instead),
    giving the probability that a sentence answers, and the threshold for answering."""

    def __init__(self, weights: dict):
        if list(weights["features"]) != list(FEATURES):
            raise ValueError("ranker.json was fitted on other features: refit it (train/fit_ranker.py)")
        self.threshold = float(weights["threshold"])
        self.trees = [{k: np.asarray(v) for k, v in t.items()} for t in weights.get("trees", [])]
        self.learning_rate = float(weights.get("learning_rate", 0.0))
        self.mean = np.asarray(weights.get("mean", np.zeros(len(FEATURES))), dtype=np.float64)
        self.scale = np.asarray(weights.get("scale", np.ones(len(FEATURES))), dtype=np.float64)
        self.coef = np.asarray(weights.get("coef", np.zeros(len(FEATURES))), dtype=np.float64)
        self.bias = float(weights["bias"])

    @classmethod
    def load(cls, path: str | Path) -> "Ranker":
        return cls(json.loads(Path(path).read_text()))

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        z = ((features - self.mean) / self.scale) @ self.coef + self.bias
        for tree in self.trees:
            z = z + self.learning_rate * leaf_values(tree, features)
        return 1.0 / (1.0 + np.exp(-z))


def leaf_values(tree: dict, features: np.ndarray) -> np.ndarray:
    """One regression tree (scikit-learn's arrays: feature, threshold, left, right, value; a leaf's left is -1),
    walked by every row at once."""
    node = np.zeros(len(features), dtype=np.int64)
    while True:
        left = tree["left"][node]
        inner = left >= 0
        if not inner.any():
            return tree["value"][node]
        go_left = features[np.arange(len(features)), tree["feature"][node]] <= tree["threshold"][node]
        node = np.where(inner, np.where(go_left, left, tree["right"][node]), node)
