"""The package as pip builds it: a wheel that answers from any directory, with its corpus, model and licence.

An editable install (the README's test command) runs from the checkout and would not notice a file missing from
the wheel; `pip install .`, a wheel and pipx install the wheel. Built here with pip, as a user's install builds it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import FSN_REASONS, ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = out.glob("irbot-*.whl")
    return built


def test_the_wheel_holds_the_corpus_the_model_and_the_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.name for p in (ROOT / "corpus").iterdir() if p.is_file()}
    assert {f"bot/shipped_corpus/{n}" for n in shipped} <= names
    assert {f"bot/models/{p.name}" for p in (ROOT / "bot" / "models").iterdir() if p.suffix in (".onnx", ".json")} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    metadata = next(zipfile.ZipFile(wheel).read(n) for n in names if n.endswith(".dist-info/METADATA")).decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert "Requires-Dist: rank-bm25" in metadata and 'extra == "test"' in metadata.split("Requires-Dist: rank-bm25")[1].split("\n")[0]


def test_installed_from_the_wheel_it_answers_from_another_directory(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "IRBOT_CORPUS"}
    env["PYTHONPATH"] = str(site)  # ahead of the editable install's finder: the wheel's bot is the one imported
    done = subprocess.run([sys.executable, "-c", "import bot, sys; from bot.cli import main; "
                           "assert bot.__file__.startswith(sys.argv[1]), bot.__file__; "
                           "sys.exit(main(['ask', 'why is FSN delisting?']))", str(site)],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert any(span in done.stdout for span in FSN_REASONS), done.stdout
