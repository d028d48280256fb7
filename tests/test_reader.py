"""The trained reader and ranker as shipped (bot/models): they load with onnxruntime and tokenizers alone, read a
real release the way an investor's question needs, refuse what no release says, and every quote stays
verbatim. The seed release is reserved for evaluation: no training question was written over it."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bot import reader as reader_module
from bot.answer import LIST_CHARS, Answerer, Candidate, whole_quote
from bot.answer.quote import quoted_sentences
from bot.ranker import FEATURES, Ranker, pair_text
from bot.reader import shipped_reader

from conftest import FSN, NAUTICUS, ROOT

pytestmark = pytest.mark.skipif(not (reader_module.MODELS / "reader.onnx").exists(), reason="no shipped reader")


@pytest.fixture(scope="module")
def reader():
    return shipped_reader()


def sentences_of(index, release_id: str) -> list[int]:
    r = index.by_id[release_id]
    return [i for i in range(len(index.sent_release)) if int(index.sent_release[i]) == r]


def find(index, release_id: str, start: str) -> int:
    return next(i for i in sentences_of(index, release_id) if index.sentence(i).startswith(start))


def test_the_shipped_reader_runs_without_torch():
    # torch made unimportable (where it is installed too): loading and reading must not need it
    code = ("import sys; sys.modules['torch'] = None; from bot.reader import shipped_reader; r = shipped_reader(); "
            "print(r is not None, len(r.scores('why?', ['because.', 'so.'])))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "2"]


# Questions in other words than the release's, each with the sentence that answers it and sentences beside it
# that share its words or sit in the same release but answer something else.
READINGS = [
    ("what's pushing Fusion off the exchange?", "a) The costs to the Company to remain listed",
     ["For more information, please go to", "The Company is dedicated to maintaining complete transparency",
      "Fusion is firmly focused on building its core business"]),
    ("so when does it actually take effect", "It is expected that the delisting will become effective",
     ["The Company has applied to FINRA", "About Fusion: Fusion is a new breed",
      "The Company is dedicated to maintaining complete transparency"]),
    ("who's the boss over at fusion", "Commenting on the voluntary action, Matthew Rosen, Chief Executive Officer",
     ["The Company has applied to FINRA", "It is expected that the delisting will become effective",
      "For more information, please go to"]),
]


@pytest.mark.parametrize("question,right,wrong", READINGS, ids=[r[0] for r in READINGS])
def test_the_reader_ranks_the_answering_sentence_first(reader, shipped_index, question, right, wrong):
    candidates = [find(shipped_index, FSN, s) for s in [right] + wrong]
    r = shipped_index.by_id[FSN]
    logits = reader.scores(question, [pair_text(shipped_index, r, i) for i in candidates])
    assert int(np.argmax(logits)) == 0, dict(zip([right] + wrong, logits.round(2)))


@pytest.mark.parametrize("question", ["what was Fusion's revenue in the first quarter of 2009?",
                                      "what colour is the sky on Mars?", "how many employees does Fusion have?"])
def test_what_no_release_says_is_refused(shipped_index, question):
    a = Answerer(shipped_index).ask(question, question)
    assert not a.answered, a.quote
    assert "I couldn't find that" in a.message


def test_a_question_two_companies_answer_alike_asks_which_company(index):
    """Over two companies' releases (tests/botapi.py: Fusion and Acme Widgets), "who is the CEO?" in a fresh
    conversation is either company's question: the bot asks which is meant and quotes neither CEO; named, or
    following an answer about one of them, the same question is answered."""
    bot = Answerer(index)
    a = bot.ask("fresh", "who is the CEO?")
    assert not a.answered and a.quote is None
    assert a.message.startswith("Which company do you mean?") and "Acme Widgets" in a.message and "Fusion" in a.message
    assert {r.company for r in a.related} >= {"Acme Widgets Inc.", "Fusion"}  # where to look, both of them
    named_back = bot.ask("fresh", "acme")  # the reply: the question asked back is answered for the company named
    assert "Jane Doe" in named_back.quote and named_back.understood == "who is the CEO? (acme)"
    assert not bot.ask("fresh", "fusion").answered  # only the reply to the question back means it
    assert "Jane Doe" in bot.ask("named", "who is Acme's CEO?").quote
    bot.ask("follow", "why is FSN delisting?")
    assert "Matthew Rosen" in bot.ask("follow", "who is the CEO?").quote


# What the hand rules get right (tests/test_answer.py pins them with the rules alone) and the shipped reader does
# not, yet: each is expected to fail, strictly, so that a retrained reader which gets one right says so here.
KNOWN_MISSES = [
    ("fixture", ["why is the company delisting?"], lambda a: not a.answered),    # two delistings: name none
    ("fixture", ["how much is the nauticus reverse split going to cost?"], lambda a: not a.answered),
    ("fixture", ["when does GeoVax's reverse split take effect?", "and the ratio?"], lambda a: "1-for-25" in a.quote),
    ("fixture", ["what does Splash Beverage Group do?"],
     lambda a: "owns and operates a portfolio of alcoholic and non-alcoholic beverage brands" in (a.quote or "")),
    ("shipped", ["who audits Fusion's accounts?"], lambda a: not a.answered),   # quotes its audit committee
    ("fixture", ["why is Splash Beverage delisting its warrants?"], lambda a: "low trading price" in a.quote),
    ("fixture", ["KITT reverse split ratio?", "why are they doing it?"], lambda a: "minimum bid price" in (a.quote or "")),
]


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="the shipped reader's known misses (issue 16's note)")
@pytest.mark.parametrize("corpus,turns,right", KNOWN_MISSES, ids=[" / ".join(m[1]) for m in KNOWN_MISSES])
def test_known_misses_of_the_shipped_reader(shipped_index, fixture_index, corpus, turns, right):
    bot = Answerer(fixture_index if corpus == "fixture" else shipped_index)
    for question in turns:
        a = bot.ask("c", question)
    assert right(a), a.quote


def test_every_quote_is_verbatim_with_the_reader(shipped_index, fixture_index):
    for index, questions in ((shipped_index, ["why is FSN delisting?", "where will it trade?", "and when?",
                                              "who is the ceo", "what does fusion do"]),
                             (fixture_index, ["how many old Nauticus shares make a new one?", "why split?",
                                              "what is the ratio of the Sanuwave split", "is Splash delisting?"])):
        bot = Answerer(index)
        answered = 0
        for q in questions:
            a = bot.ask("one conversation", q)
            if a.answered:
                answered += 1
                assert a.quote in index.releases[index.by_id[a.source.id]].text
                for alt in a.alternatives:
                    assert alt.quote in index.releases[index.by_id[alt.source.id]].text
        assert answered >= len(questions) - 2  # what is checked is quoted: most of these are answered


def test_the_next_best_quotes_are_not_the_items_the_answer_already_quotes(shipped_index):
    a = Answerer(shipped_index).ask("c", "why is FSN delisting?")
    assert a.answered and "a) The costs to the Company" in a.quote
    assert all(alt.quote not in a.quote for alt in a.alternatives), [alt.quote for alt in a.alternatives]


def test_a_sentence_that_introduces_a_list_is_quoted_with_its_items(shipped_index, shipped_bot):
    lead = find(shipped_index, FSN, "The Company decided to withdraw its securities")
    quote, last = whole_quote(shipped_index, lead)
    assert quote.startswith("The Company decided to withdraw") and "a) The costs to the Company" in quote
    assert "b) While the Company was committed to achieving the Panel's milestones" in quote
    assert quote in shipped_index.releases[shipped_index.by_id[FSN]].text and len(quote) <= LIST_CHARS
    assert last > lead
    plain = find(shipped_index, FSN, "It is expected that the delisting")
    assert whole_quote(shipped_index, plain) == (shipped_index.sentence(plain), plain)


def test_a_list_is_read_as_it_is_quoted_with_its_items(reader, shipped_index):
    """The lead-in "... for the following reasons:" says no reason itself; its quote shows the items that do, so
    the reader scores it as well as its best item, and a sentence that is no lead-in as itself."""
    r = shipped_index.by_id[FSN]
    lead = find(shipped_index, FSN, "The Company decided to withdraw its securities")
    plain = find(shipped_index, FSN, "It is expected that the delisting")
    question = "what's pushing Fusion off the exchange?"
    quoted = whole_quote(shipped_index, lead)[1]
    read = [*range(lead, quoted + 1), plain]   # one batch, as quote_logits reads it (int8 scales by the batch)
    alone = reader.scores(question, [pair_text(shipped_index, r, i) for i in read])
    assert quoted > lead and alone[1:-1].max() > alone[0]  # an item reads as the answer, the lead-in less so
    logits = reader.quote_logits(shipped_index, question, [Candidate(lead, 0, 0, 0, 0, False, r),
                                                           Candidate(plain, 0, 0, 0, 0, False, r)], quoted_sentences)
    assert logits.tolist() == pytest.approx([alone[:-1].max(), alone[-1]], abs=1e-5)


def test_whats_new_is_the_newest_release_opening(fixture_index, shipped_index):
    a = Answerer(shipped_index).ask("news", "what's new with Fusion?")
    assert a.answered and a.quote.startswith("NEW YORK, May 29 /PRNewswire-FirstCall/ -- Fusion")
    b = Answerer(fixture_index).ask("news", "any news from Nauticus?")
    assert b.answered and b.source.id == NAUTICUS
    assert "forward-looking" not in b.quote.lower()


def test_a_follow_up_is_read_with_the_question_it_follows(shipped_index):
    bot = Answerer(shipped_index)
    first = bot.ask("c", "why is Fusion leaving the NYSE Amex?")
    second = bot.ask("c", "and when does that happen?")
    assert first.answered and second.answered and second.source.id == FSN
    assert second.context.question.startswith("when does that happen? | ") and "Fusion" in second.context.question


def test_a_ranker_fitted_on_other_features_is_refused(tmp_path):
    path = tmp_path / "ranker.json"
    weights = json.loads((reader_module.MODELS / "ranker.json").read_text())
    Ranker.load(reader_module.MODELS / "ranker.json")
    path.write_text(json.dumps({**weights, "features": list(FEATURES[:-1])}))
    with pytest.raises(ValueError, match="refit"):
        Ranker.load(path)


def test_a_damaged_model_is_a_clear_error_that_says_how_to_answer_without_it(tmp_path):
    import shutil
    from bot.reader import Reader, ReaderError
    for f in reader_module.MODELS.iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "reader.onnx").write_bytes(b"not a model")
    with pytest.raises(ReaderError, match="IRBOT_READER=off") as e:
        Reader(tmp_path)
    assert str(tmp_path) in str(e.value) and "\n" not in str(e.value)


def test_irbot_reader_off_answers_by_the_rules(monkeypatch, shipped_index):
    monkeypatch.setenv("IRBOT_READER", "off")
    shipped_reader.cache_clear()
    try:
        assert shipped_reader() is None
        assert Answerer(shipped_index).reader is None
    finally:
        monkeypatch.delenv("IRBOT_READER")
        shipped_reader.cache_clear()
    assert shipped_reader() is not None
