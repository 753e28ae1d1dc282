"""`python -m bot run` before it serves: what an operator can get wrong is found before Telegram is
contacted (access lists, the base with provenance, the database), the first contact is retried a
bounded number of times, and each failure is one line naming the setting and the fix."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from tests.emulator import Emulator
from tests.test_cli_operations import REPORT, ROOT, SETTINGS_VARS

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No inherited settings; the real base and report; the root logger restored afterwards
    (``run`` installs its own handler)."""
    for var in SETTINGS_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(ROOT / "knowledge"))
    monkeypatch.setenv("REPORT_PATH", str(REPORT))
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "data" / "bot.sqlite3"))
    monkeypatch.setenv("ENGINE_WORKERS", "0")
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in saved[0]:
        root.addHandler(h)
    root.setLevel(saved[1])


def use(monkeypatch: pytest.MonkeyPatch, emulator: Emulator, **env: str) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", emulator.token or TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", emulator.bot_base_url)
    for k, v in env.items():
        monkeypatch.setenv(k, v)


async def run(*argv: str) -> int:
    """`python -m bot run` in a thread (it runs its own event loop; the emulator runs in this one)."""
    return await asyncio.to_thread(main, ["run", *argv])


def last_line(err: str) -> str:
    """The failure's line: the last of stderr (log lines may come before it), no traceback."""
    assert "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: "), err
    return line


def not_a_database(tmp_path: Path) -> str:
    (tmp_path / "junk.sqlite3").write_bytes(b"this is not SQLite " * 100)
    return str(tmp_path / "junk.sqlite3")


def a_folder(tmp_path: Path) -> str:
    (tmp_path / "dbdir").mkdir()
    return str(tmp_path / "dbdir")


def under_a_file(tmp_path: Path) -> str:
    (tmp_path / "plainfile").write_text("x", encoding="utf-8")
    return str(tmp_path / "plainfile" / "bot.sqlite3")


@pytest.mark.parametrize(("make", "cause"), [
    (not_a_database, "không phải cơ sở dữ liệu SQLite hợp lệ"),
    (a_folder, "là một thư mục, không phải tệp"),
    (under_a_file, "(File exists)"),
])
async def test_an_unusable_database_path_is_found_before_contacting_telegram(
        make, cause: str, emulator: Emulator, monkeypatch, tmp_path: Path, capsys) -> None:
    path = make(tmp_path)
    use(monkeypatch, emulator, DATABASE_PATH=path)
    assert await run() == 2
    line = last_line(capsys.readouterr().err)
    assert line.startswith(f"error: DATABASE_PATH={path}: ") and cause in line, line
    assert "sửa DATABASE_PATH trong .env" in line
    assert emulator.requests == []  # Telegram never contacted


async def test_allowlist_with_nobody_listed_is_refused_at_start(emulator: Emulator, monkeypatch, capsys) -> None:
    use(monkeypatch, emulator, ACCESS_POLICY="allowlist")
    assert await run() == 2
    line = last_line(capsys.readouterr().err)
    assert line.startswith("error: ACCESS_POLICY=allowlist nhưng ALLOWED_IDS và ADMIN_IDS đều trống")
    assert "ACCESS_POLICY=open" in line
    assert emulator.requests == []


async def test_a_broken_base_is_one_line_before_contacting_telegram(emulator: Emulator, monkeypatch, tmp_path: Path,
                                                                    capsys) -> None:
    kdir = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", kdir, ignore=shutil.ignore_patterns("backups"))
    (kdir / "targets.yaml").write_text("kind: target\nentries: [ {id: x", encoding="utf-8")
    use(monkeypatch, emulator, KNOWLEDGE_DIR=str(kdir))
    assert await run() == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert last_line(err).startswith(f"error: KNOWLEDGE_DIR={kdir}: cơ sở tri thức không hợp lệ (1 lỗi")
    assert emulator.requests == []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the block ends: connecting is refused


def test_no_network_is_retried_a_bounded_number_of_times_then_one_line(monkeypatch, capsys) -> None:
    import bot.transports.telegram.serve as serve

    monkeypatch.setattr(serve, "RETRY_DELAYS", (0.01, 0.01))
    url = f"http://127.0.0.1:{closed_port()}/bot"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", url)
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    line = last_line(err)
    assert line.startswith("error: không kết nối được tới Telegram (")
    assert line.endswith(f"): kiểm tra mạng / TELEGRAM_API_BASE_URL={url}")
    assert err.count("Telegram chưa trả lời") == 2  # 3 attempts, then the line
    assert "lần 1/3" in err and "lần 2/3" in err
    assert TOKEN not in err


async def test_a_base_url_answering_404_is_not_reported_as_a_revoked_token(emulator: Emulator, monkeypatch,
                                                                            capsys) -> None:
    use(monkeypatch, emulator, TELEGRAM_API_BASE_URL=f"{emulator.base_url}/wrong/path/bot")
    assert await run() == 2
    line = last_line(capsys.readouterr().err)
    assert line.startswith(f"error: TELEGRAM_API_BASE_URL={emulator.base_url}/wrong/path/bot trả lời 404 Not Found")
    assert "TOKEN" not in line and "thu hồi" not in line


async def test_a_token_telegram_rejects_is_one_line(emulator: Emulator, monkeypatch, capsys) -> None:
    use(monkeypatch, emulator, TELEGRAM_BOT_TOKEN="987654321:" + "B" * 35)
    assert await run() == 2
    err = capsys.readouterr().err
    assert last_line(err).startswith("error: TELEGRAM_BOT_TOKEN bị Telegram từ chối (token sai hoặc đã bị thu hồi)")
    assert "B" * 35 not in err
    assert "Telegram chưa trả lời" not in err  # a rejected token is not retried


def test_network_errors_while_running_are_logged_in_one_line() -> None:
    """PTB logs every failed getUpdates with a traceback; an outage must not flood the log."""
    import io

    from telegram.error import NetworkError

    from bot.settings import load_settings
    from bot.transports.telegram.serve import quiet_operator_tracebacks

    def logged(level: str) -> str:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        quiet_operator_tracebacks(handler, load_settings(env_file=None, log_level=level))
        log = logging.getLogger("telegram.ext.Updater.test")
        log.addHandler(handler)
        try:
            try:
                raise NetworkError("httpx.ConnectError: All connection attempts failed")
            except NetworkError:
                log.exception("Exception happened while polling for updates.")
            try:
                raise KeyError("a bug")
            except KeyError:
                log.exception("Error in a handler")
        finally:
            log.removeHandler(handler)
        return stream.getvalue()

    text = logged("INFO")
    assert text.splitlines()[0] == ("Exception happened while polling for updates. "
                                    "(NetworkError: httpx.ConnectError: All connection attempts failed)")
    assert text.count("Traceback") == 1 and "KeyError" in text  # a bug keeps its traceback
    assert logged("DEBUG").count("Traceback") == 2
