"""A question with a typing slip is answered as if typed right, and says how it was read; a word that is no slip
of a word of the releases (an unknown company's name) stays as typed. Over the fixture corpus of real releases."""
from __future__ import annotations

import random
import re

import pytest

from bot import spelling
from bot.answer import answer
from conftest import FSN_REASONS, FSN_TRADING, NAUTICUS, SANUWAVE, assert_verbatim, contains_any, run_bot


@pytest.mark.parametrize("typed, slip, meant", [
    ("why is FSN delsiting?", "delsiting", "delisting"),                    # two letters swapped
    ("why is FSN delistng?", "delistng", "delisting"),                      # a letter dropped
    ("why is FSN delissting?", "delissting", "delisting"),                  # a letter doubled
    ("why is Fusion delisitng its shares?", "delisitng", "delisting"),
])
def test_a_slip_gets_the_answer_of_the_word_meant_and_says_how_it_read(fixture_index, typed, slip, meant):
    a = answer(fixture_index, typed)
    assert_verbatim(fixture_index, a)
    assert contains_any(a.quote, FSN_REASONS), a.quote
    assert a.read_as == {slip: meant}
    assert a.question == typed   # what the user asked is kept as asked


def test_a_slip_in_a_company_name_finds_the_company(fixture_index):
    right = answer(fixture_index, "what is the Sanuwave reverse split ratio?")
    slipped = answer(fixture_index, "what is the Sanuwvae reverse split ratio?")
    assert right.source.id == SANUWAVE
    assert (slipped.source.id, slipped.quote) == (right.source.id, right.quote)
    assert slipped.read_as == {"Sanuwvae": "Sanuwave"}   # capitalised as typed


def test_questions_typed_right_are_read_as_typed(fixture_index):
    for q in ("why is FSN delisting?", "where will FSN trade?", "what is the Nauticus reverse split ratio?",
              "when does the GeoVax split take effect?", "why are Splash's warrants being delisted?"):
        assert answer(fixture_index, q).read_as == {}, q


@pytest.mark.parametrize("question, unknown", [
    ("why is Zorblatt delisting?", "Zorblatt"),      # a name no release uses, nor anything one edit from it
    ("what ratio is Bauticus splitting at?", "Bauticus"),   # one letter from "Nauticus", but not its first
])
def test_a_name_that_is_no_slip_stays_as_typed(fixture_index, question, unknown):
    a = answer(fixture_index, question)
    assert unknown not in a.read_as
    assert a.source is None or a.source.id != NAUTICUS


@pytest.mark.parametrize("question", [
    "FSNN splt?",                                  # under five letters
    "SANUWVAE REVERSE SPLIT RATIO?",              # in capitals: a ticker or an acronym, not a slip
    "what doses were given?",                     # English ("does" is one letter away, but no corpus has "doses")
    "did Boeing buy Fusion?",                     # a name in the English word list ("being" is one letter away)
])
def test_short_words_capitals_and_english_words_are_never_changed(fixture_index, question):
    assert spelling.correct(fixture_index, question) == (question, {})


def test_a_company_written_out_is_named_as_typed(fixture_index):
    """"Sanuwabe Inc" is one letter from a known company, but written out with its suffix it is taken as the
    company meant: the answer says there are no releases from it, not from Sanuwave."""
    a = answer(fixture_index, "why is Sanuwabe Inc splitting its stock?")
    assert not a.answered and a.read_as == {}
    assert "Sanuwabe Inc" in a.message


def test_a_name_the_releases_lack_is_kept_whole(fixture_index):
    """Two unknown words in one name ("Sanuwvae Zorblatt", like "Satya Nadella") make a name the releases lack,
    not a slip in one they have; one unknown word beside known ones is a slip."""
    assert spelling.correct(fixture_index, "what did Sanuwvae Zorblatt say?")[1] == {}
    assert spelling.correct(fixture_index, "what did Sanuwvae Health say?")[1] == {"Sanuwvae": "Sanuwave"}


def test_a_possessive_is_read_too(fixture_index):
    for typed in ("what is Sanuwvae's reverse split ratio?", "what is Sanuwvae’s reverse split ratio?"):
        a = answer(fixture_index, typed)
        assert a.read_as == {"Sanuwvae": "Sanuwave"} and a.source.id == SANUWAVE, typed


def test_a_slipped_question_word_is_read_and_dropped_but_a_name_is_not(fixture_index):
    a = answer(fixture_index, "wheere will FSN trade?")
    assert a.read_as == {"wheere": "where"} and contains_any(a.quote, FSN_TRADING), a.quote
    assert "Acteally" not in spelling.correct(fixture_index, "is Acteally delisting?")[1]   # a name, not "actually"


def test_every_correction_is_a_word_the_releases_use(fixture_index):
    """A slip is read as a word written in some release, never as a string that only stems like one (the index
    keeps stems: "delistinged" stems to "delist" but is no word)."""
    texts = [fixture_index.text(r) for r in range(len(fixture_index.releases))]
    words = sorted({w.lower() for t in texts for w in re.findall(r"\b[a-z]{6,}\b", t)})
    rng = random.Random(5)
    corrected = 0
    for word in rng.sample(words, 150):
        i = rng.randrange(1, len(word) - 1)
        slip = rng.choice([word[:i] + word[i + 1:], word[:i] + word[i] + word[i:],
                           word[:i] + word[i + 1] + word[i] + word[i + 2:], word[:i] + "q" + word[i + 1:]])
        _, made = spelling.correct(fixture_index, slip)
        if made:
            corrected += 1
            meant = made[slip]
            assert any(re.search(rf"(?<![A-Za-z]){meant}(?![A-Za-z])", t, re.I) for t in texts), (slip, meant)
    assert corrected > 120   # most slips of the releases' own words are read back


def test_the_terminal_answer_says_how_it_read_the_question():
    done = run_bot(["ask", "why is FSN delsiting?"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert contains_any(lines[0], FSN_REASONS)
    assert lines[-1] == "(read “delsiting” as “delisting”)"


def test_a_long_word_is_left_alone_and_only_the_first_unknown_words_are_tried(fixture_index):
    """A word's one-edit strings grow with its length, and each word tried searches the releases: a 10,000-letter
    word is left as typed, and of a page of unknown words only the first MAX_SLIPS are read."""
    assert spelling.correct(fixture_index, "x" * 10_000) == ("x" * 10_000, {})
    _, made = spelling.correct(fixture_index, "delsiting delistng delsiting delissting delisitng Sanuwvae")
    assert set(made) == {"delsiting", "delistng", "delissting", "delisitng"}   # the first MAX_SLIPS unknown words
