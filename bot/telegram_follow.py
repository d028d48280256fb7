"""Following companies in Telegram: /follow, /unfollow, /following, and the alerts for new releases.

A chat follows companies (in a group only its administrators change what it follows). When releases the bot
has not seen enter the corpus (at start-up, /reload, or the corpus watcher noticing a changed corpus), each
chat that follows their company is owed one alert, kept in the state database until it is sent (bot.follow);
the sender goes through python-telegram-bot's rate limiter, so many followers stay within Telegram's broadcast
limits. A chat that blocked the bot or deleted it loses its follows; the others go on.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Chat, ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError
from telegram.ext import Application, ContextTypes

from . import follow
from .index import reload_index
from .render import citation_html, clip, count, e
from .telegram_service import Service, service

log = logging.getLogger(__name__)


def command_text(text: str) -> str:
    parts = (text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def may_change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """In a private chat, its user; in a group, its administrators."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type == Chat.PRIVATE:
        return True
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        return False
    return member.status in (ChatMember.ADMINISTRATOR, ChatMember.OWNER)


def choose_keyboard(companies: list[follow.Company], action: str) -> InlineKeyboardMarkup:
    buttons = [[InlineKeyboardButton(clip(c.name, 60) + (f" ({c.ticker})" if c.ticker else ""),
                                     callback_data=f"{action}:{follow.button_id(c.key)}")] for c in companies[:30]]
    return InlineKeyboardMarkup(buttons)


async def on_follow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/follow FSN (a ticker or a name): alerts for the company's new releases in this chat."""
    message, svc = update.effective_message, service(context)
    asked = command_text(message.text)
    if not asked:
        await message.reply_text(f"Follow a company to hear of its new releases: <code>/follow "
                                 f"{e(await example_company(svc))}</code>. /following lists what this chat follows.")
        return
    if not await may_change(update, context):
        await message.reply_text("Only the group's administrators can change what it follows.")
        return
    found = follow.companies_named(svc.index, asked)
    if not found:
        await message.reply_text(f"I have no releases from a company called <i>{e(clip(asked, 100))}</i>. "
                                 "/sources lists the companies.")
    elif len(found) > 1:
        await message.reply_text(f"<i>{e(clip(asked, 100))}</i> could be several companies. Which one?",
                                 reply_markup=choose_keyboard(found, "fo"))
    else:
        await message.reply_text(followed(svc, message.chat_id, found[0]))


def followed(svc: Service, chat_id: int, company: follow.Company) -> str:
    if not svc.store.follow(str(chat_id), company.key, company.name):
        return f"This chat already follows <b>{e(company.name)}</b>."
    return (f"Following <b>{e(company.name)}</b>: I'll post its new releases here. /unfollow stops, "
            "/following lists what this chat follows.")


async def on_follow_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A company chosen among several that a name could be (/follow), or to stop following (/unfollow)."""
    query, svc = update.callback_query, service(context)
    action, key = query.data.split(":", 1)
    if not await may_change(update, context):
        await query.answer("Only the group's administrators can change what it follows.", show_alert=True)
        return
    await query.answer()
    chat_id = query.message.chat_id
    if action == "fo":
        company = follow.company_by_button(svc.index, key)
        text = followed(svc, chat_id, company) if company else "That company is no longer in my releases."
    else:
        names = dict(svc.store.following(str(chat_id)))
        full = next((k for k in names if follow.button_id(k) == key), None)
        text = (f"No longer following <b>{e(names[full])}</b>" if full and svc.store.unfollow(str(chat_id), full)
                else "This chat does not follow that company.")
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(text)


async def on_unfollow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unfollow FSN, or /unfollow alone to choose among what the chat follows."""
    message, svc = update.effective_message, service(context)
    if not await may_change(update, context):
        await message.reply_text("Only the group's administrators can change what it follows.")
        return
    following = svc.store.following(str(message.chat_id))
    if not following:
        await message.reply_text("This chat follows no company. /follow <i>company</i> starts.")
        return
    asked = command_text(message.text)
    keys = {c.key for c in follow.companies_named(svc.index, asked)} if asked else set()
    chosen = [(k, n) for k, n in following if k in keys or (asked and n.lower() == asked.lower())]
    if not chosen:
        await message.reply_text("Stop following which company?", reply_markup=choose_keyboard(
            [follow.Company(key=k, name=n, ticker="", releases=0) for k, n in following], "uf"))
        return
    svc.store.unfollow(str(message.chat_id), chosen[0][0])
    await message.reply_text(f"No longer following <b>{e(chosen[0][1])}</b>")


async def on_following(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    following = service(context).store.following(str(update.effective_message.chat_id))
    if not following:
        await update.effective_message.reply_text("This chat follows no company. /follow <i>company</i> starts.")
        return
    await update.effective_message.reply_text("This chat follows:\n" + "\n".join(f"• {e(n)}" for _, n in following))


async def example_company(svc: Service) -> str:
    meta = svc.index.releases.meta
    return next((m.ticker or m.company for m in meta if m.ticker or m.company), "FSN")


# --- alerts ------------------------------------------------------------------------------------------------------

def alert_message(a: follow.Alert) -> tuple[str, InlineKeyboardMarkup]:
    """The company, the headline (linked, opened at the lead), the date; the lead quoted; a button to ask."""
    text = (f"📰 <b>New release</b>\n{citation_html(a.source, a.lead)}\n"
            f"<blockquote>{e(clip(a.lead, 1500))}</blockquote>")
    company = a.source.company or a.source.ticker or ""
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(f"Ask about {clip(company, 40)}",
                                                         switch_inline_query_current_chat=f"{company} ")]])
    return text, markup


async def send_alerts(app: Application, queue: bool = True) -> int:
    """Queue the alerts for releases not seen before, then send every alert owed; how many were sent. A chat
    that blocked the bot (or removed it) loses its follows; one that fails otherwise is tried again next time."""
    svc: Service = app.bot_data["irbot"]
    async with svc.alerting:  # one sender at a time: start-up, /reload and the watcher may all ask
        # (any process may queue: the database decides once what is new)
        new, queued = follow.queue_new_releases(svc.store, svc.index) if queue else (0, 0)
        if new:
            log.info("%s, %d alert(s) to send", count(new, "new release"), queued)
        # ... and one process at a time sends, where several share the database (the others' turn comes next time)
        if svc.inbox is not None and not await asyncio.to_thread(svc.inbox.lead, "alerts"):
            return 0
        try:
            return await _send_owed(app, svc)
        finally:
            if svc.inbox is not None:
                await asyncio.to_thread(svc.inbox.unlead, "alerts")


async def _send_owed(app: Application, svc: Service) -> int:
    sent = 0
    while True:
        owed = follow.owed(svc.store, svc.index, limit=500)
        if not owed:
            return sent
        failed = 0
        for a in owed:
            if svc.inbox is not None and not await asyncio.to_thread(svc.inbox.leading, "alerts"):
                return sent  # (its connection to the database was lost, and the lead with it)
            text, markup = alert_message(a)
            try:
                await app.bot.send_message(int(a.chat), text, reply_markup=markup)
            except Forbidden:
                log.info("chat %s blocked the bot or removed it: its follows end", a.chat)
                svc.store.drop_chat(a.chat)
                continue
            except ChatMigrated as err:  # a group became a supergroup: its follows go with it
                svc.store.move_chat(a.chat, str(err.new_chat_id))
                continue
            except BadRequest as err:
                if "chat not found" in str(err).lower():
                    log.info("chat %s no longer exists: its follows end", a.chat)
                    svc.store.drop_chat(a.chat)
                else:  # this one message cannot go (rights, a closed topic ...): the follows stay
                    log.warning("alert to chat %s refused (%s): skipped", a.chat, err)
                    svc.store.alert_sent(a.chat, a.release_id)
                continue
            except TelegramError as err:
                log.warning("alert to chat %s not sent, kept for later: %s", a.chat, err)
                failed += 1
                continue
            svc.store.alert_sent(a.chat, a.release_id)
            sent += 1
        if failed == len(owed):
            return sent


async def reload_corpus(app: Application, announce: bool = True, watching: bool = False) -> bool:
    """Serve the corpus as it is now, if a release file changed since it was last read (/reload, the corpus
    watcher, another process's /reload); whether it changed. With `announce`, the other processes that share the
    state database are told to do the same."""
    svc: Service = app.bot_data["irbot"]
    if watching and svc.loaded is None:  # (an index given to the bot, not read from a corpus: nothing to watch)
        return False
    loaded = await asyncio.to_thread(reload_index, svc.loaded, svc.corpus, cache_dir=svc.settings.irbot_cache)
    changed = loaded is not svc.loaded
    if changed:
        svc.serve(loaded)
        log.info("corpus %s: %s", svc.corpus, count(len(loaded.index.releases), "release"))
    if announce and svc.inbox is not None:
        await asyncio.to_thread(svc.inbox.announce, "reload")
    return changed


async def watch_corpus(app: Application, every: float) -> None:
    """Notice a changed corpus (`irbot add`, `irbot ingest --add`, a file copied in) without /reload: serve the
    new index and send the alerts its new releases owe."""
    svc: Service = app.bot_data["irbot"]
    while True:
        await asyncio.sleep(every)
        try:
            changed = await reload_corpus(app, announce=False, watching=True)  # (each process watches for itself)
        except Exception as err:  # a corpus in the middle of being rewritten: next time
            log.warning("corpus watcher: %s", err)
            continue
        try:
            if changed or svc.store.pending_alerts(limit=1):  # new releases, or alerts an earlier try could not send
                await send_alerts(app, queue=changed)
        except Exception:  # a locked state file, say: the watcher goes on, and so do the alerts next time
            log.exception("sending alerts failed; trying again in %g s", every)
