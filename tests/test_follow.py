"""Following a company: a release that enters the corpus is news once, to each follower of its company; a
re-indexed or replaced release, a restart, or a release of another company is not."""
from __future__ import annotations

import shutil

import pytest

from bot import cli
from bot.conversation import SQLiteStore
from bot.follow import companies_named, owed, queue_new_releases
from bot.index import build_index
from bot.corpus import load_corpus

from conftest import FIXTURE_CORPUS, FIXTURES

ZEPHYR = (FIXTURES / "zephyr-2024-06-03.md").read_text(encoding="utf-8")


def second_zephyr_release(folder) -> str:
    path = folder / "zephyr-2024-09-09.md"
    path.write_text(ZEPHYR.replace("zephyr-2024-06-03", "zephyr-2024-09-09").replace("2024-06-03", "2024-09-09")
                    .replace("Completes Acquisition of Orchard Farms", "Opens a Juice Plant in Yakima")
                    .replace("completed its acquisition of Orchard Farms for $45 million in cash",
                             "opened a juice plant in Yakima, Washington"), encoding="utf-8")
    return str(path)


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("IRBOT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("IRBOT_STATE", str(tmp_path / "state.sqlite3"))
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, folder)
    (folder / "zephyr-2024-06-03.md").write_text(ZEPHYR, encoding="utf-8")
    return folder


def run(*argv) -> int:
    return cli.main([str(a) for a in argv])


def test_the_terminal_user_is_alerted_once_to_a_new_release_of_a_company_they_follow(corpus, tmp_path, capsys):
    assert run("follow", "ZFI", "--corpus", corpus) == 0
    assert run("follow", "KITT", "--corpus", corpus) == 0
    assert "Following Zephyr Foods Inc." in capsys.readouterr().out
    assert run("alerts", "--corpus", corpus) == 0
    assert "No new releases" in capsys.readouterr().out        # what was there when they followed is not news

    new = second_zephyr_release(tmp_path)
    assert run("add", new, "--corpus", corpus) == 0
    capsys.readouterr()
    assert run("alerts", "--corpus", corpus) == 0
    out = capsys.readouterr().out
    assert out.count("New: ") == 1 and '"Zephyr Foods Opens a Juice Plant in Yakima", 2024-09-09' in out
    assert "“Zephyr Foods Inc. (NYSE: ZFI) opened a juice plant in Yakima, Washington.”" in out

    assert run("alerts", "--corpus", corpus) == 0                # once
    assert "No new releases" in capsys.readouterr().out
    assert run("add", new, "--replace", "--corpus", corpus) == 0  # replaced: the same release, not news
    assert run("alerts", "--corpus", corpus) == 0
    assert "No new releases" in capsys.readouterr().out.split("replaced")[-1]

    assert run("follow", "--remove", "ZFI", "--corpus", corpus) == 0
    assert run("follow", "--corpus", corpus) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "  Nauticus Robotics Inc."


def test_an_alert_is_owed_to_each_follower_once_across_a_restart(corpus, tmp_path):
    state = tmp_path / "bot.sqlite3"
    store = SQLiteStore(state)
    index = build_index(load_corpus(corpus), workers=1)
    assert queue_new_releases(store, index) == (0, 0)          # a corpus is not news to a new state file
    (zephyr,) = companies_named(index, "Zephyr Foods")
    for chat in ("1", "2"):
        assert store.follow(chat, zephyr.key, zephyr.name)
    store.follow("3", companies_named(index, "FSN")[0].key, "Fusion")
    second_zephyr_release(corpus)
    index = build_index(load_corpus(corpus), workers=1)
    assert queue_new_releases(store, index) == (1, 2)
    assert queue_new_releases(store, index) == (0, 0)          # seen: re-indexing is not news
    store.close()

    store = SQLiteStore(state)                                  # a restart before the alerts went out
    alerts = owed(store, index)
    assert sorted((a.chat, a.release_id) for a in alerts) == [("1", "zephyr-2024-09-09"), ("2", "zephyr-2024-09-09")]
    assert alerts[0].lead in load_corpus(corpus).releases[[r.id for r in load_corpus(corpus).releases].index(
        "zephyr-2024-09-09")].text
    store.alert_sent("1", "zephyr-2024-09-09")
    store.drop_chat("2")                                        # chat 2 blocked the bot: its alert and follows go
    assert owed(store, index) == [] and store.following("2") == [] and store.following("1")


def test_a_ticker_is_its_company_and_an_unknown_name_none(corpus):
    index = build_index(load_corpus(corpus), workers=1)
    assert [c.name for c in companies_named(index, "FSN")] == ["Fusion"]
    assert companies_named(index, "Acme Rockets") == []


def test_the_bots_sender_leaves_the_terminal_users_alerts_to_irbot_alerts(corpus, tmp_path):
    store = SQLiteStore(tmp_path / "bot.sqlite3")
    index = build_index(load_corpus(corpus), workers=1)
    queue_new_releases(store, index)
    (zephyr,) = companies_named(index, "ZFI")
    store.follow("terminal", zephyr.key, zephyr.name)
    store.follow("-1001234", zephyr.key, zephyr.name)
    second_zephyr_release(corpus)
    assert queue_new_releases(store, build_index(load_corpus(corpus), workers=1)) == (1, 2)
    assert store.pending_alerts() == [("-1001234", "zephyr-2024-09-09")]          # what Telegram is sent
    assert store.pending_alerts("terminal") == [("terminal", "zephyr-2024-09-09")]  # what irbot alerts shows


def test_a_company_button_names_exactly_one_company_when_one_name_starts_another(tmp_path):
    import json
    from bot.follow import button_id, company_by_button
    rows = [{"id": "g1", "title": "Golden Inc. drills", "company": "Golden Inc.", "ticker": "GLD",
             "text": "Golden Inc. (NYSE: GLD) drilled a hole."},
            {"id": "g2", "title": "Golden Minerals mines", "company": "Golden Minerals Corp", "ticker": "AUMN",
             "text": "Golden Minerals Corp (NYSE: AUMN) mined gold."},
            {"id": "g3", "title": "Golden Minerals mines more", "company": "Golden Minerals Corp", "ticker": "AUMN",
             "text": "Golden Minerals Corp (NYSE: AUMN) mined more gold."}]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    index = build_index(load_corpus(tmp_path), workers=1)
    found = companies_named(index, "Golden")
    assert [c.name for c in found] == ["Golden Minerals Corp", "Golden Inc."]
    for c in found:
        assert company_by_button(index, button_id(c.key)).name == c.name
        assert len(f"fo:{button_id(c.key)}".encode()) <= 64
