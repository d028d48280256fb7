"""bot/bm25.py ranks exactly as rank-bm25's BM25Okapi (the reference implementation) for the same parameters."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from bot import text as tx
from bot.bm25 import BM25, top_k
from bot.corpus import load_corpus
from bot.index import Index, build_index

SHIPPED = Path(__file__).resolve().parent.parent / "corpus"
TOLERANCE = 1e-9

RELEASES = {
    "acme-split": """---
title: Acme Robotics Announces 1-for-10 Reverse Stock Split
company: Acme Robotics Inc.
ticker: ACME
exchange: NASDAQ
date: 2024-03-01
---
Acme Robotics Inc. (NASDAQ: ACME) today announced a 1-for-10 reverse stock split of its common stock.

The reverse split is intended to bring the company into compliance with the Nasdaq minimum bid price requirement.
The split will take effect on March 8, 2024, and the shares will trade on a split-adjusted basis.

About Acme Robotics

Acme Robotics builds warehouse robots for retailers in North America and Europe.
""",
    "borealis-dividend": """---
title: Borealis Mining Declares Quarterly Dividend
company: Borealis Mining Corp.
ticker: BMC
exchange: TSX
date: 2024-04-15
---
Borealis Mining Corp. (TSX: BMC) declared a quarterly dividend of $0.05 per share, payable on May 15, 2024.

Gold production rose 12 percent to 84,000 ounces in the first quarter, driven by higher grades at the North mine.
The board believes the dividend reflects the strength of the company's cash flow.
""",
    "cirrus-ceo": """---
title: Cirrus Health Appoints New Chief Executive Officer
company: Cirrus Health Ltd.
ticker: CRH
exchange: ASX
date: 2024-05-20
---
Cirrus Health Ltd. (ASX: CRH) appointed Jane Doe as Chief Executive Officer, effective June 1, 2024.

Ms. Doe succeeds John Roe, who is retiring after ten years with the company. The company thanked Mr. Roe
for his service and his work on the hospital software platform.
""",
    "acme-results": """---
title: Acme Robotics Reports First Quarter Results
company: Acme Robotics Inc.
ticker: ACME
exchange: NASDAQ
date: 2024-05-10
---
Acme Robotics Inc. (NASDAQ: ACME) reported first quarter revenue of $12.4 million, up 30 percent from a year ago.

Net loss narrowed to $2.1 million. The company expects to reach positive cash flow in the fourth quarter.
Revenue growth was driven by new warehouse robot contracts with two retailers in Europe.
""",
}


def passage_tokens(index: Index) -> list[list[str]]:
    """Each passage's tokens, made again from its sentences' text, as build_index analyses them."""
    out = []
    for p in range(len(index.passage_first)):
        sentences = [index.sentence(i) for i in range(int(index.passage_first[p]), int(index.passage_stop[p]))]
        out.append(tx.analyze(" ".join(sentences)))
    return out


def ids(index: Index, tokens: list[str]) -> list[int]:
    return [index.vocabulary.get(t, -1) for t in tokens]


def queries_for(index: Index, tokens: list[list[str]]) -> list[list[str]]:
    """Realistic questions' stems, plus repeated terms, unknown terms and the most common terms."""
    questions = ["why is the company delisting its shares?", "when does the reverse split take effect?",
                 "how much revenue did they report?", "who is the new chief executive officer?",
                 "what dividend was declared and when is it payable?", "where will the shares trade?"]
    out = [tx.analyze(q) for q in questions]
    df: dict[str, int] = {}
    for doc in tokens:
        for t in set(doc):
            df[t] = df.get(t, 0) + 1
    common = sorted(df, key=lambda t: (-df[t], t))[:4]
    rare = sorted(df, key=lambda t: (df[t], t))[:3]
    out += [common, rare, common[:1] * 3 + rare[:1], ["zzzunknownzzz", "qqqq"], common[:2] + ["zzzunknownzzz"], []]
    return out


def assert_same_scores(index: Index, tokens: list[list[str]], query: list[str]) -> None:
    reference = BM25Okapi(tokens)
    expected = reference.get_scores(query)
    got = index.bm25.get_scores(ids(index, query))
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected), initial=0.0) <= TOLERANCE, query
    weighted = index.bm25.get_scores(ids(index, query), [1.0] * len(query))
    assert np.max(np.abs(weighted - expected), initial=0.0) <= TOLERANCE, query


@pytest.fixture(scope="module")
def shipped_index() -> Index:
    return build_index(load_corpus(SHIPPED), workers=1)


@pytest.fixture(scope="module")
def few_index(tmp_path_factory) -> Index:
    folder = tmp_path_factory.mktemp("few")
    for name, body in RELEASES.items():
        (folder / f"{name}.md").write_text(body, encoding="utf-8")
    return build_index(load_corpus(folder), workers=1)


def test_shipped_one_release_corpus_scores_as_rank_bm25(shipped_index):
    tokens = passage_tokens(shipped_index)
    assert len(shipped_index.releases) == 1 and len(tokens) > 2
    # Terms in more than half the passages get rank-bm25's floor, epsilon * average idf: the case to get right.
    reference = BM25Okapi(tokens)
    floored = [t for t, n in reference.idf.items() if n == reference.epsilon * reference.average_idf]
    assert floored
    assert abs(shipped_index.bm25.average_idf - reference.average_idf) <= 1e-12
    for query in queries_for(shipped_index, tokens) + [floored[:3], floored[:1] * 2]:
        assert_same_scores(shipped_index, tokens, query)


def test_few_release_corpus_scores_as_rank_bm25(few_index):
    tokens = passage_tokens(few_index)
    assert len(few_index.releases) == len(RELEASES)
    for query in queries_for(few_index, tokens):
        assert_same_scores(few_index, tokens, query)


def test_other_parameters_score_as_rank_bm25(few_index):
    tokens = passage_tokens(few_index)
    vocabulary: dict[str, int] = {}
    documents = [[vocabulary.setdefault(t, len(vocabulary)) for t in doc] for doc in tokens]
    for k1, b, epsilon in [(1.2, 0.75, 0.25), (2.0, 0.3, 0.5), (0.9, 1.0, 0.0)]:
        ours = BM25(documents, len(vocabulary), k1=k1, b=b, epsilon=epsilon)
        reference = BM25Okapi(tokens, k1=k1, b=b, epsilon=epsilon)
        for query in queries_for(few_index, tokens):
            got = ours.get_scores([vocabulary.get(t, -1) for t in query])
            assert np.max(np.abs(got - reference.get_scores(query)), initial=0.0) <= TOLERANCE


def test_weights_scale_each_term(few_index):
    bm25 = few_index.bm25
    a, b = ids(few_index, ["robot", "dividend"])
    together = bm25.get_scores([a, b], [2.0, 0.5])
    assert np.allclose(together, 2.0 * bm25.get_scores([a]) + 0.5 * bm25.get_scores([b]), rtol=0, atol=TOLERANCE)
    # A repeated term counts again, with each occurrence's own weight.
    assert np.allclose(bm25.get_scores([a, a], [1.0, 0.5]), 1.5 * bm25.get_scores([a]), rtol=0, atol=TOLERANCE)


def test_scores_of_some_documents_equal_the_full_scores(few_index):
    bm25 = few_index.bm25
    query = ids(few_index, tx.analyze("acme robot revenue split dividend unknownword")) + [-1]
    full = bm25.get_scores(query)
    some = [3, 0, len(full) - 1, 1]
    assert np.array_equal(bm25.get_batch_scores(query, some), full[some])
    best, scores = bm25.search(query, k=3)
    assert list(best) == list(np.argsort(-full, kind="stable")[:3])
    assert np.array_equal(scores, full[best])
    best, _ = bm25.search(query, k=2, documents=some)
    assert list(best) == [some[i] for i in np.argsort(-full[some], kind="stable")[:2]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), min_size=0, max_size=12), min_size=1, max_size=25),
       st.lists(st.integers(-1, 14), max_size=8))
def test_any_small_corpus_scores_as_rank_bm25(documents, query):
    if not any(documents):
        return  # rank-bm25 divides by the average length, zero here
    ours = BM25(documents, 13)
    reference = BM25Okapi([[str(t) for t in d] for d in documents])
    expected = reference.get_scores([str(t) for t in query])
    assert np.max(np.abs(ours.get_scores(query) - expected), initial=0.0) <= TOLERANCE


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5]), min_size=0, max_size=6000), st.integers(0, 40))
def test_top_k_orders_as_a_stable_sort(values, k):
    scores = np.array(values, dtype=np.float64)
    assert list(top_k(scores, k)) == list(np.argsort(-scores, kind="stable")[:k])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 5, 12, 40]), st.sampled_from([0.0, 0.3, 0.9]))
def test_top_k_of_a_large_mostly_empty_array_orders_as_a_stable_sort(seed, k, empty):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=120_000).astype(np.float64) * rng.choice([1.0, 0.5])
    scores[rng.random(len(scores)) < empty] = 0.0
    assert list(top_k(scores, k)) == list(np.argsort(-scores, kind="stable")[:k])
