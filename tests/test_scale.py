"""bench/scale.py runs end to end on a small corpus and reports rank-bm25 parity (its timings are not judged
here: speed is measured by the benchmark, not asserted in tests)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "scale.py"
SHARED = Path(os.environ.get("IRBOT_SHARED") or ROOT.parent / "shared")  # as conftest and the benchmark read it


def run(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, **(env or {})})


def test_without_the_shared_corpus_it_says_so_and_succeeds(tmp_path):
    done = run("--passages", 1000, "--workdir", tmp_path, env={"IRBOT_SHARED": str(tmp_path / "absent")})
    assert done.returncode == 0
    assert done.stdout.startswith("skipped:") and "releases.jsonl" in done.stdout


@pytest.mark.skipif(not (SHARED / "corpus" / "releases.jsonl").exists(), reason="../shared is absent")
def test_a_small_run_prints_one_table_with_parity(tmp_path):
    done = run("--passages", 600, "--questions", 20, "--workdir", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    table = done.stdout
    for row in ("build, from nothing", "rebuild, 1 release added", "index on disk", "load saved index",
                "answer (bot.answer.answer)", "BM25 search", "rank-bm25 get_scores", "ranking parity"):
        assert row in table, row
    assert re.search(r"rebuild, 1 release added\s+[\d.]+ s \(\d+ releases reused\)", table)
    parity = float(re.search(r"max \|irbot - rank-bm25\| = ([\d.e+-]+)", table).group(1))
    assert parity <= 1e-9
    assert not list(tmp_path.glob("cache-*"))  # cleaned up unless --keep
