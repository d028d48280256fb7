"""Whatever a user types, answering never raises and every quote is verbatim; and what a user types never
makes the bot open a file outside its corpus.

Property tests run on the small fixture corpus with a modest number of examples, so they stay fast."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import sentences
from bot.answer import Answerer, answer
from bot.render import render_text
from bot.conversation import Context, SQLiteStore
from conftest import FIXTURE_CORPUS, ROOT, jsonl

PROPERTY = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# The inputs issue 6 names, written out so each one is always tried, not left to chance.
NASTY = [
    "", " ", "\t\n  \r\n", "?", "a", "x" * 10_000, "why " * 2_500,
    "📈📉🚀💰", "🚀 FSN 🚀 delisting?? 🙏🏽👨‍👩‍👧",
    "لماذا يتم شطب أسهم FSN؟", "למה FSN נמחקת מהמסחר?", "\u202eFSN delisting why\u202c",
    "why\u200bis\u200cFSN\u200ddelisting\ufeff?", "why is FSN \x00delisting\x07?\x1b[31m", "\x7f\x85\u2028\u2029",
    "<b>why is FSN delisting?</b>", "</blockquote><script>alert(1)</script>", "*_[why](http://x) `FSN` ~~delist~~",
    "[a](javascript:alert(1)) **bold** __u__ ||spoiler||", "&lt;b&gt; &amp; &#x27;",
    "Warum wird FSN von der Börse genommen?", "Pourquoi FSN quitte-t-elle la bourse ?", "为什么FSN要退市？",
    "Почему FSN уходит с биржи?", "FSNの上場廃止の理由は？", "Nauticus’ réverse split ratio?", "ǅ ǈ ß ﬁ İ ı",
    "%s %d {0} {question} \\N{BULLET} $(rm -rf /) `id` ; DROP TABLE contexts; --",
    "../../etc/passwd", "/etc/shadow", "file:///etc/hosts", "~/.ssh/id_rsa", "C:\\Windows\\win.ini",
    "\ud800", "what about it?", "and when?", "it", "FSN", "fsn fsn fsn fsn", "KITT GOVX SBEV FSN SNWV",
]

questions = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    st.lists(st.sampled_from(["why", "is", "FSN", "Nauticus", "split", "it", "delisting", "where", "trade",
                              "GeoVax", "SNWV", "$", "?", "\u200b", "📈", "<b>", "when", "effective", "the", "ratio"]),
             max_size=12).map(" ".join),
)


def assert_sound(index, a, own_context: bool = True) -> None:
    """The answer is well-formed: a quote only with a source, and every shown sentence verbatim."""
    if a.answered:
        assert a.quote and a.source is not None
        text = index.releases[index.by_id[a.source.id]].text
        assert a.quote in text
        for sentence in a.context_before + a.context_after:
            assert sentence in text
    else:
        assert a.quote is None
    for alt in a.alternatives:
        assert alt.quote in index.releases[index.by_id[alt.source.id]].text
    assert len(a.related) <= 3
    if own_context:  # a context the bot made itself only ever points at releases it has
        assert a.context.release_id is None or a.context.release_id in index.by_id
    json.dumps(a.model_dump(mode="json"))     # it serialises, so --jsonl and Telegram can send it
    assert render_text(a)                     # and the terminal shows it


@pytest.mark.parametrize("question", NASTY, ids=range(len(NASTY)))
def test_nasty_questions_get_a_sound_answer(fixture_index, question):
    assert_sound(fixture_index, answer(fixture_index, question))


@PROPERTY
@given(question=questions)
def test_any_question_is_answered_soundly(fixture_index, question):
    assert_sound(fixture_index, answer(fixture_index, question))


@PROPERTY
@given(turns=st.lists(questions, min_size=1, max_size=5))
def test_any_conversation_is_answered_soundly(fixture_index, turns):
    """Follow-ups lean on whatever came before, including nonsense: still never an exception."""
    bot = Answerer(fixture_index)
    for question in turns:
        assert_sound(fixture_index, bot.ask("conv", question))


@settings(PROPERTY, max_examples=30)
@given(question=questions, release_id=st.one_of(st.none(), st.text(max_size=40),
                                                st.sampled_from(["fusion-fsn-2009-05-29", "../../etc/passwd"])),
       terms=st.lists(st.text(max_size=20), max_size=5))
def test_a_stale_or_foreign_context_is_harmless(fixture_index, question, release_id, terms):
    """A context from another corpus (a restarted bot, a changed corpus) names releases that are not there."""
    context = Context(release_id=release_id, company="Nobody Inc.", terms=terms)
    assert_sound(fixture_index, answer(fixture_index, question, context), own_context=False)


release_like = st.lists(st.one_of(
    st.sampled_from(["Inc.", "Corp.", "U.S.", "No.", "a)", "b)", "e.g.,", "a.m.", "$1.5", "million.", "(NYSE Amex: FSN)",
                     "http://www.fusiontel.com/", "ir@x.com", "\n", "\n\n", ".", "?", "!", "\"", "“", "”", "The",
                     "Company", "said", "shares", ";", "  ", "\u200b", "-", "•", "|", "```"]),
    st.text(max_size=12)), max_size=120).map(" ".join)


@PROPERTY
@given(text=st.one_of(release_like, st.text(max_size=400)))
def test_any_text_splits_into_verbatim_sentences(text):
    """Whatever a release holds, its sentences are in-order, non-overlapping, trimmed spans of it."""
    from bot import text as tx
    previous_end = 0
    for s, e in tx.sentence_spans(text):
        assert previous_end <= s < e <= len(text)
        assert not text[s].isspace() and not text[e - 1].isspace()
        previous_end = e


@pytest.mark.skipif(sentences._sentences is None, reason="bot._sentences is not built (no C compiler at install)")
@PROPERTY
@given(text=st.one_of(release_like, st.text(max_size=400)))
def test_compiled_and_python_splitters_agree(text):
    """bot/_sentences.c finds the sentences sentences.py finds, whatever the text."""
    assert sentences._sentences.raw_spans(text) == sentences.python_raw_spans(text)


def test_a_batch_of_nasty_lines_through_the_cli():
    """The same inputs through `--jsonl`: one answer line per request line, in order, and the run survives."""
    requests = [{"conv": f"n{i}", "text": q} for i, q in enumerate(NASTY) if q.strip() and q != "\ud800"]
    stdin = jsonl(requests)
    done = subprocess.run([sys.executable, "-m", "bot", "ask", "--jsonl", "--corpus", str(FIXTURE_CORPUS)],
                          input=stdin.encode("utf-8", "surrogatepass"), capture_output=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    out = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert [o["conv"] for o in out] == [r["conv"] for r in requests]


# --- no file is read because of what a user typed -------------------------------------------------------------------

PROBE = "irbot-probe-5f1c"
PATHLIKE = [f"../../../../tmp/{PROBE}", f"/tmp/{PROBE}", f"file:///tmp/{PROBE}", f"~/{PROBE}",
            f"../../etc/passwd {PROBE}", f"{PROBE}/../../../etc/shadow", f"\\\\server\\share\\{PROBE}"]
_opened: list[str] = []
_recording = threading.Event()


def _audit(event: str, args) -> None:
    if _recording.is_set() and event in ("open", "os.listdir", "os.scandir", "glob.glob", "shutil.copyfile",
                                         "sqlite3.connect", "os.remove", "os.rename"):
        _opened.append(f"{event} {args[0]!r}" if args else event)


_hooked: list[bool] = []


@contextmanager
def file_access():
    """Record every file the process opens or lists inside the block. (An audit hook cannot be removed: it is
    installed on first use, and does nothing outside these blocks.)"""
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked.append(True)
    _opened.clear()
    _recording.set()
    try:
        yield _opened
    finally:
        _recording.clear()


def test_the_audit_hook_sees_file_access(tmp_path):
    """So that the next test proves something: an open() inside the block is recorded."""
    (tmp_path / PROBE).write_text("secret\n")
    with file_access() as seen:
        (tmp_path / PROBE).read_text()
    assert any(PROBE in f for f in seen)


def test_path_like_questions_and_conversation_ids_open_no_file(fixture_index, tmp_path):
    (tmp_path / PROBE).write_text("secret\n")
    bot = Answerer(fixture_index)
    with file_access() as seen:
        for text in PATHLIKE:
            for conv in (text, f"../{PROBE}", f"/tmp/{PROBE}.db"):
                assert_sound(fixture_index, bot.ask(conv, text))
                bot.ask(conv, "and where will it trade?")
    assert not [f for f in seen if PROBE in f or "passwd" in f or "shadow" in f], seen


def test_conversation_ids_are_keys_not_file_names(tmp_path):
    """The durable store keeps every conversation in its one database file, whatever the id looks like."""
    state = tmp_path / "state" / "irbot.sqlite3"
    store = SQLiteStore(state)
    before = set(state.parent.iterdir())
    ids = [f"../../{PROBE}", f"/tmp/{PROBE}", f"{PROBE}\x00.db", "'; DROP TABLE contexts; --", "💬", ""]
    for n, conv in enumerate(ids):
        store.put(conv, Context(release_id=f"r{n}"))
    assert [store.get(conv).release_id for conv in ids] == [f"r{n}" for n in range(len(ids))]
    store.close()
    created = {p.name for p in set(state.parent.iterdir()) - before}
    assert created <= {"irbot.sqlite3-wal", "irbot.sqlite3-shm"}
    assert not list(tmp_path.glob(f"**/{PROBE}*"))


def test_the_cli_opens_nothing_a_question_names(tmp_path):
    """A real `--jsonl` run with an audit hook: no path a question or conversation id names is ever opened."""
    log = tmp_path / "opened.log"
    script = (
        "import sys\n"
        f"log = open({str(log)!r}, 'w', buffering=1)\n"
        "def hook(event, args):\n"
        "    if event in ('open', 'os.listdir', 'os.scandir', 'sqlite3.connect') and args:\n"
        "        log.write(repr(args[0]) + '\\n')\n"
        "sys.addaudithook(hook)\n"
        "from bot.cli import main\n"
        "sys.exit(main(['ask', '--jsonl', '--corpus', sys.argv[1]]))\n"
    )
    requests = [{"conv": conv, "text": text} for text in PATHLIKE for conv in (text, f"../{PROBE}")]
    done = subprocess.run([sys.executable, "-c", script, str(FIXTURE_CORPUS)], input=jsonl(requests),
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == len(requests)
    opened = log.read_text().splitlines()
    assert opened, "the audit hook saw nothing: the test would prove nothing"
    assert not [p for p in opened if PROBE in p or "passwd" in p or "shadow" in p], opened
