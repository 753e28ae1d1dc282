"""Print a real conversation with the bot, run against the Bot API emulator (for the README).

Run: .venv/bin/python -m bench.transcript
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

from bot.engine.engine import Engine
from bot.knowledge.base import load_base
from bot.services.answers import AnswerService
from bot.settings import load_settings
from bot.transports.telegram.app import build_application, running
from tests.emulator import Emulator

CHAT = 4242


def show(who: str, msg: dict) -> None:
    text = re.sub(r"<[^>]+>", "", msg.get("text") or msg.get("caption") or "")
    print(f"{who}: " + text.replace("\n", "\n    "))
    markup = (msg.get("reply_markup") or {}).get("inline_keyboard") or []
    for row in markup:
        print("    " + "  ".join(f"[{b['text']}]" for b in row))


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with Emulator() as emu:
            settings = load_settings(
                env_file=None, telegram_bot_token=emu.token, telegram_api_base_url=emu.bot_base_url,
                telegram_file_base_url=emu.file_base_url, database_path=Path(tmp) / "t.sqlite3",
                rate_limiter=False, engine_workers=0,
            )
            app = build_application(settings, AnswerService(Engine(load_base(Path("knowledge"))), workers=0))
            async with running(app, timeout=5):
                async def say(text: str, n: int = 1) -> list[dict]:
                    before = len(emu.sent_messages(CHAT))
                    if text.startswith("/"):
                        emu.inject_command(CHAT, text)
                    else:
                        emu.inject_message(CHAT, text)
                    print(f"Cán bộ: {text}")
                    got = (await emu.wait_for_messages(CHAT, before + n, 10))[before:]
                    for m in got:
                        show("Bot", m)
                    print()
                    return got

                async def press(msg: dict, label: str) -> None:
                    for row in msg["reply_markup"]["inline_keyboard"]:
                        for b in row:
                            if b["text"].startswith(label):
                                before = len(emu.sent_messages(CHAT))
                                print(f"Cán bộ bấm: [{b['text']}]")
                                emu.inject_callback(CHAT, msg["message_id"], b["callback_data"])
                                for m in (await emu.wait_for_messages(CHAT, before + 1, 10))[before:]:
                                    show("Bot", m)
                                print()
                                return

                await say("/start")
                await say("den 31/10/2023 ket nap bao nhieu dang vien moi")
                clar = await say("kiểm tra")
                await press(clar[0], "1.")
                await say("NQ 45 ban hành ngày nào?")
                await say("Năm 2022 kết nạp bao nhiêu đảng viên?")


if __name__ == "__main__":
    asyncio.run(main())
