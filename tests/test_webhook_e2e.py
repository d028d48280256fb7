"""End to end, the way a bot that outgrew one process runs: `irbot run --webhook` processes behind HAProxy (as
Debian packages it), sharing one PostgreSQL database, answering through the tests' Bot API server on 127.0.0.1.
100 chats ask 2,000 questions (each opener followed at once by a follow-up that leans on it, delivered the moment
the opener is acknowledged, some delivered twice as Telegram does when a call times out); halfway one process is killed with
SIGKILL and started again, and at three quarters another is stopped with SIGTERM (a redeploy) and started again.
Afterwards every question has exactly one answer, in its chat, in order, every
follow-up was answered in its own conversation's context, and the database holds every conversation. The same
with SQLite and one process (killed and restarted the same way).

These tests start real servers (PostgreSQL, HAProxy, the bot processes); they skip where HAProxy is not
installed, except under IRBOT_REQUIRE_POSTGRES=1 (.ci/run, which installs it)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from botapi import BotAPI

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "corpus"
SECRET = "e2e-webhook-secret"
CHATS, PAIRS = 100, 10          # 100 chats x 10 (opener, follow-up) = 2,000 questions
CONCURRENCY = 16                # conversations a process handles at once (IRBOT_CONCURRENCY)
# An opener per company of the fixture corpus; "and when?" must then be answered from that company's release.
OPENERS = {"Fusion": "why is Fusion delisting?",
           "Nauticus": "what is the Nauticus reverse split ratio?",
           "SANUWAVE": "what is the SANUWAVE reverse split ratio?",
           "GeoVax": "what is the GeoVax reverse split ratio?",
           "Splash": "why are the Splash Beverage warrants delisted?"}
COMPANIES = list(OPENERS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def haproxy() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
    if found is None:
        if os.environ.get("IRBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail("IRBOT_REQUIRE_POSTGRES=1 but HAProxy is not installed")
        pytest.skip("HAProxy is not installed here (apt-get install haproxy; .ci/run does)")
    return found


class Deployment:
    """The load balancer and the bot processes, as a deployment runs them."""

    def __init__(self, api: BotAPI, state: str, processes: int, tmp: Path):
        self.api, self.state, self.tmp = api, state, tmp
        self.ports = [free_port() for _ in range(processes)]
        self.lb_port = free_port()
        self.procs: list[subprocess.Popen | None] = [None] * processes
        self.env = {**os.environ, "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_BASE_URL": api.base_url,
                    "TELEGRAM_BASE_FILE_URL": api.base_file_url, "IRBOT_STATE": state,
                    "IRBOT_CORPUS": str(FIXTURES), "IRBOT_CACHE": str(tmp / "cache"), "IRBOT_READER": "0",
                    "IRBOT_USER_QUESTIONS": "100000", "IRBOT_CHAT_QUESTIONS": "100000",
                    "IRBOT_FLOOD_PER_SECOND": "100000", "IRBOT_FLOOD_GROUP_PER_MINUTE": "100000",
                    "IRBOT_LOG_LEVEL": "WARNING", "IRBOT_CONCURRENCY": str(CONCURRENCY)}
        self.lb: subprocess.Popen | None = None

    def start_lb(self) -> None:
        servers = "\n".join(f"    server bot{i} 127.0.0.1:{p} check inter 200ms fall 1 rise 1"
                            for i, p in enumerate(self.ports))
        config = self.tmp / "haproxy.cfg"
        config.write_text(f"""global
    maxconn 2000
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
    retry-on conn-failure empty-response 503
frontend webhook
    bind 127.0.0.1:{self.lb_port}
    default_backend bots
backend bots
    balance roundrobin
    option httpchk GET /healthz
{servers}
""")
        self.lb = subprocess.Popen([haproxy(), "-f", str(config), "-db"], stdout=subprocess.DEVNULL,
                                   stderr=open(self.tmp / "haproxy.log", "w"))

    async def start_all(self) -> None:
        """Every bot process, ready, then the load balancer in front of them."""
        for i in range(len(self.procs)):
            self.start(i)
        for i in range(len(self.procs)):
            await self.ready(i)
        self.start_lb()
        await asyncio.sleep(0.6)  # (HAProxy's first health checks)

    def start(self, i: int) -> None:
        self.procs[i] = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--webhook", "https://bot.example/hook", "--listen", "127.0.0.1",
             "--port", str(self.ports[i]), "--secret-token", SECRET],
            env=self.env, cwd=self.tmp, stdout=subprocess.DEVNULL, stderr=open(self.tmp / f"bot{i}.log", "a"))

    async def ready(self, i: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                assert self.procs[i].poll() is None, (self.tmp / f"bot{i}.log").read_text()[-3000:]
                try:
                    if (await client.get(f"http://127.0.0.1:{self.ports[i]}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"bot process {i} never became ready"
                await asyncio.sleep(0.2)

    def kill(self, i: int) -> None:
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait(10)

    def stop(self) -> None:
        for p in self.procs:
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            if p is not None:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        if self.lb is not None:
            self.lb.kill()
            self.lb.wait(10)


class Telegram:
    """Delivers updates to the webhook as Telegram does: again until it is answered 200, and now and then twice."""

    def __init__(self, url: str):
        self.url = url
        self.client = httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=200))
        self.delivered = 0
        self.retries = 0
        self.updates: dict[tuple[int, int], int] = {}  # (chat id, message id) -> update id

    async def deliver(self, update: dict, twice: bool = False) -> None:
        for attempt in range(2 if twice else 1):
            while True:
                try:
                    r = await self.client.post(self.url, json=update,
                                               headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                    if r.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                self.retries += 1
                await asyncio.sleep(0.2)
        self.delivered += 1


async def converse(api: BotAPI, telegram: Telegram, n: int, plan: list[tuple[str, str]]) -> None:
    """Chat `n`: each opener and its follow-up sent together; the next pair once both are answered."""
    user = api.person(10_000 + n, f"investor{n}")
    chat = api.private_chat(user)
    for k, (company, opener) in enumerate(plan):
        first, u1 = api.message_update(user, chat, opener)
        second, u2 = api.message_update(user, chat, "and when?")
        telegram.updates[(chat["id"], first.message_id)] = u1["update_id"]
        telegram.updates[(chat["id"], second.message_id)] = u2["update_id"]
        # Telegram's Bot API sends a chat's next update once the webhook acknowledged the one before (its
        # WebhookActor keeps a queue per chat): the follow-up goes out the moment the opener is kept, most likely to
        # another process, while the opener is still being answered.
        await telegram.deliver(u1, twice=(n + k) % 10 == 0)
        await telegram.deliver(u2, twice=(n + k) % 10 == 5)
        await api.until(lambda: len(api.bot_messages(chat)) >= 2 * (k + 1), timeout=120)


def plan_for(n: int) -> list[tuple[str, str]]:
    return [(COMPANIES[(n + k) % len(COMPANIES)], OPENERS[COMPANIES[(n + k) % len(COMPANIES)]]) for k in range(PAIRS)]


async def run_burst(api: BotAPI, deployment: Deployment, kill: int) -> Telegram:
    telegram = Telegram(f"http://127.0.0.1:{deployment.lb_port}/hook")

    async def killer():
        await api.until(lambda: telegram.delivered >= CHATS * PAIRS, timeout=300)  # halfway
        api.killed_at = time.perf_counter()
        deployment.kill(kill)
        await asyncio.sleep(1.0)
        deployment.start(kill)
        await deployment.ready(kill)
        if len(deployment.procs) > 1:  # then a redeploy: another process stopped (SIGTERM) and started again
            await api.until(lambda: telegram.delivered >= CHATS * PAIRS * 3 // 2, timeout=300)
            other = (kill + 1) % len(deployment.procs)
            deployment.procs[other].send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(deployment.procs[other].wait, 60) == 0
            deployment.start(other)
            await deployment.ready(other)

    chats = [converse(api, telegram, n, plan_for(n)) for n in range(CHATS)]
    tick = asyncio.create_task(_tick(api))
    try:
        await asyncio.gather(killer(), *chats)
    finally:
        tick.cancel()
        await telegram.client.aclose()
    await asyncio.sleep(1.5)  # an answer sent twice would arrive now
    return telegram


async def _tick(api: BotAPI) -> None:
    """Wake `api.until` waiters now and then (delivery counts change outside the API's own condition)."""
    while True:
        await asyncio.sleep(0.1)
        async with api._changed:
            api._changed.notify_all()


def check_answers(api: BotAPI, rows: dict[str, dict], tries: dict[int, int], updates: dict) -> int:
    """Every question answered, in order, each in its own conversation's context, and linked in the state
    database to its answer. Exactly once, except where the killed process had sent an answer in the last
    milliseconds before it could write that down (its update then shows a second try): there the same answer may
    come twice, never more. Returns how many did."""
    twice = 0
    for n in range(CHATS):
        chat_id = 10_000 + n
        messages = sorted(api.chats[chat_id].values(), key=lambda m: m.message_id)
        questions = [m for m in messages if not m.from_bot]
        answers = [m for m in messages if m.from_bot]
        if os.environ.get("IRBOT_E2E_DUMP") and len(answers) != 2 * PAIRS:
            Path(os.environ["IRBOT_E2E_DUMP"]).write_text(json.dumps(
                [getattr(api, "killed_at", None)] + [(m.message_id, m.created, m.from_bot, m.text[:40]) for m in messages]))
        assert len(questions) == 2 * PAIRS, n
        expected = [company for company, _ in plan_for(n) for _ in (0, 1)]
        left = list(answers)
        for q, company in zip(questions, expected):
            assert left, f"chat {n}: question {q.text!r} was never answered"
            a = left.pop(0)
            others = [c for c in COMPANIES if c != company and c in a.text]
            assert company in a.text and not others, (n, q.text, company, a.text[:300])
            mine = [a.message_id]
            if left and left[0].text == a.text and tries[updates[(chat_id, q.message_id)]] > 1:
                again = left.pop(0)
                mine.append(again.message_id)   # sent again after the kill
                twice += 1
                if os.environ.get("IRBOT_E2E_DUMP"):
                    print("twice:", n, q.text, round(a.created - api.killed_at, 4), round(again.created - api.killed_at, 4))
            assert rows[f"asked:{chat_id}:{q.message_id}"]["reply"] in mine
        assert not left, f"chat {n}: answers nobody asked for: {[m.text[:60] for m in left]}"
    assert twice <= CONCURRENCY, f"{twice} answers came twice"  # (at most what the killed process had in hand)
    return twice


async def _deploy_and_burst(tmp_path: Path, state: str, processes: int, kill: int) -> tuple[Telegram, BotAPI]:
    api = await BotAPI().start()
    deployment = Deployment(api, state, processes, tmp_path)
    try:
        await deployment.start_all()
        telegram = await run_burst(api, deployment, kill)
        return telegram, api
    finally:
        deployment.stop()
        await api.stop()


def query_state(state: str, sql: str) -> list[tuple]:
    """The rows `sql` reads from the state database, SQLite file or PostgreSQL URL (the SQL both understand)."""
    if state.startswith("postgresql://"):
        import psycopg
        with psycopg.connect(state) as db:
            return [tuple(r) for r in db.execute(sql)]
    with contextlib.closing(sqlite3.connect(state)) as db:
        return db.execute(sql).fetchall()


def check_state(api: BotAPI, telegram: Telegram, state: str, what: str) -> tuple[int, int, int]:
    """check_answers against what the state database says; (conversations it holds, updates left waiting, updates
    kept)."""
    rows = {k: json.loads(v) for k, v in query_state(state, "SELECT key, value FROM settings WHERE key LIKE 'asked:%'")}
    tries = dict(query_state(state, "SELECT update_id, tries FROM updates"))
    twice = check_answers(api, rows, tries, telegram.updates)
    print(f"\nwebhook e2e, {what}: {2 * CHATS * PAIRS} questions, {telegram.retries} deliveries retried, "
          f"{sum(t > 1 for t in tries.values())} updates handled again after the kill, {twice} answers twice")
    conversations = query_state(state, "SELECT count(*) FROM contexts")[0][0]
    waiting = query_state(state, "SELECT count(*) FROM updates WHERE NOT done")[0][0]
    return conversations, waiting, len(tries)


async def test_three_processes_behind_haproxy_on_postgresql_lose_double_and_mix_nothing(postgres, tmp_path):
    haproxy()
    url = postgres.create_database("e2e_webhook")
    telegram, api = await _deploy_and_burst(tmp_path, url, processes=3, kill=1)
    conversations, waiting, kept = check_state(api, telegram, url, "PostgreSQL, 3 processes")
    assert conversations == CHATS and waiting == 0 and kept == 2 * CHATS * PAIRS
    assert telegram.delivered == 2 * CHATS * PAIRS  # (each counted once, however many tries it took)


async def test_one_process_on_sqlite_killed_and_restarted_loses_and_doubles_nothing(tmp_path):
    haproxy()
    state = str(tmp_path / "state.sqlite3")
    telegram, api = await _deploy_and_burst(tmp_path, state, processes=1, kill=0)
    conversations, waiting, _ = check_state(api, telegram, state, "SQLite, 1 process")
    assert conversations == CHATS and waiting == 0


# --- the README's configuration -------------------------------------------------------------------------------

DEPLOY = Path(__file__).resolve().parents[1] / "docs" / "deploy"


def test_the_documented_haproxy_configuration_is_valid(tmp_path):
    """docs/deploy/haproxy.cfg, with a certificate of the test's own in place of the deployment's, passes
    HAProxy's own check."""
    binary = haproxy()
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed here")
    pem = tmp_path / "bot.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=bot.example.com", "-keyout", str(tmp_path / "key"), "-out", str(tmp_path / "crt")],
                   check=True, capture_output=True)
    pem.write_text((tmp_path / "crt").read_text() + (tmp_path / "key").read_text())
    config = (DEPLOY / "haproxy.cfg").read_text()
    assert "/etc/haproxy/certs/bot.example.com.pem" in config and "/healthz" in config
    (tmp_path / "haproxy.cfg").write_text(config.replace("/etc/haproxy/certs/bot.example.com.pem", str(pem)))
    done = subprocess.run([binary, "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_documented_systemd_unit_runs_a_webhook_process():
    """docs/deploy/irbot@.service starts `irbot run --webhook` with arguments irbot accepts."""
    from bot.cli import build_parser
    unit = (DEPLOY / "irbot@.service").read_text()
    command = next(line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("ExecStart="))
    words = command.replace("%i", "8441").split()
    assert words[0].endswith("/irbot")
    args = build_parser().parse_args(words[1:])
    assert args.func.__name__ == "cmd_run" and args.webhook.startswith("https://") and args.port == 8441
