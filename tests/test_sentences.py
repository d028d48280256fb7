"""bot.sentences.raw_spans must find exactly syntok's sentences (syntok is the reference), and never fail on
any string. The whole pipeline (text.sentence_spans) must then split real releases exactly as it did on syntok."""
from __future__ import annotations

import json
import os
import random
import shutil
import sys
import sysconfig

import pytest

from bot import sentences as fastsplit
from bot import text as tx

from conftest import FIXTURE_CORPUS, SHIPPED_CORPUS

segmenter = pytest.importorskip("syntok.segmenter")


@pytest.fixture(params=["python", "compiled"])
def raw_spans(request):
    """Each implementation of raw_spans: sentences.py's, and bot/_sentences.c's walk where it was built."""
    if request.param == "python":
        return fastsplit.python_raw_spans
    if fastsplit._sentences is None:
        pytest.skip("bot._sentences is not built (no C compiler at install)")
    return fastsplit._sentences.raw_spans


def syntok_raw_spans(text: str) -> list[tuple[int, int]]:
    raw = []
    for paragraph in segmenter.analyze(text):
        for sentence in paragraph:
            tokens = [t for t in sentence if t.value]
            if tokens:
                raw.append((tokens[0].offset, tokens[-1].offset + len(tokens[-1].value)))
    return raw


def check_spans(text: str, spans: list[tuple[int, int]]) -> None:
    """Sorted, non-overlapping, inside the text, non-empty, and neither starting nor ending in white space
    (syntok's: Unicode White_Space and ZWSP, so "\x1c" is a token)."""
    end = 0
    for s, e in spans:
        assert end <= s < e <= len(text), (s, e)
        assert text[s] not in fastsplit.TOKEN_SPACE_CHARS and text[e - 1] not in fastsplit.TOKEN_SPACE_CHARS
        end = e


# --- tricky passages from real releases (and syntok's own examples) ----------------------------------------

RELEASE_PASSAGES = [
    # company suffixes: "Inc." goes on before "(NASDAQ", but a sentence may end in "Inc." too
    "SoundHound AI Inc. (NASDAQ: SOUN) has caught the attention of many tech-savvy AI investors in recent months.",
    "2) The Article was issued on behalf of and sponsored by, Surf Air Mobility Inc. Market Jar Media Inc. was paid "
    "$1,500 for the production and publishing of this article.",
    "Enter Adamas One Corp. (NASDAQ: JEWL), a key player in the evolving landscape of the diamond industry.",
    "announced a private placement of $5 million from a private institutional investor, Core 4 Capital Corp. The "
    "deal involved issuance of 2,369,668 shares at a price of $2.11 per share.",
    # "No." before a number
    "The shares are offered pursuant to a shelf registration statement on Form S-3 (File No. 333-277585) "
    "previously filed with the Securities and Exchange Commission.",
    "The Jeep Wrangler 4xe reigns as America's No. 1 best-selling plug-in hybrid. Back by popular demand, it returns.",
    # U.S. inside and at the end of a sentence
    "The U.S. Department of Energy (DOE) has since updated its Title 17 loan guarantee program guidelines.",
    "to fuel the economics of the vertical farming industry in the U.S. As a leader in designing products, it grows.",
    "tapping into the $500 million industrial dehumidifier market in the U.S.\n\nFuture Prospects\n\nNMHI's approach",
    # a.m. / p.m.
    "Taking place on Wednesday, August 28, 2024, at 3:00 p.m. EST, the company update will provide an overview.",
    "Date/Time:   September 9, 2024 at 7:00 a.m. ETLocation:   Lotte New York Palace Hotel, New York, NY",
    # amounts
    "ATEC secured three new sales contracts, adding $1.5 million in projected revenue for 2024. These systems will "
    "provide clean water.",
    # section numbers with brackets
    "The Company is not in compliance with Section 1003(a)(i) of the NYSE American Company Guide (the “Company "
    "Guide”) requiring a stockholders’ equity of $2.0 million.",
    "The Company was out of compliance with Sections 1003(a)(i), (ii) and (iii) of the Listed Company Manual by the "
    "end of the period.",
    # titles and months
    "Dr. Giacomo Lanzoni, PhD, program leader at the DRI, stated, \"Our observations highlight the transformation.\"",
    "JERSEY CITY, N.J., Jan. 30, 2025\n\nThe news release, U.S. FDA approves Celltrion's AVTOZMA® (tocilizumab-anoh).",
    "From Jan. 1 through April 10, 2025, fans interested in entering for a chance to win a flight are encouraged.",
    "my father, former CEO Joesph Riccelli, Sr. He has given the Company over 20 years of dedicated service.",
    # quotes closing a sentence
    "noting, \"We feel uniquely positioned to take advantage of any drop in machine prices.\" The company added "
    "an additional 750 miners.",
    "This press release contains statements that constitute \"forward-looking statements.\" The statements in this "
    "press release are forward-looking.",
    # ellipses
    "\"Everything that Rick's told me would happen, has happened... He knows how to scale,\" Harrington said.",
    "ReachOut exists to prove that support doesn’t solve risk... Ownership does. The MSP model is dead.",
    "Think Disney… Nickelodeon… Dream Works… and the Cartoon Network, just to name a few.",
    # a heading with a ticker after a terminal, and a glued sentence
    "ABOUT PALTALK, INC. (Nasdaq: PALT)\n\nPaltalk, Inc. is a communications software innovator.",
    "the Serowe coal bed methane (CBM) Project in Botswana.Lennon explains how this stage is vital.",
    # syntok's own test sentences (segmenter_test.py)
    "This is a bible quote? (Phil. 4:8) Yes, it is!",
    "This is one. (Here is another view of the same. And then there is a different case here.)",
    "Four patients (67%) with an average response of 3.3 mos. (range 6 wks. to 12 mos.)",
    "Let's meet at 14.10 in N.Y.. This happened in the U.S. last week.",
    "Who did this? I. No! Such a shame.",
    "The Company is the No. 2 and No. 3 largest chain in the U.S. and Canada, respectively, by number of stores.",
    "Nested (Parenthesis. (With words inside! (Right.)) (More. This is it!))",
]


@pytest.mark.parametrize("text", RELEASE_PASSAGES)
def test_release_passages_match_syntok(text, raw_spans):
    spans = raw_spans(text)
    check_spans(text, spans)
    assert spans == syntok_raw_spans(text)


def test_expected_boundaries(raw_spans):
    """A few splits spelled out, so the intent is readable (syntok agrees, see above)."""
    def sentences(text):
        return [text[s:e] for s, e in raw_spans(text)]

    assert sentences("Acme Inc. announced results. Shares rose.") == ["Acme Inc. announced results.", "Shares rose."]
    assert sentences("See No. 5 on the list.") == ["See No. 5 on the list."]
    assert sentences("Revenue was $1.5 million. That is up.") == ["Revenue was $1.5 million.", "That is up."]
    assert sentences('He said "we are done." Then he left.') == ['He said "we are done."', "Then he left."]
    assert sentences("On Jan. 5, 2024 we met. Then we left.") == ["On Jan. 5, 2024 we met.", "Then we left."]
    assert sentences("We wait... And then it happens.") == ["We wait...", "And then it happens."]


def test_syntok_segmenter_examples(raw_spans):
    """The one-sentence-per-line text of syntok's segmenter_test.py, joined, and its Lorem Ipsum document."""
    tests_dir = os.path.dirname(segmenter.__file__)
    sys.path.insert(0, tests_dir)
    try:
        import segmenter_test
    except ImportError:
        pytest.skip("syntok's segmenter_test.py not found")
    finally:
        sys.path.remove(tests_dir)
    for text in (segmenter_test.TEXT, segmenter_test.OSPL, segmenter_test.DOCUMENT):
        assert raw_spans(text) == syntok_raw_spans(text)
    assert [segmenter_test.TEXT[s:e] for s, e in raw_spans(segmenter_test.TEXT)] == \
        segmenter_test.SENTENCES


# --- robustness ---------------------------------------------------------------------------------------------

ODD_INPUTS = [
    "", " ", "\n", "\n\n\n", " \t\r\n \u00a0\u200b ", ".", "....", "!!!", "?!?.", ";;", "(((", ")))", "([{", "…",
    "\"“”'", "(", "a (", "a.", ". a", "\ud800", "a\udfffb. C\ud800.", "Ⅰ. Ⅱ. ǅa. ß.",
    "x\r\ny. Z\r\n\r\nw.\r\n",
    "\x1c.\x1d", "a.\x85B.", "\u2028(\u2029)", "ǅ'T.", "(" * 2000, ")" * 2000, "(a" * 500, ". " * 500,
]


@pytest.mark.parametrize("text", ODD_INPUTS)
def test_odd_inputs(text, raw_spans):
    spans = raw_spans(text)
    check_spans(text, spans)
    assert spans == syntok_raw_spans(text)


def test_huge_paragraph_without_punctuation(raw_spans):
    text = " ".join(["word"] * 200_000)  # 1 MB
    assert raw_spans(text) == [(0, len(text))]
    text = "x" * 1_000_000  # one 1 MB token
    assert raw_spans(text) == [(0, len(text))]


def test_huge_text_with_punctuation_is_linear(raw_spans):
    text = "The price rose (see Note 3). Shares fell; sales, e.g. in the U.S., grew 1.5%. " * 12_000  # ~1 MB
    spans = raw_spans(text)
    check_spans(text, spans)
    assert len(spans) == 24_000


def test_random_strings_match_syntok(raw_spans):
    rnd = random.Random(1)
    alphabet = list("aAbZ09 .,;:!?()[]{}\"'’”“-_\n\t\r…$%") + \
        ["...", "Inc.", "U.S.", "No.", "e.g.", "n't", "’s", "Mr.", "Jan.", "The", "I.", "iPhone", "\u00a0", "\ud800"]
    for _ in range(2000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(60)))
        spans = raw_spans(text)
        check_spans(text, spans)
        assert spans == syntok_raw_spans(text), repr(text)


def syntok_sentence_spans(text: str) -> list[tuple[int, int]]:
    """text.sentence_spans as it was on syntok: the same post-passes over syntok's raw spans."""
    original = tx.raw_spans
    tx.raw_spans = syntok_raw_spans
    try:
        return tx.sentence_spans(text)
    finally:
        tx.raw_spans = original


def test_shipped_and_fixture_releases_split_as_on_syntok():
    texts = [p.read_text(encoding="utf-8") for folder in (SHIPPED_CORPUS, FIXTURE_CORPUS)
             for p in sorted(folder.glob("*.md"))]
    texts += [json.loads(line)["text"] for p in sorted(FIXTURE_CORPUS.glob("*.jsonl"))
              for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(texts) >= 5
    for text in texts:
        assert tx.sentence_spans(text) == syntok_sentence_spans(text)


def test_shared_corpus_splits_as_on_syntok(shared_releases):
    """Every release of the shared corpus: the same sentences, to the character."""
    with open(shared_releases, encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    for text in texts:
        assert tx.sentence_spans(text) == syntok_sentence_spans(text)


def test_shared_corpus_compiled_walk_matches_python(shared_releases):
    """bot/_sentences.c against sentences.py on every release of the shared corpus (and on each release's text
    cut at random places, where paragraphs and brackets end abruptly)."""
    if fastsplit._sentences is None:
        pytest.skip("bot._sentences is not built (no C compiler at install)")
    rnd = random.Random(7)
    with open(shared_releases, encoding="utf-8") as handle:
        for line in handle:
            text = json.loads(line)["text"]
            cut = text[rnd.randrange(len(text) + 1):][:rnd.randrange(1, 3000)]
            for piece in (text, cut):
                assert fastsplit._sentences.raw_spans(piece) == fastsplit.python_raw_spans(piece)


def test_compiled_walk_is_used_where_it_can_be_built():
    """Installed with a C compiler at hand, the package splits with bot/_sentences.c: without it a million-
    passage build takes half as long again. (After editing the C file, install again to rebuild it.)"""
    compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = os.path.join(sysconfig.get_paths()["include"], "Python.h")
    if shutil.which(compiler) is None or not os.path.exists(headers) or os.environ.get("IRBOT_PURE_PYTHON"):
        pytest.skip("no C compiler or Python headers here, or the pure-Python splitter was asked for")
    assert fastsplit.COMPILED, "bot._sentences was not built: run the README's install command again"
    assert tx.raw_spans is fastsplit._sentences.raw_spans


def test_an_error_while_python_tokenizes_a_chunk_reaches_the_caller_as_itself():
    """Ctrl-C, or any error, raised while the compiled walk has Python tokenize a chunk ("fooBar": a case change)
    stops the walk and surfaces unchanged, not as a SystemError of a later call."""
    if fastsplit._sentences is None:
        pytest.skip("bot._sentences is not built (no C compiler at install)")

    class Stop(Exception):
        pass

    def failing(chunk):
        if "Bar" in chunk:
            raise Stop(chunk)
        return fastsplit._chunk_tokens(chunk)

    fastsplit._sentences.setup(*fastsplit.WALK_SETS, failing)
    try:
        for text in ["Go (x fooBar) Yes.", "A fooBar. B.", "(fooBar) x.", "Mr. fooBar went.", "U.S. (No. fooBar) Then."]:
            with pytest.raises(Stop):
                fastsplit._sentences.raw_spans(text)
        assert fastsplit._sentences.raw_spans("Fine. Again.") == [(0, 5), (6, 12)]
    finally:
        fastsplit._sentences.setup(*fastsplit.WALK_SETS, fastsplit._cached_chunk_tokens)
