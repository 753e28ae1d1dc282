"""`python -m bot doctor`: one ✓/✗ line per check, non-zero on any ✗, Telegram only with --online."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from tests.emulator import Emulator
from tests.test_cli_operations import REPORT, RIGHT, ROOT, SETTINGS_VARS, WRONG

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
NAMES = ["settings", "token", "knowledge base", "report", "database", "time zone", "admins", "access", "updates"]


@pytest.fixture(autouse=True)
def good(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A complete, valid configuration in the environment (each test breaks what it tests)."""
    for var in SETTINGS_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "ADMIN_IDS": "11,12", "KNOWLEDGE_DIR": str(ROOT / "knowledge"),
           "REPORT_PATH": str(REPORT), "DATABASE_PATH": str(tmp_path / "data" / "bot.sqlite3")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)


def report(capsys, *argv: str) -> tuple[int, dict[str, str], list[str]]:
    code = main(["doctor", *argv])
    lines = capsys.readouterr().out.strip().splitlines()
    checks = {}
    for line in lines[:-1]:
        mark, rest = line.split(" ", 1)
        name, detail = rest.split(": ", 1)
        assert mark in ("✓", "✗") and name not in checks, line
        checks[name] = mark + " " + detail
    return code, checks, lines


def test_a_good_setup_passes_without_contacting_telegram(capsys, tmp_path: Path) -> None:
    code, checks, lines = report(capsys)
    assert code == 0, lines
    assert list(checks) == NAMES
    assert all(v.startswith("✓") for v in checks.values()), lines
    assert lines[-1] == "all checks passed"
    assert checks["knowledge base"].endswith("every figure found in the report")
    assert checks["database"].endswith("writable, journal WAL")
    assert checks["admins"] == "✓ 2 in ADMIN_IDS"
    assert (tmp_path / "data" / "bot.sqlite3").is_file()


def test_a_broken_setup_has_one_cross_per_problem(capsys, monkeypatch, tmp_path: Path) -> None:
    kdir = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", kdir, ignore=shutil.ignore_patterns("backups"))
    text = (kdir / "targets.yaml").read_text(encoding="utf-8")
    (kdir / "targets.yaml").write_text(text.replace(RIGHT, WRONG), encoding="utf-8")
    (tmp_path / "dbdir").mkdir()
    for k, v in {"KNOWLEDGE_DIR": str(kdir), "DATABASE_PATH": str(tmp_path / "dbdir"), "ACCESS_POLICY": "allowlist",
                 "ADMIN_IDS": "", "TELEGRAM_BOT_TOKEN": ""}.items():
        monkeypatch.setenv(k, v)
    code, checks, lines = report(capsys)
    assert code == 1
    assert lines[-1] == "5 problem(s) found"
    failed = [name for name, v in checks.items() if v.startswith("✗")]
    assert failed == ["token", "knowledge base", "database", "admins", "access"], lines
    assert "kb/targets.yaml:" in checks["knowledge base"] and "field 'figures.0.text'" in checks["knowledge base"]
    assert checks["database"].startswith(f"✗ DATABASE_PATH={tmp_path / 'dbdir'}: là một thư mục")
    assert "ACCESS_POLICY=allowlist" in checks["access"]
    assert checks["time zone"].startswith("✓ TIMEZONE=Asia/Ho_Chi_Minh")


def test_a_missing_report_is_a_cross(capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REPORT_PATH", str(tmp_path / "none.txt"))
    code, checks, _ = report(capsys)
    assert code == 1
    assert checks["report"].startswith(f"✗ REPORT_PATH: {tmp_path / 'none.txt'}: cannot read the source report")
    assert "knowledge base" not in checks  # its figures could not be checked: no ✓ claimed


def test_malformed_settings_are_one_cross(capsys, monkeypatch) -> None:
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    assert main(["doctor"]) == 1
    [line] = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("✗ settings: Cấu hình không hợp lệ: TIMEZONE:")


async def test_online_asks_telegram(emulator: Emulator, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", emulator.token)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", emulator.bot_base_url)
    assert await asyncio.to_thread(main, ["doctor"]) == 0
    assert emulator.requests == []  # offline unless asked
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["doctor", "--online"]) == 0
    out = capsys.readouterr().out
    assert f"✓ Telegram: getMe answered: @emulator_test_bot (id {emulator.bot_user['id']})" in out
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "987654321:" + "B" * 35)
    assert await asyncio.to_thread(main, ["doctor", "--online"]) == 1
    out = capsys.readouterr().out
    assert "✗ Telegram: TELEGRAM_BOT_TOKEN bị Telegram từ chối" in out and "B" * 35 not in out
