"""A figure the report does not hold is never served: /reload, SIGHUP and a YAML upload check every
figure against the report (REPORT_PATH) and keep the old base on a mismatch; the error names the
file, entry, field and line. A reloaded base quotes the report's sentences as the first one did."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from tests.emulator import Emulator
from tests.storage_helpers import recent_audit
from tests.test_telegram_admin import ADMIN, OLD_TITLE, QUESTION, ROOT, T1, USER, clock, snapshot
from tests.test_telegram_reminders import features, until

RIGHT = '{text: "3.800 - 3.900", unit: "đảng viên"}'
WRONG = '{text: "4.800 - 4.900", unit: "đảng viên"}'


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    """A copy of the knowledge base the test may edit."""
    d = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", d, ignore=shutil.ignore_patterns("backups"))
    return d


def wrong_figure(kdir: Path) -> tuple[str, int]:
    """targets.yaml with T1's 2024 figure changed to one the report does not hold; its line."""
    text = (kdir / "targets.yaml").read_text(encoding="utf-8")
    assert text.count(RIGHT) == 1
    changed = text.replace(RIGHT, WRONG)
    line = next(i for i, row in enumerate(changed.splitlines(), 1) if WRONG in row)
    return changed, line


def pointed(line: int) -> str:
    return f"• knowledge/targets.yaml:{line}, entry '{T1}', field 'figures.0.text': '4.800 - 4.900' does not appear"


async def test_reload_refuses_a_figure_the_report_does_not_hold(telegram_bot, kdir: Path) -> None:
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(clock())) as bot:
        engine = bot.answers.engine
        changed, line = wrong_figure(kdir)
        (kdir / "targets.yaml").write_text(changed, encoding="utf-8")
        [reply] = await bot.say(ADMIN, "/reload")
        lines = reply["text"].splitlines()
        assert lines[0] == "❌ Cơ sở dữ liệu mới có lỗi; vẫn dùng bản cũ."
        assert lines[1].startswith(pointed(line)), lines[1]
        assert bot.answers.engine is engine
        [answer] = await bot.say(USER, QUESTION)
        assert answer["text"].startswith(OLD_TITLE) and "3.800 - 3.900" in answer["text"]
        assert "4.800" not in answer["text"]
        [entry] = await recent_audit(bot.answers.storage, 1)
        assert entry.action == "reload" and entry.detail.startswith("refused:") and "figures.0.text" in entry.detail


async def test_sighup_refuses_a_figure_the_report_does_not_hold(telegram_bot, kdir: Path) -> None:
    if not hasattr(signal, "SIGHUP"):
        pytest.skip("no SIGHUP on this platform")
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(clock())) as bot:
        engine = bot.answers.engine
        storage = bot.answers.storage
        (kdir / "targets.yaml").write_text(wrong_figure(kdir)[0], encoding="utf-8")
        os.kill(os.getpid(), signal.SIGHUP)

        async def reload_audited() -> list:
            audit = await recent_audit(storage, 1)
            return audit if audit and audit[0].action == "reload" else []

        audits = await until(reload_audited)  # the reload runs as a task: wait for its audit row
        assert audits and audits[0].detail.startswith("SIGHUP: refused:"), audits
        assert bot.answers.engine is engine
        [answer] = await bot.say(USER, QUESTION)
        assert "3.800 - 3.900" in answer["text"]


async def test_upload_refuses_a_figure_the_report_does_not_hold(telegram_bot, emulator: Emulator, kdir: Path) -> None:
    before = snapshot(kdir)
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(clock())) as bot:
        engine = bot.answers.engine
        changed, line = wrong_figure(kdir)
        emulator.inject_document(ADMIN, "targets.yaml", changed.encode())
        [reply] = await emulator.wait_for_messages(ADMIN, 1)
        lines = reply["text"].splitlines()
        assert lines[0] == "❌ Tệp targets.yaml không hợp lệ; không ghi gì."
        assert lines[1].startswith(pointed(line)), lines[1]
        assert bot.answers.engine is engine
        [answer] = await bot.say(USER, QUESTION)
        assert "3.800 - 3.900" in answer["text"]
    assert snapshot(kdir) == before  # nothing written, no backup made


async def test_reload_keeps_the_reports_sentences(telegram_bot, kdir: Path) -> None:
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(clock())) as bot:
        assert bot.answers.engine.passages is not None
        [reply] = await bot.say(ADMIN, "/reload")
        assert reply["text"].startswith("✅ Đã nạp lại:") and "Lưu ý" not in reply["text"]
        assert bot.answers.engine.passages is not None  # statements still answered after a reload


async def test_reload_without_the_report_says_figures_are_unchecked(telegram_bot, kdir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-report.txt"
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, report_path=missing,
                            extra_handlers=features(clock())) as bot:
        [reply] = await bot.say(ADMIN, "/reload")
        assert reply["text"].startswith("✅ Đã nạp lại:")
        assert "Lưu ý: không đọc được báo cáo" in reply["text"] and "chưa đối chiếu được số liệu" in reply["text"]
        assert str(missing) in reply["text"]
