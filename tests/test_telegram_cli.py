"""`irbot run` as a person starts it: settings from the environment, one-line errors, the token never shown."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

from botapi import TOKEN, BotAPI, make_corpus



def clean_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "IRBOT_"))}
    # nothing here may reach the internet: the default Bot API address is a closed local port
    env.update(IRBOT_CACHE=str(tmp_path / "cache"), IRBOT_STATE=str(tmp_path / "state.sqlite3"),
               TELEGRAM_BASE_URL="http://127.0.0.1:9/bot")
    env.update(extra)
    return env


def run(tmp_path, monkeypatch, capsys, *args, **env):
    """`irbot run ARGS` in this process (the same code path as the command), in `tmp_path`, with `env` only."""
    from types import SimpleNamespace

    from bot.cli import main
    for key in list(os.environ):
        if key.startswith(("TELEGRAM_", "IRBOT_")):
            monkeypatch.delenv(key)
    for key, value in clean_env(tmp_path, **env).items():
        if key.startswith(("TELEGRAM_", "IRBOT_")):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    code = main(["run", *args])
    out, err = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


def test_missing_token_is_one_line_error(tmp_path, monkeypatch, capsys):
    done = run(tmp_path, monkeypatch, capsys)
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "TELEGRAM_BOT_TOKEN" in done.stderr


def test_malformed_token_is_one_line_error_without_the_token(tmp_path, monkeypatch, capsys):
    secret = "not-a-token-but-secret-looking-0123456789"
    done = run(tmp_path, monkeypatch, capsys, TELEGRAM_BOT_TOKEN=secret)
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "malformed" in done.stderr
    assert secret not in done.stderr + done.stdout


def test_webhook_needs_https(tmp_path, monkeypatch, capsys):
    done = run(tmp_path, monkeypatch, capsys, "--webhook", "http://example.com/hook", TELEGRAM_BOT_TOKEN=TOKEN)
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "https://" in done.stderr


def test_webhook_needs_a_secret_and_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    """Without one, anyone who finds the URL could post updates as any user (admin commands included)."""
    done = run(tmp_path, monkeypatch, capsys, "--webhook", "https://example.com/hook", TELEGRAM_BOT_TOKEN=TOKEN)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "TELEGRAM_WEBHOOK_SECRET" in done.stderr
    assert not (tmp_path / "state.sqlite3").exists() and not list(tmp_path.glob("state.sqlite3*"))


def test_token_from_dotenv_and_bad_setting_reported(tmp_path, monkeypatch, capsys):
    (tmp_path / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nIRBOT_USER_QUESTIONS=lots\n")
    done = run(tmp_path, monkeypatch, capsys)
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "IRBOT_USER_QUESTIONS" in done.stderr
    assert TOKEN not in done.stderr


def test_foreign_state_file_is_one_line_error(tmp_path, monkeypatch, capsys):
    import sqlite3
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        db.execute("CREATE TABLE accounts (id INTEGER)")
    done = run(tmp_path, monkeypatch, capsys, TELEGRAM_BOT_TOKEN=TOKEN)
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "not an irbot state database" in done.stderr


def test_unreachable_bot_api_is_one_line_error_and_leaves_no_state_behind(tmp_path, monkeypatch, capsys):
    state = tmp_path / "var" / "irbot" / "state.sqlite3"
    done = run(tmp_path, monkeypatch, capsys, TELEGRAM_BOT_TOKEN=TOKEN, IRBOT_STATE=str(state))
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "cannot reach the Bot API server" in done.stderr
    assert TOKEN not in done.stderr
    assert not (tmp_path / "var").exists(), "a bot that never ran creates no state file"


async def test_run_serves_telegram_and_a_rejected_token_is_one_line(tmp_path):
    api = await BotAPI().start()
    corpus = make_corpus(tmp_path / "corpus")
    env = clean_env(tmp_path, TELEGRAM_BASE_URL=api.base_url, TELEGRAM_BASE_FILE_URL=api.base_file_url,
                    IRBOT_CORPUS=str(corpus), IRBOT_LOG_LEVEL="INFO")
    try:
        # a token Telegram does not know: one line, exit non-zero, the token not shown
        wrong = "987654321:ZZZZ-wrong-token_abcdefghijklmnopqrstu"
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path,
                                                    env={**env, "TELEGRAM_BOT_TOKEN": wrong},
                                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode != 0
        assert wrong not in (out + err).decode() and "Traceback" not in err.decode()
        assert err.decode().strip().splitlines()[-1].startswith("irbot: ")

        # the right token: it starts, registers its commands, answers, and stops cleanly on Ctrl-C
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path,
                                                    env={**env, "TELEGRAM_BOT_TOKEN": TOKEN},
                                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        alice = api.person(7, "Alice")
        chat = api.private_chat(alice)
        asked = await api.say(alice, chat, "why is FSN delisting?")
        m = await api.until(lambda: api.bot_messages(chat, asked), timeout=60)
        assert "(NYSE Amex: FSN)" in m[0].text
        assert "all_private_chats" in api.commands
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        log = (out + err).decode()
        assert proc.returncode == 0, log
        assert "serving corpus" in log and str(corpus) in log
        assert TOKEN not in log and TOKEN.split(":")[1] not in log
    finally:
        await api.stop()


async def test_sigkill_keeps_state_and_no_question_is_lost(tmp_path):
    """Killed with SIGKILL right after answering: the state database is intact, the context is there after a
    restart, and a question sent while the bot was down is answered when it is back."""
    import sqlite3
    api = await BotAPI().start()
    corpus = make_corpus(tmp_path / "corpus")
    env = clean_env(tmp_path, TELEGRAM_BASE_URL=api.base_url, TELEGRAM_BASE_FILE_URL=api.base_file_url,
                    IRBOT_CORPUS=str(corpus), TELEGRAM_BOT_TOKEN=TOKEN)

    async def start():
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        alice = api.person(7, "Alice")
        chat = api.private_chat(alice)
        proc = await start()
        first = await api.say(alice, chat, "why is FSN delisting?")
        await api.until(lambda: api.bot_messages(chat, first), timeout=60)
        proc.kill()
        await proc.wait()
        with sqlite3.connect(tmp_path / "state.sqlite3") as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        asked_while_down = await api.say(alice, chat, "who is the CEO?")
        proc = await start()
        await api.until(lambda: api.bot_messages(chat, asked_while_down), timeout=60)
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 60)
        replies = api.bot_messages(chat, asked_while_down)
        assert len(replies) == 1 and "Matthew Rosen" in replies[0].blockquotes[0]
    finally:
        await api.stop()


def test_env_example_lists_every_setting_and_lists_parse(monkeypatch):
    import re
    from pathlib import Path

    from bot.settings import Settings
    example = (Path(__file__).resolve().parent.parent / ".env.example").read_text()
    assert [f for f in Settings.model_fields if not re.search(rf"^{f.upper()}=", example, re.M)] == []
    monkeypatch.setenv("IRBOT_ADMIN_IDS", "11, 22 33")
    monkeypatch.setenv("IRBOT_ALLOWED_CHATS", "-1001")
    settings = Settings(_env_file=None)
    assert settings.irbot_admin_ids == [11, 22, 33] and settings.irbot_allowed_chats == [-1001]
