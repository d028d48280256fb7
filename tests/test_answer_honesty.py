"""Honest answers over two real release excerpts (tests/fixtures/answer_shapes): a "why" question is answered
only by a sentence that gives a reason, and an amount told in a physical unit (cubic feet a minute) is an
amount."""
from __future__ import annotations

import pytest

from bot.answer import NOT_FOUND, answer
from bot.corpus import load_corpus
from bot.index import build_index
from conftest import FIXTURES, assert_verbatim

HAMMOND = "nw-e7033b075bf6"   # declares a dividend; gives no reason for it
AMERESCO = "nw-873ed3ab8e40"  # a landfill gas plant "designed to process 4,500 standard cubic feet per minute"


@pytest.fixture(scope="module")
def shapes_index():
    return build_index(load_corpus(FIXTURES / "answer_shapes"), workers=1)


@pytest.mark.parametrize("question", [
    "why did hammond manufacturing declare a dividend?",
    "why is Hammond paying a dividend?",
])
def test_why_without_a_reason_in_the_release_is_not_answered(shapes_index, question):
    """The release says the dividend is declared, when it is paid and that there is no dividend policy; none of
    that is a reason, so quoting it as one would mislead."""
    a = answer(shapes_index, question)
    assert not a.answered, a.quote
    assert a.message == NOT_FOUND


@pytest.mark.parametrize("question", [
    "how much landfill gas can Ameresco's Lee County facility process?",
    "how much raw landfill gas can the Lee County RNG plant take in?",
])
def test_an_amount_in_cubic_feet_answers_how_much(shapes_index, question):
    a = answer(shapes_index, question)
    assert a.answered, a.message
    assert_verbatim(shapes_index, a)
    assert a.source.id == AMERESCO
    assert "4,500 standard cubic feet per minute" in a.quote


@pytest.mark.parametrize("question, name", [("why is Acme Rockets delisting?", "Acme Rockets"),
                                            ("what did Acme Rockets announce?", "Acme Rockets"),
                                            ("who is John Smith?", "John Smith")])
@pytest.mark.parametrize("reader", ["default", None])
def test_a_name_no_release_mentions_is_not_answered_with_another_companys_sentence(fixture_index, question, name,
                                                                                     reader):
    """Over five companies' releases, a company (or person) none of them mentions: the reader used to quote
    another company's delisting for it; both ways now say which name the releases lack."""
    from bot.answer import Answerer
    a = Answerer(fixture_index, reader=reader).ask("q", question)
    assert not a.answered and a.quote is None
    assert a.message.startswith(f"No release mentions {name}")
