"""`irbot run --webhook URL`: one of several identical processes behind a load balancer, sharing the state database.

- The HTTP side (tornado, which python-telegram-bot's webhook extra brings): a POST on the webhook's path is
  checked (the secret token, constant-time; a JSON update), kept in the inbox (`bot.inbox`), and only then
  answered 200, so an update Telegram was told we have is never lost. GET /healthz says whether this process
  takes updates (the load balancer's health check); while it stops it answers 503.
- The lanes (`Lanes`): each process takes the conversations that have updates waiting, whoever received them
  (woken at once by its own deliveries, and every POLL_SECONDS for the rest, such as those a dead process left),
  and handles each conversation's updates in order, through the Application's handlers. Up to
  IRBOT_CONCURRENCY conversations at a time.
- /reload in one process reaches the others (the inbox's notices); `irbot add` reaches them through the corpus
  watcher each runs. On SIGTERM a process stops taking updates, finishes the ones it is handling, and lets go of
  its lanes for the others.
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.ext import Application

from .inbox import HANDLING, MAX_TRIES, Handling, Inbox, LaneLost
from .telegram_infra import ChatOrderedProcessor

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5   # how often a process looks for lanes nobody holds (a dead process's, say)
DRAIN_SECONDS = 20.0  # how long a stopping process finishes what it is handling


def lane_of(update: Update) -> str:
    """The conversation an update belongs to for ordering: its chat, else its user."""
    kind, value = ChatOrderedProcessor.key(update)
    return f"{kind}:{value}" if kind != "update" else f"update:{update.update_id}"


class Lanes:
    """Handles the inbox's updates: one task per conversation held, at most `concurrency` at once."""

    def __init__(self, app: Application, inbox: Inbox, concurrency: int):
        self.app, self.inbox, self.concurrency = app, inbox, max(1, concurrency)
        self.held: dict[str, asyncio.Task] = {}
        self.wake = asyncio.Event()
        self.stopping = False
        self.handled = 0

    async def run(self) -> None:
        while not self.stopping:
            try:
                await self._take_waiting()
            except Exception as err:  # the database away for a moment: the updates wait in it
                log.warning("webhook: looking for updates failed (%s); again in %g s", type(err).__name__, POLL_SECONDS)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.wake.wait(), POLL_SECONDS)
            self.wake.clear()

    async def _take_waiting(self) -> None:
        await asyncio.to_thread(self.inbox.prune_now_and_then)
        if len(self.held) >= self.concurrency:
            return
        lanes = await asyncio.to_thread(self.inbox.waiting, 4 * self.concurrency + len(self.held))
        for lane in lanes:
            if self.stopping or len(self.held) >= self.concurrency:
                return
            if lane not in self.held and await asyncio.to_thread(self.inbox.take, lane):
                self.held[lane] = asyncio.create_task(self._drain(lane))

    async def _drain(self, lane: str) -> None:
        """Handle the lane's updates in order until none is left (or this process stops), then let it go."""
        try:
            more = True
            while not self.stopping:
                item = await asyncio.to_thread(self.inbox.next, lane) if more else None
                if item is None:
                    # (letting go looks once more: one may have arrived at another process since the last look,
                    # which could not take the lane then)
                    if await asyncio.to_thread(self.inbox.leave, lane) and \
                            await asyncio.to_thread(self.inbox.take, lane):
                        more = True
                        continue
                    return
                more = await self._handle(lane, *item)
            await asyncio.to_thread(self.inbox.leave, lane)
        except asyncio.CancelledError:  # (stopped where it was: its update stays waiting, free for whoever is next)
            with contextlib.suppress(Exception):
                self.inbox.leave(lane)
            raise
        except LaneLost:
            log.warning("webhook: conversation %s was let go (the database connection was lost); whoever takes it "
                        "next answers the rest", lane)
        except Exception:
            log.exception("webhook: conversation %s stopped; its updates wait for the next process to take it", lane)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.inbox.leave, lane)
        finally:
            self.held.pop(lane, None)
            self.wake.set()

    async def _handle(self, lane: str, update_id: int, payload: str, tries: int) -> bool:
        """Handle one update and mark it handled; whether more wait in its lane."""
        if tries > MAX_TRIES:
            log.error("webhook: update %d was tried %d times without finishing; given up", update_id, tries - 1)
        else:
            update = Update.de_json(json.loads(payload), self.app.bot)
            handling = Handling(self.inbox, update_id, lane)
            token = HANDLING.set(handling)
            try:
                await self.app.process_update(update)  # (a handler's error goes to the error handler, not here)
            finally:
                HANDLING.reset(token)
            self.handled += 1
            if handling.done:  # (marked with the answer it sent: bot.inbox.replied)
                return handling.more
            # (a handler that did not get to write down its answer: what it has is written with the mark)
            return await asyncio.to_thread(self.inbox.done, update_id, handling.records, lane, handling.contexts)
        return await asyncio.to_thread(self.inbox.done, update_id, None, lane)

    async def stop(self, timeout: float = DRAIN_SECONDS) -> None:
        """Finish the updates in hand, for up to `timeout` seconds; those still unfinished then are stopped where
        they are, not marked handled, and left to the other processes (or this one's restart)."""
        self.stopping = True
        self.wake.set()
        tasks = list(self.held.values())
        if tasks:
            _, unfinished = await asyncio.wait(tasks, timeout=timeout)
            for task in unfinished:
                task.cancel()
            if unfinished:
                log.warning("webhook: %d conversation(s) not finished in %g s; left to the other processes",
                            len(unfinished), timeout)
                await asyncio.wait(unfinished)


class WebhookHandler(tornado.web.RequestHandler):
    """POST: one update from Telegram, kept before it is acknowledged. Also while this process stops: the update is
    in the shared database, and another process (or this one's restart) answers it."""

    def initialize(self, app: Application, inbox: Inbox, lanes: Lanes, secret: str):
        self.bot_app, self.inbox, self.lanes, self.secret = app, inbox, lanes, secret

    def check_xsrf_cookie(self):  # Telegram sends no cookie; the secret token is the check
        pass

    async def post(self) -> None:
        given = self.request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if self.secret and not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise tornado.web.HTTPError(403)
        try:
            data = json.loads(self.request.body)
            update = Update.de_json(data, self.bot_app.bot)
            update_id = int(data["update_id"])
        except Exception:
            raise tornado.web.HTTPError(400) from None
        try:
            new = await asyncio.to_thread(self.inbox.accept, update_id, lane_of(update), json.dumps(data))
        except Exception as err:  # not kept: Telegram must deliver it again
            log.error("webhook: could not keep update %d (%s)", update_id, type(err).__name__)
            raise tornado.web.HTTPError(503) from None
        if new:
            self.lanes.wake.set()
        self.set_status(200)


class HealthHandler(tornado.web.RequestHandler):
    def initialize(self, lanes: Lanes):
        self.lanes = lanes

    def get(self) -> None:
        self.set_status(503 if self.lanes.stopping else 200)
        self.finish("stopping\n" if self.lanes.stopping else "ok\n")


async def serve(app: Application, inbox: Inbox, **where) -> None:
    """Run the bot as one webhook process until SIGTERM or SIGINT (`where`: `serving`'s keyword arguments)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serving(app, inbox, **where):
        await stop.wait()


@contextlib.asynccontextmanager
async def serving(app: Application, inbox: Inbox, *, listen: str, port: int, path: str, url: str, secret: str,
                  allowed_updates: list[str], set_webhook: bool = True):
    """The webhook server and the lanes, running while inside; on the way out, what is in hand is finished."""
    svc = app.bot_data["irbot"]
    svc.inbox = inbox
    lanes = Lanes(app, inbox, svc.settings.irbot_concurrency)
    web = tornado.web.Application([(r"/" + path.strip("/"), WebhookHandler,
                                    {"app": app, "inbox": inbox, "lanes": lanes, "secret": secret}),
                                   (r"/healthz", HealthHandler, {"lanes": lanes})],
                                  log_function=lambda handler: None)
    server = tornado.httpserver.HTTPServer(web, xheaders=True)
    server.listen(port, address=listen)  # first: a port in use is said before anything starts
    loop = asyncio.get_running_loop()
    running = None
    try:
        await app.initialize()
        if app.post_init:
            await app.post_init(app)
        await app.start()
        inbox.listen(lambda what: loop.call_soon_threadsafe(_on_notice, app, what))
        running = asyncio.create_task(lanes.run())
        if set_webhook:  # every process sets the same: harmless, and whichever starts first is enough
            await app.bot.set_webhook(url, secret_token=secret or None, allowed_updates=allowed_updates,
                                      max_connections=100)
        log.info("webhook: serving %s on %s:%d", url, listen, port)
        yield lanes
    finally:
        log.info("webhook: stopping (finishing %d conversation(s) in hand)", len(lanes.held))
        await lanes.stop()
        server.stop()
        if running is not None:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        if app.running:
            await app.stop()
        await app.shutdown()
        inbox.close()
        if app.post_shutdown:  # (closes the state database)
            await app.post_shutdown(app)


def _on_notice(app: Application, what: str) -> None:
    if what == "reload":
        app.create_task(_reload_from_notice(app))


async def _reload_from_notice(app: Application) -> None:
    """Another process's /reload: serve the corpus as it is now (and send the alerts it owes, if this process
    leads the sending)."""
    from .telegram_follow import reload_corpus, send_alerts
    try:
        await reload_corpus(app, announce=False)
        await send_alerts(app)
    except Exception:
        log.exception("webhook: reloading after another process's /reload failed; the corpus watcher tries again")
