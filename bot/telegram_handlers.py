"""The Telegram handlers, thin: each translates an update into a call of the answering core (through `Service`)
and an answer into a message (through `telegram_views`). Which update reaches which handler is decided in
`telegram.build_application`."""
from __future__ import annotations

import contextlib
import logging
import re
import time

from telegram import (Chat, ChatMember, ChatMemberUpdated, InlineKeyboardButton, InlineKeyboardMarkup,
                      InlineQueryResultArticle, InlineQueryResultsButton, InputTextMessageContent, LinkPreviewOptions,
                      Message, Update)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from .answer import Citation, answer as answer_once
from .render import citation_line, clip, count, e
from .telegram_service import (Service, conversation_for, conversation_id, conversation_of, new_key, private,
                               replies_to_bot, sender_id, service)
from .telegram_views import (EXPIRED, HELP, UNKNOWN_BUTTON, VOTE_CHANGED, VOTED, company_sources, inline_text,
                             render_view, sources_page, start_text)

log = logging.getLogger(__name__)

MAX_INLINE_RESULTS = 4
MIN_INLINE_QUERY = 4             # characters; shorter inline queries get a hint
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def command_text(text: str) -> str:
    """'/ask@ThisBot why?' -> 'why?'"""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def without_mention(text: str, username: str) -> str:
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.I).strip(" \t\n,:;-")


def mentions(message: Message, username: str) -> bool:
    return any(text.lower() == f"@{username.lower()}" for text in message.parse_entities(["mention"]).values())


async def edit_quietly(edit) -> None:
    """Await an edit of a message; Telegram's 'message is not modified' (the same view again) is no error."""
    try:
        await edit
    except BadRequest as err:
        if "not modified" not in str(err).lower():
            raise


# --- answering a question in a chat --------------------------------------------------------------------------------

async def post_answer(svc: Service, conv: str, question: str, send, count_it: bool = True,
                      question_id: int | None = None) -> tuple[str, Message]:
    """Answer `question` in conversation `conv`, post it with `send(text, reply_markup=...)` and remember, in one
    write, the answer, which message shows it and (`question_id`) which question it answers: (its key, the
    message sent). Behind a webhook the same write marks the update handled (bot.inbox.replied)."""
    record = await svc.ask(conv, question, count_it)
    key = new_key()
    text, markup = render_view(record["answer"], key, "a", 0)
    sent = await send(text, reply_markup=markup)
    svc.remember(key, record, sent.chat_id, sent.message_id, question_id)
    return key, sent


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str, conv: str) -> None:
    """Answer `question` in the message's chat, as a reply, with its buttons; remember what was shown."""
    svc = service(context)
    message = update.effective_message
    quote_it = not private(message.chat)
    if not question:
        await message.reply_text(f"Ask me a question after the command, e.g. <code>/ask {e(await svc.sample())}"
                                 "</code>", do_quote=quote_it)
        return
    allowed, first = await svc.users.hit(sender_id(message))
    if allowed:
        allowed, first = await svc.chats.hit(message.chat_id)
    if not allowed:
        svc.counts["rate_limited"] += 1
        if first:
            await message.reply_text("You're asking faster than I can keep up with. Please wait a minute and "
                                     "ask again.", do_quote=quote_it)
        return
    if private(message.chat):  # "typing…" in a private chat; in a busy group it would only be noise
        with contextlib.suppress(TelegramError):
            await context.bot.send_chat_action(message.chat_id, "typing")

    async def reply(text, reply_markup):
        return await message.reply_text(text, reply_markup=reply_markup, do_quote=quote_it)
    await post_answer(svc, conv, question, reply, question_id=message.message_id)


async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a private chat, any text is a question."""
    message = update.effective_message
    await ask(update, context, message.text.strip(), conversation_of(message))


async def on_ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask question (also /ask@ThisBot in groups)."""
    message = update.effective_message
    await ask(update, context, command_text(message.text), conversation_for(service(context), message, context.bot.id))


async def on_group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group: a reply to one of the bot's messages, or a message mentioning it, is a question;
    everything else is none of the bot's business."""
    message = update.effective_message
    if replies_to_bot(message, context.bot.id) or mentions(message, context.bot.username):
        await ask(update, context, without_mention(message.text, context.bot.username),
                  conversation_for(service(context), message, context.bot.id))


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited question is answered again, by editing the bot's reply to it."""
    svc = service(context)
    message = update.edited_message
    asked = svc.reply_to_question(message.chat_id, message.message_id)
    if asked is None:
        return  # not a question the bot answered (an edit in a group, or to an ignored message)
    record = svc.load_answer(asked["key"])
    text = message.text
    if text.startswith("/"):
        text = command_text(text)
    text = without_mention(text, context.bot.username)
    if not text or record is None:
        return
    record = await svc.ask(record["conv"], text, count_it=False)
    body, markup = render_view(record["answer"], asked["key"], "a", 0)
    await edit_quietly(context.bot.edit_message_text(body, chat_id=message.chat_id, message_id=asked["reply"],
                                                     reply_markup=markup))
    # (after the edit: an edit made twice changes nothing; the links are written again with the answer, so that
    # they are kept as long, IRBOT_KEEP_DAYS)
    svc.remember(asked["key"], record, message.chat_id, asked["reply"], message.message_id)


# --- buttons -----------------------------------------------------------------------------------------------------

async def on_view(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """More / Context / Best: show another view of an answer by editing its message in place."""
    query = update.callback_query
    view, key, n = query.data.split(":")
    record = service(context).load_answer(key)
    shown = render_view(record["answer"], key, view, int(n)) if record else None
    if shown is None:
        await query.answer(EXPIRED, show_alert=True)
        return
    await query.answer()
    await edit_quietly(query.edit_message_text(shown[0], reply_markup=shown[1]))


async def on_vote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍 / 👎 under an answer: kept with the question and the answer's release and sentence (irbot report, /report);
    acknowledged, and pressed again the other way, changed."""
    query = update.callback_query
    _, key, up = query.data.split(":")
    svc = service(context)
    record = svc.load_answer(key)
    if record is None or not record["answer"]["answered"]:
        await query.answer(EXPIRED, show_alert=True)
        return
    a, vote = record["answer"], 1 if up == "1" else -1
    before = svc.store.vote(key, str(query.from_user.id), vote, a["question"], a["source"]["company"],
                            a["source"]["id"], a["quote"])
    await query.answer(VOTE_CHANGED[int(up)] if before not in (None, vote) else VOTED[int(up)])


async def on_example(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An example question's button, from /start: ask it."""
    query = update.callback_query
    svc = service(context)
    examples = await svc.examples()
    n = int(query.data.split(":")[1])
    if n >= len(examples) or query.message is None:
        await query.answer(EXPIRED, show_alert=True)
        return
    await query.answer()
    message = query.message

    async def send(text, reply_markup):
        return await context.bot.send_message(message.chat_id, text, reply_markup=reply_markup)
    await post_answer(svc, conversation_id(message.chat, query.from_user.id), examples[n], send, count_it=False)


async def on_sources_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    text, markup = sources_page(service(context).index, int(query.data.split(":")[1]))
    await query.answer()
    await edit_quietly(query.edit_message_text(text, reply_markup=markup))


async def on_unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Callback data the bot never issued (or from an older version): a polite notice, nothing else."""
    await update.callback_query.answer(UNKNOWN_BUTTON, show_alert=True)


# --- commands ----------------------------------------------------------------------------------------------------

async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A welcome, and example questions from the corpus as buttons; through a shared answer's link
    (t.me/<bot>?start=s_<key>), that answer's question, answered here, where follow-ups can go on from it."""
    svc = service(context)
    message = update.effective_message
    payload = context.args[0] if context.args else ""
    question = svc.shared_question(payload) if payload and private(message.chat) else None
    if question:
        async def reply(text, reply_markup):
            return await message.reply_text(text, reply_markup=reply_markup)
        await post_answer(svc, conversation_of(message), question, reply)
        return
    text, markup = start_text(len(svc.index.releases), await svc.examples())
    if payload.startswith("s_") and private(message.chat):
        text = "That shared answer has expired; ask its question again. " + text
    await message.reply_text(text, reply_markup=markup)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(HELP.replace("{bot}", e(context.bot.username)))


async def on_new(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/new: forget this conversation's context."""
    service(context).answerer.forget(conversation_of(update.effective_message))
    await update.effective_message.reply_text("Fresh start: I've forgotten what we were talking about.",
                                              do_quote=not private(update.effective_chat))


async def on_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sources: the releases by company, paged; /sources FSN (a ticker or a name): that company's, newest first."""
    asked = command_text(update.effective_message.text)
    if asked:
        await update.effective_message.reply_text(company_sources(service(context).index, asked))
        return
    text, markup = sources_page(service(context).index, 0)
    await update.effective_message.reply_text(text, reply_markup=markup)


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text("I don't know that command. /help shows what I can do.")


async def on_not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo, sticker, voice note ... in a private chat: say what the bot understands."""
    await update.effective_message.reply_text("I answer questions sent as text, for example: "
                                              f"<i>{e(await service(context).sample())}</i>")


def is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return bool(user) and user.id in service(context).settings.irbot_admin_ids


async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_admin(update, context):
        await update.effective_message.reply_text("That command is for the bot's admins.")
        return
    svc = service(context)
    stats = svc.index.stats()
    lines = [f"<b>Corpus</b> {e(svc.corpus)}"] + [f"{e(k)}: {e(v)}" for k, v in stats.items()]
    lines += [f"uptime: {int(time.time() - svc.started)} s"] + [f"{e(k)}: {v}" for k, v in sorted(svc.counts.items())]
    await update.effective_message.reply_text("\n".join(lines))


async def on_report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/report [YYYY-MM-DD]: for the admins, what irbot report prints: the questions the releases did not answer
    and the answers marked 👎, by company, since the date (default: 30 days ago)."""
    import datetime as dt

    from . import report
    if not is_admin(update, context):
        await update.effective_message.reply_text("That command is for the bot's admins.")
        return
    arg = command_text(update.effective_message.text)
    try:
        since = dt.date.fromisoformat(arg) if arg else dt.date.today() - dt.timedelta(days=30)
    except ValueError:
        await update.effective_message.reply_text("/report takes a date: <code>/report 2026-11-01</code>.")
        return
    rows = service(context).store.feedback_since(time.mktime(since.timetuple()))
    text = report.as_text(report.build(*rows), since)
    if len(text) > 3900:  # one message; the whole report is irbot report --csv on the server
        text = text[:3900].rsplit("\n", 1)[0] + "\n… (the rest: irbot report on the server)"
    await update.effective_message.reply_text(f"<pre>{e(text)}</pre>")


async def on_reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Re-read the corpus (new releases) without restarting; the conversations are kept."""
    if not is_admin(update, context):
        await update.effective_message.reply_text("That command is for the bot's admins.")
        return
    from .telegram_follow import reload_corpus, send_alerts
    svc = service(context)
    changed = await reload_corpus(context.application)  # (and the other processes, where several serve)
    releases = count(len(svc.index.releases), "release")
    if not changed:  # no release file changed since the last load: nothing to do
        await update.effective_message.reply_text(f"No change: {releases}.")
        return
    skipped = f", skipped {len(svc.loaded.problems)} file(s)" if svc.loaded.problems else ""
    await update.effective_message.reply_text(f"Reloaded: {releases}{e(skipped)}.")
    # (alerts go out on their own: this chat is not held up)
    context.application.create_task(send_alerts(context.application))


# --- inline mode -------------------------------------------------------------------------------------------------

async def on_inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@ThisBot question: the answer and the next best ones, as messages ready to send."""
    query = update.inline_query
    text = query.query.strip()
    svc = service(context)
    if len(text) < MIN_INLINE_QUERY:
        await query.answer([], cache_time=5, button=InlineQueryResultsButton(
            text=clip(f"Type a question, e.g. {await svc.sample()}", 64), start_parameter="inline-help"))
        return
    result = await svc.run(answer_once, svc.index, text, None, svc.answerer.reader)
    if not result.answered:
        await query.answer([], cache_time=30, button=InlineQueryResultsButton(
            text="Not in the releases: try other words", start_parameter="not-found"))
        return
    a = result.model_dump(mode="json", exclude={"context"})
    # whoever sees the shared answer can open the bot on the same question (a deep link)
    share = InlineKeyboardMarkup([[InlineKeyboardButton(f"Ask @{context.bot.username}",
                                                        url=svc.share_link(context.bot.username, text))],
                                  [InlineKeyboardButton("Ask another", switch_inline_query_current_chat="")]])
    quotes = [(a["quote"], a["source"])] + [(x["quote"], x["source"]) for x in a["alternatives"]]
    results = [InlineQueryResultArticle(
        id=f"{n}", title=clip(quote, 120), description=clip(citation_line(Citation.model_validate(source)), 200),
        input_message_content=InputTextMessageContent(inline_text(a, quote, source), parse_mode=ParseMode.HTML,
                                                      link_preview_options=NO_PREVIEW),
        reply_markup=share) for n, (quote, source) in enumerate(quotes[:MAX_INLINE_RESULTS])]
    await query.answer(results, cache_time=30)


# --- groups: joining, and the allow-list ---------------------------------------------------------------------------

def chat_allowed(svc: Service, chat: Chat | None) -> bool:
    allowed = svc.settings.irbot_allowed_chats
    return not allowed or chat is None or chat.type == Chat.PRIVATE or chat.id in allowed


async def guard_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every handler: in a chat not on the allow-list, the bot leaves and does nothing else."""
    chat = update.effective_chat
    if chat_allowed(service(context), chat):
        return
    if not (update.my_chat_member and update.my_chat_member.new_chat_member.status in (ChatMember.LEFT, ChatMember.BANNED)):
        log.info("leaving chat %s: not on the allow-list", chat.id)
        with contextlib.suppress(TelegramError):
            await context.bot.leave_chat(chat.id)
    raise ApplicationHandlerStop


def added(change: ChatMemberUpdated) -> bool:
    was = change.old_chat_member.status in (ChatMember.LEFT, ChatMember.BANNED)
    now = change.new_chat_member.status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER) or (
        change.new_chat_member.status == ChatMember.RESTRICTED and getattr(change.new_chat_member, "is_member", False))
    return was and now


async def on_my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Added to a group: introduce myself, in one short message."""
    change = update.my_chat_member
    if change.chat.type in (Chat.GROUP, Chat.SUPERGROUP) and added(change):
        await context.bot.send_message(
            change.chat.id, f"Hi, I'm {e(context.bot.first_name)}. I answer questions about company press releases "
            f"with a verbatim quote and its source. Ask with <code>/ask {e(await service(context).sample())}</code>, "
            "or reply to one of my answers to follow up.")
