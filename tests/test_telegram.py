"""End to end: the real Application, over real HTTP, against the tests' Bot API server on 127.0.0.1.

Each test plays people in chats and asserts what they would see: the messages, their quotes, links and buttons.
"""
from __future__ import annotations

import logging
import re

import pytest

import bot.telegram_views as front
from bot.inbox import open_inbox
from bot.telegram import ALLOWED_UPDATES, build_application
from bot.webhook import serving
from harness import running
from botapi import USERNAME, age_state, bot_settings, release_text

FSN_TITLE = "Fusion Notifies NYSE Amex of Its Intention to Voluntarily Delist and Deregister"

# python-telegram-bot warns about its own retry_after type while handling a 429; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
def start(api, tmp_path, corpus, index):
    """start(**settings) -> an async context manager running the bot against `api`."""
    def starter(state=None, **overrides):
        settings = bot_settings(api, state or tmp_path / "state.sqlite3", corpus, **overrides)
        return running(build_application(settings, index=index), poll_timeout=2)
    return starter


@pytest.fixture
async def bot(start):
    async with start() as app:
        yield app


@pytest.fixture
def people(api):
    alice, bob = api.person(1001, "Alice"), api.person(1002, "Bob")
    return alice, bob


def assert_is_answer(m, text, ticker=None):
    """A quote in a blockquote, verbatim from a release, then its citation."""
    assert len(m.blockquotes) == 1, m.text
    quote = m.blockquotes[0]
    assert quote in text.replace("\n\n", " ").replace("\n", " ") or quote in text
    if ticker:
        assert f"({'NYSE Amex' if ticker == 'FSN' else 'NASDAQ'}: {ticker})" in m.text
    return quote


def assert_lands_on_quote(url: str, source: str, quote: str, release: str) -> None:
    """The link is the source with a text fragment whose start and end, decoded, bound the quote in the release."""
    from urllib.parse import unquote
    assert url.startswith(source + "#:~:text=")
    parts = [unquote(p) for p in url.split(":~:text=", 1)[1].split(",")]
    words = " ".join(quote.split())
    assert words.startswith(parts[0]) and words.endswith(parts[-1]), (parts, quote)
    flat = " ".join(release.split())
    assert parts[0] in flat and parts[-1] in flat[flat.index(parts[0]):]


def assert_no_bot_message_between(api, chat, first, last):
    between = [m for m in api.bot_messages(chat, first) if m.message_id < last.message_id]
    assert not between, [m.text for m in between]


# --- private chats ------------------------------------------------------------------------------------------

async def test_private_question_is_answered_with_quote_citation_and_buttons(api, bot, people, corpus):
    alice = people[0]
    chat = api.private_chat(alice)
    asked = await api.say(alice, chat, "why is FSN delisting?")
    m = await api.reply(chat, asked)
    assert_is_answer(m, release_text(corpus), "FSN")
    # the title links to the release's source, opened at the quote; date and publisher follow
    (url,) = [u for t, u in m.links if t == FSN_TITLE]
    assert_lands_on_quote(url, "http://www.fusiontel.com/", m.blockquotes[0], release_text(corpus))
    assert "2009-05-29" in m.text and "PR Newswire" in m.text
    assert m.labels == ["More", "Context", "👍", "👎", "Share"]
    assert m.button("Share")["switch_inline_query"] == "why is FSN delisting?"
    assert all(len(b["callback_data"].encode()) <= 64 for row in m.buttons for b in row if "callback_data" in b)
    assert not api.errors


async def test_a_typing_slip_is_answered_and_the_reply_says_how_it_was_read(api, bot, people, corpus):
    alice = people[0]
    chat = api.private_chat(alice)
    m = await api.reply(chat, await api.say(alice, chat, "why is FSN delsiting?"))
    assert_is_answer(m, release_text(corpus), "FSN")
    assert "(read “delsiting” as “delisting”)" in m.text
    assert m.button("Share")["switch_inline_query"] == "why is FSN delsiting?"   # shared as asked
    assert not api.errors


async def test_follow_up_leans_on_the_last_answer_and_new_forgets_it(api, bot, people):
    alice = people[0]
    chat = api.private_chat(alice)
    first = await api.reply(chat, await api.say(alice, chat, "why is FSN delisting?"))
    follow = await api.reply(chat, await api.say(alice, chat, "who is the CEO?"))
    assert "(NYSE Amex: FSN)" in follow.text and "Matthew Rosen" in follow.blockquotes[0]
    done = await api.reply(chat, await api.say(alice, chat, "/new"))
    assert "forgotten" in done.text
    fresh = await api.reply(chat, await api.say(alice, chat, "who is the CEO?"))
    # without context the same words no longer mean Fusion, nor any one company: both releases name a CEO
    assert "Matthew Rosen" not in fresh.text and "Jane Doe" not in fresh.text
    assert fresh.text.startswith("Which company do you mean?") and "Acme Widgets" in fresh.text
    named = await api.reply(chat, await api.say(alice, chat, "I mean Acme Widgets"))  # the reply names one
    assert "Jane Doe" in named.blockquotes[0]
    assert named.button("Share")["switch_inline_query"] == "who is the CEO? (I mean Acme Widgets)"


async def test_start_offers_example_questions_that_answer(api, bot, people, corpus):
    alice = people[0]
    chat = api.private_chat(alice)
    welcome = await api.reply(chat, await api.say(alice, chat, "/start"))
    assert "press release" in welcome.text
    assert len(welcome.labels) == 3
    qid = await api.press(alice, welcome, welcome.labels[0])
    assert (await api.callback_answer(qid)) is not None
    answer = await api.reply(chat, welcome)
    assert_is_answer(answer, release_text(corpus))


async def test_help_and_sources_paged(api, bot, people, monkeypatch):
    monkeypatch.setattr(front, "SOURCES_PER_PAGE", 1)
    alice = people[0]
    chat = api.private_chat(alice)
    help_ = await api.reply(chat, await api.say(alice, chat, "/help"))
    assert "/ask" in help_.text and f"@{USERNAME}" in help_.text
    sources = await api.reply(chat, await api.say(alice, chat, "/sources"))
    assert "2 companies, 2 releases" in sources.text and "page 1 of 2" in sources.text
    assert "Acme Widgets" in sources.text and "Fusion" not in sources.text
    assert sources.labels == ["Next"]
    qid = await api.press(alice, sources, "Next")
    await api.callback_answer(qid)
    await api.edited(sources)
    assert "page 2 of 2" in sources.text and "Fusion (FSN): 1 release, newest 2009-05-29" in sources.text
    assert FSN_TITLE not in sources.text                  # the companies, not their releases: /sources FSN has those
    assert sources.labels == ["Previous"]


async def test_not_found_says_so_and_lists_related_releases(api, bot, people):
    alice = people[0]
    chat = api.private_chat(alice)
    m = await api.reply(chat, await api.say(alice, chat, "what will Fusion's revenue be next year?"))
    assert m.text.startswith("I couldn't find that in the releases.")
    assert not m.blockquotes and not m.buttons
    m2 = await api.reply(chat, await api.say(alice, chat, "what colour is the sky on Mars?"))
    assert m2.text.startswith("I couldn't find that in the releases.")


async def test_html_in_questions_and_quotes_is_escaped(api, bot, people):
    alice = people[0]
    chat = api.private_chat(alice)
    m = await api.reply(chat, await api.say(alice, chat, "why is FSN <b>delisting</b> & deregistering?"))
    assert m.blockquotes and '"' in m.blockquotes[0] + m.text or m.blockquotes  # parsed as Telegram HTML
    odd = await api.reply(chat, await api.say(alice, chat, "</blockquote><i>*_[`&amp; &lt;"))
    assert odd.text  # the server rejects anything that is not valid Telegram HTML
    assert not api.errors


async def test_photo_in_private_gets_a_hint_and_unknown_command_points_to_help(api, bot, people):
    alice = people[0]
    chat = api.private_chat(alice)
    await api.send_other(alice, chat, "photo", [{"file_id": "x", "file_unique_id": "x", "width": 1, "height": 1}])
    hint = await api.reply(chat)
    assert "text" in hint.text
    unknown = await api.reply(chat, await api.say(alice, chat, "/frobnicate"))
    assert "/help" in unknown.text


# --- buttons ------------------------------------------------------------------------------------------------

async def test_more_shows_the_next_best_quotes_in_place(api, bot, people, corpus):
    alice = people[0]
    chat = api.private_chat(alice)
    m = await api.reply(chat, await api.say(alice, chat, "why is FSN delisting?"))
    best = m.blockquotes[0]
    qid = await api.press(alice, m, "More")
    assert (await api.callback_answer(qid)) is not None
    await api.edited(m)
    assert re.search(r"Next best quote \(2 of \d\)", m.text)
    second = assert_is_answer(m, release_text(corpus), "FSN")
    assert second != best
    assert "Best" in m.labels and "Share" in m.labels
    await api.callback_answer(await api.press(alice, m, "Best"))
    await api.edited(m, 2)
    assert m.blockquotes == [best]
    assert len(api.bot_messages(chat)) == 1  # all of it in the one message


async def test_context_shows_neighbouring_sentences_expandable(api, bot, people, corpus):
    alice = people[0]
    chat = api.private_chat(alice)
    m = await api.reply(chat, await api.say(alice, chat, "why is FSN delisting?"))
    best = m.blockquotes[0]
    await api.callback_answer(await api.press(alice, m, "Context"))
    await api.edited(m)
    assert len(m.expandable) == 1
    around = m.expandable[0]
    assert best in around and len(around) > len(best) + 40
    assert "(NYSE Amex: FSN)" in m.text
    assert m.labels == ["Back", "Share"]


async def test_forged_and_stale_callbacks_get_a_polite_notice(api, bot, people):
    alice = people[0]
    chat = api.private_chat(alice)
    m = await api.reply(chat, await api.say(alice, chat, "why is FSN delisting?"))
    for data in ["m:AAAAAAAAAAAA:1", "hello", "m:" + "x" * 60, "src:abc", "ex:99", "c:AAAAAAAAAAAA:0"]:
        answer = await api.callback_answer(await api.press(alice, m, data=data))
        assert answer.get("text") in (front.EXPIRED, front.UNKNOWN_BUTTON), data
    # a real button still works afterwards
    await api.callback_answer(await api.press(alice, m, "More"))
    await api.edited(m)
    assert not api.errors


# --- edits, restarts ------------------------------------------------------------------------------------------

async def test_edited_question_is_answered_again_by_editing_the_reply(api, bot, people, corpus):
    alice = people[0]
    chat = api.private_chat(alice)
    asked = await api.say(alice, chat, "what colour is the sky on Mars?")
    reply = await api.reply(chat, asked)
    assert reply.text.startswith("I couldn't find")
    await api.edit(asked, "what is Acme acquiring?")
    await api.edited(reply)
    assert_is_answer(reply, release_text(corpus), "ACMW")
    assert len(api.bot_messages(chat)) == 1


async def test_context_survives_a_restart(api, start, people, tmp_path):
    alice = people[0]
    chat = api.private_chat(alice)
    async with start():
        m = await api.reply(chat, await api.say(alice, chat, "why is FSN delisting?"))
    async with start():
        follow = await api.reply(chat, await api.say(alice, chat, "who is the CEO?"))
        assert "Matthew Rosen" in follow.blockquotes[0]
        # and the buttons of the answer given before the restart still work
        await api.callback_answer(await api.press(alice, m, "More"))
        await api.edited(m)
        assert "Next best quote" in m.text



async def test_after_keep_days_an_old_answers_buttons_say_they_expired(api, start, people, tmp_path):
    """Answers given more than IRBOT_KEEP_DAYS ago are forgotten: their buttons say so and the conversation
    starts afresh; an answer given since works as ever."""
    alice = people[0]
    chat = api.private_chat(alice)
    state = tmp_path / "state.sqlite3"
    async with start(irbot_keep_days=7):
        old = await api.reply(chat, await api.say(alice, chat, "why is FSN delisting?"))
    age_state(state, 8)  # eight days pass
    async with start(irbot_keep_days=7):
        assert (await api.callback_answer(await api.press(alice, old, "More"))).get("text") == front.EXPIRED
        follow = await api.reply(chat, await api.say(alice, chat, "who is the CEO?"))
        assert "Matthew Rosen" not in follow.text  # "the CEO" of no company now: the old answer is forgotten
        new = await api.reply(chat, await api.say(alice, chat, "why is FSN delisting?"))
        await api.callback_answer(await api.press(alice, new, "More"))
        await api.edited(new)
        assert "Next best quote" in new.text
    assert not api.errors


# --- groups -----------------------------------------------------------------------------------------------

async def test_group_answers_ask_addressed_to_it_and_ignores_the_rest(api, bot, people, corpus):
    alice, bob = people
    group = api.group(-1001)
    chatter = await api.say(alice, group, "anyone watching FSN today?")
    other_bot = await api.say(bob, group, "/ask@OtherBot why is FSN delisting?")
    asked = await api.say(alice, group, f"/ask@{USERNAME} why is FSN delisting?")
    m = await api.reply(group, chatter)
    assert m.reply_to == asked.message_id  # it replies to the asking message, and to nothing before it
    assert_is_answer(m, release_text(corpus), "FSN")
    plain = await api.reply(group, await api.say(bob, group, "/ask what is Acme acquiring?"))
    assert_is_answer(plain, release_text(corpus), "ACMW")
    assert [x.reply_to for x in api.bot_messages(group)] == [asked.message_id, plain.reply_to]
    assert other_bot.message_id not in [x.reply_to for x in api.bot_messages(group)]
    empty = await api.reply(group, await api.say(bob, group, f"/ask@{USERNAME}"))
    assert "e.g. /ask what is Acme Widgets acquiring?" in empty.text  # an example this corpus answers


async def test_group_reply_to_the_bot_continues_that_answer(api, bot, people):
    alice, bob = people
    group = api.group(-1002)
    question = await api.say(alice, group, "/ask why is FSN delisting?")
    answer = await api.reply(group, question)
    # Bob replies to Alice's answer: he continues *that* conversation (Fusion), not his own
    follow = await api.reply(group, await api.say(bob, group, "who is the CEO?", reply_to=answer))
    assert follow.reply_to != answer.message_id and "Matthew Rosen" in follow.blockquotes[0]
    again = await api.reply(group, await api.say(bob, group, "/ask who is the CEO?", reply_to=answer))
    assert "Matthew Rosen" in again.blockquotes[0]
    # a reply to someone else's message is not for the bot
    ignored = await api.say(bob, group, "who is the CEO?", reply_to=question)
    marker = await api.reply(group, await api.say(alice, group, "/ask what is Acme acquiring?"))
    assert_no_bot_message_between(api, group, ignored, marker)


async def test_mention_is_a_question_with_the_mention_stripped(api, bot, people):
    alice = people[0]
    group = api.group(-1003)
    asked = await api.say(alice, group, f"@{USERNAME} why is FSN delisting?")
    m = await api.reply(group, asked)
    assert m.reply_to == asked.message_id and "(NYSE Amex: FSN)" in m.text
    assert m.button("Share")["switch_inline_query"] == "why is FSN delisting?"


async def test_two_members_contexts_are_kept_apart(api, bot, people):
    alice, bob = people
    group = api.group(-1004)
    await api.reply(group, await api.say(alice, group, "/ask why is FSN delisting?"))
    last = await api.reply(group, await api.say(bob, group, "/ask what is Acme acquiring?"))
    a = await api.say(alice, group, "/ask who is the CEO?")
    b = await api.say(bob, group, "/ask who is the CEO?")
    await api.until(lambda: len(api.bot_messages(group, last)) == 2)
    by_question = {m.reply_to: m for m in api.bot_messages(group, last)}
    assert "Matthew Rosen" in by_question[a.message_id].text and "(NYSE Amex: FSN)" in by_question[a.message_id].text
    assert "Jane Doe" in by_question[b.message_id].text and "(NASDAQ: ACMW)" in by_question[b.message_id].text


async def test_added_to_a_group_it_introduces_itself_once(api, bot, people):
    alice = people[0]
    group = api.group(-1005)
    await api.add_bot(alice, group)
    intro = await api.reply(group)
    assert "/ask" in intro.text and len(intro.text) < 300
    marker = await api.reply(group, await api.say(alice, group, "/ask why is FSN delisting?"))
    assert [m.message_id for m in api.bot_messages(group)] == [intro.message_id, marker.message_id]


# --- inline mode -----------------------------------------------------------------------------------------------

async def test_inline_query_offers_self_contained_answers(api, bot, people, corpus):
    alice = people[0]
    answer = await api.inline_answer(await api.inline_query(alice, "why is FSN delisting & <b>?"))
    results = answer["results"]
    assert 2 <= len(results) <= 4
    text = release_text(corpus)
    for r in results:
        quotes = [x["text"] for x in r["_entities"] if x["type"] == "blockquote"]
        assert len(quotes) == 1 and quotes[0] in text
        assert "why is FSN delisting & <b>?" in r["_text"]          # the question, escaped and shown as typed
        (url,) = [x["url"] for x in r["_entities"] if x["type"] == "text_link" and x["text"] == FSN_TITLE]
        assert_lands_on_quote(url, "http://www.fusiontel.com/", quotes[0], text)
    assert len({r["id"] for r in results}) == len(results)


async def test_too_short_inline_query_gets_a_hint(api, bot, people):
    alice = people[0]
    answer = await api.inline_answer(await api.inline_query(alice, "fs"))
    assert answer["results"] == [] and "question" in answer["button"]["text"]


# --- running it -------------------------------------------------------------------------------------------------

async def test_startup_registers_commands(api, bot):
    private = [c["command"] for c in api.commands["all_private_chats"]]
    group = [c["command"] for c in api.commands["all_group_chats"]]
    assert {"start", "help", "sources", "new"} <= set(private) and "ask" in group


async def test_webhook_delivers_updates_and_checks_the_secret(api, people, corpus, index, tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook"
    app = build_application(bot_settings(api, tmp_path / "state.sqlite3", corpus), index=index)
    alice = people[0]
    chat = api.private_chat(alice)
    inbox = open_inbox(app.bot_data["irbot"].store)
    async with serving(app, inbox, listen="127.0.0.1", port=port, path="/hook", url=url, secret="s3cret-s3cret",
                       allowed_updates=ALLOWED_UPDATES):
        assert api.webhook["url"] == url and api.webhook["secret_token"] == "s3cret-s3cret"
        m = await api.reply(chat, await api.say(alice, chat, "why is FSN delisting?"))
        assert "(NYSE Amex: FSN)" in m.text
        # a caller without the secret is turned away, and nothing is answered
        api.webhook["secret_token"] = "wrong"
        forged = await api.say(alice, chat, "who is the CEO?")
        await api.until(lambda: len(api.webhook.get("responses", [])) == 2)
        assert api.webhook["responses"] == [200, 403]
        api.webhook["secret_token"] = "s3cret-s3cret"
        marker = await api.reply(chat, await api.say(alice, chat, "what is Acme acquiring?"))
        assert_no_bot_message_between(api, chat, forged, marker)
        assert "(NASDAQ: ACMW)" in marker.text


async def test_user_rate_limit_replies_politely_once(api, start, people):
    alice, bob = people
    chat = api.private_chat(alice)
    async with start(irbot_user_questions=2):
        for _ in range(4):
            last = await api.say(alice, chat, "why is FSN delisting?")
        bob_chat = api.private_chat(bob)
        await api.reply(bob_chat, await api.say(bob, bob_chat, "why is FSN delisting?"))  # Bob is not limited
        await api.until(lambda: len(api.bot_messages(chat)) >= 3)
        texts = [m.text for m in api.bot_messages(chat)]
        assert len(texts) == 3 and "(NYSE Amex: FSN)" in texts[0] and "(NYSE Amex: FSN)" in texts[1]
        assert "wait a minute" in texts[2]


async def test_token_never_appears_in_logs(api, start, people, caplog):
    caplog.set_level(logging.DEBUG)
    alice = people[0]
    chat = api.private_chat(alice)
    async with start():
        logging.getLogger("httpx").setLevel(logging.DEBUG)  # even if someone turns httpx's request lines back on
        m = await api.reply(chat, await api.say(alice, chat, "why is FSN delisting?"))
        api.fail("sendMessage", "500", times=5)             # more than the bot retries: logged as an error
        await api.say(alice, chat, "who is the CEO?")
        await api.reply(chat, await api.say(alice, chat, "what is Acme acquiring?"))
    assert any("/bot[TOKEN]/sendMessage" in r.getMessage() for r in caplog.records if r.name == "httpx")
    assert any(r.levelno == logging.ERROR and r.name == "bot.telegram" for r in caplog.records)
    assert api.token not in caplog.text
    assert api.token.split(":")[1] not in caplog.text


# --- rendering limits (no server needed: these are the strings the server above would parse) ---------------------

def test_every_view_fits_telegram_limits_whatever_the_release():
    from botapi import parse_html, utf16_len
    source = {"id": "x", "title": "Q3 <Results> & \"Outlook\" " * 40, "company": "A&B <Holdings>", "ticker": "AB",
              "exchange": "NYSE", "date": "2024-01-02", "publisher": "Wire & Co", "url": "https://x.test/?a=1&b=<2>"}
    a = {"question": "why? " * 100, "answered": True, "quote": "Revenue <rose> & fell 🙂 " * 400, "source": source,
         "alternatives": [{"quote": "x&y" * 3000, "source": source, "score": 1.0}],
         "context_before": ["before <b> " * 800], "context_after": ["after & " * 800], "related": []}
    views = [front.render_view(a, "A" * 12, v, n) for v, n in (("a", 0), ("m", 1), ("c", 0))]
    texts = [t for t, _ in views] + [front.inline_text(a, a["quote"], source)]
    not_found = {"question": "q", "answered": False, "message": "I couldn't find that in the releases.",
                 "related": [source] * 3}
    texts.append(front.render_answer(not_found))
    for text in texts:
        visible, entities = parse_html(text)   # raises on anything Telegram would refuse to parse
        assert utf16_len(visible) <= 4096
        assert "A&B <Holdings>" in visible
    for _, markup in views:
        for row in markup.inline_keyboard:
            for button in row:
                assert button.callback_data is None or len(button.callback_data.encode()) <= 64
    assert front.render_view(a, "A" * 12, "m", 2) is None  # no such alternative: the caller says "expired"


def test_how_a_question_was_read_is_escaped_in_every_answer():
    from botapi import parse_html
    source = {"id": "x", "title": "T", "company": "C", "ticker": "", "exchange": "", "date": "", "publisher": "",
              "url": ""}
    read_as = {"<b>Acme&Co": "Acme & Co"}
    answered = {"question": "q", "answered": True, "quote": "Q", "source": source, "read_as": read_as}
    not_found = {"question": "q", "answered": False, "message": "I couldn't find that in the releases.",
                 "related": [], "read_as": read_as}
    shown = [front.render_answer(answered), front.render_answer(not_found), front.inline_text(answered, "Q", source)]
    for text in shown:   # (inline: the others in the chat see the question as typed)
        visible, _ = parse_html(text)
        assert "(read “<b>Acme&Co” as “Acme & Co”)" in visible
