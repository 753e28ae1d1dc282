"""Progress of the targets on Telegram: ``/tiendo [mã]`` for everyone (an overview with a button
per target; one target's status and chart), and the formatting /capnhat shares (capnhat.py).

Callback data: ``g:<ref>`` (/tiendo of one target)."""

from __future__ import annotations

import asyncio
import logging
import threading

from telegram import InlineKeyboardMarkup, InputFile, Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
)

from bot.knowledge.schema import Target
from bot.normalize import format_value
from bot.services.progress import (
    ProgressStatus,
    bar,
    compute_status,
    render_chart,
    status_lines,
)
from bot.services.storage import ProgressRecord
from bot.transports.telegram.callbacks import Chart, PickTarget
from bot.transports.telegram.formatting import escape
from bot.transports.telegram.handlers import Context, ack, send_html, services, stale
from bot.transports.telegram.keyboards import button
from bot.transports.telegram.shared import (
    resolve_target,
    target_number,
    unknown_target_text,
)

log = logging.getLogger(__name__)

# -- texts (Vietnamese, HTML) -----------------------------------------------------------------

OVERVIEW_TITLE = "<b>Tiến độ các chỉ tiêu năm {ty}</b> (số liệu mới nhất)"
OVERVIEW_ITEM = "{n}. {title}: {state}"
OVERVIEW_NO_DATA = "chưa có số liệu"
OVERVIEW_FOOTER = "<i>Bấm một chỉ tiêu, hoặc gõ /tiendo số, để xem chi tiết và biểu đồ.</i>"
BTN_CHART = "📈 {n}. {title}"

_CHART_LOCK = threading.Lock()  # pyplot is not thread-safe: one chart at a time




# -- formatting ------------------------------------------------------------------------------


def status_html(st: ProgressStatus, number: int | None) -> str:
    """A target's status (as /tiendo): bold title, then the status lines, escaped."""
    lines = status_lines(st)
    head = f"{number}. {lines[0]}" if number else lines[0]
    return "\n".join([f"<b>{escape(head)}</b>", *(escape(line) for line in lines[1:])])


def _render(st: ProgressStatus, records: list[ProgressRecord]) -> bytes:
    with _CHART_LOCK:
        return render_chart(st, records)


async def chart_png(st: ProgressStatus, records: list[ProgressRecord]) -> bytes:
    """The PNG chart, drawn in a worker thread (matplotlib is CPU work; the loop keeps answering)."""
    return await asyncio.to_thread(_render, st, records)


# -- /tiendo ---------------------------------------------------------------------------------


async def send_status(context: Context, chat_id: int, target: Target, reply_to: Message | None = None) -> None:
    """A target's status as a photo: the chart, the status text as its caption."""
    svc = services(context)
    records = await svc.storage.progress_for(target.id)
    st = compute_status(target, records)
    png = await chart_png(st, records)
    caption = status_html(st, target_number(svc.answers, target))
    photo = InputFile(png, filename="tien-do.png")
    if reply_to is not None:
        await reply_to.reply_photo(photo, caption=caption)
    else:
        await context.bot.send_photo(chat_id, photo, caption=caption)


async def overview(context: Context) -> tuple[str, InlineKeyboardMarkup]:
    """/tiendo without a code: one line per target (bar and date of the latest figure)."""
    svc = services(context)
    answers = svc.answers
    latest = await svc.storage.latest_progress_all()
    lines = [OVERVIEW_TITLE.format(ty=answers.target_year)]
    rows = []
    for n, t in enumerate(answers.targets(), 1):
        rec = latest.get(t.id)
        if rec is None:
            state = OVERVIEW_NO_DATA
        else:
            st = compute_status(t, [rec])
            state = f"{bar(st.percent_of_goal or 0.0)} ({format_value(rec.value, t.unit)}, {rec.as_of:%d/%m})"
        lines.append(escape(OVERVIEW_ITEM.format(n=n, title=t.title, state=state)))
        rows.append([button(BTN_CHART.format(n=n, title=t.title), Chart(answers.refs.ref(t.id)).pack())])
    lines.append(OVERVIEW_FOOTER)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def progress_command(update: Update, context: Context) -> None:
    """/tiendo [mã]: one target's status and chart, or all targets in short."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    answers = services(context).answers
    code = " ".join(context.args or []).strip()
    if not code:
        text, markup = await overview(context)
        await send_html(context, chat.id, text, markup, reply_to=message)
        return
    target = resolve_target(answers, code)
    if target is None:
        await message.reply_text(unknown_target_text(answers, code))
        return
    await send_status(context, chat.id, target, reply_to=message)


def button_target(update: Update, context: Context, kind: type[Chart] | type[PickTarget]) -> Target | None:
    """The target of the target year a ``<prefix>:<ref>`` button names, or None (stale or forged)."""
    query = update.callback_query
    answers = services(context).answers
    data = kind.parse(query.data) if query else None
    return answers.kb.current_target(answers.refs.resolve(data.ref) if data else None)


async def chart_button(update: Update, context: Context) -> None:
    """``g:<ref>``: a target's status and chart."""
    query, chat = update.callback_query, update.effective_chat
    target = button_target(update, context, Chart)
    if target is None or chat is None:
        await stale(update, context)
        return
    await ack(context, query)
    await send_status(context, chat.id, target)


def register(application: Application) -> None:
    """/tiendo and its chart buttons (/capnhat: capnhat.register)."""
    application.add_handler(CommandHandler("tiendo", progress_command))
    application.add_handler(CallbackQueryHandler(chart_button, pattern=Chart.pattern()))
