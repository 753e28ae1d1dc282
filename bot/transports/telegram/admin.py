"""Admin operations on Telegram (ids in ADMIN_IDS; everyone else is refused and audited).

* ``/reload``: re-read ``knowledge/``, validate, index, swap; reply with what changed or with the
  errors (file, entry, field, line) while the old base keeps answering. SIGHUP does the same. A
  change that removes a whole file or too many entries waits for the admin's buttons (Áp dụng /
  Huỷ); from SIGHUP it is only logged, never applied.
* a ``.yaml`` document sent in a private chat: checked (name, size ≤ 1 MB from the document's
  ``file_size`` before anything is downloaded), downloaded with getFile, validated with the rest of
  the base, written with a timestamped backup, reloaded (``AdminService.upload``).
* ``/chuatraloi [ngày]``: the most frequent recent unanswered questions (not found / clarify).
* ``/thongke [ngày]``: questions per day, answer rate, subscribers, reminders sent and failed.

After a reload that removed targets, their subscribers are told once (reminder_job.notify_missing).
Every admin action is written to the audit log. Query-log reports use the real time (questions are
logged with it), not the reminder clock.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import signals
from bot.knowledge.base import KnowledgeBase
from bot.normalize import format_number
from bot.services.admin import MAX_UPLOAD_BYTES, AdminService, ReloadReport, format_errors, valid_upload_name
from bot.transports.telegram.callbacks import ReloadChoice
from bot.transports.telegram.formatting import escape, truncate
from bot.transports.telegram.handlers import Context, ack, edit_or_send, send_html, services, services_of
from bot.transports.telegram.keyboards import button
from bot.transports.telegram.reminder_job import start_notices
from bot.transports.telegram.shared import admin_only, audit

log = logging.getLogger(__name__)

SYSTEM_USER = 0  # the audit log's user for actions without a Telegram user (SIGHUP)

# -- texts (Vietnamese, HTML) -----------------------------------------------------------------

RELOAD_OK = "✅ {message}"
RELOAD_FAILED = "❌ {message}\n{errors}"
RELOAD_HELD = "⚠️ {message}"
CONFIRM_BUTTON = "✅ Áp dụng"
CANCEL_BUTTON = "✖️ Huỷ"
CANCELLED = "Đã huỷ; không thay đổi gì, vẫn dùng bản cũ."
CONFIRM_GONE = "Yêu cầu này đã hết hạn hoặc đã được thay thế; không thay đổi gì."
RELOAD_REMOVED = "Chỉ tiêu bị bỏ: {ids}. Người theo dõi các chỉ tiêu này sẽ được báo ({n} tin nhắn, gửi dần)."
NOT_YAML = "Tệp «{name}» không phải tệp YAML: chỉ nhận tệp <code>.yaml</code> của cơ sở dữ liệu. Không ghi gì."
YML = ("Tệp «{name}» có đuôi <code>.yml</code>: cơ sở dữ liệu chỉ đọc tệp <code>.yaml</code>. "
       "Hãy đổi đuôi thành <code>.yaml</code> rồi gửi lại. Không tải về, không ghi gì.")
BAD_NAME = ("Tên tệp «{name}» không hợp lệ: cần một tên <code>.yaml</code> đơn giản (chữ, số, - _ .), "
            "không có thư mục. Không tải về, không ghi gì.")
TOO_BIG = "Tệp «{name}» quá lớn ({size} byte); tối đa 1 MB. Không tải về, không ghi gì."
DOWNLOAD_FAILED = "Không tải được tệp «{name}» từ Telegram ({reason}). Không ghi gì; hãy gửi lại."
UNANSWERED_TITLE = "<b>Câu hỏi chưa trả lời được nhiều nhất ({days} ngày qua)</b>"
UNANSWERED_ITEM = "{n}. «{question}» — {count} lần, gần nhất {last}"
UNANSWERED_FOOTER = "<i>Thêm cách hỏi này vào aliases của mục phù hợp trong knowledge/, rồi /reload.</i>"
UNANSWERED_NONE = "Không có câu hỏi nào chưa trả lời được trong {days} ngày qua."
STATS = (
    "<b>📊 Thống kê {days} ngày</b> ({since} – {until}, giờ UTC)\n"
    "Câu hỏi: {questions}; trả lời được: {answered} ({rate})\n"
    "Theo ngày: {per_day}\n"
    "Theo kết quả: trả lời {answer} · danh sách {list} · hỏi lại {clarify} · không tìm thấy {not_found} · lỗi {error}\n"
    "Người theo dõi: {subscribers} ({subscriptions} lịch nhắc)\n"
    "Nhắc tiến độ: đã gửi {sent} · lỗi {failed} · gián đoạn, không rõ đã tới chưa {uncertain}"
    " · đang chờ gửi lại {retrying}"
)
BAD_DAYS = "Số ngày phải là số nguyên từ 1 đến {max}, ví dụ: /{command} 7. Bạn gõ: «{arg}»."
MAX_DAYS = 366


# -- reload ----------------------------------------------------------------------------------


def admin_of(application: Application) -> AdminService:
    """The AdminService of an application (set by :func:`register`)."""
    admin = application.bot_data.admin
    assert admin is not None, "admin.register sets bot_data.admin"
    return admin




def confirm_markup(report: ReloadReport) -> InlineKeyboardMarkup | None:
    """Apply / cancel buttons for a change held for confirmation, else None."""
    if report.pending is None:
        return None
    token = report.pending.token
    return InlineKeyboardMarkup([[button(CONFIRM_BUTTON, ReloadChoice(True, token).pack()),
                                  button(CANCEL_BUTTON, ReloadChoice(False, token).pack())]])


def report_html(report: ReloadReport, notified: int = 0) -> str:
    """A reload/upload report for the admin (HTML)."""
    if report.pending is not None:
        return RELOAD_HELD.format(message=escape(report.message))
    if not report.ok:
        return RELOAD_FAILED.format(message=escape(report.message), errors=escape(format_errors(report.errors)))
    text = RELOAD_OK.format(message=escape(report.message))
    if report.removed_targets:
        text += "\n" + RELOAD_REMOVED.format(ids=escape(", ".join(report.removed_targets)), n=notified)
    return text


def _detail(report: ReloadReport) -> str:
    if report.ok and report.change is not None:
        return report.change.summary()
    if report.pending is not None:
        return f"held for confirmation ({report.pending.token}): {report.message}"
    return f"refused: {report.message} " + "; ".join(str(e) for e in report.errors[:3])


async def _after_reload(application: Application, report: ReloadReport, old_kb: KnowledgeBase) -> int:
    """Start telling subscribers of removed targets (once, paced, in the background); returns how
    many are to be told."""
    if not report.ok:
        return 0
    try:
        return await start_notices(application, old_kb)
    except Exception:  # noqa: BLE001 - the reload itself succeeded
        log.exception("could not tell subscribers about removed targets")
        return 0


@admin_only("reload")
async def reload_command(update: Update, context: Context) -> None:
    """/reload (admins): validate and swap the knowledge base; reply with the changes or errors."""
    chat = update.effective_chat
    if chat is None:
        return
    old_kb = services(context).answers.kb
    report = await admin_of(context.application).reload()
    notified = await _after_reload(context.application, report, old_kb)
    await audit(update, context, "reload", _detail(report))
    await send_html(context, chat.id, report_html(report, notified), confirm_markup(report),
                    reply_to=update.effective_message)


@admin_only("reload-confirm")
async def confirm_button(update: Update, context: Context) -> None:
    """The Áp dụng / Huỷ buttons under a held reload or upload (admins)."""
    query = update.callback_query
    choice = ReloadChoice.parse(query.data) if query else None
    if query is None or choice is None:
        return
    token = choice.token
    admin = admin_of(context.application)
    await ack(context, query)
    if not choice.apply:
        text = CANCELLED if await admin.cancel(token) else CONFIRM_GONE
        await audit(update, context, "reload-confirm", f"cancel {token}: {text}")
        await edit_or_send(update, context, text)
        return
    old_kb = services(context).answers.kb
    report = await admin.confirm(token)
    notified = await _after_reload(context.application, report, old_kb)
    await audit(update, context, "reload-confirm", f"apply {token}: {_detail(report)}")
    await edit_or_send(update, context, report_html(report, notified) if report.ok else CONFIRM_GONE)


async def reload_on_signal(application: Application) -> ReloadReport:
    """SIGHUP: the same reload, reported in the log and the audit log."""
    old_kb = services_of(application).answers.kb
    report = await admin_of(application).reload(hold=False)
    if report.ok:
        log.info("SIGHUP reload: %s", report.message)
    elif report.pending is not None:
        log.error("SIGHUP reload not applied: %s Use /reload in Telegram to confirm.", report.message)
    else:
        log.error("SIGHUP reload refused: %s\n%s", report.message, format_errors(report.errors, limit=50))
    await _after_reload(application, report, old_kb)
    await services_of(application).storage.audit(SYSTEM_USER, "reload", True, "SIGHUP: " + _detail(report))
    return report


# -- upload ----------------------------------------------------------------------------------


@admin_only("upload")
async def document(update: Update, context: Context) -> None:
    """A document in a private chat: an admin's knowledge-base file (everyone else is refused)."""
    chat, message = update.effective_chat, update.effective_message
    doc = message.document if message else None
    if chat is None or message is None or doc is None:
        return
    name = doc.file_name or ""
    shown = escape(truncate(name or "không tên", 80))
    if name.lower().endswith(".yml"):
        await audit(update, context, "upload", f"refused: .yml: {truncate(name, 100)}")
        await message.reply_text(YML.format(name=shown))
        return
    if not name.lower().endswith(".yaml"):
        await audit(update, context, "upload", f"refused: not YAML: {truncate(name, 100)}")
        await message.reply_text(NOT_YAML.format(name=shown))
        return
    if not valid_upload_name(name):  # before anything is downloaded
        await audit(update, context, "upload", f"refused: bad name: {truncate(name, 100)}")
        await message.reply_text(BAD_NAME.format(name=shown))
        return
    if doc.file_size is not None and doc.file_size > MAX_UPLOAD_BYTES:
        await audit(update, context, "upload", f"refused: {doc.file_size} bytes: {name}")
        await message.reply_text(TOO_BIG.format(name=shown, size=format_number(doc.file_size)))
        return
    try:
        file = await doc.get_file()
        content = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        await audit(update, context, "upload", f"download failed: {name}: {exc}")
        await message.reply_text(DOWNLOAD_FAILED.format(name=shown, reason=escape(str(exc))))
        return
    old_kb = services(context).answers.kb
    report = await admin_of(context.application).upload(name, content)
    notified = await _after_reload(context.application, report, old_kb)
    await audit(update, context, "upload", f"{name}: {_detail(report)}")
    await send_html(context, chat.id, report_html(report, notified), confirm_markup(report), reply_to=message)


# -- reports ---------------------------------------------------------------------------------


async def _days(update: Update, context: Context, command: str, default: int) -> int | None:
    arg = " ".join(context.args or []).strip()
    if not arg:
        return default
    if arg.isdigit() and 1 <= int(arg) <= MAX_DAYS:
        return int(arg)
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            BAD_DAYS.format(max=MAX_DAYS, command=command, arg=escape(truncate(arg, 40))))
    return None


@admin_only("chuatraloi")
async def unanswered_command(update: Update, context: Context) -> None:
    """/chuatraloi [ngày] (admins): the most frequent unanswered questions."""
    chat = update.effective_chat
    if chat is None:
        return
    days = await _days(update, context, "chuatraloi", 30)
    if days is None:
        return
    rows = await services(context).storage.top_unanswered(days=days, limit=15, now=datetime.now(UTC))
    await audit(update, context, "chuatraloi", f"{days} days: {len(rows)} rows")
    if not rows:
        await send_html(context, chat.id, UNANSWERED_NONE.format(days=days), reply_to=update.effective_message)
        return
    lines = [UNANSWERED_TITLE.format(days=days)]
    for n, row in enumerate(rows, 1):
        lines.append(UNANSWERED_ITEM.format(n=n, question=escape(truncate(row.question_example, 200)),
                                            count=row.count, last=f"{row.last_ts:%d/%m/%Y}"))
    lines.append(UNANSWERED_FOOTER)
    await send_html(context, chat.id, "\n".join(lines), reply_to=update.effective_message)


@admin_only("thongke")
async def stats_command(update: Update, context: Context) -> None:
    """/thongke [ngày] (admins): usage and reminder figures."""
    chat = update.effective_chat
    if chat is None:
        return
    days = await _days(update, context, "thongke", 7)
    if days is None:
        return
    st = await services(context).storage.stats(days=days, now=datetime.now(UTC))
    await audit(update, context, "thongke", f"{days} days")
    per_day = " · ".join(f"{d[8:10]}/{d[5:7]}: {n}" for d, n in list(st["questions_per_day"].items())[-14:])
    rate = st["answer_rate"]
    text = STATS.format(
        days=days, since=f"{st['since']:%d/%m/%Y}", until=f"{st['until']:%d/%m/%Y}",
        questions=st["questions"], answered=st["answered"], rate="–" if rate is None else f"{rate:.0%}",
        per_day=per_day, subscribers=st["subscribers"], subscriptions=st["active_subscriptions"],
        sent=st["reminders_sent"], failed=st["reminders_failed"], uncertain=st["reminders_uncertain"],
        retrying=st["reminders_retrying"], **st["by_status"],
    )
    await send_html(context, chat.id, text, reply_to=update.effective_message)


# -- signals ---------------------------------------------------------------------------------


def add_sighup(application: Application) -> bool:
    """Reload on SIGHUP (post_init). False where the platform or loop has no signal handlers."""
    sig = getattr(signal, "SIGHUP", None)
    if sig is None:
        return False
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(sig, lambda: application.create_task(reload_on_signal(application)))
    except (NotImplementedError, RuntimeError, ValueError) as exc:  # Windows, or not the main thread
        log.info("no SIGHUP reload here: %s", exc)
        return False
    if signals.take_pending():  # a SIGHUP during start-up, remembered by the early handler
        log.info("SIGHUP received during start-up: reloading now")
        # Not application.create_task: the application is not running yet (post_init).
        application.bot_data.early_sighup = asyncio.get_running_loop().create_task(reload_on_signal(application))
    return True


def remove_sighup() -> None:
    """Undo :func:`add_sighup` (post_stop)."""
    sig = getattr(signal, "SIGHUP", None)
    if sig is not None:
        with suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(sig)
        signals.reinstall()  # `run` stays safe from SIGHUP until it has exited


def register(application: Application, knowledge_dir: Path | None = None) -> AdminService:
    """The admin commands and the document upload."""
    svc = services_of(application)
    # Reloads and uploads are checked against the report the bot quotes (REPORT_PATH), as at start.
    admin = AdminService(svc.answers, Path(knowledge_dir or svc.settings.knowledge_dir),  # type: ignore[arg-type]
                         report=svc.settings.report_path,
                         max_removed_share=svc.settings.reload_max_removed_share,
                         backups_keep=svc.settings.knowledge_backups_keep)
    application.bot_data.admin = admin
    application.add_handler(CommandHandler("reload", reload_command))
    application.add_handler(CommandHandler("chuatraloi", unanswered_command))
    application.add_handler(CommandHandler("thongke", stats_command))
    application.add_handler(CallbackQueryHandler(confirm_button, pattern=ReloadChoice.pattern()))
    application.add_handler(MessageHandler(
        filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.Document.ALL, document))
    return admin

