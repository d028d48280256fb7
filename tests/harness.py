"""Running the Telegram Application inside a test's event loop."""
from __future__ import annotations

import contextlib

from telegram.ext import Application

from bot.telegram import ALLOWED_UPDATES


@contextlib.asynccontextmanager
async def running(app: Application, webhook: dict | None = None, poll_timeout: float = 10):
    """Run `app` inside an existing event loop (as `run_polling`/`run_webhook` do, minus the signal handling):
    polling by default, or a webhook server with `webhook` = start_webhook's keyword arguments."""
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        if webhook is None:
            await app.updater.start_polling(poll_interval=0, timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES)
        else:
            await app.updater.start_webhook(allowed_updates=ALLOWED_UPDATES, **webhook)
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            await app.stop()
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
