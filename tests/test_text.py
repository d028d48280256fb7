"""Sentence splitting on real press-release text: every sentence is a verbatim span, and the hard cases
(abbreviations, section numbers, amounts, ticker tags, URLs, e-mail addresses, enumerations, headlines, glued
lines) split where a reader would split them."""
from __future__ import annotations

import json
import random
import re

import pytest

from bot import text as tx
from conftest import FIXTURES

CASES = [json.loads(line) for line in (FIXTURES / "sentences.jsonl").read_text(encoding="utf-8").splitlines()
         if line.strip()]


def _param(case):
    marks = [pytest.mark.xfail(reason=case["known_issue"], strict=False)] if case.get("known_issue") else []
    return pytest.param(case, id=f"{case['source']}: {case['covers']}", marks=marks)


def assert_spans_are_verbatim(text: str, spans: list[tuple[int, int]]) -> None:
    """Spans are in order, do not overlap, are trimmed, and lose no word of the text (only spaces, zero-width
    characters and stray symbols may fall between sentences)."""
    previous_end = 0
    for s, e in spans:
        assert previous_end <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip()
        assert not re.search(r"\w", text[previous_end:s]), f"text dropped between sentences: {text[previous_end:s]!r}"
        previous_end = e
    assert not re.search(r"\w", text[previous_end:])


def test_the_fixture_cases_are_real_text():
    """Each expected sentence is a span of its passage (so the fixtures themselves cannot drift)."""
    for case in CASES:
        for sentence in case["sentences"]:
            assert sentence in case["text"], (case["source"], sentence)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_real_passages_split_where_a_reader_would(case):
    assert tx.split_sentences(case["text"]) == case["sentences"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c["source"]) for c in CASES])
def test_every_sentence_is_a_verbatim_span(case):
    text = case["text"]
    spans = tx.sentence_spans(text)
    assert spans
    assert_spans_are_verbatim(text, spans)
    assert [text[s:e] for s, e in spans] == tx.split_sentences(text)


def test_the_seed_release_splits_verbatim_and_keeps_its_reasons_apart(shipped_index):
    text = shipped_index.releases[0].text
    sentences = tx.split_sentences(text)
    assert_spans_are_verbatim(text, tx.sentence_spans(text))
    reasons = [s for s in sentences if s[:3] in ("a) ", "b) ", "c) ", "d) ")]
    assert [s[:2] for s in reasons] == ["a)", "b)", "c)", "d)"]
    assert any(s.endswith("for the following reasons:") for s in sentences)


def test_a_run_on_passage_is_cut_into_quotable_pieces():
    """A table or a list without full stops does not become one 'sentence' thousands of characters long."""
    text = "; ".join(f"item {i} of the schedule is listed here" for i in range(300))
    spans = tx.sentence_spans(text)
    assert len(spans) > 1
    assert max(e - s for s, e in spans) <= 1200
    assert_spans_are_verbatim(text, spans)


def test_shared_corpus_sentences_are_verbatim_spans(shared_releases):
    """A sample of the shared corpus (real wire copy with every quirk): no text is lost or invented."""
    with open(shared_releases, encoding="utf-8") as f:
        releases = [json.loads(line) for line in f]
    sample = random.Random(2).sample(releases, 120)
    for r in sample:
        text = r["text"]
        spans = tx.sentence_spans(text)
        assert spans, r["id"]
        assert_spans_are_verbatim(text, spans)


def test_questions_and_releases_are_analysed_alike():
    """The question's words meet the release's words: stems match, question words and stop words drop out."""
    question = tx.analyze("Why is the company delisting its shares?")
    release = tx.analyze("The Company is delisting its shares from the Exchange.")
    assert "why" not in question and "is" not in question
    assert set(question) <= set(release)
    assert tx.words("200,000 shares") == ["200000", "shares"]


@pytest.mark.parametrize("text, expected", [
    ("$350K grant", ["350", "350000", "grant"]),
    ("1,200 million units", ["1200", "million", "1200000000", "units"]),
    ("a 2.5bn loan and 40 m", ["a", "2.5", "2500000000", "loan", "and", "40", "m"]),
    ("rated for a 30kn load", ["rated", "for", "a", "30", "kn", "load"]),     # a unit, not a scale
    ("Q3 2025: 12,5 and x1,500", ["q3", "2025", "125", "and", "x1", "500"]),
])
def test_amounts_are_spelled_out_the_same_way_everywhere(text, expected):
    """`$350K`, `$350,000` and `350 thousand` meet; a word that only looks like an amount ("30kn") neither
    fails the build nor the question."""
    assert tx.words(text) == expected
    assert tx.analyze(text)      # (no error on any of them)


def test_a_table_of_many_distinct_amounts_reads_every_amount():
    """A results table: thousands of distinct amounts, each spelled without its separator, in order."""
    table = " | ".join(f"{k // 1000},{k % 1000:03d}" for k in range(1000, 9000))   # 1,000 ... 8,999
    assert tx.words(table) == [str(k) for k in range(1000, 9000)]
