"""Settings from the environment and `.env` (pydantic-settings), and secret-safe logging.

Every setting is an environment variable of the same name in upper case (see `.env.example`).
A missing or malformed setting raises :class:`SettingsError` whose message is ONE line naming the
variable; `run_bot` prints it and exits. The token is a `SecretStr`: it never shows in `repr`, and
:func:`configure_logging` redacts it from every log line (httpx and PTB put it in request URLs).
"""

from __future__ import annotations

import logging
import re
import sys
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.knowledge.source import DEFAULT_REPORT

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_ENV_FILE = ".env"
_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,}$")

IdSet = Annotated[frozenset[int], NoDecode]


class SettingsError(Exception):
    """A missing or malformed setting; ``str(exc)`` is one line naming the variable."""


def _parse_ids(value: Any, name: str) -> Any:
    """'1, 2,-1003' → {1, 2, -1003}; lists/sets pass through to pydantic's own validation."""
    if value is None:
        return frozenset()
    if isinstance(value, int) and not isinstance(value, bool):
        return frozenset({value})
    if not isinstance(value, str):
        return value
    ids = set()
    for part in re.split(r"[,\s;]+", value.strip()):
        if not part:
            continue
        if not re.fullmatch(r"-?\d{1,20}", part):
            raise ValueError(f"'{part}' không phải số nguyên (cần danh sách id số, cách nhau bởi dấu phẩy)")
        ids.add(int(part))
    return frozenset(ids)


class Settings(BaseSettings):
    """The bot's configuration. Field `x_y` is read from the variable `X_Y`."""

    model_config = SettingsConfigDict(
        env_file=DEFAULT_ENV_FILE, env_file_encoding="utf-8", extra="ignore", case_sensitive=False,
        hide_input_in_errors=True,
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = DEFAULT_API_BASE_URL
    telegram_file_base_url: str = ""  # derived from the API base URL when empty
    admin_ids: IdSet = frozenset()
    database_path: Path = Path("data/bot.sqlite3")
    knowledge_dir: Path = Path("knowledge")
    report_path: Path = DEFAULT_REPORT  # the report quoted verbatim
    timezone: str = "Asia/Ho_Chi_Minh"
    access_policy: Literal["open", "allowlist"] = "open"
    allowed_ids: IdSet = frozenset()
    rate_limiter: bool = True
    engine_workers: int = Field(default=1, ge=0, le=16)
    reminder_rate: float = Field(default=20.0, gt=0, le=1000)
    reminder_per_chat_interval: float = Field(default=1.0, ge=0, le=3600)
    reminder_tick_seconds: float = Field(default=30.0, gt=0, le=3600)
    conversation_idle_minutes: float = Field(default=30.0, gt=0, le=7 * 24 * 60)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Webhook mode (behind a reverse proxy): the public https URL Telegram posts updates to; empty
    # = long polling. The bot listens on WEBHOOK_LISTEN:WEBHOOK_PORT at the URL's path.
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None  # empty: a random one per start
    # Reliability (issue 10): how long a reply Telegram did not take is retried; the per-user token
    # bucket; the share of entries a reload may remove without the admin's confirmation; whether
    # logs may carry users' questions; retention of the query log and of knowledge/backups.
    answer_retry_minutes: float = Field(default=5.0, gt=0, le=60)
    user_rate_burst: int = Field(default=10, ge=1, le=1000)
    user_rate_per_minute: float = Field(default=20.0, gt=0, le=6000)
    reload_max_removed_share: float = Field(default=0.2, ge=0, le=1)
    log_user_text: bool = False
    query_log_retention_days: int = Field(default=365, ge=1, le=36500)
    knowledge_backups_keep: int = Field(default=20, ge=1, le=10000)

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _token(cls, v: Any) -> Any:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        text = v.get_secret_value() if isinstance(v, SecretStr) else str(v)
        if not _TOKEN_RE.match(text.strip()):
            # Never echo the value: a near-miss is still almost the secret.
            raise ValueError("token sai dạng (cần dạng 123456789:ABC… như @BotFather cấp)")
        return text.strip()

    @field_validator("admin_ids", "allowed_ids", mode="before")
    @classmethod
    def _ids(cls, v: Any, info: Any) -> Any:
        return _parse_ids(v, info.field_name)

    @field_validator("telegram_api_base_url", "telegram_file_base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip()
        if v and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"'{v[:80]}' không phải địa chỉ http(s)")  # cut: the error echoes input
        return v

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, v: str) -> str:
        v = v.strip()
        if v and not re.match(r"^https://[^\s/]+", v):
            raise ValueError(f"'{v[:80]}' không phải địa chỉ https (Telegram chỉ gửi webhook tới https://…)")
        return v

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, v: Any) -> Any:
        text = v.get_secret_value() if isinstance(v, SecretStr) else v
        if text is None or (isinstance(text, str) and not text.strip()):
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(text).strip()):
            raise ValueError("chỉ gồm chữ, số, _ và - (1–256 ký tự), như Telegram yêu cầu")
        return str(text).strip()

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{v[:80]}' không phải múi giờ IANA hợp lệ (ví dụ Asia/Ho_Chi_Minh)") from None
        return v

    @field_validator("access_policy", "log_level", mode="before")
    @classmethod
    def _casefold(cls, v: Any, info: Any) -> Any:
        if isinstance(v, str):
            return v.strip().upper() if info.field_name == "log_level" else v.strip().lower()
        return v

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        if not self.telegram_file_base_url:
            api = self.telegram_api_base_url.rstrip("/")
            base, sep, _ = api.rpartition("/bot")
            self.telegram_file_base_url = f"{base}/file/bot" if sep else f"{api}/file/bot"
        return self

    # -- derived views ----------------------------------------------------------------------
    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The configured time zone."""
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def token(self) -> str:
        """The bot token (raises SettingsError when it is not configured)."""
        if self.telegram_bot_token is None:
            raise SettingsError(_MISSING_TOKEN)
        return self.telegram_bot_token.get_secret_value()

    def is_allowed(self, *ids: int | None) -> bool:
        """True when the access policy lets any of these user/chat ids use the bot."""
        if self.access_policy == "open":
            return True
        allowed = self.allowed_ids | self.admin_ids
        return any(i is not None and i in allowed for i in ids)

    def is_admin(self, user_id: int | None) -> bool:
        """True for a user id listed in ADMIN_IDS."""
        return user_id is not None and user_id in self.admin_ids


_MISSING_TOKEN = (
    "Thiếu TELEGRAM_BOT_TOKEN: tạo bot với @BotFather rồi ghi token vào .env (xem .env.example), "
    "hoặc chạy `python -m bot chat` để trò chuyện trên terminal."
)


def _one_line(exc: ValidationError) -> str:
    """'Cấu hình không hợp lệ: ADMIN_IDS: …; TIMEZONE: …' (one line, variable names in caps)."""
    parts = []
    for err in exc.errors():
        name = str(err["loc"][0]).upper() if err["loc"] else "?"
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "literal_error":
            msg = "phải là một trong: " + msg.removeprefix("Input should be ").replace(" or ", ", ")
        parts.append(f"{name}: {msg}")
    return "Cấu hình không hợp lệ: " + "; ".join(parts).replace("\n", " ")


def load_settings(*, require_token: bool = False, env_file: str | Path | None = DEFAULT_ENV_FILE,
                  **overrides: Any) -> Settings:
    """Read settings from the environment and `env_file`; raise SettingsError (one line) on a problem.

    ``overrides`` take precedence over the environment (tests, the benchmark).
    """
    try:
        settings = Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None
    if require_token and settings.telegram_bot_token is None:
        raise SettingsError(_MISSING_TOKEN)
    return settings


# -- logging ----------------------------------------------------------------------------------


class RedactingFormatter(logging.Formatter):
    """A formatter that replaces every secret (the bot token) in the final line, tracebacks included."""

    def __init__(self, fmt: str | None = None, secrets: list[str] | None = None) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in (secrets or []) if s]

    def format(self, record: logging.LogRecord) -> str:
        """Format the record, then redact."""
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "[TOKEN]")
        return text


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(settings: Settings, stream: Any = None) -> logging.Handler:
    """Root logging for the bot: one stream handler with token redaction; httpx/httpcore quiet.

    httpx logs every request URL (which contains the token) at INFO and PTB logs request details
    at DEBUG, so those loggers are held at WARNING whatever LOG_LEVEL says.
    """
    secrets = [s.get_secret_value() for s in (settings.telegram_bot_token, settings.webhook_secret) if s is not None]
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(LOG_FORMAT, secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("telegram", "telegram.ext", "apscheduler"):
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLevelName(settings.log_level)))
    # aiosqlite logs every statement with its parameters (users' questions) at DEBUG.
    if not settings.log_user_text:
        logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.getLevelName(settings.log_level)))
    return handler
