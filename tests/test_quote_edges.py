"""What a quote looks like at its edges: no bullet of the source's layout, no quotation mark that opens or closes
nothing inside it, and a release without a title named by its first line cut at a word. Over real releases
(tests/fixtures/README.md); the quote stays a verbatim substring of its release."""
from __future__ import annotations

import pytest

from bot.answer import Answerer
from bot.corpus import load_corpus
from bot.index import build_index

from conftest import FIXTURES, assert_verbatim, release_text


@pytest.fixture(scope="module")
def index():
    return build_index(load_corpus(FIXTURES / "quotes"), workers=1)


@pytest.fixture(params=["reader", "rules"], scope="module")
def bot(request, index):
    return Answerer(index, reader="default" if request.param == "reader" else None)


def test_a_bulleted_line_is_quoted_without_its_bullet(bot, index):
    a = bot.ask("q", "how much did Rhumbline add to its Golden Matrix position?")
    assert_verbatim(index, a)
    assert a.quote.startswith("RHUMBLINE ADVISERS led with a 391% increase")
    assert "\n- " + a.quote in release_text(index, a.source.id), "the source line has a bullet the quote leaves out"


def test_a_quotation_cut_by_the_sentence_loses_its_lonely_mark(bot, index):
    a = bot.ask("q", "what does Reliance's entry into Ethereum underscore?")
    assert_verbatim(index, a)
    assert a.quote.startswith("Our entry into Ethereum underscores"), a.quote
    assert "“" + a.quote in release_text(index, a.source.id)


def test_a_quotation_that_closes_after_the_quote_keeps_no_closing_mark(index):
    a = Answerer(index, reader="default").ask("q", "is Reliance going to buy more Ethereum?")
    assert_verbatim(index, a)
    assert a.quote.startswith("Reliance expects to continue purchasing Ethereum") and a.quote.endswith("over time."), a.quote
    assert a.quote + "”" in release_text(index, a.source.id)


def test_a_release_without_a_title_is_named_by_its_first_line_cut_at_a_word(bot, index):
    a = bot.ask("q", "how much did Rhumbline add to its Golden Matrix position?")
    first_line = release_text(index, a.source.id).splitlines()[0]
    title = a.source.title
    assert len(first_line) > 120 and title.endswith("…") and len(title) <= 121
    assert first_line.startswith(title[:-1]) and not first_line[len(title) - 1].isalnum(), title  # a word is whole


@pytest.mark.parametrize("quote, shown", [
    ('"In Q4 we closed the plan.', "In Q4 we closed the plan."),
    ("By suspending it, we fortify our balance sheet.”", "By suspending it, we fortify our balance sheet."),
    ("● The Company did.", "The Company did."),
    ("--\nIn 2025, we expect lower demand.", "In 2025, we expect lower demand."),
    ('"We did," said Bob.', '"We did," said Bob.'),                       # balanced: kept
    ("“Up,” said Ann. “Down", "“Up,” said Ann. “Down"),                   # the lonely mark is inside: kept
    ("*Revenue* – up 10%", "*Revenue* – up 10%"),                          # emphasis, not a bullet
])
def test_tidy_trims_only_the_edges(quote, shown):
    from bot.answer.quote import tidy
    assert tidy(quote) == shown and shown in quote
