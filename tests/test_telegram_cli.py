"""`irbot run` as a person starts it: settings from the environment, one-line errors, the token never shown."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from botapi import TOKEN, BotAPI, make_corpus

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def clean_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "IRBOT_"))}
    # nothing here may reach the internet: the default Bot API address is a closed local port
    env.update(IRBOT_CACHE=str(tmp_path / "cache"), IRBOT_STATE=str(tmp_path / "state.sqlite3"),
               TELEGRAM_BASE_URL="http://127.0.0.1:9/bot")
    env.update(extra)
    return env


def run(tmp_path, *args, **env):
    return subprocess.run([sys.executable, "-m", "bot", "run", *args], cwd=tmp_path, env=clean_env(tmp_path, **env),
                          capture_output=True, text=True, timeout=60)


def test_missing_token_is_one_line_error(tmp_path):
    done = run(tmp_path)
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "TELEGRAM_BOT_TOKEN" in done.stderr and "Traceback" not in done.stderr


def test_malformed_token_is_one_line_error_without_the_token(tmp_path):
    secret = "not-a-token-but-secret-looking-0123456789"
    done = run(tmp_path, TELEGRAM_BOT_TOKEN=secret)
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "malformed" in done.stderr
    assert secret not in done.stderr + done.stdout


def test_token_from_dotenv_and_bad_setting_reported(tmp_path):
    (tmp_path / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nIRBOT_USER_QUESTIONS=lots\n")
    done = run(tmp_path)
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "IRBOT_USER_QUESTIONS" in done.stderr
    assert TOKEN not in done.stderr


def test_foreign_state_file_is_one_line_error(tmp_path):
    state = tmp_path / "state.sqlite3"
    import sqlite3
    with sqlite3.connect(state) as db:
        db.execute("CREATE TABLE accounts (id INTEGER)")
    done = run(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN)
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "not an irbot state database" in done.stderr


def test_unreachable_bot_api_is_one_line_error(tmp_path):
    done = run(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN)
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "cannot reach the Bot API server" in done.stderr
    assert TOKEN not in done.stderr


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
