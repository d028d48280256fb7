"""The question's kind and the shape of the wanted answer: pure functions of bot.answer, no index needed."""
import pytest

from bot import answer as A, text as tx


def question(text: str, concepts: list[str] = ()) -> A.Question:
    return A.Question(text=text, kind=A.question_kind(text),
                      concepts=[A.Concept(w, [(tx.stem(w),)]) for w in concepts], focus=None, releases=None,
                      company_words=set(), unknown_company=None, wants_recent=False, years=[], wants_price=False,
                      words=set(tx.words(text)))


@pytest.mark.parametrize("text, kind", [
    ("what exchange ratio did the holders get?", "amount"),      # a ratio, not an exchange
    ("which countries will they sell in?", "where"),
    ("what's the company going to do with the money?", "purpose"),
    ("where's the money from the raise going?", "purpose"),
    ("what will the new shares be used for?", "purpose"),
    ("how is the dividend splitting up?", "composition"),
    ("how close to the substation is the site?", "amount"),
    ("what's the buyer paying for the unit?", "amount"),
    ("new target?", "amount"),
])
def test_question_kinds(text, kind):
    assert A.question_kind(text) == kind


def test_contractions_and_ordinals_are_not_concepts():
    assert A.plain_question("which director didn't run again?") == "which director did not run again?"
    assert A.plain_question("it won't close before the 7th") == "it will not close before the 7"


def test_a_full_date_beats_a_bare_duration_for_when():
    q = question("when does she start?")
    assert A.graded_shape(q, "She joins the team on July 7th.", set()) > \
        A.graded_shape(q, "She has more than 20 years of experience.", set())


def test_how_long_wants_a_duration():
    q = question("how long has he been there?")
    assert A.graded_shape(q, "He will retire after 32 years of service.", set()) >= \
        A.graded_shape(q, "He steps down on June 30, 2025.", set())


def test_money_is_the_amount_a_payment_question_wants():
    q = question("how much is the buyer paying?")
    assert A.graded_shape(q, "The buyer will pay $131 million over two years.", set()) > \
        A.graded_shape(q, "The plant can make an additional 5 gigawatt-hours a year.", set())


def test_a_count_of_the_thing_asked_about_is_an_amount():
    q = question("how many small businesses will it support?", ["small", "businesses"])
    assert A.graded_shape(q, "It is expanding to support an additional 250 small business owners.", set()) > 0


@pytest.mark.parametrize("sentence", [
    "The facility has a total area of 1,500m².",
    "It signed a 400,000-square-foot lease.",
    "Net income was INR 9.94 crores.",
    "Each share was exchanged for 0.693 of a common share.",
    "It will produce up to an additional 5 gigawatt-hours of cells.",
])
def test_amounts_in_other_units_and_currencies(sentence):
    assert A.shape_score("amount", sentence) > 0


@pytest.mark.parametrize("sentence", [
    "The agreement was entered into in the wake of an investigation into irregularities.",
    "The reverse split is necessary to meet exchange listing requirements.",
    "The proceeds are intended for estate planning and charitable giving purposes.",
])
def test_reasons_in_other_words(sentence):
    assert A.shape_score("why", sentence) == A.SHAPE_WEIGHT["why"][0]
