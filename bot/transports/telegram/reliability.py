"""Reliability of the Telegram application (issue 10): updates that survive a crash, the per-user
rate limit, and the storage watchdog that stops the bot rather than acknowledge lost writes.

Updates (``Inbox``): the application's update queue is a :class:`PersistentUpdateQueue`, whose
``put`` writes the update to the database (table ``inbox``) before it is queued. PTB's Updater
confirms a batch to Telegram (the next getUpdates' offset) only after it has put the whole batch,
and the webhook answers 200 only after the put, so an update Telegram considers delivered is
always on disk. The update processor marks it done once its handlers have finished; at start,
whatever is not done (a kill -9 mid-batch) is replayed, oldest first. An update seen twice (Telegram
re-sends what was never confirmed; a replay and its re-sent copy) is handled once: the processor
claims each update id once per process, and ids already done are loaded at start.

Rate limit: a handler in groups.RATE_GATE (before the access gate and everything else) takes a token from
the sender's bucket (``bot.services.ratelimit``); without one the update is dropped, with one polite
notice per episode. Admins are not limited.

Watchdog: at start a full check (integrity, WAL, a write that commits), then every tick the cheap
one (the file is still the one opened, a write commits). A failure anywhere (also a user's write
that found the file unusable) is one line naming DATABASE_PATH, logged CRITICAL, and the bot stops
with a non-zero exit instead of carrying on without its database.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.error import NetworkError
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.services.ratelimit import RateLimiter
from bot.services.storage import Storage, StorageFault
from bot.transports.telegram import groups
from bot.transports.telegram.handlers import Context, ack, is_addressed, services, services_of

log = logging.getLogger(__name__)


SLOW_DOWN = "⏳ Bạn gửi hơi nhanh. Vui lòng đợi khoảng {s} giây rồi hỏi tiếp nhé."
SLOW_DOWN_TOAST = "⏳ Bạn bấm hơi nhanh, vui lòng đợi vài giây."


class Inbox:
    """Updates persisted before they are acknowledged, replayed after a crash, handled once."""

    def __init__(self, storage: Storage, remember: int = 100_000) -> None:
        self.storage = storage
        self.remember = remember
        self._seen: set[int] = set()
        self._order: deque[int] = deque()
        self.replayed = 0
        self.duplicates = 0

    def _remember(self, update_id: int) -> None:
        self._seen.add(update_id)
        self._order.append(update_id)
        while len(self._order) > self.remember:
            self._seen.discard(self._order.popleft())

    def claim(self, update_id: int) -> bool:
        """True the first time an update id is seen by this process (and it was not done before)."""
        if update_id in self._seen:
            self.duplicates += 1
            return False
        self._remember(update_id)
        return True

    async def persist(self, update: Update) -> None:
        """Write the update before it is queued (so before Telegram is told it was received)."""
        if self.storage.is_open:
            await self.storage.inbox_put([(update.update_id, update.to_json())])

    async def done(self, update_id: int) -> None:
        """The update's handlers finished: it is not replayed."""
        if self.storage.is_open:
            await self.storage.inbox_done(update_id)

    async def load(self, application: Application) -> list[Update]:
        """At start: remember the ids already handled; return the updates to replay."""
        for update_id in reversed(await self.storage.inbox_done_ids(self.remember)):
            self._remember(update_id)
        replay = []
        for update_id, payload in await self.storage.inbox_pending():
            try:
                update = Update.de_json(json.loads(payload), application.bot)
            except Exception:  # noqa: BLE001 - an unreadable row must not stop the start
                log.exception("update %s in the inbox cannot be read; skipped", update_id)
                await self.storage.inbox_done(update_id)
                continue
            if update is not None:
                replay.append(update)
        return replay


class PersistentUpdateQueue(asyncio.Queue):
    """The application's update queue: an Update is written to the inbox before it is queued."""

    def __init__(self) -> None:
        super().__init__()
        self.inbox: Inbox | None = None
        self.on_fault: Callable[[str], None] | None = None  # set by install: fatal()

    async def put(self, item: Any) -> None:
        """Persist (an Update, once the inbox is open), then queue. When the database cannot keep
        it, the bot is stopped and a NetworkError raised: PTB's polling loop then neither queues
        nor confirms the update (Telegram sends it again after a restart), and stops cleanly."""
        if self.inbox is not None and isinstance(item, Update):
            try:
                await self.inbox.persist(item)
            except StorageFault as exc:
                if self.on_fault is not None:
                    self.on_fault(str(exc))
                raise NetworkError(f"update {item.update_id} not kept: {exc}") from None
        await super().put(item)


def inbox_of(application: Application) -> Inbox | None:
    """The application's inbox (None if it has none)."""
    return application.bot_data.inbox


async def replay_inbox(application: Application) -> int:
    """Queue the updates a crash left unhandled (post_init, before polling starts)."""
    inbox = inbox_of(application)
    if inbox is None:
        return 0
    updates = await inbox.load(application)
    queue = application.update_queue
    for update in updates:
        await asyncio.Queue.put(queue, update)  # already in the inbox: not written again
    inbox.replayed = len(updates)
    if updates:
        log.warning("%d update(s) received before the last stop were not handled; handling them now", len(updates))
    return len(updates)


# -- fatal storage faults -------------------------------------------------------------------------


def fatal(application: Application, message: str) -> None:
    """Stop the bot for good (once): one CRITICAL line; ``run`` then exits non-zero with it."""
    if application.bot_data.fatal:
        return
    application.bot_data.fatal = message
    log.critical("%s; stopping the bot so that nothing more is acknowledged without being kept", message)
    stop: Callable[[], None] = application.bot_data.stopper or application.stop_running
    stop()


async def check_storage(application: Application, *, integrity: bool) -> bool:
    """Run the storage check; on a fault, :func:`fatal`. Returns True when healthy."""
    storage = services_of(application).storage
    try:
        await storage.check_health(integrity=integrity)
    except StorageFault as exc:
        fatal(application, str(exc))
        return False
    if storage.fault:
        fatal(application, storage.fault)
        return False
    return True


async def _watch(application: Application, interval: float) -> None:
    settings = services_of(application).settings
    storage = services_of(application).storage
    ticks = 0
    while True:
        await asyncio.sleep(interval)
        if not await check_storage(application, integrity=False):
            return
        ticks += 1
        if ticks == 1 or ticks % max(1, int(86_400 / interval)) == 0:  # retention, about daily
            with suppress(Exception):
                removed = await storage.prune(query_log_days=settings.query_log_retention_days)
                if removed["query_log"]:
                    log.info("query log: %d question(s) older than %d days deleted", removed["query_log"],
                             settings.query_log_retention_days)


def start_watchdog(application: Application, interval: float) -> None:
    """Check the storage every ``interval`` seconds (post_init)."""
    application.bot_data.watchdog = asyncio.create_task(_watch(application, interval), name="storage-watchdog")


async def stop_watchdog(application: Application) -> None:
    """Cancel the watchdog (post_shutdown)."""
    task, application.bot_data.watchdog = application.bot_data.watchdog, None
    if task is not None:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


# -- rate limit -------------------------------------------------------------------------------------


def _counts(update: Update, context: Context) -> bool:
    """Updates that cost the bot work: button presses, private messages, group messages to the bot."""
    if update.callback_query is not None:
        return True
    message = update.message
    if message is None or update.effective_chat is None:
        return False
    if update.effective_chat.type == ChatType.PRIVATE:
        return True
    return is_addressed(message, context.bot.id, context.bot.username or "")


async def rate_gate(update: Update, context: Context) -> None:
    """Group -20: take a token from the sender's bucket, or drop the update (one polite notice)."""
    limiter = context.bot_data.rate_limiter
    user = update.effective_user
    if limiter is None or user is None or not isinstance(update, Update) or not _counts(update, context):
        return
    if services(context).settings.is_admin(user.id):
        return
    verdict = limiter.check(user.id)
    if verdict.allowed:
        return
    if verdict.notify:
        log.info("user %s is sending too fast; updates dropped for %.0f s", user.id, verdict.wait_s)
        if update.callback_query is not None:
            await ack(context, update.callback_query, SLOW_DOWN_TOAST)
        elif update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id,
                                           SLOW_DOWN.format(s=max(1, round(verdict.wait_s))))
    raise ApplicationHandlerStop


async def on_storage_fault(update: object, context: Context) -> None:
    """Error handler: a handler's write found the database unusable: stop (one line)."""
    error = context.error
    if isinstance(error, StorageFault):
        fatal(context.application, str(error))
    elif services(context).storage.fault:
        fatal(context.application, services(context).storage.fault or "")


def install(application: Application, *, clock: Callable[[], float] | None = None) -> None:
    """The inbox on the application's queue and processor, the rate limit handler (groups.RATE_GATE)."""
    svc = services_of(application)
    settings = svc.settings
    inbox = Inbox(svc.storage)
    application.bot_data.inbox = inbox
    queue = application.update_queue
    if isinstance(queue, PersistentUpdateQueue):
        queue.inbox = inbox
        queue.on_fault = lambda message: fatal(application, message)
    processor = application.update_processor
    if hasattr(processor, "inbox"):
        processor.inbox = inbox
    limiter_args: dict[str, Any] = {"clock": clock} if clock is not None else {}
    application.bot_data.rate_limiter = RateLimiter(settings.user_rate_burst, settings.user_rate_per_minute,
                                                **limiter_args)
    application.add_handler(TypeHandler(Update, rate_gate), group=groups.RATE_GATE)
    application.add_error_handler(on_storage_fault)
