"""What the application keeps between updates, typed: PTB's ``ContextTypes(bot_data=BotData)``.

One attribute per thing, set by the module that owns it (named beside each field), read through
the owner's accessor (``services(context)``, ``admin_of(application)``, ``runtime_of(application)``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext, ExtBot

if TYPE_CHECKING:
    from bot.services.admin import AdminService
    from bot.services.ratelimit import RateLimiter
    from bot.services.subscriptions import SubscriptionService
    from bot.transports.telegram.handlers import Services
    from bot.transports.telegram.reliability import Inbox
    from bot.transports.telegram.reminder_job import ReminderRuntime


@dataclass
class BotData:
    """The application's state (``application.bot_data``)."""

    services: Services | None = None  # app.build_application
    admin: AdminService | None = None  # admin.register
    reminders: ReminderRuntime | None = None  # reminder_job.register
    subscriptions: SubscriptionService | None = None  # reminder_job.register
    clock: Callable[[], datetime] | None = None  # features.install (None: the real time)
    inbox: Inbox | None = None  # reliability.install
    rate_limiter: RateLimiter | None = None  # reliability.install
    fatal: str | None = None  # reliability.fatal: the one line that stopped the bot
    stopper: Callable[[], None] | None = None  # how fatal() stops (None: application.stop_running)
    watchdog: asyncio.Task[None] | None = None  # reliability.start_watchdog
    early_sighup: asyncio.Task[Any] | None = None  # admin.add_sighup: a reload owed to a start-up SIGHUP
    confirmed: dict[tuple[int, int], None] = field(default_factory=dict)  # progress: confirmations used


Context = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
