"""Unit tests: settings from env/.env, one-line errors naming the variable, the token kept secret."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import (
    Settings,
    SettingsError,
    configure_logging,
    load_settings,
)

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
VARS = (
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "TELEGRAM_FILE_BASE_URL", "ADMIN_IDS", "DATABASE_PATH",
    "KNOWLEDGE_DIR", "TIMEZONE", "ACCESS_POLICY", "ALLOWED_IDS", "RATE_LIMITER", "ENGINE_WORKERS", "REMINDER_RATE",
    "REMINDER_PER_CHAT_INTERVAL", "REMINDER_TICK_SECONDS", "LOG_LEVEL", "CONVERSATION_IDLE_MINUTES",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the developer's environment or .env."""
    for var in VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def one_line_error(**env: str) -> str:
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        with pytest.raises(SettingsError) as info:
            load_settings(require_token=True)
    message = str(info.value)
    assert "\n" not in message and message
    return message


def test_defaults() -> None:
    s = load_settings()
    assert s.telegram_bot_token is None
    assert s.telegram_api_base_url == "https://api.telegram.org/bot"
    assert s.telegram_file_base_url == "https://api.telegram.org/file/bot"
    assert s.database_path == Path("data/bot.sqlite3") and s.knowledge_dir == Path("knowledge")
    assert s.timezone == "Asia/Ho_Chi_Minh" and str(s.tz) == "Asia/Ho_Chi_Minh"
    assert s.access_policy == "open" and s.admin_ids == frozenset() and s.allowed_ids == frozenset()
    assert s.reminder_rate == 20 and s.reminder_per_chat_interval == 1.0 and s.reminder_tick_seconds == 30
    assert s.rate_limiter is True and s.engine_workers == 1


def test_env_example_lists_every_setting() -> None:
    example = Path(__file__).resolve().parents[1] / ".env.example"
    names = {line.split("=", 1)[0] for line in example.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")}
    assert names == {name.upper() for name in Settings.model_fields}
    assert load_settings(env_file=example).telegram_bot_token is None  # loads as is


def test_values_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/bot")
    monkeypatch.setenv("ADMIN_IDS", "11, 12")
    monkeypatch.setenv("ALLOWED_IDS", "5 -1001234")
    monkeypatch.setenv("ACCESS_POLICY", "Allowlist")
    monkeypatch.setenv("REMINDER_RATE", "5")
    s = load_settings(require_token=True)
    assert s.token == TOKEN
    assert s.telegram_file_base_url == "http://127.0.0.1:8081/file/bot"  # derived
    assert s.admin_ids == {11, 12} and s.allowed_ids == {5, -1001234}
    assert s.access_policy == "allowlist" and s.reminder_rate == 5
    assert s.is_allowed(5) and s.is_allowed(None, -1001234) and s.is_allowed(11) and not s.is_allowed(6, -1)
    assert s.is_admin(11) and not s.is_admin(5)


def test_values_from_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nTIMEZONE=Asia/Bangkok\n# comment\n", encoding="utf-8")
    s = load_settings(require_token=True)
    assert s.token == TOKEN and s.timezone == "Asia/Bangkok"
    assert load_settings().telegram_bot_token is not None  # what `make run` reads to choose the bot
    assert load_settings(env_file=None).telegram_bot_token is None


def test_missing_token_for_run_is_one_clear_line() -> None:
    message = one_line_error()
    assert message.startswith("Thiếu TELEGRAM_BOT_TOKEN")
    assert load_settings().telegram_bot_token is None  # chat mode needs no token


def test_bad_admin_ids_names_the_variable() -> None:
    message = one_line_error(TELEGRAM_BOT_TOKEN=TOKEN, ADMIN_IDS="12, abc")
    assert message.startswith("Cấu hình không hợp lệ: ADMIN_IDS:") and "'abc'" in message


def test_invalid_timezone_names_the_variable() -> None:
    message = one_line_error(TELEGRAM_BOT_TOKEN=TOKEN, TIMEZONE="Mars/Olympus_Mons")
    assert "TIMEZONE:" in message and "Mars/Olympus_Mons" in message


@pytest.mark.parametrize(
    ("var", "value"),
    [("ACCESS_POLICY", "everyone"), ("REMINDER_RATE", "fast"), ("REMINDER_RATE", "0"),
     ("TELEGRAM_API_BASE_URL", "api.telegram.org"), ("ALLOWED_IDS", "1;x"), ("RATE_LIMITER", "maybe")],
)
def test_other_malformed_settings_name_the_variable(var: str, value: str) -> None:
    message = one_line_error(TELEGRAM_BOT_TOKEN=TOKEN, **{var: value})
    assert f"{var}:" in message


def test_malformed_token_is_reported_without_echoing_it() -> None:
    bad = "123456789:short-secret"
    message = one_line_error(TELEGRAM_BOT_TOKEN=bad)
    assert "TELEGRAM_BOT_TOKEN:" in message and "short-secret" not in message


def test_token_never_in_repr_or_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    s = load_settings()
    for text in (repr(s), str(s), s.model_dump_json(), repr(s.model_dump())):
        assert TOKEN not in text
    assert isinstance(s, Settings)


def test_logging_redacts_the_token_and_quiets_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    try:
        configure_logging(load_settings(), stream)
        log = logging.getLogger("telegram.ext.test")
        log.info("POST https://api.telegram.org/bot%s/getMe", TOKEN)
        try:
            raise RuntimeError(f"url https://api.telegram.org/bot{TOKEN}/sendMessage failed")
        except RuntimeError:
            log.exception("request failed")
        logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
        assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
    out = stream.getvalue()
    assert TOKEN not in out
    assert "bot[TOKEN]/getMe" in out and "bot[TOKEN]/sendMessage" in out and "getUpdates" not in out


def test_debug_logging_carries_no_user_text_unless_asked() -> None:
    """LOG_LEVEL=DEBUG: PTB (updates, request parameters) and aiosqlite (SQL with parameters) would
    log what users wrote; they stay at INFO unless LOG_USER_TEXT=true."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    names = ("telegram", "telegram.ext", "aiosqlite")
    levels = {n: logging.getLogger(n).level for n in names}
    try:
        configure_logging(load_settings(env_file=None, log_level="DEBUG"), io.StringIO())
        assert root.level == logging.DEBUG
        assert all(logging.getLogger(n).getEffectiveLevel() >= logging.INFO for n in names)
        configure_logging(load_settings(env_file=None, log_level="DEBUG", log_user_text=True), io.StringIO())
        assert logging.getLogger("telegram.ext").getEffectiveLevel() >= logging.INFO  # the token, still
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
        for n, level in levels.items():
            logging.getLogger(n).setLevel(level)


def test_run_without_token_exits_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in VARS}
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env={**env, "PYTHONPATH": str(root)},
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "TELEGRAM_BOT_TOKEN" in lines[0]


def test_run_with_a_bad_setting_exits_with_one_line(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from bot.transports.telegram.app import run_bot

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("ADMIN_IDS", "x")
    assert run_bot() == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ADMIN_IDS" in err[0] and TOKEN not in err[0]
