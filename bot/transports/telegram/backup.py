"""`/saoluu` (admins, private chat): back up the database with SQLite's online backup API (the bot
keeps answering and writing meanwhile) and send the file to the admin.

The copy also stays on the server (``backups/`` beside DATABASE_PATH). It holds users' questions
and ids, so it is sent only in the admin's private chat, never in a group. Restoring is an
operator's job on the server (``python -m bot restore FILE``, see the README).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from bot.normalize import format_number
from bot.services.operations import DatabaseProblem, backup_database
from bot.transports.telegram.formatting import escape
from bot.transports.telegram.handlers import Context, services
from bot.transports.telegram.shared import admin_only, audit

log = logging.getLogger(__name__)

# Telegram's limit for a file a bot sends.
MAX_SEND_BYTES = 50 * 1024 * 1024

# -- texts (Vietnamese, HTML) -----------------------------------------------------------------

PRIVATE_ONLY = ("Bản sao lưu chứa câu hỏi và mã số của người dùng: hãy gửi /saoluu trong trò chuyện riêng với bot, "
                "không gửi trong nhóm.")
CAPTION = ("💾 Bản sao lưu cơ sở dữ liệu {name} ({size} byte, schema v{version}, đã kiểm tra toàn vẹn). "
           "Trên máy chủ: {path}. Khôi phục: dừng bot rồi chạy <code>python -m bot restore {name}</code>.")
FAILED = "❌ Không sao lưu được: {reason}"
TOO_BIG = ("💾 Đã sao lưu vào {path} trên máy chủ ({size} byte) nhưng tệp quá lớn để gửi qua Telegram (tối đa 50 MB); "
           "hãy lấy tệp trực tiếp trên máy chủ.")
NOT_SENT = "💾 Đã sao lưu vào {path} trên máy chủ nhưng không gửi được tệp ({reason})."


@admin_only("saoluu")
async def backup_command(update: Update, context: Context) -> None:
    """/saoluu (admins): back up the database and send the file in the admin's private chat."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    if chat.type != ChatType.PRIVATE:
        await audit(update, context, "saoluu", "refused: not a private chat")
        await message.reply_text(PRIVATE_ONLY)
        return
    database = Path(services(context).settings.database_path)
    try:
        done = await asyncio.to_thread(backup_database, database)
    except DatabaseProblem as exc:
        log.error("/saoluu failed: %s", exc)
        await audit(update, context, "saoluu", f"failed: {exc}")
        await message.reply_text(FAILED.format(reason=escape(str(exc))))
        return
    size = format_number(done.size)
    if done.size > MAX_SEND_BYTES:
        await audit(update, context, "saoluu", f"{done.path} ({done.size} bytes): too big to send")
        await message.reply_text(TOO_BIG.format(path=escape(str(done.path)), size=size))
        return
    try:
        with done.path.open("rb") as f:
            await context.bot.send_document(
                chat.id, f, filename=done.path.name,
                caption=CAPTION.format(name=escape(done.path.name), size=size, version=done.schema_version,
                                       path=escape(str(done.path))))
    except TelegramError as exc:
        await audit(update, context, "saoluu", f"{done.path}: not sent: {exc}")
        await message.reply_text(NOT_SENT.format(path=escape(str(done.path)), reason=escape(str(exc))))
        return
    await audit(update, context, "saoluu", f"{done.path} ({done.size} bytes) sent")


def register(application: Application) -> None:
    """The /saoluu command."""
    application.add_handler(CommandHandler("saoluu", backup_command))
