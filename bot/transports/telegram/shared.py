"""Helpers shared by the reminder, progress and admin handlers: the clock, target codes and admin
checks (the reply to a stale button is handlers.stale).

The clock is ``application.bot_data.clock``, a callable returning an aware datetime: the real
time in production, a controllable one in tests. Everything about schedules and "today" reads it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop

from bot.knowledge.schema import Target
from bot.services.answers import AnswerService
from bot.transports.telegram.formatting import escape, truncate
from bot.transports.telegram.handlers import Context, ack, services

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

ADMIN_ONLY = "Xin lỗi, thao tác này chỉ dành cho quản trị viên. Lần thử này đã được ghi lại."
UNKNOWN_TARGET = (
    "Không có chỉ tiêu «{code}». Hãy dùng số thứ tự trong /chitieu (1–{n}) hoặc mã chỉ tiêu, "
    "ví dụ <code>1</code> hoặc <code>{example}</code>."
)


def system_clock() -> datetime:
    """The real time (UTC)."""
    return datetime.now(UTC)


def clock_of(application: Application) -> Clock:
    """The application's clock (``bot_data.clock``, default: the real time)."""
    return application.bot_data.clock or system_clock


def now(context: Context) -> datetime:
    """The current time by the application's clock (aware)."""
    return clock_of(context.application)()


def today(context: Context) -> date:
    """Today in the bot's time zone, by the application's clock."""
    return now(context).astimezone(services(context).settings.tz).date()


def target_number(answers: AnswerService, target: Target) -> int | None:
    """The target's number in the /chitieu list (1-based), or None when it is not listed."""
    for i, t in enumerate(answers.targets(), 1):
        if t.id == target.id:
            return i
    return None


def resolve_target(answers: AnswerService, code: str) -> Target | None:
    """A target of the report's target year named by its /chitieu number ('3', '#3') or its id."""
    code = code.strip().lstrip("#").rstrip(".").strip()
    if not code:
        return None
    targets = answers.targets()
    if code.isdigit():
        n = int(code)
        return targets[n - 1] if 1 <= n <= len(targets) else None
    return answers.kb.current_target(code.lower())


def unknown_target_text(answers: AnswerService, code: str) -> str:
    """The reply to a target code that names nothing (HTML)."""
    targets = answers.targets()
    example = targets[0].id if targets else "chi-tieu-..."
    return UNKNOWN_TARGET.format(code=escape(truncate(code, 60)), n=len(targets), example=escape(example))


async def require_admin(update: Update, context: Context, action: str, detail: str = "") -> bool:
    """True for an admin (ADMIN_IDS). Anyone else is refused (a reply, or an alert on a button)
    and the attempt is written to the audit log."""
    svc = services(context)
    user = update.effective_user
    user_id = user.id if user else None
    if svc.settings.is_admin(user_id):
        return True
    log.warning("admin action %r refused for user %s", action, user_id)
    await svc.storage.audit(user_id or 0, action, False, detail)
    if update.callback_query is not None:
        await ack(context, update.callback_query, ADMIN_ONLY, alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(ADMIN_ONLY)
    return False


def _attempt(update: Update, context: Context) -> str:
    """What the user tried, for the audit log: a button's data, a document's name, a command's
    arguments, or the text typed."""
    if update.callback_query is not None:
        return update.callback_query.data or ""
    message = update.effective_message
    if message is not None and message.document is not None:
        return message.document.file_name or ""
    if context.args is not None:
        return " ".join(context.args)
    return (message.text or "") if message is not None else ""


Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]


def admin_only(action: str, *, stop: bool = False) -> Callable[[Handler], Handler]:
    """Decorator: the handler runs for admins only; anyone else is refused and audited
    (:func:`require_admin`). ``stop``: a refusal also ends the update's handling (a handler in an
    early group, whose update must not reach the question handler)."""
    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(update: Update, context: Context) -> None:
            if not await require_admin(update, context, action, _attempt(update, context)):
                if stop:
                    raise ApplicationHandlerStop
                return
            await handler(update, context)
        return guarded
    return wrap


async def audit(update: Update, context: Context, action: str, detail: str = "") -> None:
    """Record an allowed admin action."""
    user = update.effective_user
    await services(context).storage.audit(user.id if user else 0, action, True, detail)
