"""The Telegram front end's wiring: `build_application()` turns settings into a python-telegram-bot Application
(as the library's own examples do), registering which update goes to which handler, and the error handler.
The front end is split by job: `telegram_handlers` (thin handlers), `telegram_views` (what messages show),
`render` (answers as text and HTML, shared with the terminal), `telegram_service` (what handlers share),
`telegram_infra` (ordered processing per chat, retries, limits, redaction). `bot.answer` knows no Telegram."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (Application, ApplicationBuilder, CallbackQueryHandler, ChatMemberHandler, CommandHandler,
                          ContextTypes, Defaults, InlineQueryHandler, MessageHandler, TypeHandler, filters)

from . import telegram_follow as f, telegram_handlers as h
from .answer import Answerer
from .store import open_store
from .render import count
from .index import open_index
from .settings import Settings, SettingsError, default_corpus
from .telegram_infra import ChatOrderedProcessor, RateLimit, RetryingRateLimiter, install_redaction, redact
from .telegram_service import Service, private

__all__ = ["build_application", "check_token", "ALLOWED_UPDATES", "install_redaction", "redact"]

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY,
                   Update.MY_CHAT_MEMBER, Update.CHANNEL_POST]
PRIVATE_COMMANDS = [("start", "welcome and example questions"), ("help", "how to ask"),
                    ("sources", "the companies and releases I know"), ("follow", "hear of a company's new releases"),
                    ("following", "the companies you follow"), ("unfollow", "stop following a company"),
                    ("new", "forget our conversation")]
GROUP_COMMANDS = [("ask", "ask a question about the releases"), ("sources", "the companies and releases I know"),
                  ("follow", "post a company's new releases here"), ("following", "the companies this group follows"),
                  ("unfollow", "stop following a company"), ("new", "forget your conversation with me"),
                  ("help", "how to ask")]
SHORT_DESCRIPTION = "Answers investors' questions by quoting the press release that answers them, with its source."
DESCRIPTION = ("I answer investors' questions about companies' press releases ({releases} from {companies}) by quoting, word for "
               "word, the sentence that answers, with its source: company, release, date, publisher and link. "
               "Follow-ups continue from my last answer; /follow a company to hear of its new releases. "
               "When the releases don't say, I say so. No investment advice.")


def build_application(settings: Settings, index=None) -> Application:
    """The whole bot: settings in, a python-telegram-bot Application out (not yet started). `index` is the
    corpus's index when the caller has it already; otherwise it is opened from IRBOT_CORPUS."""
    token = settings.token()
    install_redaction(token)
    svc = build_service(settings, index)
    app = (ApplicationBuilder().token(token)
           .base_url(settings.telegram_base_url).base_file_url(settings.telegram_base_file_url)
           .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=h.NO_PREVIEW))
           .rate_limiter(RetryingRateLimiter(overall_max_rate=settings.irbot_flood_per_second,
                                             group_max_rate=settings.irbot_flood_group_per_minute,
                                             max_retries=settings.irbot_flood_retries,
                                             network_retries=settings.irbot_network_retries,
                                             backoff=settings.irbot_retry_backoff))
           .concurrent_updates(ChatOrderedProcessor(settings.irbot_concurrency))
           .connect_timeout(settings.telegram_timeout).read_timeout(settings.telegram_timeout)
           .write_timeout(settings.telegram_timeout).pool_timeout(settings.telegram_timeout)
           .connection_pool_size(max(8, settings.irbot_concurrency * 2))
           .post_init(on_startup).post_shutdown(on_shutdown)
           .build())
    app.bot_data["irbot"] = svc

    new = filters.UpdateType.MESSAGE
    app.add_handler(TypeHandler(Update, h.guard_chat), group=-1)
    app.add_handlers([
        CommandHandler("start", h.on_start, filters=new),
        CommandHandler("help", h.on_help, filters=new),
        CommandHandler("sources", h.on_sources, filters=new),
        CommandHandler("new", h.on_new, filters=new),
        CommandHandler("ask", h.on_ask, filters=new),
        CommandHandler("stats", h.on_stats, filters=new),
        CommandHandler("reload", h.on_reload, filters=new),
        CommandHandler("report", h.on_report, filters=new),
        CommandHandler("follow", f.on_follow, filters=new),
        CommandHandler("unfollow", f.on_unfollow, filters=new),
        CommandHandler("following", f.on_following, filters=new),
        MessageHandler(new & filters.ChatType.PRIVATE & filters.COMMAND, h.on_unknown_command),
        # (a message sent through the bot inline is an answer someone shared, not a question)
        MessageHandler(new & filters.ChatType.PRIVATE & filters.TEXT & ~filters.VIA_BOT, h.on_private_text),
        MessageHandler(new & filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND & ~filters.VIA_BOT,
                       h.on_group_text),
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, h.on_edited),
        MessageHandler(new & filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, h.on_not_text),
        CallbackQueryHandler(h.on_view, pattern=r"^[amc]:[\w-]{12}:\d{1,2}$"),
        CallbackQueryHandler(h.on_example, pattern=r"^ex:\d{1,2}$"),
        CallbackQueryHandler(h.on_vote, pattern=r"^v:[\w-]{12}:[01]$"),
        CallbackQueryHandler(f.on_follow_button, pattern=r"^(?:fo|uf):.+$"),
        CallbackQueryHandler(h.on_sources_page, pattern=r"^src:\d{1,5}$"),
        CallbackQueryHandler(h.on_unknown_button),
        InlineQueryHandler(h.on_inline),
        ChatMemberHandler(h.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
    ])
    app.add_error_handler(on_error)
    return app


def build_service(settings: Settings, index=None) -> Service:
    """The state database, the index (opened from the corpus unless given) and the answering core over them.
    The example questions of /start are worked out when first shown, not here."""
    corpus = settings.irbot_corpus or default_corpus()
    # first: a foreign state file is reported before any indexing
    store = open_store(settings.irbot_state, keep_days=settings.irbot_keep_days)
    loaded = None
    if index is None:
        try:
            loaded = open_index(corpus, cache_dir=settings.irbot_cache)
        except BaseException:
            store.close()
            raise
        for problem in loaded.problems:
            log.warning("skipped %s", problem)
        index = loaded.index
    answerer = Answerer(index, store, reader="default" if settings.irbot_reader else None)
    return Service(settings=settings, answerer=answerer, store=store, corpus=str(corpus), loaded=loaded,
                   users=RateLimit(settings.irbot_user_questions, settings.irbot_rate_window),
                   chats=RateLimit(settings.irbot_chat_questions, settings.irbot_rate_window))


async def on_startup(app: Application) -> None:
    """Register the command lists and say which corpus is served."""
    svc: Service = app.bot_data["irbot"]
    await app.bot.set_my_commands([BotCommand(*c) for c in PRIVATE_COMMANDS], scope=BotCommandScopeAllPrivateChats())
    await app.bot.set_my_commands([BotCommand(*c) for c in GROUP_COMMANDS], scope=BotCommandScopeAllGroupChats())
    # what a new user reads before pressing Start (a failure here is no reason not to serve)
    with contextlib.suppress(TelegramError):
        await app.bot.set_my_short_description(SHORT_DESCRIPTION)
    with contextlib.suppress(TelegramError):
        companies = {m.company or m.ticker for m in svc.index.releases.meta} - {None, ""}
        await app.bot.set_my_description(DESCRIPTION.format(releases=count(len(svc.index.releases), "release"),
                                                            companies=count(len(companies), "company")))
    log.info("@%s serving corpus %s: %d releases", app.bot.username, svc.corpus, len(svc.index.releases))
    svc.watcher = asyncio.create_task(_alerts_then_watch(app, svc.settings.irbot_watch_seconds))


async def _alerts_then_watch(app: Application, every: float) -> None:
    """Alerts owed since the last run (releases added while the bot was down), then the corpus watcher."""
    try:
        await f.send_alerts(app)
    except Exception:
        log.exception("sending alerts failed; the watcher tries again")
    if every > 0:
        await f.watch_corpus(app, every)


async def on_shutdown(app: Application) -> None:
    watcher = app.bot_data["irbot"].watcher
    if watcher is not None:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher
    app.bot_data["irbot"].worker.shutdown(wait=True)
    app.bot_data["irbot"].store.close()


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log (the token is redacted by the logging setup) and make sure no button is left spinning."""
    if isinstance(context.error, Forbidden):  # the user blocked the bot, or it was removed from the group
        log.warning("cannot write to a chat any more: %s", redact(str(context.error)))
        return
    log.error("error while handling an update: %s", redact(repr(context.error)), exc_info=context.error)
    if isinstance(update, Update) and update.callback_query:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer("Sorry, something went wrong. Please try again.")
    elif isinstance(update, Update) and update.effective_message and update.effective_chat \
            and private(update.effective_chat) and not isinstance(context.error, (Forbidden, BadRequest)):
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text("Sorry, something went wrong on my side. Please try again.")


async def check_token(settings: Settings) -> str:
    """Ask the Bot API who we are: '@username', or a one-line SettingsError (the token never in it)."""
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError

    try:
        async with Bot(settings.token(), base_url=settings.telegram_base_url,
                       base_file_url=settings.telegram_base_file_url) as probe:
            return f"@{probe.username}"
    except InvalidToken:
        raise SettingsError("TELEGRAM_BOT_TOKEN was rejected by the Bot API server: check it with @BotFather") from None
    except NetworkError as err:
        raise SettingsError(f"cannot reach the Bot API server at {redact(settings.telegram_base_url)}: "
                            f"{redact(str(err))}") from None
