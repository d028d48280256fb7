"""`irbot report`: what the releases did not answer and the answers marked 👎, by company, most asked first,
from a real state database written by the answering core."""
from __future__ import annotations

import csv
import io
import json

from bot import cli
from bot.answer import Answerer
from bot.conversation import SQLiteStore

from conftest import FSN


def test_report_counts_unanswered_questions_and_thumbs_down_by_company(fixture_index, tmp_path, capsys):
    state = tmp_path / "state.sqlite3"
    store = SQLiteStore(state)
    bot = Answerer(fixture_index, store)
    for conv, q in [("a", "what was Fusion's revenue last year?"), ("b", "What was Fusion's revenue last year"),
                    ("c", "what was fusion's  revenue last year?"), ("d", "how many employees does Fusion have?"),
                    ("e", "what did Acme Rockets announce?")]:
        assert not bot.ask(conv, q).answered
    assert not bot.ask("f", "should I sell FSN?").answered          # advice declined: not a gap in the releases
    assert not bot.ask("g", "👍").answered                           # no words: not a question
    good = bot.ask("h", "why is FSN delisting?")
    assert good.answered
    for user, vote in [("u1", -1), ("u2", 1), ("u1", -1), ("u3", -1)]:  # u1 pressed twice: one vote
        store.vote("answer-1", user, vote, good.question, good.source.company, good.source.id, good.quote)
    store.vote("answer-1", "u2", -1, good.question, good.source.company, good.source.id, good.quote)  # changed
    store.close()

    assert cli.main(["report", "--state", str(state)]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines.index("Fusion: 4 unanswered, 3 marked 👎") < lines.index("Acme Rockets: 1 unanswered")
    fusion = lines[lines.index("Fusion: 4 unanswered, 3 marked 👎") + 1:]
    assert fusion[0] == "  3× what was Fusion's revenue last year?"        # the same question, counted once
    assert fusion[1] == "  1× how many employees does Fusion have?"
    assert fusion[2].startswith(f"  👎 3× why is FSN delisting? → “") and fusion[2].endswith(f"({FSN})")
    assert "sell" not in text and "👍 " not in text

    assert cli.main(["report", "--state", str(state), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_company = {c["company"]: c for c in data["companies"]}
    assert by_company["Fusion"]["disliked"][0]["quote"] == good.quote
    assert [u["count"] for u in by_company["Fusion"]["unanswered"]] == [3, 1]

    assert cli.main(["report", "--state", str(state), "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {(r["company"], r["kind"], r["count"]) for r in rows} >= {("Fusion", "unanswered", "3"),
                                                                   ("Fusion", "disliked", "3")}

    assert cli.main(["report", "--state", str(state), "--since", "2999-01-01"]) == 0
    assert "no question went unanswered" in capsys.readouterr().out


def test_report_without_a_state_database_says_where_it_looked(tmp_path, capsys):
    missing = tmp_path / "nope.sqlite3"
    assert cli.main(["report", "--state", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(missing) in err and not missing.exists()
    assert cli.main(["report", "--state", str(missing), "--since", "last week"]) == 2
    assert "not a date" in capsys.readouterr().err
