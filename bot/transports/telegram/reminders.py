"""Reminder subscriptions on Telegram: parse the update, call the subscription service, reply.

Commands: ``/theodoi [mã | tất cả]`` (subscribe), ``/dangtheodoi`` (list, change, cancel),
``/huytheodoi [số | tất cả]`` (cancel); the "🔔 Theo dõi" button on a target answer starts the same
flow (the ``Services.follow`` hook). This module also holds the flow's texts, keyboards and views.

The buttons' handlers: :mod:`bot.transports.telegram.reminder_buttons`; their callback data:
:mod:`bot.transports.telegram.reminder_callbacks`. The rules (validation, ownership, schedules, the
notices about removed targets) are in :mod:`bot.services.subscriptions`; the job and the
registration in :mod:`bot.transports.telegram.reminder_job`.
"""

from __future__ import annotations

from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.knowledge.schema import Target
from bot.services.answers import AnswerService
from bot.services.schedule import WEEKDAYS_VI, describe
from bot.services.storage import Subscription
from bot.services.subscriptions import SubscriptionService
from bot.transports.telegram.callbacks import CancelSubscription, EditSubscription, SubscribeMenu, SubscribeStep
from bot.transports.telegram.formatting import escape
from bot.transports.telegram.handlers import Context, ack, services
from bot.transports.telegram.keyboards import button
from bot.transports.telegram.reminder_callbacks import (
    ALL_WORDS,
    Step,
    Subject,
    target_sections,
    target_subject,
)
from bot.transports.telegram.shared import resolve_target, unknown_target_text

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

def subject_label(answers: AnswerService, scope: str, ref: str) -> str:
    """Plain-text name of what a subscription follows (marked when it left the base)."""
    kb = answers.kb
    if scope == "all":
        return f"tất cả chỉ tiêu năm {answers.target_year}"
    if scope == "section":
        section = kb.sections.get(ref)
        return f"các chỉ tiêu của mục {section.title}" if section else f"mục {ref}{GONE_SUFFIX}"
    target = kb.current_target(ref)
    if target is not None:
        return target.title
    return f"chỉ tiêu {ref}{GONE_SUFFIX}"


# -- keyboards -----------------------------------------------------------------------------


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]


def menu_markup() -> InlineKeyboardMarkup:
    """One target, a section's targets, or all targets."""
    return InlineKeyboardMarkup([
        [button(BTN_ONE_TARGET, SubscribeMenu("T").pack())],
        [button(BTN_SECTION, SubscribeMenu("S").pack())],
        [button(BTN_ALL, SubscribeStep("a").pack())],
    ])


def targets_markup(answers: AnswerService) -> InlineKeyboardMarkup:
    """Every target of the target year, numbered as in /chitieu."""
    rows = [[button(f"{i}. {t.title}", SubscribeStep("t", answers.refs.ref(t.id)).pack())]
            for i, t in enumerate(answers.targets(), 1)]
    rows.append([button(BTN_BACK, SubscribeMenu("R").pack())])
    return InlineKeyboardMarkup(rows)


def sections_markup(answers: AnswerService) -> InlineKeyboardMarkup:
    """The sections that hold targets."""
    rows = [[button(title, SubscribeStep("s", sid).pack())] for sid, title in target_sections(answers)
            if SubscribeStep("s", sid, "m", 28, 23).fits()]
    rows.append([button(BTN_BACK, SubscribeMenu("R").pack())])
    return InlineKeyboardMarkup(rows)


def step_markup(base: SubscribeStep | EditSubscription, step: Step) -> InlineKeyboardMarkup:
    """The buttons of the next step after ``step`` (``base``: 'f:t:<ref>' or 'e:<id>', no step yet)."""
    def data(cadence: str, day: int | None = None, hour: int | None = None) -> str:
        return replace(base, cadence=cadence, day=day, hour=hour).pack()

    if step.cadence is None:
        return InlineKeyboardMarkup([[button(BTN_WEEKLY, data("w")), button(BTN_MONTHLY, data("m"))]])
    c = "w" if step.cadence == "weekly" else "m"
    if step.day is None:
        if step.cadence == "weekly":
            days = [button(name, data("w", i)) for i, name in enumerate(WEEKDAYS_VI)]
            return InlineKeyboardMarkup(_rows(days, 4))
        return InlineKeyboardMarkup(_rows([button(str(d), data("m", d)) for d in range(1, 29)], 7))
    hours = [button(f"{h:02d}:00", data(c, step.day, h)) for h in range(24)]
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


def subscriptions(context: Context) -> SubscriptionService:
    """The subscription service of the running application (set by ``reminder_job.register``)."""
    subscriptions = context.bot_data.subscriptions
    assert subscriptions is not None, "reminder_job.register sets bot_data.subscriptions"
    return subscriptions


def notice_text(sub: Subscription, old_title: str | None) -> str:
    """The notice to a subscriber whose followed target (or section) left the base (plain text)."""
    what = f"Chỉ tiêu «{old_title}»" if old_title is not None else (
        f"Chỉ tiêu «{sub.ref}»" if sub.scope == "target" else f"Mục «{sub.ref}»")
    return MISSING_TARGET.format(what=what)


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
        rows.append([button(BTN_CHANGE.format(n=n), EditSubscription(sub.id).pack()),
                     button(BTN_CANCEL.format(n=n), CancelSubscription(sub.id).pack())])
    rows.append([button(BTN_MORE, SubscribeMenu("R").pack())])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def cancel_view(answers: AnswerService, subs: list[Subscription]) -> tuple[str, InlineKeyboardMarkup | None]:
    """/huytheodoi: one cancel button per subscription, and one for all."""
    if not subs:
        return NOTHING_TO_CANCEL, None
    rows = [[button(f"❌ {n}. {subject_label(answers, s.scope, s.ref)}", CancelSubscription(s.id).pack())]
            for n, s in enumerate(subs, 1)]
    rows.append([button(BTN_CANCEL_ALL, CancelSubscription(None).pack())])
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
    if arg.lower() in ALL_WORDS:
        subject = Subject("all", "", SubscribeStep("a"))
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
    subs = await subscriptions(context).of_chat(chat.id)
    text, markup = list_view(svc.answers, subs, svc.settings.timezone)
    await message.reply_text(text, reply_markup=markup)


async def cancel_command(update: Update, context: Context) -> None:
    """/huytheodoi [số | tất cả]: cancel one or all (without an argument: buttons to choose)."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    svc, subscribed = services(context), subscriptions(context)
    subs = await subscribed.of_chat(chat.id)
    arg = " ".join(context.args or []).strip()
    if not arg:
        text, markup = cancel_view(svc.answers, subs)
        await message.reply_text(text, reply_markup=markup)
        return
    if not subs:
        await message.reply_text(NOTHING_TO_CANCEL)
        return
    if arg.lower() in ALL_WORDS:
        n = await subscribed.cancel_all(chat.id)
        await message.reply_text(CANCELLED_ALL.format(n=n))
        return
    number = arg.lstrip("#")
    if not number.isdigit() or not 1 <= int(number) <= len(subs):
        await message.reply_text(CANCEL_BAD_ARG.format(arg=escape(arg[:60]), n=len(subs)))
        return
    sub = subs[int(number) - 1]
    await subscribed.cancel(chat.id, sub.id)
    await message.reply_text(CANCELLED_ONE.format(what=escape(subject_label(svc.answers, sub.scope, sub.ref))))
