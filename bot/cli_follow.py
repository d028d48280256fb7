"""The terminal's following and reporting: `irbot follow`, `irbot alerts` (a local user's follows, kept in the
bot's state database under their own chat id) and `irbot report` (what investors asked that the releases did not
answer, and the answers they marked 👎)."""
from __future__ import annotations

import sys
from pathlib import Path

from .cli_corpus import load


def add_follow_commands(sub, with_corpus) -> None:
    """Their subcommands, on the parser's `sub`; `with_corpus(p)` gives one its --corpus."""
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


LOCAL_CHAT = "terminal"  # the chat id under which the terminal's user follows companies in the state database


def _state_store(args):
    """The bot's state database (--state, or IRBOT_STATE as irbot run uses it), made if missing; None when it
    cannot be opened, said on stderr."""
    from .conversation import StateError
    from .settings import SettingsError, load_settings
    from .store import open_store
    try:
        return open_store(args.state or load_settings().irbot_state)
    except (SettingsError, StateError) as e:
        print(f"irbot: {e}", file=sys.stderr)
        return None


def cmd_follow(args) -> int:
    """Follow a company in the terminal (alerts then show its new releases), stop, or list what is followed."""
    from . import follow
    if (store := _state_store(args)) is None:
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
    from .render import citation_line
    if (store := _state_store(args)) is None:
        return 2
    try:
        if not store.following(LOCAL_CHAT):
            print("You follow no company: irbot follow COMPANY")
            return 0
        index = load(args.corpus).index
        follow.queue_new_releases(store, index)
        alerts = follow.owed(store, index, LOCAL_CHAT)
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
    from .conversation import StateError
    from .store import open_store
    from .settings import SettingsError, load_settings
    try:
        since = dt.date.fromisoformat(args.since) if args.since else dt.date.today() - dt.timedelta(days=30)
    except ValueError:
        print(f"irbot: --since {args.since!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    try:
        state = str(args.state or load_settings().irbot_state)
    except SettingsError as e:
        print(f"irbot: {e}", file=sys.stderr)
        return 2
    if "://" not in state and not Path(state).is_file():
        print(f"irbot: {state}: no state database (irbot run writes it; IRBOT_STATE or --state says where)",
              file=sys.stderr)
        return 2
    try:
        store = open_store(state, keep_days=float("inf"))
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
