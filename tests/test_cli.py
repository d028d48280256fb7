"""The command line through a real subprocess (`python -m bot ...`): the card's question, `--json`, the
`--jsonl` batch contract that ../shared/eval/evaluate.py drives, corpus errors, the cache, and the pinned
dependencies CI installs."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from importlib import metadata
from pathlib import Path

import pytest

from conftest import (FIXTURE_CORPUS, FSN, FSN_REASONS, FSN_TRADING, GEOVAX, NAUTICUS, ROOT, SHIPPED_CORPUS,
                      contains_any, jsonl, run_bot)

SEED_TEXT = (SHIPPED_CORPUS / f"{FSN}.md").read_text(encoding="utf-8")


def answers(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


# --- irbot ask ---------------------------------------------------------------------------------------------------

def test_ask_prints_the_verbatim_sentence_and_one_citation_line():
    done = run_bot(["ask", "why is FSN delisting?"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2
    quote = lines[0].strip("“”")
    assert quote in SEED_TEXT and contains_any(quote, FSN_REASONS), quote
    citation = lines[1]
    for part in ("Fusion", "FSN", "Fusion Notifies NYSE Amex", "2009-05-29", "PR Newswire",
                 "http://www.fusiontel.com/"):
        assert part in citation


def test_ask_json_is_one_object_with_the_citation():
    done = run_bot(["ask", "--json", "why", "is", "FSN", "delisting?"])
    assert done.returncode == 0, done.stderr
    a = json.loads(done.stdout)
    assert a["answered"] is True and a["quote"] in SEED_TEXT
    assert set(a["source"]) >= {"id", "title", "company", "ticker", "exchange", "date", "publisher", "url"}
    assert a["source"]["id"] == FSN


def test_ask_without_a_question_says_how_to_ask():
    done = run_bot(["ask"])
    assert done.returncode != 0
    assert "irbot ask" in done.stderr and done.stdout == ""


def test_the_corpus_can_come_from_the_environment():
    done = run_bot(["ask", "--json", "KITT reverse split ratio?"], env={"IRBOT_CORPUS": str(FIXTURE_CORPUS)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["source"]["id"] == NAUTICUS


def test_chat_holds_a_conversation_and_ends_on_end_of_input():
    stdin = "KITT reverse split ratio?\nwhen does it take effect?\n/new\n\nwhy is FSN delisting?\n"
    done = run_bot(["chat", "--corpus", str(FIXTURE_CORPUS)], stdin=stdin)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "1-for-9" in out and "September 05, 2025" in out   # the follow-up was answered from Nauticus' release
    assert "new conversation" in out
    assert contains_any(out, FSN_REASONS)


def test_chat_commands_list_sources_and_help_and_an_unknown_one_is_not_a_question():
    done = run_bot(["chat", "--corpus", str(FIXTURE_CORPUS)],
                   stdin="/sources\n/sources fsn\n/help\n/foo\nwhy is FSN delisting?\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("irbot: 5 releases. ")
    assert "5 companies, 5 releases:" in out and "  GeoVax Labs Inc. (1)" in out
    assert '1 release:\n  Fusion (NYSE Amex: FSN), "Fusion Notifies NYSE Amex' in out
    assert "/sources COMPANY" in out and "Ctrl-D" in out                 # /help lists the commands
    assert "unknown command /foo: /help says what there is" in out
    assert out.count("“") == 1 and contains_any(out, FSN_REASONS)  # only the question was answered
    assert "> " not in out, "no prompt is printed when the questions come from a pipe"


def test_one_release_is_one_release():
    done = run_bot(["chat", "--corpus", str(SHIPPED_CORPUS)], stdin="")
    assert done.stdout.startswith("irbot: 1 release. ")  # not "1 releases"


def test_ask_without_a_question_says_so_before_loading_any_corpus(tmp_path):
    done = run_bot(["ask", "--corpus", str(tmp_path / "no such corpus"), "  "])
    assert done.returncode == 2
    assert "ask needs a question" in done.stderr and "no such corpus" not in done.stderr


def test_every_command_reads_dotenv_in_its_directory_and_the_environment_wins(tmp_path, fixture_index):
    from bot.answer import Answerer
    (tmp_path / ".env").write_text(f"IRBOT_CORPUS={FIXTURE_CORPUS}\nIRBOT_READER=off\n")
    env = {k: v for k, v in os.environ.items() if k not in ("IRBOT_CORPUS", "IRBOT_READER")}

    def ask(question, **extra):
        return subprocess.run([sys.executable, "-m", "bot", "ask", "--json", question], capture_output=True,
                              text=True, cwd=tmp_path, env={**env, **extra}, timeout=120)
    from_dotenv = ask("KITT reverse split ratio?")
    assert from_dotenv.returncode == 0, from_dotenv.stderr
    assert json.loads(from_dotenv.stdout)["source"]["id"] == NAUTICUS  # the corpus .env names
    by_rules = Answerer(fixture_index, reader=None).ask("c", "KITT reverse split ratio?").score
    assert by_rules != Answerer(fixture_index).ask("c", "KITT reverse split ratio?").score
    assert json.loads(from_dotenv.stdout)["score"] == by_rules  # IRBOT_READER=off, from .env
    from_environment = ask("why is FSN delisting?", IRBOT_CORPUS=str(SHIPPED_CORPUS))
    assert json.loads(from_environment.stdout)["source"]["id"] == FSN


def test_a_file_that_is_not_a_release_is_refused_as_a_corpus(tmp_path):
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    done = run_bot(["ask", "--corpus", str(passwd), "who is root?"])
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"irbot: {passwd}: not a release file")


def test_version_is_the_packages_own():
    from bot import __version__
    done = run_bot(["--version"])
    assert done.returncode == 0 and done.stdout.strip() == f"irbot {__version__}"


# --- irbot ask --jsonl -------------------------------------------------------------------------------------------

def test_jsonl_one_answer_per_line_in_order_with_separate_contexts():
    """Two conversations interleaved, as evaluate.py sends them: each follow-up leans on its own conversation."""
    requests = [
        {"conv": "a", "text": "KITT reverse split ratio?"},
        {"conv": "b", "text": "when does GeoVax's reverse split take effect?"},
        {"conv": "c", "text": "why is FSN delisting?"},
        {"conv": "a", "text": "when does it take effect?"},
        {"conv": "c", "text": "where will it trade?"},
        {"conv": "b", "text": "and the ratio?"},
    ]
    done = run_bot(["ask", "--jsonl", "--corpus", str(FIXTURE_CORPUS)], stdin=jsonl(requests))
    assert done.returncode == 0, done.stderr
    out = answers(done.stdout)
    assert [o["conv"] for o in out] == [r["conv"] for r in requests]
    sources = [o["source"]["id"] if o["source"] else None for o in out]
    assert sources == [NAUTICUS, GEOVAX, FSN, NAUTICUS, FSN, GEOVAX]
    assert "September 05, 2025" in out[3]["quote"]  # "it" is alice's Nauticus split, not bob's GeoVax one
    assert contains_any(out[4]["quote"], FSN_TRADING)
    for o in out:
        assert set(o) >= {"conv", "answered", "quote", "source", "score"}
        assert set(o["source"]) >= {"id", "title", "company", "ticker", "exchange", "date", "publisher", "url"}


def test_jsonl_a_bad_line_gets_an_error_object_and_the_run_goes_on():
    lines = [
        json.dumps({"conv": "a", "text": "why is FSN delisting?"}),
        "this is not JSON",
        "[1, 2, 3]",
        json.dumps({"conv": "b"}),
        json.dumps({"conv": "c", "text": 42}),
        json.dumps({"conv": "d", "text": "   "}),
        json.dumps({"conv": "a", "text": "where will it trade?"}),
    ]
    done = run_bot(["ask", "--jsonl"], stdin=jsonl(lines))
    assert done.returncode == 0, done.stderr
    out = answers(done.stdout)
    assert len(out) == len(lines)
    assert [("error" in o) for o in out] == [False, True, True, True, True, True, False]
    for n, o in enumerate(out, 1):
        if "error" in o:
            assert o["answered"] is False and o["quote"] is None
            assert f"line {n}" in o["error"]
    assert [o["conv"] for o in out[3:6]] == ["b", "c", "d"]    # the error says which conversation it was
    assert out[-1]["source"]["id"] == FSN and contains_any(out[-1]["quote"], FSN_TRADING)


def test_jsonl_a_blank_line_is_answered_too():
    """'One JSON line out per line in': a blank line is a (bad) line in, and gets its error object."""
    stdin = jsonl([{"conv": "a", "text": "why is FSN delisting?"}, "", {"conv": "a", "text": "where will it trade?"}])
    out = answers(run_bot(["ask", "--jsonl"], stdin=stdin).stdout)
    assert len(out) == 3 and "error" in out[1] and out[2]["answered"]


def test_jsonl_undecodable_input_is_an_error_line_not_a_crash():
    stdin = (json.dumps({"conv": "a", "text": "why is FSN delisting?"}).encode() + b"\n"
             + b'{"conv": "x", "text": "caf\xe9 \xff"}\n'
             + json.dumps({"conv": "a", "text": "where will it trade?"}).encode() + b"\n")
    done = subprocess.run([sys.executable, "-m", "bot", "ask", "--jsonl"], input=stdin, capture_output=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    out = answers(done.stdout.decode("utf-8"))
    assert len(out) == 3
    assert out[0]["answered"] and out[2]["answered"]
    assert not out[1]["answered"] and out[1]["quote"] is None


def test_jsonl_conversation_ids_keep_their_json_type():
    """1 and "1" are different conversations, and each answer carries back the id exactly as sent."""
    requests = [{"conv": 1, "text": "KITT reverse split ratio?"},
                {"conv": "1", "text": "when does GeoVax's reverse split take effect?"},
                {"conv": 1, "text": "when does it take effect?"}]
    done = run_bot(["ask", "--jsonl", "--corpus", str(FIXTURE_CORPUS)], stdin=jsonl(requests))
    out = answers(done.stdout)
    assert [o["conv"] for o in out] == [1, "1", 1]
    assert out[2]["source"]["id"] == NAUTICUS


def test_jsonl_answers_are_flushed_line_by_line():
    """Each answer comes out before the next question goes in: a driver can hold a conversation with it."""
    proc = subprocess.Popen([sys.executable, "-m", "bot", "ask", "--jsonl"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        for question in ("why is FSN delisting?", "where will it trade?"):
            proc.stdin.write(json.dumps({"conv": "live", "text": question}) + "\n")
            proc.stdin.flush()
            got: list[str] = []
            reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
            reader.start()
            reader.join(timeout=120)    # a guard against hanging, not a timing assertion
            assert got and got[0], f"no answer while stdin is still open ({question!r})"
            answer = json.loads(got[0])
            assert answer["conv"] == "live" and answer["answered"]
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- corpus problems and the cache through the CLI ----------------------------------------------------------------

def test_skipped_files_are_reported_and_the_rest_answers(tmp_path):
    shutil.copy(SHIPPED_CORPUS / f"{FSN}.md", tmp_path)
    (tmp_path / "broken.md").write_text("---\nid: x\ndate: 2009-02-30\n---\nText.\n", encoding="utf-8")
    done = run_bot(["ask", "--corpus", str(tmp_path), "why is FSN delisting?"])
    assert done.returncode == 0, done.stderr
    assert "broken.md line 3: date:" in done.stderr
    assert contains_any(done.stdout, FSN_REASONS)


def test_a_corpus_with_nothing_loadable_exits_non_zero_with_the_reason(tmp_path):
    (tmp_path / "broken.md").write_text('---\nid: x\ntitle: "open\n---\nText.\n', encoding="utf-8")
    for command in (["ask", "why?"], ["index"], ["ask", "--jsonl"]):
        done = run_bot([*command, "--corpus", str(tmp_path)], stdin="")
        assert done.returncode != 0
        assert "broken.md" in done.stderr and "YAML" in done.stderr
        assert "Traceback" not in done.stderr
    missing = run_bot(["index", "--corpus", str(tmp_path / "nowhere")])
    assert missing.returncode != 0 and "nowhere" in missing.stderr and "Traceback" not in missing.stderr


def test_index_says_what_it_holds_and_the_second_start_is_from_the_cache(tmp_path):
    corpus = shutil.copytree(FIXTURE_CORPUS, tmp_path / "corpus")
    env = {"IRBOT_CACHE": str(tmp_path / "cache")}
    first = run_bot(["index", "--json", "--corpus", str(corpus)], env=env)
    second = run_bot(["index", "--json", "--corpus", str(corpus)], env=env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert (a["from_cache"], b["from_cache"]) == (False, True)
    assert a["releases"] == b["releases"] == 5 and a["companies"] >= 4
    assert a["sentences"] > a["passages"] > 0
    assert any((tmp_path / "cache").iterdir())

    (corpus / "nauticus-robotics-2025-09-02.md").unlink()
    third = json.loads(run_bot(["index", "--json", "--corpus", str(corpus)], env=env).stdout)
    assert third["from_cache"] is False and third["releases"] == 4


# --- pinned dependencies -------------------------------------------------------------------------------------------

def _requirements(dist: str, extras: set[str]) -> set[str]:
    """The distributions `dist` (with `extras`) requires on this platform, as 'name' or 'name[extra]'."""
    from packaging.requirements import Requirement
    found = set()
    for spec in metadata.requires(dist) or []:
        req = Requirement(spec)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
            found |= {req.name} | {f"{req.name}[{extra}]" for extra in req.extras}
    return found


def _installed_closure() -> dict[str, str]:
    """Every distribution `pip install -e ".[test]"` installs here, with its installed version."""
    from packaging.utils import canonicalize_name
    seen: dict[str, str] = {}
    done: set[str] = set()
    todo = list(_requirements("irbot", {"test"}))
    while todo:
        spec = todo.pop()
        if spec in done:
            continue
        done.add(spec)
        name, _, extra = spec.partition("[")
        try:
            seen[canonicalize_name(name)] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        todo += _requirements(name, {extra.rstrip("]")} if extra else set())
    return seen


@pytest.mark.skipif(not os.environ.get("IRBOT_CONSTRAINED"),
                    reason="this environment was not installed with constraints.txt (.ci/run sets IRBOT_CONSTRAINED=1)")
def test_constraints_pin_every_installed_dependency_at_the_installed_version():
    """CI installs from constraints.txt; what runs must be exactly what was tested."""
    from packaging.utils import canonicalize_name
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"pip install -c constraints\.txt -e \"\.\[test\]\"", ci)
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"not an exact pin: {line}"
            pins[canonicalize_name(name)] = version.strip()
    installed = _installed_closure()
    assert "python-telegram-bot" in installed and "pytest" in installed   # the walk found the tree
    missing = sorted(set(installed) - set(pins))
    assert not missing, f"installed but not pinned in constraints.txt: {missing}"
    differ = {n: (pins[n], v) for n, v in installed.items() if pins[n] != v}
    assert not differ, f"constraints.txt pins differ from what is installed (pinned, installed): {differ}"


def test_irbot_and_python_m_bot_are_the_same_command():
    irbot = shutil.which("irbot", path=str(Path(sys.executable).parent))
    if irbot is None:
        pytest.skip("the irbot console script is not installed next to this Python")
    a = subprocess.run([irbot, "ask", "--json", "why is FSN delisting?"], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    b = run_bot(["ask", "--json", "why is FSN delisting?"])
    assert a.returncode == b.returncode == 0
    assert json.loads(a.stdout)["quote"] == json.loads(b.stdout)["quote"]


@pytest.mark.parametrize("setting, value", [("IRBOT_READER", "maybe"), ("IRBOT_LOG_LEVEL", "loud")])
def test_a_setting_that_means_nothing_is_a_one_line_error_not_ignored(setting, value):
    done = run_bot(["ask", "--corpus", str(SHIPPED_CORPUS), "why is FSN delisting?"], env={setting: value})
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and setting in done.stderr and repr(value) in done.stderr.lower()


def test_an_empty_log_level_is_the_default():
    done = run_bot(["ask", "--corpus", str(SHIPPED_CORPUS), "why is FSN delisting?"], env={"IRBOT_LOG_LEVEL": ""})
    assert done.returncode == 0 and contains_any(done.stdout, FSN_REASONS)
