"""Backups: SQLite's online backup while the bot answers and records progress, `python -m bot backup`,
the admin's /saoluu (the file sent in the private chat), and restoring (the replaced database kept)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.services.operations import backup_database, restore_database
from bot.services.storage import Storage
from bot.transports.telegram.backup import PRIVATE_ONLY
from bot.transports.telegram.shared import ADMIN_ONLY
from tests.emulator import Emulator
from tests.storage_helpers import recent_audit
from tests.test_telegram_progress import T1, clock
from tests.test_telegram_reminders import features, until

ADMIN = 920001
USERS = (920011, 920012, 920013, 920014)
QUESTIONS = ("Năm 2023 kết nạp bao nhiêu đảng viên mới?", "chỉ tiêu kết nạp đảng viên 2024", "kiểm tra tổ chức đảng",
             "Nghị quyết 45-NQ/TW")
UPDATES = 20


def rows(path: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("DATABASE_PATH", "KNOWLEDGE_DIR", "REPORT_PATH", "TELEGRAM_BOT_TOKEN", "LOG_LEVEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "bot.sqlite3"))  # the harness's database


async def test_backups_while_the_bot_answers_and_writes_progress(telegram_bot, emulator: Emulator,
                                                                 tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with telegram_bot(admin_ids=str(ADMIN), extra_handlers=features(clock())) as bot:
        for i in range(UPDATES):
            emulator.inject_command(ADMIN, f"/capnhat 1 {1000 + i}")
        for user in USERS:
            for question in QUESTIONS:
                emulator.inject_message(user, question)

        def everything_answered() -> bool:
            return (len(emulator.sent_messages(ADMIN)) >= UPDATES
                    and all(len(emulator.sent_messages(u)) >= len(QUESTIONS) for u in USERS))

        # Back up again and again while the traffic is handled; each copy is one consistent snapshot.
        taken = []
        while True:
            done = everything_answered()
            taken.append(await asyncio.to_thread(backup_database, db, tmp_path / f"b{len(taken)}.sqlite3"))
            if done:
                break
        storage = bot.answers.storage
        live_progress = len(await storage.progress_for(T1))
        live_questions = (await storage.stats())["questions"]
    assert live_progress == UPDATES and live_questions == len(USERS) * len(QUESTIONS)
    counts = [(rows(b.path, "progress"), rows(b.path, "query_log")) for b in taken]
    assert counts == sorted(counts) and counts[-1] == (UPDATES, live_questions)  # never torn, nothing lost
    assert all(b.path.stat().st_mode & 0o077 == 0 for b in taken)  # users' data: owner only
    assert not Path(f"{taken[-1].path}-wal").exists()  # a standalone file
    # The last copy restores into a working database.
    restored = tmp_path / "restored" / "bot.sqlite3"
    assert restore_database(taken[-1].path, restored) is None  # nothing was there to keep
    async with Storage(restored) as again:
        assert [r.value for r in await again.progress_for(T1)] == [1000.0 + i for i in range(UPDATES)]
        assert (await again.stats())["questions"] == live_questions
        assert await again.journal_mode() == "wal"


async def test_saoluu_sends_the_backup_to_the_admin(telegram_bot, emulator: Emulator, tmp_path: Path) -> None:
    async with telegram_bot(admin_ids=str(ADMIN), extra_handlers=features(clock())) as bot:
        await bot.say(ADMIN, "/capnhat 1 1.250")
        [sent] = await bot.say(ADMIN, "/saoluu")
        assert sent["caption"].startswith("💾 Bản sao lưu cơ sở dữ liệu bot-")
        assert "python -m bot restore bot-" in sent["caption"]
        name = sent["document"]["file_name"]
        copy = tmp_path / "received.sqlite3"
        copy.write_bytes(emulator.get_file_content(sent["document"]["file_id"]))
        assert rows(copy, "progress") == 1
        assert (tmp_path / "backups" / name).is_file()  # a copy stays on the server

        async def audited() -> list:  # written once the file is sent: wait for it
            return [a for a in await recent_audit(bot.answers.storage, 1) if a.action == "saoluu"]

        [entry] = await until(audited)
        assert entry.allowed and entry.detail.endswith("bytes) sent")
        # Anyone else is refused; an admin in a group is asked to use the private chat.
        [refused] = await bot.say(USERS[0], "/saoluu")
        assert refused["text"] == ADMIN_ONLY
        [group] = await bot.say(-100555, "/saoluu", user_id=ADMIN)
        assert group["text"] == PRIVATE_ONLY
        assert [m for m in emulator.sent_messages(-100555) if "document" in m] == []


def test_cli_backup_and_restore(tmp_path: Path, capsys) -> None:
    db = tmp_path / "bot.sqlite3"
    assert main(["backup"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: DATABASE_PATH={db}: chưa có cơ sở dữ liệu ở đó (bot tạo nó ở lần chạy đầu); kiểm tra DATABASE_PATH "
        "trong .env")

    async def write(value: float) -> None:
        async with Storage(db) as storage:
            await storage.add_progress(T1, value, clock()().date(), ADMIN)

    asyncio.run(write(1.0))
    assert main(["backup", str(tmp_path / "saved.sqlite3")]) == 0
    assert capsys.readouterr().out.startswith(f"backup: {tmp_path / 'saved.sqlite3'} (")
    asyncio.run(write(2.0))  # after the backup
    assert main(["restore", str(tmp_path / "saved.sqlite3")]) == 0
    out = capsys.readouterr().out
    assert f"restored: {tmp_path / 'saved.sqlite3'} → {db}" in out
    kept = Path(out.split("the database it replaced: ")[1].splitlines()[0])
    assert rows(db, "progress") == 1 and rows(kept, "progress") == 2  # the replaced one is kept


@pytest.mark.parametrize(("content", "cause"), [
    (b"not a database at all" * 50, "không đọc được như cơ sở dữ liệu SQLite"),
    (None, "không phải cơ sở dữ liệu của bot (thiếu bảng chats, subscriptions)"),
])
def test_restore_refuses_a_file_that_is_not_a_backup(content: bytes | None, cause: str, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "other.sqlite3"
    if content is None:
        sqlite3.connect(bad).execute("CREATE TABLE t (x)").connection.close()
    else:
        bad.write_bytes(content)
    assert main(["restore", str(bad)]) == 1
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and line.startswith(f"error: bản sao lưu {bad}: ") and cause in line
    assert not (tmp_path / "bot.sqlite3").exists()  # nothing touched
