"""The command line: `irbot ask`, `irbot chat`, `irbot index` (and `irbot run` for Telegram)."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from pathlib import Path

from dotenv import dotenv_values

from . import __version__
from .answer import Answer, Answerer
from .corpus import CorpusError
from .index import open_index
from .reader import ReaderError
from .render import count, render_text
from .settings import SHIPPED_CORPUS, default_corpus


def load(corpus: str, progress: bool | None = None):
    """The index for `corpus`, reporting every file it had to skip on stderr."""
    if progress is None:
        progress = sys.stderr.isatty()
    loaded = open_index(corpus, progress=progress)
    for problem in loaded.problems:
        print(f"irbot: skipped {problem}", file=sys.stderr)
    return loaded


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
    from .answer import find_companies
    from .render import citation_line
    from .answer.models import cite
    if company:
        releases, _ = find_companies(index, company)
        if not releases:
            return f"No company called {company!r} in these releases; /sources lists them."
        newest = sorted(releases, key=lambda r: (str(index.releases.meta[r].date or ""), r), reverse=True)
        lines = [f"  {citation_line(cite(index, r))}" for r in newest[:limit]]
        more = [f"  ... and {len(newest) - limit} older"] if len(newest) > limit else []
        return "\n".join([count(len(newest), "release") + ":"] + lines + more)
    from collections import Counter
    per = Counter((m.company or "Unknown company") for m in index.releases.meta)
    lines = [f"  {name} ({n})" for name, n in sorted(per.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]
    more = [f"  ... and {len(per) - limit} more: /sources COMPANY lists one's releases"] if len(per) > limit else []
    return "\n".join([f"{count(len(per), 'company')}, {count(len(index.releases), 'release')}:"] + lines + more)


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


def _report_change(change, verb: str) -> None:
    for problem in change.problems:
        print(f"irbot: not {verb}: {problem}", file=sys.stderr)
    done = change.added if verb == "added" else change.removed
    if done:
        print(f"{verb} {len(done)} release{'s' if len(done) != 1 else ''}: {', '.join(done)}")
    if getattr(change, "replaced", None):
        print(f"replaced {count(len(change.replaced), 'release')}: {', '.join(change.replaced)}")
    for rid, lacking in getattr(change, "incomplete", {}).items():
        print(f"irbot: note: {rid} has no {', '.join(lacking)} in its metadata (irbot ingest "
              "FILE shows what its text gives, and --set FIELD=VALUE supplies the rest)", file=sys.stderr)


def _reindex(corpus: str) -> None:
    """Index the corpus as it now is: only releases the previous index lacks are split."""
    loaded = open_index(corpus, progress=sys.stderr.isatty())
    stats = loaded.index.stats()
    print(f"index: {count(stats['releases'], 'release')}, {count(stats['passages'], 'passage')} "
          f"({loaded.index.reused} reused, {stats['releases'] - loaded.index.reused} split) "
          f"in {loaded.index.build_seconds:.1f} s")


def _corpus_to_change(args, create: bool) -> str | None:
    """The corpus a command may change: named (--corpus or IRBOT_CORPUS), never the shipped sample (in a checkout
    or inside the installed package); made when `create` and it does not exist yet. None, said why, otherwise."""
    if not args.corpus:
        print(f"irbot: {args.command} changes a corpus: name it with --corpus PATH or IRBOT_CORPUS "
              "(the shipped sample is not changed)", file=sys.stderr)
        return None
    corpus = Path(args.corpus)
    if corpus.exists() and corpus.resolve() == SHIPPED_CORPUS.resolve():
        print(f"irbot: {corpus} is the shipped sample, which irbot does not change: copy it and name the copy "
              "with --corpus", file=sys.stderr)
        return None
    if create and not corpus.exists():
        try:
            if corpus.suffix.lower() == ".jsonl":
                corpus.touch()
            else:
                corpus.mkdir(parents=True)
        except OSError as e:
            print(f"irbot: cannot make the corpus {corpus}: {e.strerror or e}", file=sys.stderr)
            return None
        print(f"irbot: made a new corpus, {corpus}", file=sys.stderr)
    return str(corpus)


def cmd_add(args) -> int:
    from .manage import add_releases
    if (corpus := _corpus_to_change(args, create=True)) is None:
        return 2
    args.corpus = corpus
    return _added(args.corpus, lambda: add_releases(args.corpus, args.files, replace=args.replace))


def _added(corpus: str, add) -> int:
    from .manage import ManageError
    try:
        change = add()
    except ManageError as e:
        print(f"irbot: {e}", file=sys.stderr)
        return 2
    _report_change(change, "added")
    if change.added or change.replaced:
        _reindex(corpus)
    return 0 if (change.added or change.replaced) and not change.problems else 1


def cmd_remove(args) -> int:
    from .manage import remove_releases
    if _corpus_to_change(args, create=False) is None:
        return 2
    change = remove_releases(args.corpus, args.ids)
    _report_change(change, "removed")
    if change.removed:
        _reindex(args.corpus)
    return 0 if change.removed and not change.problems else 1


def cmd_ingest(args) -> int:
    from .manage import ManageError, ingest_text, parse_overrides
    if args.replace and not args.add:
        print("irbot: --replace goes with --add (it replaces a release of the corpus)", file=sys.stderr)
        return 2
    try:
        source = Path(args.file)
        text = sys.stdin.read() if args.file == "-" else source.read_text(encoding="utf-8-sig")
        got = ingest_text(text, parse_overrides(args.set or []), name=source.stem)
    except (ManageError, OSError, UnicodeDecodeError, ValueError) as e:
        print(f"irbot: {e}", file=sys.stderr)
        return 2
    width = max(len(k) for k in list(got.found) + list(got.missing))
    print("found:", file=sys.stderr)
    for k, v in got.found.items():
        print(f"  {k:<{width}}  {v}", file=sys.stderr)
    if got.missing:
        print("not found (set with --set FIELD=VALUE):", file=sys.stderr)
        for k, why in got.missing.items():
            print(f"  {k:<{width}}  {why}", file=sys.stderr)
    if args.add:
        if (corpus := _corpus_to_change(args, create=True)) is None:
            return 2
        args.corpus = corpus
        from .corpus import Release
        from .manage import add_release
        release = Release.model_validate(got.record)
        label = "stdin" if args.file == "-" else args.file
        return _added(args.corpus, lambda: add_release(args.corpus, release, label, replace=args.replace))
    if args.out:
        out = Path(args.out)
        if out.is_dir():
            out = out / f"{got.record['id']}.md"
        existed = out.exists()
        out.write_text(got.markdown, encoding="utf-8")
        print(f"wrote {out}" + (" (replacing what it held)" if existed else ""), file=sys.stderr)
    else:
        sys.stdout.write(got.markdown)
    return 0


LOCAL_CHAT = "terminal"  # the chat id under which the terminal's user follows companies in the state database


def _state_store(args):
    """The bot's state database (--state, or IRBOT_STATE as irbot run uses it), made if missing."""
    from .conversation import SQLiteStore
    from .settings import load_settings
    return SQLiteStore(Path(args.state or load_settings().irbot_state))


def cmd_follow(args) -> int:
    """Follow a company in the terminal (alerts then show its new releases), stop, or list what is followed."""
    from . import follow
    from .conversation import StateError
    from .settings import SettingsError
    try:
        store = _state_store(args)
    except (SettingsError, StateError) as e:
        print(f"irbot: {e}", file=sys.stderr)
        return 2
    try:
        name = " ".join(args.company).strip()
        if not name:
            followed = store.following(LOCAL_CHAT)
            print("\n".join(f"  {n}" for _, n in followed) if followed else "You follow no company: irbot follow COMPANY")
            return 0
        index = load(args.corpus).index
        follow.queue_new_releases(store, index)  # what the corpus holds now is not news to the new follower
        found = follow.companies_named(index, name)
        if args.remove:
            keys = {k: n for k, n in store.following(LOCAL_CHAT)}
            key = next((c.key for c in found if c.key in keys), None) or next(
                (k for k, n in keys.items() if n.lower() == name.lower() or k == name.lower()), None)
            if key is None or not store.unfollow(LOCAL_CHAT, key):
                print(f"irbot: you do not follow {name!r}", file=sys.stderr)
                return 1
            print(f"No longer following {keys[key]}.")
            return 0
        if not found:
            print(f"irbot: no company called {name!r} in {args.corpus} (irbot chat's /sources lists them)", file=sys.stderr)
            return 1
        if len(found) > 1:
            print(f"irbot: {name!r} could be " + ", ".join(f"{c.name} ({c.ticker})" if c.ticker else c.name
                                                           for c in found) + ": name one", file=sys.stderr)
            return 1
        c = found[0]
        added = store.follow(LOCAL_CHAT, c.key, c.name)
        print(f"{'Following' if added else 'Already following'} {c.name}: irbot alerts shows its new releases.")
        return 0
    finally:
        store.close()


def cmd_alerts(args) -> int:
    """The alerts the terminal's user is owed: new releases of the companies they follow (then marked seen)."""
    from . import follow
    from .conversation import StateError
    from .render import citation_line
    from .settings import SettingsError
    try:
        store = _state_store(args)
    except (SettingsError, StateError) as e:
        print(f"irbot: {e}", file=sys.stderr)
        return 2
    try:
        if not store.following(LOCAL_CHAT):
            print("You follow no company: irbot follow COMPANY")
            return 0
        follow.queue_new_releases(store, load(args.corpus).index)
        alerts = follow.owed(store, load(args.corpus).index, LOCAL_CHAT)
        if not alerts:
            print("No new releases from the companies you follow.")
        for a in alerts:
            print(f"New: {citation_line(a.source)}\n  “{a.lead}”\n")
            store.alert_sent(a.chat, a.release_id)
        return 0
    finally:
        store.close()


def cmd_report(args) -> int:
    """The questions the releases did not answer and the answers marked 👎, from the bot's state database."""
    import datetime as dt
    import time

    from . import report
    from .conversation import SQLiteStore, StateError
    from .settings import SettingsError, load_settings
    try:
        since = dt.date.fromisoformat(args.since) if args.since else dt.date.today() - dt.timedelta(days=30)
    except ValueError:
        print(f"irbot: --since {args.since!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    try:
        state = Path(args.state or load_settings().irbot_state)
    except SettingsError as e:
        print(f"irbot: {e}", file=sys.stderr)
        return 2
    if not state.is_file():
        print(f"irbot: {state}: no state database (irbot run writes it; IRBOT_STATE or --state says where)",
              file=sys.stderr)
        return 2
    try:
        store = SQLiteStore(state, keep_days=float("inf"))
    except StateError as e:
        print(f"irbot: {e}", file=sys.stderr)
        return 2
    try:
        rows = store.feedback_since(time.mktime(since.timetuple()))
    finally:
        store.close()
    reports = report.build(*rows)
    out = report.as_json(reports, since) if args.json else report.as_csv(reports) if args.csv else report.as_text(reports, since)
    sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return 0


def _new_files(state: Path) -> list[Path]:
    """What opening the state database at `state` would create: the file, its SQLite side files, and the
    folders above it that do not exist yet (innermost first, so they can be removed in this order)."""
    if state.exists():
        return []
    made = [state.with_name(state.name + suffix) for suffix in ("-wal", "-shm", "-journal")] + [state]
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
    app = new_state = None
    try:
        overrides = {"irbot_corpus": args.corpus} if args.corpus else {}
        settings = load_settings(**overrides)
        install_redaction(settings.token())
        logging.getLogger().setLevel(log_level("INFO"))
        new_state = _new_files(Path(settings.irbot_state))
        app = build_application(settings)
        asyncio.run(check_token(settings))
    except (SettingsError, StateError) as e:
        if app is not None:
            app.bot_data["irbot"].store.close()
        for path in new_state or ():  # a bot that never ran leaves no state file (nor folder) behind
            with contextlib.suppress(OSError):
                path.rmdir() if path.is_dir() else path.unlink()
        print(f"irbot: {redact(str(e))}", file=sys.stderr)
        return 2
    try:
        if url is not None:
            secret = args.secret_token or (settings.telegram_webhook_secret.get_secret_value()
                                           if settings.telegram_webhook_secret else "")
            install_redaction(secret)
            app.run_webhook(listen=args.listen, port=args.port, url_path=url.path.lstrip("/"),
                            webhook_url=args.webhook, secret_token=secret or None,
                            allowed_updates=ALLOWED_UPDATES)
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

    add = changing_corpus(sub.add_parser("add", help="add release files (Markdown, text or JSON lines) to the corpus, changing it, and update the index"))
    add.add_argument("files", nargs="+", metavar="FILE")
    add.add_argument("--replace", action="store_true", help="replace releases whose id is already in the corpus")
    add.set_defaults(func=cmd_add)

    remove = changing_corpus(sub.add_parser("remove", help="remove releases by id from the corpus (deletes their files or lines) and update the index"))
    remove.add_argument("ids", nargs="+", metavar="ID")
    remove.set_defaults(func=cmd_remove)

    ingest = changing_corpus(sub.add_parser("ingest", help="turn a raw wire release into a corpus Markdown file (--add also adds it to the corpus)"))
    ingest.add_argument("file", metavar="FILE", help="the raw release text ('-' reads stdin)")
    ingest.add_argument("--set", action="append", metavar="FIELD=VALUE", help="give a field the text lacks")
    where = ingest.add_mutually_exclusive_group()
    where.add_argument("--out", help="write the Markdown file here (a file or a folder; default: stdout)")
    where.add_argument("--add", action="store_true", help="add it to the corpus (changing it) and update the index")
    ingest.add_argument("--replace", action="store_true", help="with --add: replace a release of the same id")
    ingest.set_defaults(func=cmd_ingest)

    fol = with_corpus(sub.add_parser("follow", help="follow a company in the terminal (irbot alerts shows its new "
                                                    "releases); without one, list what you follow"))
    fol.add_argument("company", nargs="*", metavar="COMPANY", help="a ticker or a name")
    fol.add_argument("--remove", action="store_true", help="stop following it")
    fol.add_argument("--state", help="the state database (default: $IRBOT_STATE, as irbot run uses it)")
    fol.set_defaults(func=cmd_follow)
    alerts = with_corpus(sub.add_parser("alerts", help="the new releases of the companies you follow"))
    alerts.add_argument("--state", help="the state database (default: $IRBOT_STATE, as irbot run uses it)")
    alerts.set_defaults(func=cmd_alerts)

    rep = sub.add_parser("report", help="the questions the releases did not answer and the answers marked 👎, "
                                        "by company (from the bot's state database)")
    rep.add_argument("--since", metavar="YYYY-MM-DD", help="from this day on (default: the last 30 days)")
    rep.add_argument("--state", help="the state database (default: $IRBOT_STATE, as irbot run uses it)")
    fmt = rep.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    rep.set_defaults(func=cmd_report)

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
