"""Shared fixtures: the shipped corpus, a small multi-company corpus of real release excerpts, the shared corpus
(skipped when absent), and a way to run `python -m bot` as a real subprocess.

Every test session gets its own index cache (IRBOT_CACHE), so the tests never read or write ~/.cache/irbot and
never see an index built by another checkout.
"""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answer import Answer, Answerer
from bot.corpus import load_corpus
from bot.index import Index, build_index

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CORPUS = ROOT / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE_CORPUS = FIXTURES / "corpus"
SHARED = Path(os.environ.get("IRBOT_SHARED") or ROOT.parent / "shared")
SHARED_RELEASES = SHARED / "corpus" / "releases.jsonl"

FSN = "fusion-fsn-2009-05-29"
# What the seed release gives as the reasons it delists, and where its shares will trade (the spans
# ../shared/eval accepts): a right answer to the card's two questions contains one of each.
FSN_REASONS = ["decided to withdraw its securities from listing on the Exchange and to de-register",
               "The costs to the Company to remain listed on the Exchange have become overly burdensome",
               "our decision will result in significant cost savings"]
FSN_TRADING = ["its securities will trade in over the counter markets without interruption",
               "applied to FINRA for its securities to be quoted on the Over the Counter Bulletin Board"]

# The fixture corpus (tests/fixtures/README.md says where each excerpt comes from): two delistings and three
# reverse stock splits, so that only the company named can tell which release answers.
NAUTICUS = "nw-1b8d0fc18f19"            # .md with front matter: a 1-for-9 reverse split
SANUWAVE = "nw-1579bfc5b556"            # .jsonl: a 1-for-375 reverse split
GEOVAX = "nw-175be6e2350d"              # .jsonl: a 1-for-25 reverse split
SPLASH = "splash-beverage-2025-07-29"   # .txt, no front matter: NYSE American delists its warrants


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """One fresh index cache per test session, the shipped reader on; the developer's environment does not leak
    in."""
    saved = {k: os.environ.get(k) for k in ("IRBOT_CACHE", "IRBOT_CORPUS", "IRBOT_READER")}
    os.environ["IRBOT_CACHE"] = str(tmp_path_factory.mktemp("irbot-cache"))
    os.environ.pop("IRBOT_CORPUS", None)
    os.environ.pop("IRBOT_READER", None)  # the tests say themselves where they want the rules alone
    yield Path(os.environ["IRBOT_CACHE"])
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def shipped_index() -> Index:
    return build_index(load_corpus(SHIPPED_CORPUS), workers=1)


@pytest.fixture(scope="session")
def fixture_index() -> Index:
    return build_index(load_corpus(FIXTURE_CORPUS), workers=1)


@pytest.fixture
def fixture_bot(fixture_index) -> Answerer:
    """A fresh conversation store over the fixture corpus."""
    return Answerer(fixture_index)


@pytest.fixture
def shipped_bot(shipped_index) -> Answerer:
    return Answerer(shipped_index)


@pytest.fixture
def rules_bot(fixture_index) -> Answerer:
    """The hand rules alone over the fixture corpus (IRBOT_READER=off): for what they promise and the shipped
    reader does not yet do (tests/test_reader.py lists those as its known misses)."""
    return Answerer(fixture_index, reader=None)


@pytest.fixture(scope="session")
def shared_releases() -> Path:
    if not SHARED_RELEASES.is_file():
        pytest.skip(f"the shared corpus is not here ({SHARED_RELEASES})")
    return SHARED_RELEASES


def release_text(index: Index, release_id: str) -> str:
    return index.releases[index.by_id[release_id]].text


def assert_verbatim(index: Index, a: Answer) -> None:
    """The quote is a character-for-character span of the cited release, and so is every sentence shown."""
    assert a.answered and a.quote and a.source is not None, a
    text = release_text(index, a.source.id)
    assert a.quote in text, f"quote is not verbatim in {a.source.id}: {a.quote!r}"
    for sentence in a.context_before + a.context_after:
        assert sentence in text
    for alt in a.alternatives:
        assert alt.quote in release_text(index, alt.source.id)


def contains_any(quote: str | None, spans: list[str]) -> bool:
    """Whether the quote contains one of the spans, ignoring case and runs of whitespace."""
    def norm(s: str) -> str:
        return " ".join(s.replace("’", "'").split()).lower()
    return quote is not None and any(norm(s) in norm(quote) for s in spans)


def run_bot(args: list[str], stdin: str | None = None, env: dict | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m bot ARGS` in a real subprocess, from the repository root, with this session's cache."""
    full_env = dict(os.environ)
    full_env.setdefault("IRBOT_CORPUS", "")  # set, so that no .env in the checkout points the tests elsewhere
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=full_env, timeout=timeout)


def jsonl(lines: list[dict | str]) -> str:
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


# --- the Telegram tests: a corpus, its index, and a Bot API server on 127.0.0.1 (tests/botapi.py) ---------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from botapi import make_corpus
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def index(corpus, tmp_path_factory):
    from bot.index import open_index
    return open_index(corpus, cache_dir=tmp_path_factory.mktemp("cache")).index


_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request, tmp_path):
    """What IRBOT_STATE would say, once for each store: a file path, or a postgresql:// URL of a fresh database."""
    if request.param == "sqlite":
        return str(tmp_path / "state.sqlite3")
    return request.getfixturevalue("postgres").create_database(f"irbot_{next(_databases)}")


def fresh_database(postgres) -> str:
    """The URL of a new database on the tests' PostgreSQL server."""
    return postgres.create_database(f"irbot_{next(_databases)}")


@pytest.fixture
async def api():
    from botapi import BotAPI
    server = await BotAPI().start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the session (tests/pgserver.py); skipped, saying why, where it cannot run, except
    where IRBOT_REQUIRE_POSTGRES=1 (.ci/run, which installs it)."""
    from pgserver import PostgresServer, binaries
    if binaries() is None:
        if os.environ.get("IRBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail("IRBOT_REQUIRE_POSTGRES=1 but PostgreSQL is not installed")
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql; .ci/run does)")
    server = PostgresServer().start()
    yield server
    server.stop()
