"""The commands that change a corpus: `irbot add`, `irbot remove`, `irbot ingest` (the work is bot.manage's;
this is what they print and which corpus they may change)."""
from __future__ import annotations

import sys
from pathlib import Path

from .index import open_index
from .render import count
from .settings import SHIPPED_CORPUS


def load(corpus: str, progress: bool | None = None):
    """The index for `corpus`, reporting every file it had to skip on stderr."""
    if progress is None:
        progress = sys.stderr.isatty()
    loaded = open_index(corpus, progress=progress)
    for problem in loaded.problems:
        print(f"irbot: skipped {problem}", file=sys.stderr)
    return loaded


def add_corpus_commands(sub, changing_corpus) -> None:
    """Their subcommands, on the parser's `sub`; `changing_corpus(p)` gives one its --corpus."""
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
