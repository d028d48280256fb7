"""The opening (dateline sentence) or the body: a release's opening restates what it is about, so for "who" it
covers the question's words as well as the body sentence that names the person asked for. The sentence that
names someone the other does not is quoted; where the opening names the person asked for, it stays."""
from __future__ import annotations

import pytest

from bot.answer import answer
from bot.corpus import load_corpus
from bot.index import build_index
from conftest import FIXTURES, assert_verbatim

NORTHERN_TRUST = "nw-4a8b12bce117"
YETI = "nw-5682fcd8069b"


@pytest.fixture(scope="module")
def openings_index():
    return build_index(load_corpus(FIXTURES / "openings"), workers=1)


@pytest.mark.parametrize("question, release, named", [
    # the opening names the appointee; the body names whom she or he reports to
    ("who does katherine mccabe report to at northern trust?", NORTHERN_TRUST, "Melanie Pickett"),
    ("who does arvind bhatia report to at YETI?", YETI, "Mike McMullen"),
])
def test_a_body_sentence_naming_the_person_asked_for_beats_the_opening(openings_index, question, release, named):
    a = answer(openings_index, question)
    assert_verbatim(openings_index, a)
    assert a.source.id == release
    assert "report to " + named in a.quote, a.quote


@pytest.mark.parametrize("question, release, named", [
    ("who did northern trust appoint to lead OCIO strategy?", NORTHERN_TRUST, "Katherine McCabe"),
    ("who is YETI's new head of investor relations?", YETI, "Arvind Bhatia"),
])
def test_an_opening_naming_the_person_asked_for_stays(openings_index, question, release, named):
    a = answer(openings_index, question)
    assert_verbatim(openings_index, a)
    assert a.source.id == release
    assert named in a.quote and "report to" not in a.quote, a.quote
