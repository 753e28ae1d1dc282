"""``/capnhat`` (admins): recording a target's progress on Telegram.

``/capnhat <mã> <giá trị> [ngày]`` records at once. The guided flow: ``/capnhat`` (or ``/capnhat
<mã>``) → pick a target → the bot asks for the value with a ForceReply prompt → the admin answers
"<giá trị> [ngày]" → a confirmation with buttons → recorded. The prompt carries the target id in its
last line "(mã: …)", so the reply is understood without server-side state, across restarts.

Callback data: ``cp:<ref>`` (pick), ``cy:<ref>:<value>:<day of year>`` (confirm), ``cn`` (cancel).
Records are appended; a correction is a new record.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from telegram import ForceReply, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.knowledge.schema import Target
from bot.normalize import format_value
from bot.services.answers import AnswerService
from bot.services.progress import (
    ProgressInputError,
    compute_status,
    parse_as_of,
    parse_value,
)
from bot.transports.telegram import groups
from bot.transports.telegram.callbacks import CancelValue, ConfirmValue, PickTarget
from bot.transports.telegram.formatting import escape
from bot.transports.telegram.handlers import Context, ack, edit_or_send, services, stale
from bot.transports.telegram.keyboards import button
from bot.transports.telegram.progress import button_target, status_html
from bot.transports.telegram.shared import (
    admin_only,
    audit,
    resolve_target,
    target_number,
    today,
    unknown_target_text,
)

# -- texts (Vietnamese, HTML) -----------------------------------------------------------------

CAPNHAT_USAGE = (
    "Cách dùng: /capnhat <code>mã</code> <code>giá trị</code> [<code>ngày</code>], ví dụ "
    "<code>/capnhat 1 1.250 15/3/2024</code>. Mã là số thứ tự trong /chitieu hoặc mã chỉ tiêu; "
    "ngày mặc định là hôm nay. Gõ /capnhat để chọn chỉ tiêu bằng nút bấm."
)
PICK_TARGET = "✍️ Chọn chỉ tiêu muốn cập nhật tiến độ:"
PROMPT = (
    "✍️ Cập nhật tiến độ: <b>{title}</b> (chỉ tiêu {figure})\n"
    "Trả lời tin nhắn này bằng giá trị{unit}, có thể kèm ngày của số liệu (mặc định hôm nay), "
    "ví dụ: <code>{example}</code> hoặc <code>{example} {day}</code>.\n"
    "(mã: {id})"
)
REPLY_USAGE = "Cần một giá trị, có thể kèm một ngày, ví dụ: {example} {day}."  # plain: escaped on use
CONFIRM = "Ghi nhận tiến độ?\n<b>{title}</b>: {value} ngày {day}"
RECORDED = "✅ Đã ghi nhận: {value} ngày {day}."
CANCELLED = "Đã hủy, không ghi gì."
ALREADY = "Đã ghi nhận rồi"
SEE_CHART = "Xem biểu đồ: /tiendo {n}"
TOO_LONG = "Giá trị quá dài; hãy dùng lệnh /capnhat <code>mã</code> <code>giá trị</code> [<code>ngày</code>]."

BTN_YES = "✅ Ghi nhận"
BTN_NO = "❌ Hủy"

_PROMPT_ID = re.compile(r"\(mã: ([a-z0-9-]+)\)\s*$")


# -- formatting ------------------------------------------------------------------------------


def _example(target: Target) -> str:
    return "45%" if target.unit == "%" else "1.250"


def _figure(answers: AnswerService, target: Target) -> str:
    return answers.kb.figure(target)


def prompt_text(answers: AnswerService, target: Target, day: date) -> str:
    """The ForceReply prompt asking for a target's value (HTML; ends with the target id)."""
    unit = " (tính bằng %)" if target.unit == "%" else (f" (đơn vị: {target.unit})" if target.unit else "")
    return PROMPT.format(title=escape(target.title), figure=escape(_figure(answers, target)), unit=escape(unit),
                         example=_example(target), day=f"{day:%d/%m/%Y}", id=target.id)


def confirm_data(answers: AnswerService, target: Target, value: float, day: date) -> str | None:
    """``cy:<ref>:<value>:<day of year>``, or None when it would not fit in 64 bytes."""
    number = f"{value:.6f}".rstrip("0").rstrip(".")
    data = ConfirmValue(answers.refs.ref(target.id), number, day.timetuple().tm_yday)
    return data.pack() if data.fits() else None


# -- /capnhat --------------------------------------------------------------------------------


async def record(update: Update, context: Context, target: Target, value: float, day: date, source: str) -> str:
    """Append the record, audit it; the reply (HTML): what was recorded and the new status.

    ``source`` names the message or confirmation that made it: handling the same update twice (a
    replay after a crash) records it once."""
    svc = services(context)
    user = update.effective_user
    await svc.storage.add_progress(target.id, value, day, user.id if user else 0, source=source)
    await audit(update, context, "capnhat", f"{target.id} = {value:g} @ {day.isoformat()}")
    st = compute_status(target, await svc.storage.progress_for(target.id))
    number = target_number(svc.answers, target)
    parts = [RECORDED.format(value=escape(format_value(value, target.unit)), day=f"{day:%d/%m/%Y}"),
             status_html(st, number)]
    if number:
        parts.append(SEE_CHART.format(n=number))
    return "\n".join(parts)


def parse_input(target: Target, words: list[str], day_today: date) -> tuple[float, date]:
    """Value and date from "<giá trị> [ngày]" (ProgressInputError with the reason)."""
    if not words or len(words) > 2:
        raise ProgressInputError(REPLY_USAGE.format(example=_example(target), day=f"{day_today:%d/%m/%Y}"))
    value = parse_value(words[0], target)
    day = parse_as_of(words[1] if len(words) > 1 else None, target, day_today)
    return value, day


def pick_markup(answers: AnswerService) -> InlineKeyboardMarkup:
    """The targets, numbered as in /chitieu, as buttons for the guided flow."""
    return InlineKeyboardMarkup(
        [[button(f"{i}. {t.title}", PickTarget(answers.refs.ref(t.id)).pack())]
         for i, t in enumerate(answers.targets(), 1)]
    )


async def send_prompt(context: Context, chat_id: int, target: Target, error: str = "") -> None:
    """Ask for the value (ForceReply), after the reason the last answer was refused, if any."""
    text = prompt_text(services(context).answers, target, today(context))
    if error:
        text = f"{error}\n\n{text}"
    await context.bot.send_message(
        chat_id, text, reply_markup=ForceReply(selective=True, input_field_placeholder=_example(target)),
    )


@admin_only("capnhat")
async def update_command(update: Update, context: Context) -> None:
    """/capnhat [mã [giá trị [ngày]]] (admins)."""
    chat, message = update.effective_chat, update.effective_message
    args = context.args or []
    if chat is None or message is None:
        return
    answers = services(context).answers
    if not args:
        await message.reply_text(PICK_TARGET, reply_markup=pick_markup(answers))
        return
    target = resolve_target(answers, args[0])
    if target is None:
        await message.reply_text(unknown_target_text(answers, args[0]))
        return
    if len(args) == 1:
        await send_prompt(context, chat.id, target)
        return
    if len(args) > 3:
        await message.reply_text(CAPNHAT_USAGE)
        return
    try:
        value, day = parse_input(target, args[1:], today(context))
    except ProgressInputError as exc:
        await message.reply_text(escape(str(exc)))
        return
    await message.reply_text(await record(update, context, target, value, day,
                                          source=f"msg:{chat.id}:{message.message_id}"))


@admin_only("capnhat")
async def pick_button(update: Update, context: Context) -> None:
    """``cp:<ref>``: the admin picked a target: ask for its value."""
    query, chat = update.callback_query, update.effective_chat
    target = button_target(update, context, PickTarget)
    if target is None or chat is None:
        await stale(update, context)
        return
    await ack(context, query)
    await send_prompt(context, chat.id, target)


class _PromptReply(filters.MessageFilter):
    """A text reply to the bot's /capnhat value prompt."""

    def filter(self, message: Message) -> bool:
        reply = message.reply_to_message
        bot = message.get_bot()
        return bool(
            reply is not None and reply.from_user is not None and reply.from_user.id == bot.id
            and reply.text and _PROMPT_ID.search(reply.text)
        )


PROMPT_REPLY = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & _PromptReply(name="PromptReply")


@admin_only("capnhat", stop=True)
async def prompt_reply(update: Update, context: Context) -> None:
    """The value typed in answer to the prompt: a confirmation with buttons, or the reason it is
    refused and the prompt again. Stops further handling (it is not a question)."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None or message.reply_to_message is None:
        raise ApplicationHandlerStop
    answers = services(context).answers
    m = _PROMPT_ID.search(message.reply_to_message.text or "")
    target = resolve_target(answers, m.group(1)) if m else None
    if target is None:
        await message.reply_text(unknown_target_text(answers, m.group(1) if m else ""))
        raise ApplicationHandlerStop
    try:
        value, day = parse_input(target, (message.text or "").split(), today(context))
    except ProgressInputError as exc:
        await send_prompt(context, chat.id, target, error=escape(str(exc)))
        raise ApplicationHandlerStop from None
    data = confirm_data(answers, target, value, day)
    if data is None:
        await message.reply_text(TOO_LONG)
        raise ApplicationHandlerStop
    text = CONFIRM.format(title=escape(target.title), value=escape(format_value(value, target.unit)),
                          day=f"{day:%d/%m/%Y}")
    markup = InlineKeyboardMarkup([[button(BTN_YES, data), button(BTN_NO, CancelValue().pack())]])
    await message.reply_text(text, reply_markup=markup)
    raise ApplicationHandlerStop


@admin_only("capnhat")
async def confirm_button(update: Update, context: Context) -> None:
    """``cy:…`` records (once per confirmation message); ``cn`` cancels."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    if CancelValue.parse(query.data):
        await edit_or_send(update, context, CANCELLED)
        await ack(context, query)
        return
    answers = services(context).answers
    data = ConfirmValue.parse(query.data)
    target_id = answers.refs.resolve(data.ref) if data else None
    target = answers.kb.current_target(target_id)
    if data is None or target is None:
        await stale(update, context)
        return
    key = (chat.id, query.message.message_id if query.message else 0)
    # Confirmation messages already recorded (a double tap arrives before the edit removed the
    # buttons); the newest 1,000 are enough, the edit takes care of the rest.
    done = context.bot_data.confirmed
    if key in done:
        await ack(context, query, ALREADY)
        return
    try:
        value = float(data.number)
        day = date(target.year, 1, 1) + timedelta(days=data.yday - 1)
        if day.year != target.year or (target.unit == "%" and value > 100):
            raise ValueError(query.data)
        day = parse_as_of(day.isoformat(), target, today(context))  # still not in the future
    except ValueError as exc:  # ProgressInputError included (e.g. the date is now in the future)
        await edit_or_send(update, context, escape(str(exc)) if isinstance(exc, ProgressInputError) else CANCELLED)
        await ack(context, query)
        return
    done[key] = None
    while len(done) > 1000:
        del done[next(iter(done))]
    await edit_or_send(update, context, await record(update, context, target, value, day,
                                              source=f"confirm:{key[0]}:{key[1]}"))
    await ack(context, query)


def register(application: Application) -> None:
    """/capnhat and its buttons; the prompt reply runs before the question handler."""
    application.add_handler(MessageHandler(PROMPT_REPLY, prompt_reply), group=groups.PROMPT_REPLY)
    application.add_handler(CommandHandler("capnhat", update_command))
    application.add_handler(CallbackQueryHandler(pick_button, pattern=PickTarget.pattern()))
    confirm_pattern = f"{ConfirmValue.pattern()}|{CancelValue.pattern()}"
    application.add_handler(CallbackQueryHandler(confirm_button, pattern=confirm_pattern))
