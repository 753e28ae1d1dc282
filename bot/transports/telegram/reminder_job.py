"""The reminder job on Telegram, the notices about removed targets, and the feature's registration.

The job: a JobQueue ``run_repeating`` tick (REMINDER_TICK_SECONDS) starts a fan-out task,
``ReminderService.run_due(make_sender(bot), now=clock())``, unless one is still running. The first
tick first runs ``recover()`` (ledger rows a crash left 'sending' become failed, never re-sent) and
tells subscribers of targets missing from the base. The fan-out runs beside the update handling, so
answers keep flowing; at stop it is cancelled (what it had not claimed goes out after the restart).

The notices (``SubscriptionService.notify_missing``) go through the reminder service's pacer and
retry rules; one Telegram did not take stays unmarked and is sent by a later tick.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.knowledge.base import KnowledgeBase
from bot.services.reminders import FanoutResult, ReminderService
from bot.services.subscriptions import SubscriptionService
from bot.transports.telegram import reminder_buttons
from bot.transports.telegram import reminders as ui
from bot.transports.telegram.callbacks import CancelSubscription, EditSubscription, SubscribeMenu, SubscribeStep
from bot.transports.telegram.handlers import Context, services_of
from bot.transports.telegram.sender import make_sender
from bot.transports.telegram.shared import clock_of

log = logging.getLogger(__name__)



@dataclass
class ReminderRuntime:
    """The reminder job's state (``application.bot_data.reminders``)."""

    service: ReminderService
    subscriptions: SubscriptionService
    tick_seconds: float
    task: asyncio.Task[None] | None = None
    started: bool = False
    ticks: int = 0
    runs: int = 0  # fan-outs finished (or cancelled)
    last: FanoutResult | None = None

    @property
    def notices_pending(self) -> bool:
        """Removed-target notices Telegram did not take yet."""
        return self.subscriptions.notices_pending


def runtime_of(application: Application) -> ReminderRuntime:
    """The reminder runtime of an application (set by :func:`register`)."""
    runtime = application.bot_data.reminders
    assert runtime is not None, "reminder_job.register sets bot_data.reminders"
    return runtime


# -- missing targets -----------------------------------------------------------------------


def _subscriptions(application: Application) -> SubscriptionService:
    """The application's subscription service (one without the reminders' pacer if the reminders
    are not installed: each notice is then one plain attempt)."""
    runtime = application.bot_data.reminders
    if runtime is not None:
        return runtime.subscriptions
    svc = services_of(application)
    return SubscriptionService(svc.storage, lambda: svc.answers.kb, svc.settings.tz,
                               clock=lambda: clock_of(application)())


async def start_notices(application: Application, old_kb: KnowledgeBase | None = None) -> int:
    """After a reload: how many subscribers are to be told that their target is gone; the notices
    go out in the background at the reminders' pace (the admin's reply does not wait for them)."""
    count = len(await _subscriptions(application).to_tell())
    if count:
        application.create_task(_notices_task(application, old_kb), name="missing-target-notices")
    return count


async def _notices_task(application: Application, old_kb: KnowledgeBase | None) -> None:
    try:
        await notify_missing(application, old_kb)
    except Exception:  # noqa: BLE001 - the next tick tries again
        log.exception("could not tell subscribers about removed targets")
        runtime = application.bot_data.reminders
        if runtime is not None:
            runtime.subscriptions.notices_pending = True


async def notify_missing(application: Application, old_kb: KnowledgeBase | None = None) -> int:
    """Tell each subscriber whose followed target (or section) left the base, once per ref (see
    :meth:`SubscriptionService.notify_missing`). Returns the number of messages sent."""
    return await _subscriptions(application).notify_missing(make_sender(application.bot), ui.notice_text, old_kb)


# -- the job -------------------------------------------------------------------------------


async def _fanout(application: Application, runtime: ReminderRuntime, at: datetime) -> None:
    try:
        if runtime.subscriptions.notices_pending:
            await notify_missing(application)
        result = await runtime.service.run_due(make_sender(application.bot), now=at)
        runtime.last = result
        tried = result.sent + result.deactivated + result.failed + result.retry + result.uncertain + result.expired
        if tried:  # a line only when something was due and not yet done (not every tick all week)
            log.info("reminders at %s: sent %d, deactivated %d, failed %d, to retry %d, uncertain %d, "
                     "expired %d, already done %d (%.1fs)",
                     at.isoformat(), result.sent, result.deactivated, result.failed, result.retry,
                     result.uncertain, result.expired, result.skipped, result.duration_s)
    except asyncio.CancelledError:
        log.warning("reminder fan-out cancelled; unclaimed reminders go out at the next start")
        raise
    except Exception:  # noqa: BLE001 - the next tick tries again; the ledger keeps it at most once
        log.exception("reminder fan-out failed")
    finally:
        runtime.runs += 1


async def tick(context: Context) -> None:
    """JobQueue callback: recover once, then start a fan-out unless one is running."""
    application = context.application
    runtime = runtime_of(application)
    if not runtime.started:
        interrupted = await runtime.service.recover()
        if interrupted:
            log.warning("%d reminder(s) were being sent when the bot stopped; marked uncertain (never re-sent)",
                        interrupted)
        runtime.started = True
        try:
            await notify_missing(application)
        except Exception:  # noqa: BLE001 - reminders must still run
            log.exception("could not check subscriptions for missing targets")
    if runtime.task is None or runtime.task.done():
        runtime.task = asyncio.create_task(_fanout(application, runtime, clock_of(application)()),
                                           name="reminder-fanout")
    runtime.ticks += 1


async def stop(application: Application) -> None:
    """Cancel a running fan-out (post_stop): its unclaimed reminders go out after the restart."""
    runtime = application.bot_data.reminders
    task = runtime.task if runtime else None
    if task is not None and not task.done():
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def register(application: Application, *, tick_seconds: float | None = None,
             service_options: dict[str, Any] | None = None) -> ReminderRuntime:
    """Subscription commands and buttons, the follow hook, the repeating reminder job."""
    svc = services_of(application)
    settings = svc.settings
    interval = tick_seconds if tick_seconds is not None else settings.reminder_tick_seconds
    options: dict[str, Any] = {"clock": lambda: clock_of(application)()}
    options.update(service_options or {})
    service = ReminderService(
        svc.storage, lambda: svc.answers.kb, settings.tz,
        rate=settings.reminder_rate, per_chat_interval=settings.reminder_per_chat_interval,
        **options,
    )
    subscriptions = SubscriptionService(svc.storage, lambda: svc.answers.kb, settings.tz, reminders=service,
                                        clock=lambda: clock_of(application)())
    runtime = ReminderRuntime(service, subscriptions, interval)
    application.bot_data.reminders = runtime
    application.bot_data.subscriptions = subscriptions
    svc.follow = ui.follow_target
    application.add_handler(CommandHandler("theodoi", ui.follow_command))
    application.add_handler(CommandHandler("dangtheodoi", ui.list_command))
    application.add_handler(CommandHandler("huytheodoi", ui.cancel_command))
    application.add_handler(CallbackQueryHandler(reminder_buttons.menu_button, pattern=SubscribeMenu.pattern()))
    application.add_handler(CallbackQueryHandler(reminder_buttons.new_button, pattern=SubscribeStep.pattern()))
    application.add_handler(CallbackQueryHandler(reminder_buttons.change_button, pattern=EditSubscription.pattern()))
    application.add_handler(CallbackQueryHandler(reminder_buttons.cancel_button, pattern=CancelSubscription.pattern()))
    if application.job_queue is None:
        raise RuntimeError("reminders need the JobQueue: install python-telegram-bot[job-queue]")
    application.job_queue.run_repeating(tick, interval=interval, first=0, name="reminders")
    return runtime
