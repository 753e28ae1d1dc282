"""Building and running the Telegram Application.

`run_bot()` is `python -m bot run` (its checks and start in ``serve``). `build_application()` is the
pure builder the tests and the benchmark use with the emulator; `running()` runs an application the
way `run_polling` does, inside an existing event loop.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot.services.answers import AnswerService
from bot.services.storage import Storage
from bot.settings import Settings
from bot.transports.telegram import buttons, handlers, reliability, texts
from bot.transports.telegram.botdata import BotData
from bot.transports.telegram.resilience import ChatOrderedProcessor, ResilientRateLimiter

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
# Pause between two getUpdates calls. getUpdates long-polls, so an idle bot still gets an update the
# moment it arrives; under load the pause lets updates gather into one call instead of one call
# each: on the load benchmark it cuts the bot's CPU per question by a sixth for at most 10 ms.
POLL_INTERVAL = 0.01


async def post_init(application: Application) -> None:
    """Open storage and check it (integrity, WAL, a write), replay the updates a crash left
    unhandled, start the engine workers and the storage watchdog, register the command menu."""
    from bot.failure import OperatorError

    svc: handlers.Services = handlers.services_of(application)
    await svc.storage.open()
    if not await reliability.check_storage(application, integrity=True):
        raise OperatorError(application.bot_data.fatal or "DATABASE_PATH: the storage check failed", 1)
    await reliability.replay_inbox(application)
    reliability.start_watchdog(application, svc.settings.reminder_tick_seconds)
    await svc.answers.start()
    yrs = texts.years(svc.answers)
    await application.bot.set_my_commands([BotCommand(c, d.format(**yrs)) for c, d in texts.COMMANDS])
    log.info("bot @%s ready; knowledge base: %d entries", application.bot.username, len(svc.answers.kb.entries))


async def post_shutdown(application: Application) -> None:
    """Stop the watchdog and the engine workers, close storage."""
    svc: handlers.Services = handlers.services_of(application)
    await reliability.stop_watchdog(application)
    await svc.answers.close()
    await svc.storage.close()


def build_application(
    settings: Settings,
    answers: AnswerService,
    *,
    storage: Storage | None = None,
    retry_backoff: float = 0.5,
    retry_max_backoff: float | None = None,
    concurrent_updates: int = 256,
    extra_handlers: Callable[[Application], None] | None = None,
) -> Application:
    """The Application: token and API URLs from settings, HTML by default, the resilient rate
    limiter (throttling per RATE_LIMITER; replies retried for ANSWER_RETRY_MINUTES), chat-ordered
    concurrent updates, the update inbox and the per-user rate limit (``reliability``), every
    handler; conversations forgotten after CONVERSATION_IDLE_MINUTES.

    ``extra_handlers(application)`` runs between the main handlers and the catch-all fallbacks.
    Nothing touches the network or the disk until the application is initialized.
    """
    storage = storage or answers.storage or Storage(settings.database_path)
    answers.storage = storage
    # The setting decides the idle time, whoever made the store (a test brings one with its clock).
    answers.conversations.idle_seconds = settings.conversation_idle_minutes * 60
    limiter_options: dict[str, Any] = {"max_backoff": retry_max_backoff} if retry_max_backoff else {}
    application = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(ResilientRateLimiter(throttle=settings.rate_limiter, backoff=retry_backoff,
                                           deadline=settings.answer_retry_minutes * 60,
                                           **limiter_options))
        .concurrent_updates(ChatOrderedProcessor(concurrent_updates))
        .update_queue(reliability.PersistentUpdateQueue())
        .context_types(ContextTypes(bot_data=BotData))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    application.bot_data.services = handlers.Services(settings, answers, storage)
    reliability.install(application)
    handlers.register(application)
    buttons.register(application)
    if extra_handlers is not None:
        extra_handlers(application)
    handlers.register_fallbacks(application)
    return application


@asynccontextmanager
async def running(application: Application, *, poll_interval: float = POLL_INTERVAL,
                  timeout: int = 10) -> AsyncIterator[Application]:
    """Run ``application`` with long polling inside the current event loop, like ``run_polling``
    (initialize, post_init, start polling, start … stop, post_stop, shutdown, post_shutdown)."""
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=poll_interval, timeout=timeout, allowed_updates=ALLOWED_UPDATES
        )
        await application.start()
        try:
            yield application
        finally:
            if application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
                if application.post_stop:
                    await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


def run_bot(settings: Settings | None = None) -> int:
    """`python -m bot run`: check everything an operator can get wrong before contacting Telegram,
    then poll (or serve a webhook) until Ctrl-C/SIGTERM (see ``serve``). Returns the exit code;
    a failure prints one line that names the cause and the fix (the traceback only at DEBUG)."""
    import traceback

    from bot.failure import OperatorError
    from bot.transports.telegram.serve import serve

    try:
        return serve(settings)
    except OperatorError as exc:
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            traceback.print_exc()
        secret = settings.telegram_bot_token.get_secret_value() if settings and settings.telegram_bot_token else ""
        message = exc.message.replace(secret, "[TOKEN]") if secret else exc.message
        print(f"error: {message}", file=sys.stderr)
        return exc.code
