"""A corpus that grows: `irbot add`, `irbot remove`, `irbot ingest`."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from bot import cli
from bot.answer import answer
from bot.corpus import load_corpus
from bot.index import open_index

SHIPPED = Path(__file__).resolve().parent.parent / "corpus"
SHARED_SEED = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "fusion-fsn-2009-05-29.txt"

NEW_MD = (Path(__file__).parent / "fixtures" / "zephyr-2024-06-03.md").read_text(encoding="utf-8")

WIRE = """Kestrel Gold Announces Closing of $12 Million Private Placement

VANCOUVER, British Columbia, March 4, 2025 (GLOBE NEWSWIRE) -- Kestrel Gold Corp. (TSXV: KGC) today announced
that it has closed its private placement of 24 million units at $0.50 per unit for gross proceeds of $12 million.

The proceeds will be used to fund drilling at the Red Hawk project and for general working capital.

Source: https://example.com/kestrel/placement
"""


@pytest.fixture
def corpus(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("IRBOT_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "corpus"
    shutil.copytree(SHIPPED, folder)
    return folder


def run(*argv) -> int:
    return cli.main([str(a) for a in argv])


def test_add_makes_a_new_release_answerable_and_splits_only_it(corpus, tmp_path, capsys):
    open_index(corpus)
    new = tmp_path / "zephyr.md"
    new.write_text(NEW_MD, encoding="utf-8")
    assert run("add", new, "--corpus", corpus) == 0
    out = capsys.readouterr().out
    assert "added 1 release: zephyr-2024-06-03" in out and "(1 reused, 1 split)" in out
    loaded = open_index(corpus)
    assert loaded.from_cache and "zephyr-2024-06-03" in loaded.index.by_id
    a = answer(loaded.index, "how much did Zephyr Foods pay for Orchard Farms?")
    assert a.answered and a.source.id == "zephyr-2024-06-03" and "$45 million" in a.quote


def test_add_refuses_an_id_already_in_the_corpus_unless_replacing(corpus, tmp_path, capsys):
    dup = tmp_path / "dup.md"
    dup.write_text(NEW_MD.replace("zephyr-2024-06-03", "fusion-fsn-2009-05-29"), encoding="utf-8")
    assert run("add", dup, "--corpus", corpus) == 1
    err = capsys.readouterr().err
    assert "not added" in err and "already in the corpus" in err
    assert [r.id for r in load_corpus(corpus).releases] == ["fusion-fsn-2009-05-29"]
    assert run("add", dup, "--corpus", corpus, "--replace") == 0
    releases = load_corpus(corpus).releases
    assert len(releases) == 1 and "Orchard Farms" in releases[0].text


def test_add_json_lines_and_text_to_a_jsonl_corpus_then_remove(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IRBOT_CACHE", str(tmp_path / "cache"))
    corpus = tmp_path / "releases.jsonl"
    base = load_corpus(SHIPPED).releases[0]
    corpus.write_text(json.dumps(base.model_dump(mode="json")) + "\n", encoding="utf-8")
    lines = tmp_path / "more.jsonl"
    lines.write_text(json.dumps({"id": "r2", "title": "Second", "text": "Acme Robotics appointed Jane Doe as chief "
                                 "executive officer on June 1, 2024."}) + "\n", encoding="utf-8")
    plain = tmp_path / "r3.txt"
    plain.write_text("Borealis Mining declared a dividend of $0.05 per share, payable May 15, 2024.\n", encoding="utf-8")
    assert run("add", lines, plain, "--corpus", corpus) == 0
    assert [r.id for r in load_corpus(corpus).releases] == ["fusion-fsn-2009-05-29", "r2", "r3"]
    assert run("remove", "r2", "--corpus", corpus) == 0
    assert [r.id for r in load_corpus(corpus).releases] == ["fusion-fsn-2009-05-29", "r3"]
    assert "r2" not in open_index(corpus).index.by_id
    assert run("remove", "nope", "--corpus", corpus) == 1
    assert "not removed" in capsys.readouterr().err.splitlines()[-1]


def test_remove_a_release_file(corpus, tmp_path):
    new = tmp_path / "zephyr.md"
    new.write_text(NEW_MD, encoding="utf-8")
    assert run("add", new, "--corpus", corpus) == 0
    assert run("remove", "zephyr-2024-06-03", "--corpus", corpus) == 0
    assert [r.id for r in load_corpus(corpus).releases] == ["fusion-fsn-2009-05-29"]
    assert "zephyr-2024-06-03" not in open_index(corpus).index.by_id


def test_ingest_shows_what_it_found_and_what_it_could_not(tmp_path, capsys):
    raw = tmp_path / "wire.txt"
    raw.write_text(WIRE, encoding="utf-8")
    assert run("ingest", raw, "--out", tmp_path) == 0
    err = capsys.readouterr().err
    written = tmp_path / "kestrel-kgc-2025-03-04.md"
    release = load_corpus(written).releases[0]
    assert release.title == "Kestrel Gold Announces Closing of $12 Million Private Placement"
    assert (release.company, release.ticker, release.exchange, release.publisher) == \
           ("Kestrel Gold Corp.", "KGC", "TSXV", "GlobeNewswire")
    assert release.date.isoformat() == "2025-03-04"
    assert release.source_url == "https://example.com/kestrel/placement"
    assert release.text == WIRE.strip()
    assert "found:" in err and "not found" not in err


@pytest.mark.skipif(not SHARED_SEED.exists(), reason="../shared is absent")
def test_ingest_the_seed_names_the_missing_title_and_year(tmp_path, capsys):
    assert run("ingest", SHARED_SEED, "--set", "date=2009-05-29", "--set", "title=Fusion Notifies NYSE Amex") == 0
    out, err = capsys.readouterr()
    assert out.startswith("---\nid: fusion-fsn-2009-05-29\n")
    assert "source_url  http://www.fusiontel.com/" in err
    assert run("ingest", SHARED_SEED) == 0
    err = capsys.readouterr().err
    assert "not found" in err and "'May 29' without a year" in err and "title" in err.split("not found")[1]


def test_add_appends_to_a_jsonl_corpus_and_add_remove_keep_its_permissions(tmp_path, monkeypatch):
    monkeypatch.setenv("IRBOT_CACHE", str(tmp_path / "cache"))
    corpus = tmp_path / "releases.jsonl"
    before = "".join(json.dumps(r.model_dump(mode="json")) + "\n" for r in load_corpus(SHIPPED).releases)
    corpus.write_text(before, encoding="utf-8")
    corpus.chmod(0o644)
    inode = corpus.stat().st_ino
    new = tmp_path / "zephyr.md"
    new.write_text(NEW_MD, encoding="utf-8")
    assert run("add", new, "--corpus", corpus) == 0
    after = corpus.read_text(encoding="utf-8")
    assert after.startswith(before) and after.count("\n") == before.count("\n") + 1
    assert corpus.stat().st_ino == inode, "one release added to a .jsonl corpus is appended, not a rewritten file"
    assert corpus.stat().st_mode & 0o777 == 0o644
    assert run("remove", "zephyr-2024-06-03", "--corpus", corpus) == 0
    assert corpus.read_text(encoding="utf-8") == before
    assert corpus.stat().st_mode & 0o777 == 0o644, "a rewritten corpus file keeps its permissions"


def test_ingest_add_names_the_users_file_and_takes_replace(corpus, tmp_path, capsys):
    raw = tmp_path / "wire.txt"
    raw.write_text(WIRE, encoding="utf-8")
    assert run("ingest", raw, "--add", "--corpus", corpus) == 0
    assert (corpus / "kestrel-kgc-2025-03-04.md").stat().st_mode & 0o777 == 0o666 & ~_umask()
    capsys.readouterr()
    raw.write_text(WIRE.replace("$12 Million", "$13 Million"), encoding="utf-8")
    assert run("ingest", raw, "--add", "--corpus", corpus) == 1
    err = capsys.readouterr().err
    assert f"{raw}" in err and "already in the corpus" in err and "--replace" in err
    assert "/tmp" not in err.replace(str(tmp_path), ""), "no error names a temporary path the user never made"
    assert run("ingest", raw, "--add", "--replace", "--corpus", corpus) == 0
    titles = [r.title for r in load_corpus(corpus).releases if r.id == "kestrel-kgc-2025-03-04"]
    assert titles == ["Kestrel Gold Announces Closing of $13 Million Private Placement"]
    assert run("ingest", raw, "--replace") == 2
    assert "--replace goes with --add" in capsys.readouterr().err


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_corpus_change_needs_a_named_corpus_never_the_shipped_sample_and_makes_a_new_one(tmp_path, monkeypatch,
                                                                                          capsys):
    monkeypatch.setenv("IRBOT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("IRBOT_CORPUS", raising=False)
    monkeypatch.chdir(tmp_path)
    new = tmp_path / "zephyr.md"
    new.write_text(NEW_MD, encoding="utf-8")
    shipped = sorted(p.name for p in SHIPPED.iterdir())
    assert run("add", new) == 2
    assert "name it with --corpus" in capsys.readouterr().err
    assert run("add", new, "--corpus", SHIPPED) == 2 and run("remove", "fusion-fsn-2009-05-29", "--corpus", SHIPPED) == 2
    assert "the shipped sample" in capsys.readouterr().err
    assert sorted(p.name for p in SHIPPED.iterdir()) == shipped
    assert run("add", new, "--corpus", tmp_path / "mine.jsonl") == 0
    assert run("add", new, "--corpus", tmp_path / "folder" / "inside") == 0
    assert "made a new corpus" in capsys.readouterr().err
    assert [r.id for r in load_corpus(tmp_path / "mine.jsonl").releases] == ["zephyr-2024-06-03"]
    assert [r.id for r in load_corpus(tmp_path / "folder" / "inside").releases] == ["zephyr-2024-06-03"]


def test_output_cut_short_by_a_pipe_is_no_error_message(tmp_path):
    """`irbot ask --jsonl ... | head -1`: more answers than a pipe holds, and the reader stops after the first."""
    import subprocess
    import sys
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"conv": str(i), "text": "why is FSN delisting?"}) + "\n" for i in range(300)))
    env = {**os.environ, "IRBOT_CACHE": str(tmp_path / "cache"), "IRBOT_CORPUS": str(SHIPPED), "IRBOT_READER": "off"}
    done = subprocess.run(f"{sys.executable} -m bot ask --jsonl < {questions} | head -1", shell=True,
                          capture_output=True, text=True, env=env, timeout=300)
    assert json.loads(done.stdout)["answered"] and done.stderr == ""


def test_adding_a_release_without_title_company_or_date_says_what_it_lacks(corpus, tmp_path, capsys):
    bare = tmp_path / "bare.txt"
    bare.write_text("Some company did a thing today.\n\nIt was good.\n", encoding="utf-8")
    assert run("add", bare, "--corpus", corpus) == 0
    err = capsys.readouterr().err
    assert "note: bare has no title, company, date" in err and "irbot ingest" in err
