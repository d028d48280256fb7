"""The command line: `irbot ask`, `irbot chat`, `irbot index` (and `irbot run` for Telegram)."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import sys
from pathlib import Path

from dotenv import dotenv_values

from . import __version__
from .answer import Answer, Answerer
from .corpus import CorpusError
from .reader import ReaderError
from .render import count, render_text
from .cli_corpus import add_corpus_commands, load
from .cli_follow import add_follow_commands
from .settings import default_corpus


def answer_json(conv, a: Answer) -> dict:
    out = {"conv": conv, "answered": a.answered, "quote": a.quote,
           "source": a.source.model_dump() if a.source else None, "score": a.score}
    out.update(a.model_dump(include={"message", "context_before", "context_after", "alternatives", "related",
                                     "read_as"}))
    return out


def cmd_ask(args) -> int:
    question = " ".join(args.question).strip()
    if not question and not args.jsonl:  # said before the corpus is loaded, which can take a while
        print("irbot: ask needs a question, e.g. irbot ask \"why is FSN delisting?\"", file=sys.stderr)
        return 2
    loaded = load(args.corpus)
    answerer = Answerer(loaded.index)
    if args.jsonl:
        return ask_jsonl(answerer, sys.stdin, sys.stdout)
    a = answerer.ask("cli", question)
    print(json.dumps(answer_json(None, a), ensure_ascii=False) if args.json else render_text(a))
    return 0


def ask_jsonl(answerer: Answerer, stdin, stdout) -> int:
    """The batch contract: one JSON line in, one JSON line out, flushed, in order; bad lines get an error."""
    for n, line in enumerate(stdin, 1):
        conv = None
        try:
            if not line.strip():
                raise ValueError("an empty line; expected a JSON object")
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("expected a JSON object")
            conv = request.get("conv")
            text = request.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError("'text' must be a non-empty string")
            out = answer_json(conv, answerer.ask(json.dumps(conv), text))
        except ValueError as e:
            out = {"conv": conv, "answered": False, "quote": None, "source": None, "error": f"line {n}: {e}"}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


CHAT_HELP = "Ask a question; /new forgets the context; /sources lists the companies; /help shows this; Ctrl-D quits."
CHAT_COMMANDS = """Ask a question about the releases in words ("why is FSN delisting?"); follow-ups lean on the last answer.
  /sources           the companies, with how many releases each
  /sources COMPANY   that company's releases, newest first (a ticker or a name)
  /new               forget the conversation
  /help              this
  Ctrl-D             quit"""


def cmd_chat(args) -> int:
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    loaded = load(args.corpus)
    answerer = Answerer(loaded.index)
    print(f"irbot: {count(len(loaded.index.releases), 'release')}. {CHAT_HELP}")
    prompt = "> " if sys.stdin.isatty() else ""  # questions from a pipe: answers only
    while True:
        try:
            question = input(prompt).strip()
        except EOFError:
            if prompt:
                print()
            return 0
        except KeyboardInterrupt:
            print()
            continue
        if not question:
            continue
        if question == "/new":
            answerer.forget("chat")
            print("(new conversation)")
            continue
        if question == "/help":
            print(CHAT_COMMANDS)
            continue
        if question.split()[0] == "/sources":
            print(sources_text(loaded.index, question[len("/sources"):].strip()))
            continue
        if question.startswith("/"):
            print(f"unknown command {question.split()[0]}: /help says what there is")
            continue
        print(render_text(answerer.ask("chat", question)) + "\n")


def sources_text(index, company: str = "", limit: int = 40) -> str:
    """/sources: the companies and how many releases each (most first); with a company, its releases."""
    from .answer.models import cite
    from .follow import companies_in, companies_named
    from .render import citation_line
    if company:
        found = companies_named(index, company)
        if not found:
            return f"No company called {company!r} in these releases; /sources lists them."
        newest = sorted((r for c in found for r in c.ids), key=lambda r: (str(index.releases.meta[r].date or ""), r),
                        reverse=True)
        lines = [f"  {citation_line(cite(index, r))}" for r in newest[:limit]]
        more = [f"  ... and {len(newest) - limit} older"] if len(newest) > limit else []
        return "\n".join([count(len(newest), "release") + ":"] + lines + more)
    companies = companies_in(index, range(len(index.releases.meta)), unknown="Unknown company")
    lines = [f"  {c.name} ({c.releases})" for c in companies[:limit]]
    more = [f"  ... and {len(companies) - limit} more: /sources COMPANY lists one's releases"] \
        if len(companies) > limit else []
    return "\n".join([f"{count(len(companies), 'company')}, {count(len(index.releases), 'release')}:"] + lines + more)


def cmd_index(args) -> int:
    loaded = load(args.corpus, progress=True)
    stats = loaded.index.stats()
    stats["from_cache"] = loaded.from_cache
    stats["skipped"] = len(loaded.problems)
    if args.json:
        print(json.dumps(stats))
    else:
        for k, v in stats.items():
            print(f"{k:>14}: {v}")
    return 0


def _new_files(state: Path) -> list[Path]:
    """What opening the state database at `state` would create: the file, its SQLite side files, and the
    folders above it that do not exist yet (innermost first, so they can be removed in this order)."""
    if state.exists():
        return []
    made = [state.with_name(state.name + suffix) for suffix in ("-wal", "-shm", "-journal", ".webhook-lock")] + [state]
    folder = state.parent
    while not folder.exists():
        made.append(folder)
        folder = folder.parent
    return [p for p in made if not p.exists()]


def cmd_run(args) -> int:
    """Run the Telegram bot: long polling, or a webhook server with --webhook URL."""
    from urllib.parse import urlparse

    from .conversation import StateError
    from .settings import SettingsError, load_settings
    from .telegram import ALLOWED_UPDATES, build_application, check_token, install_redaction, redact

    url = urlparse(args.webhook) if args.webhook else None
    if url is not None and (url.scheme != "https" or not url.hostname):
        print("irbot: --webhook needs an https:// URL that Telegram can reach", file=sys.stderr)
        return 2
    app = new_state = inbox = None
    try:
        overrides = {"irbot_corpus": args.corpus} if args.corpus else {}
        settings = load_settings(**overrides)
        secret = args.secret_token or (settings.telegram_webhook_secret.get_secret_value()
                                       if settings.telegram_webhook_secret else "")
        # without it anyone who finds the URL could post updates, as any user; Telegram takes only these characters
        if url is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise SettingsError("--webhook needs a secret token that Telegram sends with every call "
                                "(TELEGRAM_WEBHOOK_SECRET or --secret-token): 1 to 256 of A-Z a-z 0-9 _ -")
        install_redaction(settings.token())
        logging.getLogger().setLevel(log_level("INFO"))
        new_state = [] if "://" in settings.irbot_state else _new_files(Path(settings.irbot_state))
        app = build_application(settings)
        if url is not None:  # updates are kept in the state database before they are acknowledged
            from .inbox import open_inbox
            inbox = open_inbox(app.bot_data["irbot"].store)
        asyncio.run(check_token(settings))
    except (SettingsError, StateError) as e:
        if inbox is not None:
            inbox.close()
        if app is not None:
            app.bot_data["irbot"].store.close()
        for path in new_state or ():  # a bot that never ran leaves no state file (nor folder) behind
            with contextlib.suppress(OSError):
                path.rmdir() if path.is_dir() else path.unlink()
        print(f"irbot: {redact(str(e))}", file=sys.stderr)
        return 2
    try:
        if url is not None:
            install_redaction(secret)
            from .webhook import serve
            asyncio.run(serve(app, inbox, listen=args.listen, port=args.port, path=url.path, url=args.webhook,
                              secret=secret, allowed_updates=ALLOWED_UPDATES))
        else:
            app.run_polling(allowed_updates=ALLOWED_UPDATES)
    except Exception as e:  # e.g. Telegram refusing the token: one line, never the token
        print(f"irbot: {type(e).__name__}: {redact(str(e))}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="irbot", description="Answers investors' questions from press releases.")
    parser.add_argument("--version", action="version", version=f"irbot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def changing_corpus(p):
        p.add_argument("--corpus", default=os.environ.get("IRBOT_CORPUS") or None,
                       help="the corpus to change: a folder of release files or a .jsonl file, made if it does not "
                            "exist (default: $IRBOT_CORPUS; the shipped sample is never changed)")
        return p

    def with_corpus(p):
        p.add_argument("--corpus", default=default_corpus(),
                       help="a folder of release files or a .jsonl file (default: $IRBOT_CORPUS or the shipped corpus/)")
        return p

    ask = with_corpus(sub.add_parser("ask", help="answer one question (or JSON lines with --jsonl)"))
    ask.add_argument("question", nargs="*")
    mode = ask.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    mode.add_argument("--jsonl", action="store_true", help='read {"conv", "text"} lines on stdin, answer each')
    ask.set_defaults(func=cmd_ask)

    chat = with_corpus(sub.add_parser("chat", help="an interactive conversation in the terminal"))
    chat.set_defaults(func=cmd_chat)

    index = with_corpus(sub.add_parser("index", help="build (and cache) the index and say what it holds"))
    index.add_argument("--json", action="store_true")
    index.set_defaults(func=cmd_index)

    add_corpus_commands(sub, changing_corpus)
    add_follow_commands(sub, with_corpus)

    run = sub.add_parser("run", help="run the Telegram bot (settings from the environment or .env)")
    run.add_argument("--corpus", default=None, help="overrides $IRBOT_CORPUS (default: the shipped corpus/)")
    run.add_argument("--webhook", metavar="URL", help="receive updates on this https URL instead of long polling")
    run.add_argument("--listen", default="127.0.0.1", help="address the webhook server binds (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=8443, help="port the webhook server binds (default 8443)")
    run.add_argument("--secret-token", default=None,
                     help="the secret Telegram sends with every webhook call (default $TELEGRAM_WEBHOOK_SECRET)")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    with dotenv_environment(Path.cwd() / ".env"):
        return _main(argv)


@contextlib.contextmanager
def dotenv_environment(path: Path):
    """.env (in the working directory, as `irbot run` reads it) sets what the environment does not, for every
    command, while the command runs (main() called in-process leaves os.environ as it found it)."""
    added = {k: v for k, v in dotenv_values(path).items() if v is not None and k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def log_level(default: str) -> str:
    """IRBOT_LOG_LEVEL (empty: `default`); a ValueError naming the setting when it is not a level."""
    level = (os.environ.get("IRBOT_LOG_LEVEL") or default).strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"IRBOT_LOG_LEVEL={level!r} is not DEBUG, INFO, WARNING or ERROR")
    return level


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        logging.basicConfig(level=log_level("WARNING"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    except ValueError as e:
        print(f"irbot: {e}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except (CorpusError, ReaderError) as e:
        print(f"irbot: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `irbot ask ... | head -1`: the reader has what it wanted; no traceback for that
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own flush at exit must not fail
        return 141  # as a program stopped by SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
