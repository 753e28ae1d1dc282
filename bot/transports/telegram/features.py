"""Reminders, progress and admin operations hooked into the Telegram application in one call.

``build_application(settings, answers, extra_handlers=install)`` (``run_bot`` and the tests) adds
their handlers between the main handlers and the catch-alls, sets the clock, schedules the reminder
job and chains the application's post_init/post_stop/post_shutdown: SIGHUP reload and the admins'
command menu at start; at stop, the signal handler is removed and a running fan-out is cancelled
before storage closes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from telegram import BotCommand, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import Application

from bot.transports.telegram import admin, backup, capnhat, progress, reminder_job, texts
from bot.transports.telegram.handlers import services_of
from bot.transports.telegram.shared import Clock, system_clock

log = logging.getLogger(__name__)

# Admin commands: in the command menu of the admins' private chats only.
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("capnhat", "Cập nhật tiến độ một chỉ tiêu (quản trị)"),
    ("reload", "Nạp lại cơ sở dữ liệu (quản trị)"),
    ("chuatraloi", "Câu hỏi chưa trả lời được (quản trị)"),
    ("thongke", "Thống kê sử dụng và nhắc tiến độ (quản trị)"),
    ("saoluu", "Sao lưu cơ sở dữ liệu và gửi tệp (quản trị)"),
)

Hook = Callable[[Application], Awaitable[None]]


def install(
    application: Application,
    *,
    clock: Clock | None = None,
    tick_seconds: float | None = None,
    knowledge_dir: Path | None = None,
    reminder_options: dict[str, Any] | None = None,
) -> None:
    """Add reminders, progress and admin handlers to ``application`` (see module docs).

    ``clock``: the time source for schedules and "today" (default: the real time; tests pass a
    controllable one; it can also be replaced later in ``bot_data.clock``). ``tick_seconds``:
    the reminder job's interval (default REMINDER_TICK_SECONDS). ``reminder_options``: extra
    ReminderService arguments (max_flood_waits, backoff, concurrency…).
    """
    application.bot_data.clock = clock or application.bot_data.clock or system_clock
    # One line per tick at INFO would drown the log (every REMINDER_TICK_SECONDS).
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    reminder_job.register(application, tick_seconds=tick_seconds, service_options=reminder_options)
    progress.register(application)
    capnhat.register(application)
    admin.register(application, knowledge_dir)
    backup.register(application)
    _chain(application)


async def set_admin_menu(application: Application) -> None:
    """The public commands plus the admin ones, in each admin's private chat (best effort: Telegram
    refuses a chat the admin never opened with the bot)."""
    svc = services_of(application)
    yrs = texts.years(svc.answers)
    commands = [BotCommand(c, d.format(**yrs)) for c, d in (*texts.COMMANDS, *ADMIN_COMMANDS)]
    for admin_id in sorted(svc.settings.admin_ids):
        try:
            await application.bot.set_my_commands(commands, scope=BotCommandScopeChat(admin_id))
        except TelegramError as exc:
            log.info("no admin command menu for %s: %s", admin_id, exc)


async def _on_start(application: Application) -> None:
    admin.add_sighup(application)
    await set_admin_menu(application)


async def _on_stop(application: Application) -> None:
    admin.remove_sighup()
    await reminder_job.stop(application)


def _chain(application: Application) -> None:
    """Run our start hook after the application's post_init, our stop hook before its post_stop
    and post_shutdown (which closes storage)."""
    prev_init: Hook | None = application.post_init
    prev_stop: Hook | None = application.post_stop
    prev_shutdown: Hook | None = application.post_shutdown

    async def post_init(app: Application) -> None:
        if prev_init is not None:
            await prev_init(app)
        await _on_start(app)

    async def post_stop(app: Application) -> None:
        await _on_stop(app)
        if prev_stop is not None:
            await prev_stop(app)

    async def post_shutdown(app: Application) -> None:
        await _on_stop(app)
        if prev_shutdown is not None:
            await prev_shutdown(app)

    application.post_init = post_init
    application.post_stop = post_stop
    application.post_shutdown = post_shutdown
