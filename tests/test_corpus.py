"""Loading releases: the three formats, what the text says about itself, broken files (each reported with its
file, line and field while the rest is served), and the index cache."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from bot.corpus import MAX_RELEASE_BYTES, CorpusError, extract_metadata, fingerprint, load_corpus
from bot.index import default_cache_dir, open_index
from conftest import FIXTURE_CORPUS, FSN, GEOVAX, NAUTICUS, SANUWAVE, SHARED, SHIPPED_CORPUS, SPLASH

GOOD_MD = (FIXTURE_CORPUS / "nauticus-robotics-2025-09-02.md").read_text(encoding="utf-8")
SPLASH_TXT = (FIXTURE_CORPUS / "splash-beverage-2025-07-29.txt").read_text(encoding="utf-8")


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def problem_for(corpus, name: str):
    found = [p for p in corpus.problems if Path(p.path).name == name]
    assert len(found) == 1, f"expected one problem for {name}, got {corpus.problems}"
    return found[0]


def ids(corpus) -> set[str]:
    return {r.id for r in corpus.releases}


# --- the three formats ------------------------------------------------------------------------------------------

def test_the_fixture_corpus_loads_markdown_text_and_json_lines():
    corpus = load_corpus(FIXTURE_CORPUS)
    assert corpus.problems == []
    assert ids(corpus) == {FSN, NAUTICUS, SPLASH, SANUWAVE, GEOVAX}


def test_front_matter_gives_the_citation():
    release = load_corpus(SHIPPED_CORPUS).releases[0]
    assert (release.id, release.company, release.ticker, release.exchange, release.date, release.publisher) == (
        FSN, "Fusion", "FSN", "NYSE Amex", dt.date(2009, 5, 29), "PR Newswire")
    assert release.title.startswith("Fusion Notifies NYSE Amex")
    assert release.source_url == "http://www.fusiontel.com/"
    assert not release.text.startswith("---")


def test_a_plain_text_release_takes_its_metadata_from_its_text():
    release = next(r for r in load_corpus(FIXTURE_CORPUS).releases if r.id == SPLASH)
    assert release.company.startswith("Splash Beverage Group")
    assert (release.ticker, release.exchange, release.date, release.publisher) == (
        "SBEV", "NYSE American", dt.date(2025, 7, 29), "NewMediaWire")
    assert release.source_url == ""      # the text gives no link: left empty, not invented


def test_the_raw_seed_release_loads_without_inventing_a_year(shared_releases, tmp_path):
    """`NEW YORK, May 29 /PRNewswire-FirstCall/`: the ticker tag and wire are there, the year is not."""
    raw = SHARED / "corpus" / "fusion-fsn-2009-05-29.txt"
    if not raw.is_file():
        pytest.skip(f"{raw} is not here")
    release = load_corpus(shutil.copy(raw, tmp_path / raw.name)).releases[0]
    assert release.id == FSN
    assert (release.company, release.ticker, release.exchange, release.publisher) == (
        "Fusion", "FSN", "NYSE Amex", "PR Newswire")
    assert release.date is None


@pytest.mark.parametrize("opening, company, exchange, ticker", [
    # Openings of real releases in ../shared/corpus, as wire copy writes them.
    ("Grant Haywood, CEO of Horizon Minerals Ltd (ASX:HRZ), sits down with Proactive’s Jonathan Jackson",
     "Horizon Minerals Ltd", "ASX", "HRZ"),
    ("A new report from PESG Research underscores Nuvectis Pharma’s (NASDAQ: NVCT) innovative approach",
     "Nuvectis Pharma", "NASDAQ", "NVCT"),
    ("NEW YORK - February 11, 2025 (NEWMEDIAWIRE) - Raadr, Inc., now doing business as Telvantis (OTC: RDAR) "
     "(“Telvantis” or the “Company”), a U.S.-based", "Telvantis", "OTC", "RDAR"),
    ("SportsQuest, Inc. (OTC: SPQS) announced that the long-anticipated merger", "SportsQuest, Inc.", "OTC", "SPQS"),
    ("OCOEE, FL - February 26, 2025 (NEWMEDIAWIRE) - iCoreConnect Inc. (NASDAQ: ICCT), a leading provider",
     "iCoreConnect Inc.", "NASDAQ", "ICCT"),
])
def test_the_company_is_the_name_right_before_its_ticker_tag(opening, company, exchange, ticker):
    """What a citation shows as the company is the issuer's name, not the words that lead up to it."""
    meta = extract_metadata(opening)
    assert (meta.get("company"), meta.get("exchange"), meta.get("ticker")) == (company, exchange, ticker)


def test_a_headline_line_is_the_title_and_a_dateline_is_not(tmp_path):
    nauticus = load_corpus(FIXTURE_CORPUS / "nauticus-robotics-2025-09-02.md").releases[0]
    write(tmp_path / "headline.txt", nauticus.title + "\n\n" + nauticus.text)
    write(tmp_path / "dateline.txt", "OCOEE, FL - February 26, 2025 (NEWMEDIAWIRE) - iCoreConnect Inc. (NASDAQ: "
                                     "ICCT) files a hearing request\n\nThe request stays any action by Nasdaq.")
    releases = {r.id: r for r in load_corpus(tmp_path).releases}
    assert releases["headline"].title == nauticus.title
    assert releases["dateline"].title == ""
    assert releases["dateline"].date == dt.date(2025, 2, 26) and releases["dateline"].ticker == "ICCT"


def test_yaml_does_not_turn_tickers_and_ids_into_booleans_or_numbers(tmp_path):
    """`ticker: ON` (ON Semiconductor) is not True; `id: 0700` is not the octal number 448."""
    write(tmp_path / "a.md", "---\nid: 0700\nticker: ON\ncompany: onsemi\ndate: 2025-02-10 07:00:00\n---\n"
                             "onsemi announced results today.\n")
    release = load_corpus(tmp_path).releases[0]
    assert (release.id, release.ticker, release.date) == ("0700", "ON", dt.date(2025, 2, 10))


def test_hidden_files_hidden_folders_and_readmes_are_not_releases(tmp_path):
    write(tmp_path / "real.md", GOOD_MD)
    write(tmp_path / "README.md", "# About this folder\n\nNot a release.\n")
    write(tmp_path / ".draft.md", GOOD_MD.replace(NAUTICUS, "draft"))
    write(tmp_path / ".git" / "notes.txt", "Not a release either.\n")
    write(tmp_path / "notes.csv", "a,b\n")
    corpus = load_corpus(tmp_path)
    assert ids(corpus) == {NAUTICUS} and corpus.problems == []


# --- broken files: reported with file, line and field; the rest served -----------------------------------------

def test_broken_files_are_reported_by_file_and_field_and_the_rest_loads(tmp_path):
    write(tmp_path / "good.md", GOOD_MD)
    write(tmp_path / "bad-yaml.md", '---\nid: x1\ntitle: "Unclosed quote\ncompany: X\n---\nSome text.\n')
    write(tmp_path / "bad-date.md", "---\nid: x2\ntitle: T\ndate: 2025-13-45\n---\nSome text.\n")
    write(tmp_path / "no-body.md", "---\nid: x3\ntitle: Only front matter\n---\n\n")
    write(tmp_path / "empty.txt", "  \n\n")
    write(tmp_path / "list.md", "---\n- id: x4\n- title: T\n---\nSome text.\n")
    corpus = load_corpus(tmp_path)
    assert ids(corpus) == {NAUTICUS}
    assert problem_for(corpus, "list.md").field == "front matter"

    bad_yaml = problem_for(corpus, "bad-yaml.md")
    assert bad_yaml.field == "front matter" and "YAML" in bad_yaml.message and bad_yaml.line == 3
    bad_date = problem_for(corpus, "bad-date.md")
    assert bad_date.field == "date" and bad_date.line == 4
    no_body = problem_for(corpus, "no-body.md")
    assert no_body.field == "text" and "no release text" in no_body.message
    assert problem_for(corpus, "empty.txt").field == "text"
    # What a person reads: the file, the line and the field, in one line.
    assert str(bad_date).startswith(str(tmp_path / "bad-date.md") + " line 4: date: ")


def test_front_matter_that_is_never_closed_is_reported(tmp_path):
    write(tmp_path / "good.md", GOOD_MD)
    write(tmp_path / "open.md", "---\nid: x\ntitle: T\nThe release text, but the front matter never ends.\n")
    corpus = load_corpus(tmp_path)
    assert ids(corpus) == {NAUTICUS}
    assert problem_for(corpus, "open.md").field == "front matter"


def test_undecodable_bytes_are_reported_with_their_line(tmp_path):
    write(tmp_path / "good.md", GOOD_MD)
    write(tmp_path / "latin1.txt", "ACME Corp. (NYSE: ACME) today announced\nresults for the quarter\n"
                                   "ended in Z\xfcrich.\n".encode("latin-1"))
    write(tmp_path / "binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    corpus = load_corpus(tmp_path)
    assert ids(corpus) == {NAUTICUS}
    latin = problem_for(corpus, "latin1.txt")
    assert latin.line == 3 and "UTF-8" in latin.message
    assert problem_for(corpus, "binary.md").line == 1


def test_a_50_mb_file_is_reported_and_the_rest_served(tmp_path):
    write(tmp_path / "good.md", GOOD_MD)
    big = tmp_path / "huge.txt"
    with open(big, "wb") as f:
        line = b"The Company reported results for the quarter and reaffirmed its outlook. " * 10 + b"\n"
        for _ in range(50_000_000 // len(line) + 1):
            f.write(line)
    assert big.stat().st_size >= 50_000_000
    corpus = load_corpus(tmp_path)
    assert ids(corpus) == {NAUTICUS}
    problem = problem_for(corpus, "huge.txt")
    assert problem.field == "text" and "MB" in problem.message
    # ... and the whole path, fingerprint and index included, stays usable.
    loaded = open_index(tmp_path, cache_dir=tmp_path / "cache")
    assert [r.id for r in loaded.index.releases] == [NAUTICUS]


def test_duplicate_ids_name_both_places_and_keep_the_first(tmp_path):
    write(tmp_path / "a.md", GOOD_MD)
    record = {"id": NAUTICUS, "title": "Another", "text": "A different release with the same id."}
    write(tmp_path / "b.jsonl", json.dumps({"id": "other", "text": "Other text."}) + "\n" + json.dumps(record) + "\n"
          + json.dumps({"id": "other", "text": "Again."}) + "\n")
    corpus = load_corpus(tmp_path)
    assert ids(corpus) == {NAUTICUS, "other"}
    kept = next(r for r in corpus.releases if r.id == NAUTICUS)
    assert kept.title.startswith("Nauticus")
    problems = sorted((p.line, p.field, p.message) for p in corpus.problems)
    assert [(line, field) for line, field, _ in problems] == [(2, "id"), (3, "id")]
    assert "a.md" in problems[0][2] and "b.jsonl line 1" in problems[1][2]


def test_a_json_lines_file_with_broken_lines_serves_the_good_ones(tmp_path):
    good = [{"id": f"r{i}", "title": f"Release {i}", "text": f"Release number {i} says something."} for i in range(3)]
    lines = [
        "\ufeff" + json.dumps(good[0]),                    # 1: a byte-order mark is not an error
        '{"id": "cut", "text": "the line ends in the mid',  # 2: truncated
        "",                                                 # 3: blank lines are skipped, not errors
        json.dumps(good[1]),                                # 4
        "[1, 2, 3]",                                        # 5: not an object
        json.dumps({"id": "no-text"}),                      # 6: missing text
        json.dumps({"id": "d", "text": "x", "date": "29/05/2009"}),  # 7: bad date
        "[" * 100_000 + "]" * 100_000,                      # 8: nested too deep for the parser
        json.dumps(good[2]),                                # 9
    ]
    data = "\n".join(lines).encode("utf-8") + b"\n" + b'{"id": "bytes", "text": "caf\xe9"}\n'  # 10: not UTF-8
    write(tmp_path / "releases.jsonl", data)
    corpus = load_corpus(tmp_path / "releases.jsonl")
    assert [r.id for r in corpus.releases] == ["r0", "r1", "r2"]
    by_line = {p.line: p for p in corpus.problems}
    assert sorted(by_line) == [2, 5, 6, 7, 8, 10]
    assert by_line[6].field == "text" and by_line[7].field == "date"
    assert all(p.path == str(tmp_path / "releases.jsonl") for p in corpus.problems)


def test_a_json_lines_record_larger_than_a_release_can_be_is_reported(tmp_path):
    record = {"id": "huge", "text": "word " * (MAX_RELEASE_BYTES // 5 + 10)}
    write(tmp_path / "r.jsonl", json.dumps({"id": "ok", "text": "Fine."}) + "\n" + json.dumps(record) + "\n")
    corpus = load_corpus(tmp_path / "r.jsonl")
    assert ids(corpus) == {"ok"}
    assert corpus.problems[0].line == 2 and corpus.problems[0].field == "text"


def test_nothing_loadable_is_an_error_that_names_the_files(tmp_path):
    write(tmp_path / "bad.md", "---\nid: [unclosed\n---\nText.\n")
    write(tmp_path / "empty.txt", "")
    with pytest.raises(CorpusError) as e:
        load_corpus(tmp_path)
    assert "bad.md" in str(e.value) and "empty.txt" in str(e.value)


def test_an_empty_folder_and_a_missing_path_are_errors(tmp_path):
    with pytest.raises(CorpusError, match="no release"):
        load_corpus(tmp_path)
    with pytest.raises(CorpusError, match="no such file"):
        load_corpus(tmp_path / "missing")


# --- the index cache ---------------------------------------------------------------------------------------------

def test_the_tests_never_use_the_home_cache(private_cache):
    assert default_cache_dir() == private_cache
    assert Path.home() / ".cache" not in private_cache.parents


def test_the_second_open_comes_from_the_cache_and_a_change_rebuilds(tmp_path):
    corpus = shutil.copytree(FIXTURE_CORPUS, tmp_path / "corpus")
    cache = tmp_path / "cache"
    first = open_index(corpus, cache_dir=cache)
    second = open_index(corpus, cache_dir=cache)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert [r.id for r in second.index.releases] == [r.id for r in first.index.releases]
    assert second.index.stats()["sentences"] == first.index.stats()["sentences"]

    # An edited release changes the answer source: the cache must not serve the old text.
    md = corpus / "nauticus-robotics-2025-09-02.md"
    md.write_text(md.read_text(encoding="utf-8").replace("1-for-9 ", "1-for-10 "), encoding="utf-8")
    third = open_index(corpus, cache_dir=cache)
    assert third.from_cache is False
    assert "1-for-10" in third.index.releases[third.index.by_id[NAUTICUS]].text

    # So do a new file and a removed one.
    write(corpus / "extra.txt", SPLASH_TXT.replace("Splash", "Splosh"))
    added = open_index(corpus, cache_dir=cache)
    assert added.from_cache is False and "extra" in added.index.by_id
    (corpus / "extra.txt").unlink()
    assert "extra" not in open_index(corpus, cache_dir=cache).index.by_id


def test_a_damaged_cache_file_is_rebuilt_not_trusted(tmp_path):
    corpus = shutil.copytree(FIXTURE_CORPUS, tmp_path / "corpus")
    cache = tmp_path / "cache"
    open_index(corpus, cache_dir=cache)
    for f in cache.iterdir():
        f.write_bytes(b"not a pickle")
    again = open_index(corpus, cache_dir=cache)
    assert again.from_cache is False and len(again.index.releases) == 5


def test_the_fingerprint_follows_content_not_timestamps(tmp_path):
    corpus = shutil.copytree(FIXTURE_CORPUS, tmp_path / "corpus")
    before = fingerprint(corpus)
    os.utime(corpus / "nauticus-robotics-2025-09-02.md", (0, 0))
    assert fingerprint(corpus) == before
    (corpus / "nauticus-robotics-2025-09-02.md").write_text(GOOD_MD + "\nOne more line.\n", encoding="utf-8")
    assert fingerprint(corpus) != before
