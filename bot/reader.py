"""The reader: a cross-encoder that reads a question with a candidate sentence and scores how well it answers.

It is MiniLM-L6 (all-MiniLM-L6-v2's weights) fine-tuned on the project's own training questions
(train/train_reader.py), exported to ONNX with int8 weights, and shipped in bot/models/ with its tokenizer and
the ranker it feeds (bot.ranker). It runs on onnxruntime and tokenizers alone: no torch at run time. When the
model is missing, or IRBOT_READER=off, the bot answers by its hand rules as before.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from .ranker import Ranker, pair_text, reader_features, rule_features

MODELS = Path(__file__).parent / "models"
MAX_TOKENS = 80   # question and sentence together: the longer of the two is cut first
NONE_LOGIT = 0.0  # the logit of "no sentence answers" the reader was trained against


class ReaderError(Exception):
    """The trained reader is there but cannot be loaded (a damaged or mismatched file)."""


class Reader:
    def __init__(self, directory: str | Path = MODELS, threads: int | None = None):
        try:
            self._load(Path(directory), threads)
        except Exception as e:  # onnxruntime's and tokenizers' own errors, a ranker fitted on other features
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ReaderError(f"the trained reader in {directory} could not be loaded ({reason}); "
                              "IRBOT_READER=off answers by the hand rules alone") from e

    def _load(self, directory: Path, threads: int | None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS, strategy="longest_first")
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(directory / "reader.onnx"), options,
                                            providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.ranker = Ranker.load(directory / "ranker.json")

    def scores(self, question: str, passages: list[str]) -> np.ndarray:
        """One logit per passage: higher, the more it answers the question."""
        if not passages:
            return np.zeros(0)
        encoded = self.tokenizer.encode_batch([(question, p) for p in passages])
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encoded):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0].reshape(-1)

    def decide(self, index, q, candidates: list, asked: str, confident, quoted) -> tuple[list, bool]:
        """The candidates, most likely answer first, and whether it is likely enough to quote. `asked` is what
        the conversation asks now (the question, with the one it follows), `confident` the hand rule, one of the
        ranker's features, `quoted` the sentences a candidate's quote shows (all from bot.answer, which calls
        this)."""
        if not candidates:
            return [], False
        logits = self.quote_logits(index, asked, candidates, quoted)
        features = np.hstack([np.array([rule_features(q, c, confident) for c in candidates]),
                              reader_features(logits)])
        for c, p, logit in zip(candidates, self.ranker.probabilities(features), logits):
            c.probability, c.reader_logit = float(p), float(logit)
        ranked = sorted(candidates, key=lambda c: -c.probability)
        return ranked, self.quotable(ranked[0])

    def quote_logits(self, index, asked: str, candidates: list, quoted) -> np.ndarray:
        """One logit per candidate: the best of the sentences its quote shows (`quoted(index, sentence)`). A
        sentence that introduces a list ("... for the following reasons:") is quoted with its items
        (bot.answer.quote), and the quote answers when an item does."""
        return self.best_scores(asked, [[pair_text(index, c.release, i) for i in quoted(index, c.sentence)]
                                        for c in candidates])

    def best_scores(self, question: str, groups: list[list[str]]) -> np.ndarray:
        """One logit per group of passages, the best of theirs; all read in one batch, in order (the int8 model
        scales by the batch, so train/fit_ranker.py reads its groups the same way)."""
        owner = np.array([k for k, group in enumerate(groups) for _ in group], dtype=np.intp)
        best = np.full(len(groups), -np.inf)
        np.maximum.at(best, owner, self.scores(question, [p for group in groups for p in group]))
        return best

    def quotable(self, c) -> bool:
        """Whether a ranked candidate may be quoted: likely enough by the ranker, and above the "none of them" the
        reader was trained against (train/train_reader.py): below it the reader itself says nothing answers,
        whatever the ranker makes of a shortlist with no better sentence. (A hand filter for questions that name
        no company, as the rules have, cost 6 of 971 held-out turns and is left out; bot.answer.decide asks which
        company is meant when several answer alike instead.)"""
        return c.probability >= self.ranker.threshold and c.reader_logit > NONE_LOGIT


OFF = ("0", "off", "f", "false", "n", "no")  # as pydantic reads a false boolean (Settings.irbot_reader)
ON = ("", "1", "on", "t", "true", "y", "yes")
FILES = ("reader.onnx", "tokenizer.json", "ranker.json")
_loading = threading.Lock()


@lru_cache(maxsize=1)
def _shipped() -> Reader | None:
    if not all((MODELS / name).exists() for name in FILES):
        return None
    return Reader()


def shipped_reader() -> Reader | None:
    """The reader shipped in bot/models, loaded once (by one thread, whichever asks first); None when it is
    switched off (IRBOT_READER=off) or not all of its files are there."""
    setting = os.environ.get("IRBOT_READER", "").strip().lower()
    if setting in OFF:
        return None
    if setting not in ON:
        raise ReaderError(f"IRBOT_READER={setting!r} is neither on nor off")
    with _loading:
        return _shipped()


shipped_reader.cache_clear = _shipped.cache_clear  # what changes IRBOT_READER (the tests) loads anew
