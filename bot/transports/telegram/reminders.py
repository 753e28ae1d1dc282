"""Reminder subscriptions on Telegram and the reminder job.

Commands: ``/theodoi [mã | tất cả]`` (subscribe), ``/dangtheodoi`` (list, change, cancel),
``/huytheodoi [số | tất cả]`` (cancel); the "🔔 Theo dõi" button on a target answer starts the same
flow (the ``Services.follow`` hook).

Callback data is stateless and restart-proof (at most 64 bytes; the longest is
``f:t:<ref ≤ 40>:m28:23`` = 52):

* ``f:R`` / ``f:T`` / ``f:S``      what to follow: the menu, the targets, the sections
* ``f:<scope>:<ref>[:<w|m><day>][:<hour>]``  a new subscription, one step at a time; scope ``t``
  (target, ``ref`` from EntryRefs), ``s`` (section id) or ``a`` (all, empty ref)
* ``e:<id>[:<w|m><day>][:<hour>]``  change the schedule of subscription ``id``
* ``x:<id>`` / ``x:all``          cancel one / all

The job: a JobQueue ``run_repeating`` tick (REMINDER_TICK_SECONDS) starts a fan-out task,
``ReminderService.run_due(make_sender(bot), now=clock())``, unless one is still running. The first
tick first runs ``recover()`` (ledger rows a crash left 'sending' become failed, never re-sent) and
tells subscribers of targets missing from the base. The fan-out runs beside the update handling, so
answers keep flowing; at stop it is cancelled (what it had not claimed goes out after the restart).
"""

from __future__ import annotations

import asyncio
import logging
import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.schema import Target
from bot.services.answers import AnswerService
from bot.services.reminders import ChatUnavailable, FanoutResult, ReminderService, SendError
from bot.services.schedule import WEEKDAYS_VI, describe, due_period, next_fire
from bot.services.storage import Subscription
from bot.transports.telegram.formatting import escape
from bot.transports.telegram.handlers import Context, ack, send_html, services, services_of
from bot.transports.telegram.keyboards import button
from bot.transports.telegram.sender import make_sender
from bot.transports.telegram.shared import clock_of, now, resolve_target, stale, unknown_target_text

log = logging.getLogger(__name__)

REMINDERS = "reminders"

# -- texts (Vietnamese, HTML) -----------------------------------------------------------------

WHAT = "🔔 <b>Theo dõi tiến độ chỉ tiêu năm {ty}</b>\nBạn muốn theo dõi gì?"
WHAT_TARGET = "🔔 Chọn chỉ tiêu muốn theo dõi:"
WHAT_SECTION = "🔔 Chọn mục: bạn sẽ nhận tiến độ mọi chỉ tiêu của mục đó."
ASK_CADENCE = "🔔 Theo dõi: <b>{what}</b>\nNhắc hằng tuần hay hằng tháng?"
ASK_WEEKDAY = "🔔 Theo dõi: <b>{what}</b>\nNhắc hằng tuần vào ngày nào?"
ASK_DAY = "🔔 Theo dõi: <b>{what}</b>\nNhắc hằng tháng vào ngày nào (1–28)?"
ASK_HOUR = "🔔 Theo dõi: <b>{what}</b>\nNhắc {when} lúc mấy giờ (giờ {tz})?"
SUBSCRIBED = "✅ Đã đăng ký theo dõi <b>{what}</b>: nhắc {schedule} (giờ {tz})."
RESCHEDULED = "✅ Đã đổi lịch nhắc <b>{what}</b>: {schedule} (giờ {tz})."
NEXT_NOW = "Bản nhắc kỳ này sẽ được gửi ngay."
NEXT_AT = "Lần nhắc tới: {at}."
SEE_LIST = "Xem, đổi hoặc hủy: /dangtheodoi"
LIST_TITLE = "<b>Bạn đang theo dõi</b> (giờ {tz}):"
LIST_ITEM = "{n}. {what} — {schedule}"
LIST_EMPTY = "Bạn chưa theo dõi chỉ tiêu nào. Gõ /theodoi để đăng ký nhận nhắc tiến độ."
CANCEL_TITLE = "Chọn mục muốn hủy theo dõi:"
CANCELLED_ONE = "Đã hủy theo dõi: {what}."
CANCELLED_ALL = "Đã hủy {n} mục theo dõi. Bạn sẽ không nhận nhắc tiến độ nữa."
NOTHING_TO_CANCEL = "Bạn không có mục theo dõi nào để hủy."
CANCEL_BAD_ARG = (
    "Không hiểu «{arg}». Gõ /huytheodoi để chọn mục muốn hủy, /huytheodoi <code>tất cả</code> để hủy hết, "
    "hoặc /huytheodoi <code>số</code> theo thứ tự trong /dangtheodoi (1–{n})."
)
GONE_SUBSCRIPTION = "Mục theo dõi này đã được hủy hoặc không còn. Gõ /dangtheodoi để xem danh sách hiện tại."
MISSING_TARGET = (
    "⚠️ {what} mà bạn theo dõi không còn trong cơ sở dữ liệu của bot (có thể đã bị bỏ hoặc đổi mã). "
    "Lịch nhắc vẫn được giữ; gõ /dangtheodoi để đổi sang chỉ tiêu khác hoặc hủy."
)
GONE_SUFFIX = " (không còn trong cơ sở dữ liệu)"

BTN_ONE_TARGET = "🎯 Một chỉ tiêu"
BTN_SECTION = "📂 Các chỉ tiêu của một mục"
BTN_ALL = "📋 Tất cả chỉ tiêu"
BTN_WEEKLY = "Hằng tuần"
BTN_MONTHLY = "Hằng tháng"
BTN_BACK = "↩ Quay lại"
BTN_CHANGE = "✏️ Đổi lịch {n}"
BTN_CANCEL = "❌ Hủy {n}"
BTN_CANCEL_ALL = "❌ Hủy tất cả"
BTN_MORE = "➕ Theo dõi thêm"

TOAST_SAVED = "Đã lưu lịch nhắc"
TOAST_CANCELLED = "Đã hủy"

# -- callback data -------------------------------------------------------------------------

_MENU_RE = re.compile(r"^f:([RTS])$")
_NEW_RE = re.compile(r"^f:([tsa]):([^:]*)(?::([wm])(\d{0,2}))?(?::(\d{1,2}))?$")
_EDIT_RE = re.compile(r"^e:(\d{1,12})(?::([wm])(\d{0,2}))?(?::(\d{1,2}))?$")
_CANCEL_RE = re.compile(r"^x:(\d{1,12}|all)$")
_ALL_WORDS = frozenset({"all", "tất cả", "tat ca", "tatca", "hết", "het"})


@dataclass(frozen=True)
class Step:
    """Where a subscription flow stands: cadence, day (weekday 0-6 or day of month 1-28), hour."""

    cadence: str | None = None
    day: int | None = None
    hour: int | None = None

    @classmethod
    def parse(cls, cadence: str | None, day: str | None, hour: str | None) -> Step | None:
        """A step from the pieces of callback data; None when a value is out of range (forged)."""
        cad = {"w": "weekly", "m": "monthly"}.get(cadence or "")
        d = int(day) if day else None
        h = int(hour) if hour else None
        if cad is None:
            return cls() if h is None else None
        if d is not None and not (0 <= d <= 6 if cad == "weekly" else 1 <= d <= 28):
            return None
        if h is not None and (d is None or not 0 <= h <= 23):
            return None
        return cls(cad, d, h)

    def schedule(self) -> dict[str, Any]:
        """Subscription fields for a complete step."""
        if self.cadence == "weekly":
            return {"cadence": "weekly", "weekday": self.day, "day_of_month": None, "hour": self.hour}
        return {"cadence": "monthly", "weekday": None, "day_of_month": self.day, "hour": self.hour}


@dataclass(frozen=True)
class Subject:
    """What a subscription follows."""

    scope: str  # 'target' | 'section' | 'all'
    ref: str  # target id / section id / ''
    data: str  # the callback prefix naming it: 'f:t:<ref>', 'f:s:<id>', 'f:a:'


def subject_label(answers: AnswerService, scope: str, ref: str) -> str:
    """Plain-text name of what a subscription follows (marked when it left the base)."""
    kb = answers.kb
    if scope == "all":
        return f"tất cả chỉ tiêu năm {answers.target_year}"
    if scope == "section":
        section = kb.sections.get(ref)
        return f"các chỉ tiêu của mục {section.title}" if section else f"mục {ref}{GONE_SUFFIX}"
    target = kb.entries.get(ref)
    if isinstance(target, Target) and target.year == answers.target_year:
        return target.title
    return f"chỉ tiêu {ref}{GONE_SUFFIX}"


def target_sections(answers: AnswerService) -> list[tuple[str, str]]:
    """(section id, title) of the sections holding targets of the target year, in report order."""
    used = {t.section for t in answers.targets()}
    return [(s.id, s.title) for s in answers.kb.sections.values() if s.id in used]


def subject_from(answers: AnswerService, scope_code: str, ref: str) -> Subject | None:
    """The Subject callback data names, or None (stale: the target or section is gone)."""
    if scope_code == "a":
        return Subject("all", "", "f:a:") if ref == "" else None
    if scope_code == "s":
        ok = any(sid == ref for sid, _ in target_sections(answers))
        return Subject("section", ref, f"f:s:{ref}") if ok else None
    target_id = answers.refs.resolve(ref)
    target = answers.get(target_id) if target_id else None
    if isinstance(target, Target) and target.year == answers.target_year:
        return Subject("target", target.id, f"f:t:{ref}")
    return None


def target_subject(answers: AnswerService, target: Target) -> Subject:
    """The Subject for one target."""
    return Subject("target", target.id, f"f:t:{answers.refs.ref(target.id)}")


# -- keyboards -----------------------------------------------------------------------------


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]


def menu_markup() -> InlineKeyboardMarkup:
    """One target, a section's targets, or all targets."""
    return InlineKeyboardMarkup([
        [button(BTN_ONE_TARGET, "f:T")],
        [button(BTN_SECTION, "f:S")],
        [button(BTN_ALL, "f:a:")],
    ])


def targets_markup(answers: AnswerService) -> InlineKeyboardMarkup:
    """Every target of the target year, numbered as in /chitieu."""
    rows = [[button(f"{i}. {t.title}", f"f:t:{answers.refs.ref(t.id)}")] for i, t in enumerate(answers.targets(), 1)]
    rows.append([button(BTN_BACK, "f:R")])
    return InlineKeyboardMarkup(rows)


def sections_markup(answers: AnswerService) -> InlineKeyboardMarkup:
    """The sections that hold targets."""
    rows = [[button(title, f"f:s:{sid}")] for sid, title in target_sections(answers)
            if len(f"f:s:{sid}:m28:23".encode()) <= 64]
    rows.append([button(BTN_BACK, "f:R")])
    return InlineKeyboardMarkup(rows)


def step_markup(prefix: str, step: Step) -> InlineKeyboardMarkup:
    """The buttons of the next step after ``step`` (``prefix``: 'f:t:<ref>' or 'e:<id>')."""
    if step.cadence is None:
        return InlineKeyboardMarkup([[button(BTN_WEEKLY, f"{prefix}:w"), button(BTN_MONTHLY, f"{prefix}:m")]])
    c = "w" if step.cadence == "weekly" else "m"
    if step.day is None:
        if step.cadence == "weekly":
            days = [button(name, f"{prefix}:w{i}") for i, name in enumerate(WEEKDAYS_VI)]
            return InlineKeyboardMarkup(_rows(days, 4))
        return InlineKeyboardMarkup(_rows([button(str(d), f"{prefix}:m{d}") for d in range(1, 29)], 7))
    hours = [button(f"{h:02d}:00", f"{prefix}:{c}{step.day}:{h}") for h in range(24)]
    return InlineKeyboardMarkup(_rows(hours, 6))


def step_text(what: str, step: Step, tz: str) -> str:
    """The question of the next step (HTML)."""
    what = escape(what)
    if step.cadence is None:
        return ASK_CADENCE.format(what=what)
    if step.day is None:
        return (ASK_WEEKDAY if step.cadence == "weekly" else ASK_DAY).format(what=what)
    when = (f"hằng tuần vào {WEEKDAYS_VI[step.day]}" if step.cadence == "weekly"
            else f"hằng tháng vào ngày {step.day}")
    return ASK_HOUR.format(what=what, when=when, tz=escape(tz))


# -- helpers -------------------------------------------------------------------------------


async def _edit(update: Update, context: Context, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Show ``text`` in place of the message the button is on (a new message if it cannot be edited)."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return  # a double tap
        log.info("cannot edit the message (%s); sending a new one", exc.message)
        await send_html(context, chat.id, text, markup)


async def _remember_chat(update: Update, context: Context) -> None:
    chat = update.effective_chat
    if chat is not None:
        await services(context).storage.upsert_chat(chat.id, chat.type, chat.title, chat.username)


def _when(at: datetime) -> str:
    return f"{WEEKDAYS_VI[at.weekday()]} {at:%d/%m/%Y} lúc {at:%H:%M}"


async def _next_line(context: Context, sub: Subscription) -> str:
    """'Lần nhắc tới: …', or 'sent now' when this period's time has passed and nothing went out."""
    svc = services(context)
    current = now(context)
    period = due_period(sub, current, svc.settings.tz)
    if period and await svc.storage.delivery_status(sub.id, period) is None:
        return NEXT_NOW
    return NEXT_AT.format(at=_when(next_fire(sub, current, svc.settings.tz)))


def list_view(answers: AnswerService, subs: list[Subscription], tz: str,
              header: str = "") -> tuple[str, InlineKeyboardMarkup | None]:
    """/dangtheodoi: the chat's subscriptions, with change and cancel buttons for each."""
    lines = [escape(header)] if header else []
    if not subs:
        lines.append(LIST_EMPTY)
        return "\n".join(lines), None
    lines.append(LIST_TITLE.format(tz=escape(tz)))
    rows = []
    for n, sub in enumerate(subs, 1):
        what = subject_label(answers, sub.scope, sub.ref)
        lines.append(LIST_ITEM.format(n=n, what=escape(what), schedule=escape(describe(sub))))
        rows.append([button(BTN_CHANGE.format(n=n), f"e:{sub.id}"), button(BTN_CANCEL.format(n=n), f"x:{sub.id}")])
    rows.append([button(BTN_MORE, "f:R")])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def cancel_view(answers: AnswerService, subs: list[Subscription]) -> tuple[str, InlineKeyboardMarkup | None]:
    """/huytheodoi: one cancel button per subscription, and one for all."""
    if not subs:
        return NOTHING_TO_CANCEL, None
    rows = [[button(f"❌ {n}. {subject_label(answers, s.scope, s.ref)}", f"x:{s.id}")] for n, s in enumerate(subs, 1)]
    rows.append([button(BTN_CANCEL_ALL, "x:all")])
    return CANCEL_TITLE, InlineKeyboardMarkup(rows)


# -- commands ------------------------------------------------------------------------------


async def follow_command(update: Update, context: Context) -> None:
    """/theodoi [mã | tất cả]: choose what to follow, then the schedule."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    answers = services(context).answers
    arg = " ".join(context.args or []).strip()
    if not arg:
        await message.reply_text(WHAT.format(ty=answers.target_year), reply_markup=menu_markup())
        return
    if arg.lower() in _ALL_WORDS:
        subject = Subject("all", "", "f:a:")
    else:
        target = resolve_target(answers, arg)
        if target is None:
            await message.reply_text(unknown_target_text(answers, arg))
            return
        subject = target_subject(answers, target)
    what = subject_label(answers, subject.scope, subject.ref)
    await message.reply_text(step_text(what, Step(), ""), reply_markup=step_markup(subject.data, Step()))


async def follow_target(update: Update, context: Context, target: Target) -> None:
    """The "🔔 Theo dõi" button on a target answer (the ``Services.follow`` hook)."""
    await ack(context, update.callback_query)
    chat = update.effective_chat
    if chat is None:
        return
    answers = services(context).answers
    subject = target_subject(answers, target)
    await context.bot.send_message(chat.id, step_text(target.title, Step(), ""),
                                   reply_markup=step_markup(subject.data, Step()))


async def list_command(update: Update, context: Context) -> None:
    """/dangtheodoi: the chat's subscriptions with buttons to change or cancel each."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    svc = services(context)
    subs = await svc.storage.list_subscriptions(chat.id)
    text, markup = list_view(svc.answers, subs, svc.settings.timezone)
    await message.reply_text(text, reply_markup=markup)


async def cancel_command(update: Update, context: Context) -> None:
    """/huytheodoi [số | tất cả]: cancel one or all (without an argument: buttons to choose)."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    svc = services(context)
    subs = await svc.storage.list_subscriptions(chat.id)
    arg = " ".join(context.args or []).strip()
    if not arg:
        text, markup = cancel_view(svc.answers, subs)
        await message.reply_text(text, reply_markup=markup)
        return
    if not subs:
        await message.reply_text(NOTHING_TO_CANCEL)
        return
    if arg.lower() in _ALL_WORDS:
        n = await svc.storage.cancel_all(chat.id, now=now(context))
        await message.reply_text(CANCELLED_ALL.format(n=n))
        return
    number = arg.lstrip("#")
    if not number.isdigit() or not 1 <= int(number) <= len(subs):
        await message.reply_text(CANCEL_BAD_ARG.format(arg=escape(arg[:60]), n=len(subs)))
        return
    sub = subs[int(number) - 1]
    await svc.storage.cancel_subscription(sub.id, chat.id, now=now(context))
    await message.reply_text(CANCELLED_ONE.format(what=escape(subject_label(svc.answers, sub.scope, sub.ref))))


# -- buttons -------------------------------------------------------------------------------


async def menu_button(update: Update, context: Context) -> None:
    """``f:R`` / ``f:T`` / ``f:S``: the menu, the targets or the sections."""
    query = update.callback_query
    m = _MENU_RE.match(query.data or "") if query else None
    if m is None:
        await stale(update, context)
        return
    answers = services(context).answers
    if m.group(1) == "R":
        await _edit(update, context, WHAT.format(ty=answers.target_year), menu_markup())
    elif m.group(1) == "T":
        await _edit(update, context, WHAT_TARGET, targets_markup(answers))
    else:
        await _edit(update, context, WHAT_SECTION, sections_markup(answers))
    await ack(context, query)


async def new_button(update: Update, context: Context) -> None:
    """``f:<scope>:<ref>…``: the next step of a new subscription, or saving it."""
    query, chat = update.callback_query, update.effective_chat
    m = _NEW_RE.match(query.data or "") if query else None
    svc = services(context)
    subject = subject_from(svc.answers, m.group(1), m.group(2)) if m else None
    step = Step.parse(m.group(3), m.group(4), m.group(5)) if m else None
    if subject is None or step is None or chat is None:
        await stale(update, context)
        return
    what = subject_label(svc.answers, subject.scope, subject.ref)
    tz = svc.settings.timezone
    if step.hour is None:
        await _edit(update, context, step_text(what, step, tz), step_markup(subject.data, step))
        await ack(context, query)
        return
    await _remember_chat(update, context)
    before = {(s.scope, s.ref) for s in await svc.storage.list_subscriptions(chat.id)}
    sub = await svc.storage.add_subscription(chat.id, subject.scope, subject.ref, now=now(context),
                                             **step.schedule())
    template = RESCHEDULED if (subject.scope, subject.ref) in before else SUBSCRIBED
    await _saved(update, context, template, what, sub, tz)


async def _saved(update: Update, context: Context, template: str, what: str, sub: Subscription, tz: str) -> None:
    """Show the saved schedule (and when the next reminder comes) in place of the step message."""
    text = "\n".join([
        template.format(what=escape(what), schedule=escape(describe(sub)), tz=escape(tz)),
        await _next_line(context, sub),
        SEE_LIST,
    ])
    await _edit(update, context, text)
    await ack(context, update.callback_query, TOAST_SAVED)


async def change_button(update: Update, context: Context) -> None:
    """``e:<id>…``: change a subscription's schedule, step by step."""
    query, chat = update.callback_query, update.effective_chat
    m = _EDIT_RE.match(query.data or "") if query else None
    step = Step.parse(m.group(2), m.group(3), m.group(4)) if m else None
    if m is None or step is None or chat is None:
        await stale(update, context)
        return
    svc = services(context)
    sub = await svc.storage.get_subscription(int(m.group(1)))
    if sub is None or sub.chat_id != chat.id or not sub.active:
        await stale(update, context, GONE_SUBSCRIPTION)
        return
    what = subject_label(svc.answers, sub.scope, sub.ref)
    tz = svc.settings.timezone
    prefix = f"e:{sub.id}"
    if step.cadence is None:
        # From the list: a new message for the change, so the list stays readable.
        await ack(context, query)
        await context.bot.send_message(chat.id, step_text(what, step, tz), reply_markup=step_markup(prefix, step))
        return
    if step.hour is None:
        await _edit(update, context, step_text(what, step, tz), step_markup(prefix, step))
        await ack(context, query)
        return
    updated = await svc.storage.update_subscription(sub.id, chat.id, now=now(context), **step.schedule())
    if updated is None:
        await stale(update, context, GONE_SUBSCRIPTION)
        return
    await _saved(update, context, RESCHEDULED, what, updated, tz)


async def cancel_button(update: Update, context: Context) -> None:
    """``x:<id>`` / ``x:all``: cancel, then show what is left."""
    query, chat = update.callback_query, update.effective_chat
    m = _CANCEL_RE.match(query.data or "") if query else None
    if m is None or chat is None:
        await stale(update, context)
        return
    svc = services(context)
    if m.group(1) == "all":
        n = await svc.storage.cancel_all(chat.id, now=now(context))
        header = CANCELLED_ALL.format(n=n) if n else NOTHING_TO_CANCEL
    else:
        sub = await svc.storage.get_subscription(int(m.group(1)))
        if sub is None or sub.chat_id != chat.id or not sub.active:
            await stale(update, context, GONE_SUBSCRIPTION)
            return
        await svc.storage.cancel_subscription(sub.id, chat.id, now=now(context))
        header = CANCELLED_ONE.format(what=subject_label(svc.answers, sub.scope, sub.ref))
    subs = await svc.storage.list_subscriptions(chat.id)
    text, markup = list_view(svc.answers, subs, svc.settings.timezone, header=header)
    await _edit(update, context, text, markup)
    await ack(context, query, TOAST_CANCELLED)


# -- missing targets -----------------------------------------------------------------------


def _exists(kb: KnowledgeBase, sub: Subscription) -> bool:
    if sub.scope == "all":
        return True
    if sub.scope == "section":
        return sub.ref in kb.sections
    entry = kb.entries.get(sub.ref)
    return isinstance(entry, Target) and entry.year == kb.target_year


async def _to_tell(application: Application) -> list[Subscription]:
    """Active subscriptions whose followed ref is gone and whose subscriber was not told yet (a ref
    that came back is un-marked on the way)."""
    svc = services_of(application)
    kb = svc.answers.kb
    out = []
    for sub in await svc.storage.active_subscriptions():
        if _exists(kb, sub):
            if sub.missing_notified_ref is not None:
                await svc.storage.mark_missing_notified(sub.id, None)
            continue
        if sub.missing_notified_ref != sub.ref:
            out.append(sub)
    return out


async def start_notices(application: Application, old_kb: KnowledgeBase | None = None) -> int:
    """After a reload: how many subscribers are to be told that their target is gone; the notices
    go out in the background at the reminders' pace (the admin's reply does not wait for them)."""
    count = len(await _to_tell(application))
    if count:
        application.create_task(_notices_task(application, old_kb), name="missing-target-notices")
    return count


async def _notices_task(application: Application, old_kb: KnowledgeBase | None) -> None:
    try:
        await notify_missing(application, old_kb)
    except Exception:  # noqa: BLE001 - the next tick tries again
        log.exception("could not tell subscribers about removed targets")
        runtime = application.bot_data.get(REMINDERS)
        if runtime is not None:
            runtime.notices_pending = True


async def notify_missing(application: Application, old_kb: KnowledgeBase | None = None) -> int:
    """Tell each subscriber whose followed target (or section) left the base, once per ref
    (``missing_notified_ref``); the subscription is kept. A ref that came back is un-marked.
    The notices go through the reminders' pacer and retry rules (REMINDER_RATE, the breaker), so
    a thousand of them never exceed Telegram's limits; one Telegram did not take stays unmarked
    and is sent by a later tick. Returns the number of messages sent."""
    svc = services_of(application)
    runtime = application.bot_data.get(REMINDERS)
    send = make_sender(application.bot)
    sent = 0
    pending = False
    for sub in await _to_tell(application):
        old = old_kb.entries.get(sub.ref) if old_kb is not None and sub.scope == "target" else None
        what = f"Chỉ tiêu «{old.title}»" if old is not None else (
            f"Chỉ tiêu «{sub.ref}»" if sub.scope == "target" else f"Mục «{sub.ref}»")
        text = MISSING_TARGET.format(what=what)
        if runtime is not None:
            status = await runtime.service.send_paced(send, sub.chat_id, text)
        else:  # reminders not installed: one plain attempt
            try:
                await send(sub.chat_id, text)
                status = "sent"
            except ChatUnavailable:
                status = "deactivated"
            except SendError:
                status = "retry"
        if status == "sent":
            sent += 1
            await svc.storage.mark_missing_notified(sub.id, sub.ref)
        elif status == "deactivated":
            await svc.storage.deactivate_chat(sub.chat_id, "blocked")
        elif status in ("uncertain", "failed"):
            # May have arrived, or will never: at most once, so it counts as told.
            await svc.storage.mark_missing_notified(sub.id, sub.ref)
        else:
            pending = True
            log.warning("could not tell chat %s that %s is gone yet; a later tick tries again", sub.chat_id, sub.ref)
    if runtime is not None:
        runtime.notices_pending = pending
    return sent


# -- the job -------------------------------------------------------------------------------


@dataclass
class ReminderRuntime:
    """The reminder job's state (``application.bot_data[REMINDERS]``)."""

    service: ReminderService
    tick_seconds: float
    task: asyncio.Task[None] | None = None
    started: bool = False
    ticks: int = 0
    runs: int = 0  # fan-outs finished (or cancelled)
    last: FanoutResult | None = None
    notices_pending: bool = False  # removed-target notices Telegram did not take yet


def runtime_of(application: Application) -> ReminderRuntime:
    """The reminder runtime of an application (set by :func:`register`)."""
    return application.bot_data[REMINDERS]


async def _fanout(application: Application, runtime: ReminderRuntime, at: datetime) -> None:
    try:
        if runtime.notices_pending:
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
    runtime = application.bot_data.get(REMINDERS)
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
    runtime = ReminderRuntime(service, interval)
    application.bot_data[REMINDERS] = runtime
    svc.follow = follow_target
    application.add_handler(CommandHandler("theodoi", follow_command))
    application.add_handler(CommandHandler("dangtheodoi", list_command))
    application.add_handler(CommandHandler("huytheodoi", cancel_command))
    application.add_handler(CallbackQueryHandler(menu_button, pattern=r"^f:[RTS]$"))
    application.add_handler(CallbackQueryHandler(new_button, pattern=r"^f:"))
    application.add_handler(CallbackQueryHandler(change_button, pattern=r"^e:"))
    application.add_handler(CallbackQueryHandler(cancel_button, pattern=r"^x:"))
    if application.job_queue is None:
        raise RuntimeError("reminders need the JobQueue: install python-telegram-bot[job-queue]")
    application.job_queue.run_repeating(tick, interval=interval, first=0, name="reminders")
    return runtime
