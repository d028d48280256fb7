"""Building the index: worker processes change nothing but the time, a big corpus streams through (read only a
few batches ahead of the splitting), texts live in the index file, and a rebuild that takes releases over
builds the same company directory as a fresh build."""
from __future__ import annotations

import json
import os
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

from bot import companies, index as ix, index_build, index_runs
from bot.answer import answer
from bot.corpus import Release, load_corpus

from conftest import FIXTURE_CORPUS, SHIPPED_CORPUS

ARRAYS = ("sent_release", "sent_start", "sent_end", "sent_kind", "passage_release", "passage_first", "passage_stop",
          "release_first_passage", "release_stop_passage", "doc_indptr", "doc_terms", "doc_counts")


def real_releases() -> list[Release]:
    return load_corpus(FIXTURE_CORPUS).releases + load_corpus(SHIPPED_CORPUS).releases


def many_releases(n: int) -> list[Release]:
    """n releases: the real ones again and again, each copy its own release (own id, own closing sentence)."""
    base = real_releases()
    return [base[k % len(base)].model_copy(update={
        "id": f"{base[k % len(base)].id}-{k}",
        "text": base[k % len(base)].text + f"\n\nThis copy is number {k} of the test corpus."}) for k in range(n)]


@pytest.fixture(scope="module")
def releases() -> list[Release]:
    return many_releases(3 * ix.BATCH * ix.IN_PROCESS + 7)   # enough for the workers to start


def test_worker_processes_build_exactly_what_one_process_builds(releases):
    alone = ix.build_index(iter(releases), workers=1)
    shared = ix.build_index(iter(releases), workers=2)
    for name in ARRAYS:
        assert np.array_equal(getattr(alone, name), getattr(shared, name)), name
    assert alone.vocabulary == shared.vocabulary
    assert alone.companies == shared.companies
    assert [r.id for r in shared.releases.meta] == [r.id for r in releases]
    assert answer(shared, "why is FSN delisting?").quote == answer(alone, "why is FSN delisting?").quote


WORKERS = 2
AHEAD_BOUND = (4 * WORKERS + 2) * ix.BATCH     # releases read and not yet handed out


def most_read_ahead(releases: list[Release], previous) -> int:
    """Stream `releases` through the splitting; how far reading ever got ahead of the releases handed out."""
    read = 0

    def reader():
        nonlocal read
        for r in releases:
            read += 1
            yield r

    bar = type("Bar", (), {"update": lambda self, n=1: None})()
    most_ahead = 0
    handed = 0
    for run_releases, _, run in index_build.split_stream(reader(), previous, WORKERS, bar, lambda b: None):
        assert len(run) == len(run_releases) and np.all(np.diff(run.sentence_at) > 0)
        for release in run_releases:
            assert release.id == releases[handed].id
            handed += 1
        most_ahead = max(most_ahead, read - handed + len(run_releases))   # (read before the run was handed out)
    assert handed == len(releases)
    return most_ahead


def test_reading_runs_only_a_few_batches_ahead_of_splitting():
    """Otherwise a corpus bigger than memory would be read whole before the first release is indexed."""
    assert most_read_ahead(many_releases(3 * AHEAD_BOUND), None) <= AHEAD_BOUND


def test_a_rebuild_with_one_new_release_first_still_reads_only_a_little_ahead():
    """The new release waits in a batch of its own while every other release is taken over: that batch is sent
    as it is rather than letting the rest of the corpus pile up behind it."""
    releases = many_releases(3 * AHEAD_BOUND)
    previous = index_build.Previous(ix.build_index(iter(releases[1:]), workers=1))
    assert most_read_ahead(releases, previous) <= AHEAD_BOUND


@pytest.mark.parametrize("head", [
    'Acme Corp. ("Acme" or the "Company") today said',
    'Acme Corp. (TSX: ACM) ("Acme" or the "Company") today said',
    '(“AB (“Acme” or the “Company”) today',            # a tail inside a tail
    'A ("NRC" or the "Company") refers to it',
    'Hello. Acme\n("Acme" or the "Company")',
    'no definition here (at all)',
])
def test_the_fast_definition_search_finds_what_the_pattern_finds(head):
    expected = ix.DEFINED_AS.search(head)
    got = companies.defined_as(head)
    assert (got and (got.span(), got.groups())) == (expected and (expected.span(), expected.groups()))


def test_texts_are_in_the_index_file_and_quotes_come_from_them(tmp_path):
    corpus = load_corpus(FIXTURE_CORPUS)
    built = ix.build_index(corpus, workers=1)
    assert all(r.text == "" for r in built.releases.meta)           # metadata only in memory
    assert [built.text(i) for i in range(len(corpus.releases))] == [r.text for r in corpus.releases]
    ix.save_index(built, tmp_path / "x.idx")
    loaded, _ = ix.load_index(tmp_path / "x.idx")
    assert [r.text for r in loaded.releases] == [r.text for r in corpus.releases]
    assert loaded.releases[-1].model_dump() == corpus.releases[-1].model_dump()
    for question in ("why is FSN delisting?", "where will FSN trade?"):
        a = answer(loaded, question)
        assert a.answered and a.quote in loaded.releases[loaded.by_id[a.source.id]].text


def test_a_rebuild_that_takes_releases_over_builds_the_same_company_directory(tmp_path, releases):
    first = releases[:len(releases) // 2]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(r.model_dump(mode="json")) + "\n" for r in first), encoding="utf-8")
    cache = tmp_path / "cache"
    ix.open_index(path, cache)
    with open(path, "a", encoding="utf-8") as f:
        for r in releases[len(first):]:
            f.write(json.dumps(r.model_dump(mode="json")) + "\n")
    grown = ix.open_index(path, cache).index
    fresh = ix.build_index(load_corpus(path), workers=1)
    assert grown.reused == len(first)
    assert grown.companies == fresh.companies
    for name in ARRAYS[:6]:
        assert np.array_equal(getattr(grown, name), getattr(fresh, name)), name


def test_a_rebuild_with_a_release_twice_builds_what_a_fresh_build_does():
    """The same release posted again under another id, after a previous index small enough to be taken over in
    one stretch: the second copy is taken over too, counted and seen by the company directory."""
    base = real_releases()[:5]
    again = base + [base[0].model_copy(update={"id": base[0].id + "-again"})]
    previous = ix.build_index(base, workers=1)
    rebuilt = ix.build_index(again, workers=1, reuse=previous)
    fresh = ix.build_index(again, workers=1)
    assert rebuilt.reused == len(again)
    assert companies.lead_word_counts(rebuilt.company_facts) == companies.lead_word_counts(fresh.company_facts)
    counts = index_runs.WordCounts()
    counts.add(companies.lead_word_counts(fresh.company_facts))
    assert ix.build_companies(rebuilt.company_facts, counts) == rebuilt.companies == fresh.companies
    for name in ARRAYS[:-2]:
        assert np.array_equal(getattr(rebuilt, name), getattr(fresh, name)), name


def test_a_lead_word_starting_with_a_digit_is_left_out_of_the_company_words():
    """As isdigit says: "¹u" (a footnote mark glued to a word) is no name, like "2025"."""
    facts = ix.company_facts("Acme results", "Acme", "", "Acme reports.", {"¹u", "2025", "²", "reports"})
    assert sorted(facts.words.split()) == ["acme", "reports", "results"]


_SPLIT_BATCH = index_runs.split_batch


_DIES_AT = ix.BATCH * ix.IN_PROCESS + 5    # a copy in a batch split by a worker, not by this process


def _dying_batch(batch):
    """A worker that dies (killed, out of memory) on the batch holding copy number _DIES_AT."""
    if any(fields[3].endswith(f"number {_DIES_AT} of the test corpus.") for fields in batch):
        os._exit(9)
    return _SPLIT_BATCH(batch)


def test_a_worker_that_dies_fails_the_build_instead_of_hanging(monkeypatch, releases):
    monkeypatch.setattr(index_build, "start_method", lambda: "fork")      # (the children see this module's stand-in)
    monkeypatch.setattr(index_build, "split_batch", _dying_batch)
    with pytest.raises(BrokenProcessPool):
        ix.build_index(iter(releases), workers=2)
