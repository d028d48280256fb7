"""The index on disk: loaded when it fits, rebuilt when it does not (another version, another corpus, damaged),
and a grown corpus re-split only where it changed."""
from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from bot import index as ix, index_cache
from bot.answer import answer
from bot.corpus import fingerprint, load_corpus

SHIPPED = Path(__file__).resolve().parent.parent / "corpus"

EXTRA = (Path(__file__).parent / "fixtures" / "zephyr-2024-06-03.md").read_text(encoding="utf-8")
ZEPHYR = "zephyr-2024-06-03"


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SHIPPED, folder)
    return folder


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def only_cache_file(cache: Path) -> Path:
    files = list(cache.glob("index-*.idx"))
    assert len(files) == 1, files
    return files[0]


def quote(index, question="why is FSN delisting?") -> str | None:
    return answer(index, question).quote


def test_second_open_loads_the_saved_index_with_the_same_answers(corpus, cache):
    first = ix.open_index(corpus, cache)
    second = ix.open_index(corpus, cache)
    assert not first.from_cache and second.from_cache
    assert second.index.stats() == first.index.stats()
    assert quote(second.index) == quote(first.index) is not None
    query = second.index.term_ids(["delist", "fsn", "exchang"])
    assert np.array_equal(second.index.bm25.get_scores(query), first.index.bm25.get_scores(query))


def test_an_index_of_another_format_version_is_rebuilt(corpus, cache):
    ix.open_index(corpus, cache)
    path = only_cache_file(cache)
    data = bytearray(path.read_bytes())
    data[len(ix.MAGIC):len(ix.MAGIC) + 4] = struct.pack("<I", ix.INDEX_VERSION + 1)
    path.write_bytes(bytes(data))
    loaded = ix.open_index(corpus, cache)
    assert not loaded.from_cache
    assert quote(loaded.index) is not None
    assert ix.open_index(corpus, cache).from_cache  # and the rebuilt one is saved in its place


def test_an_index_written_by_other_code_is_rebuilt(corpus, cache):
    ix.open_index(corpus, cache)
    path = only_cache_file(cache)
    data = path.read_bytes()
    code = ix.code_digest().encode()
    assert data.count(code) == 1
    path.write_bytes(data.replace(code, b"0" * len(code)))
    with pytest.raises(ix.StaleIndex):
        ix.load_index(path)
    assert not ix.open_index(corpus, cache).from_cache


def test_an_index_of_another_corpus_is_never_used(corpus, cache, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "zephyr.md").write_text(EXTRA, encoding="utf-8")
    ix.open_index(other, cache)
    other_file = only_cache_file(cache)
    # Put the other corpus's index where this corpus's index would be.
    key = fingerprint(corpus)
    target = cache / f"index-v{ix.INDEX_VERSION}-{ix.code_digest()}-{key}.idx"
    shutil.copy(other_file, target)
    loaded = ix.open_index(corpus, cache)
    assert not loaded.from_cache
    assert [r.id for r in loaded.index.releases] == ["fusion-fsn-2009-05-29"]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "old pickle"])
def test_a_damaged_or_foreign_file_is_rebuilt(corpus, cache, damage):
    ix.open_index(corpus, cache)
    path = only_cache_file(cache)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:-100])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 1000)
    else:
        import pickle
        path.write_bytes(pickle.dumps({"version": ix.INDEX_VERSION, "index": None}))
    loaded = ix.open_index(corpus, cache)
    assert not loaded.from_cache
    assert quote(loaded.index) is not None


def test_a_grown_corpus_splits_only_the_new_release_and_scores_as_a_fresh_build(corpus, cache):
    before = ix.open_index(corpus, cache)
    (corpus / "zephyr.md").write_text(EXTRA, encoding="utf-8")
    grown = ix.open_index(corpus, cache)
    assert not grown.from_cache
    assert grown.index.reused == 1 and len(grown.index.releases) == 2
    fresh = ix.build_index(load_corpus(corpus), workers=1)
    for name in ("sent_start", "sent_end", "sent_kind", "passage_first", "passage_stop", "release_first_passage"):
        assert np.array_equal(getattr(grown.index, name), getattr(fresh, name)), name
    for words in (["acquisit", "orchard"], ["delist", "fsn"], ["compani"]):
        assert np.allclose(grown.index.bm25.get_scores(grown.index.term_ids(words)),
                           fresh.bm25.get_scores(fresh.term_ids(words)), rtol=0, atol=1e-12)
    best, _ = grown.index.bm25.search(grown.index.term_ids(["orchard", "acquisit"]), k=1)
    assert grown.index.releases[int(grown.index.passage_release[best[0]])].id == ZEPHYR
    assert quote(grown.index) == quote(before.index)
    assert len(list(cache.glob("index-*.idx"))) == 1  # the outgrown index file is removed


def test_reload_is_cheap_when_nothing_changed_and_sees_a_new_release(corpus, cache):
    loaded = ix.open_index(corpus, cache)
    assert ix.reload_index(loaded) is loaded
    (corpus / "zephyr.md").write_text(EXTRA, encoding="utf-8")
    reloaded = ix.reload_index(loaded)
    assert reloaded is not loaded and ZEPHYR in reloaded.index.by_id
    (corpus / "zephyr.md").unlink()
    assert ZEPHYR not in ix.reload_index(reloaded).index.by_id


def test_a_release_rewritten_in_place_with_the_same_size_is_seen(tmp_path, cache):
    folder = tmp_path / "same-size"
    folder.mkdir()
    release = folder / "zephyr.md"
    release.write_text(EXTRA, encoding="utf-8")
    first = ix.open_index(folder, cache)
    stat = release.stat()
    release.write_text(EXTRA.replace("$45 million", "$54 million"), encoding="utf-8")
    os.utime(release, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same modification time
    second = ix.open_index(folder, cache)
    assert "$54 million" in second.index.releases[0].text
    assert ix.reload_index(first).index.releases[0].text == second.index.releases[0].text


def test_a_restart_on_settled_files_does_not_read_the_corpus_again(corpus, cache, monkeypatch):
    old = 1_600_000_000_000_000_000  # files last modified long before the index was built
    for p in corpus.iterdir():
        os.utime(p, ns=(old, old))
    first = ix.open_index(corpus, cache)

    def no_hashing(path):
        raise AssertionError("the corpus was read again")

    monkeypatch.setattr(index_cache, "fingerprint", no_hashing)
    second = ix.open_index(corpus, cache)
    assert second.from_cache and second.index.stats() == first.index.stats()
    (corpus / "zephyr.md").write_text(EXTRA, encoding="utf-8")  # a new file: hashed again, and seen
    monkeypatch.undo()
    assert ZEPHYR in ix.open_index(corpus, cache).index.by_id
