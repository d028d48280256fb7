"""The command line: `irbot ask`, `irbot chat`, `irbot index` (and `irbot run` for Telegram)."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from .answer import Answer, Answerer, citation_line
from .corpus import CorpusError
from .index import open_index

SHIPPED_CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def default_corpus() -> str:
    return os.environ.get("IRBOT_CORPUS") or str(SHIPPED_CORPUS)


def load(corpus: str, progress: bool | None = None):
    """The index for `corpus`, reporting every file it had to skip on stderr."""
    if progress is None:
        progress = sys.stderr.isatty()
    loaded = open_index(corpus, progress=progress)
    for problem in loaded.problems:
        print(f"irbot: skipped {problem}", file=sys.stderr)
    return loaded


def render_text(a: Answer) -> str:
    if not a.answered:
        lines = [a.message]
        if a.related:
            lines.append("Related releases:")
            lines += [f"  - {citation_line(c)}" for c in a.related]
        return "\n".join(lines)
    return f"“{a.quote}”\n— {citation_line(a.source)}"


def answer_json(conv, a: Answer) -> dict:
    out = {"conv": conv, "answered": a.answered, "quote": a.quote,
           "source": a.source.model_dump() if a.source else None, "score": a.score}
    out.update(a.model_dump(include={"message", "context_before", "context_after", "alternatives", "related"}))
    return out


def cmd_ask(args) -> int:
    loaded = load(args.corpus)
    answerer = Answerer(loaded.index)
    if args.jsonl:
        return ask_jsonl(answerer, sys.stdin, sys.stdout)
    question = " ".join(args.question).strip()
    if not question:
        print("irbot: ask needs a question, e.g. irbot ask \"why is FSN delisting?\"", file=sys.stderr)
        return 2
    a = answerer.ask("cli", question)
    print(json.dumps(answer_json(None, a), ensure_ascii=False) if args.json else render_text(a))
    return 0


def ask_jsonl(answerer: Answerer, stdin, stdout) -> int:
    """The batch contract: one JSON line in, one JSON line out, flushed, in order; bad lines get an error."""
    for n, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        conv = None
        try:
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


def cmd_chat(args) -> int:
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    loaded = load(args.corpus)
    answerer = Answerer(loaded.index)
    print(f"irbot: {len(loaded.index.releases)} releases. Ask a question; /new forgets the context; Ctrl-D quits.")
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
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
        print(render_text(answerer.ask("chat", question)) + "\n")


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="irbot", description="Answers investors' questions from press releases.")
    sub = parser.add_subparsers(dest="command", required=True)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("IRBOT_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CorpusError as e:
        print(f"irbot: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
