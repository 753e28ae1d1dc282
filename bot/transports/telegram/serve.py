"""`python -m bot run`: everything an operator can get wrong is checked before the bot contacts
Telegram, the first contact is retried a bounded number of times, then PTB runs the bot (long
polling, or ``run_webhook`` when WEBHOOK_URL is set) until SIGINT/SIGTERM.

Order (each failure is one line naming the setting and the fix, see ``bot.failure``):
settings and token → access lists → knowledge base with provenance → database (open, migrate,
writable, WAL) → getMe (network, base URL, token) → run.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from telegram import Bot, User
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    TelegramError,
    TimedOut,
)

from bot.failure import OperatorError, invalid_base
from bot.knowledge.errors import KnowledgeError
from bot.services.loading import load_engine
from bot.services.operations import DatabaseProblem, probe_database
from bot.settings import DEFAULT_API_BASE_URL, Settings, SettingsError, configure_logging, load_settings

log = logging.getLogger(__name__)

# The first contact with Telegram: 3 attempts, 1 s then 3 s apart (a network that is down stays
# down; a blip passes). Tests shorten the pauses.
RETRY_DELAYS: Sequence[float] = (1.0, 3.0)
# Errors an operator causes (network, token, base URL, a second instance): logged as one line, not
# a traceback, unless LOG_LEVEL=DEBUG. PTB logs every failed getUpdates with a traceback otherwise.
OPERATOR_ERRORS = (NetworkError, InvalidToken, Conflict, Forbidden)


def access_problem(settings: Settings) -> str | None:
    """A setting that would make the bot refuse everyone, or None."""
    if settings.access_policy == "allowlist" and not (settings.allowed_ids or settings.admin_ids):
        return ("ACCESS_POLICY=allowlist nhưng ALLOWED_IDS và ADMIN_IDS đều trống: bot sẽ từ chối mọi người; "
                "ghi id người dùng hoặc nhóm vào ALLOWED_IDS (người dùng biết id của mình qua lời từ chối của bot "
                "hoặc @userinfobot), hoặc đặt ACCESS_POLICY=open")
    return None


def describe_telegram_error(exc: BaseException, settings: Settings) -> str:
    """One line for a failure to talk to Telegram: the cause, then the setting to check."""
    url = settings.telegram_api_base_url
    detail = " ".join(str(exc).split())[:200]
    if isinstance(exc, InvalidToken):
        # PTB's Bot.initialize re-raises the server's answer as "token rejected": read the cause too.
        answer = f"{exc} {exc.__cause__ or ''}".lower()
        if "not found" in answer and url.rstrip("/") != DEFAULT_API_BASE_URL:
            # Telegram answers 401 for a token it does not know; a 404 here is the address.
            return (f"TELEGRAM_API_BASE_URL={url} trả lời 404 Not Found: đó không phải địa chỉ Bot API; sửa "
                    f"TELEGRAM_API_BASE_URL (mặc định {DEFAULT_API_BASE_URL}, có /bot ở cuối)")
        return ("TELEGRAM_BOT_TOKEN bị Telegram từ chối (token sai hoặc đã bị thu hồi); lấy token mới từ @BotFather "
                "(/token) rồi sửa .env")
    if isinstance(exc, Conflict):
        return ("một tiến trình khác đang chạy bot với cùng token (409 Conflict); dừng tiến trình đó "
                "(hoặc webhook đang đặt ở nơi khác) rồi chạy lại")
    if isinstance(exc, BadRequest | Forbidden):
        return f"Telegram từ chối yêu cầu ({detail}); kiểm tra TELEGRAM_API_BASE_URL={url} và token"
    if isinstance(exc, NetworkError | TimedOut):
        return f"không kết nối được tới Telegram ({detail}): kiểm tra mạng / TELEGRAM_API_BASE_URL={url}"
    return f"lỗi khi nói chuyện với Telegram ({type(exc).__name__}: {detail})"


async def first_contact(settings: Settings, delays: Sequence[float] | None = None) -> User:
    """getMe, retried on network errors after each of `delays` (default RETRY_DELAYS); raises
    OperatorError with the cause and the setting to check."""
    delays = RETRY_DELAYS if delays is None else delays
    bot = Bot(settings.token, base_url=settings.telegram_api_base_url, base_file_url=settings.telegram_file_base_url)
    attempts = len(delays) + 1
    for attempt in range(1, attempts + 1):
        try:
            async with bot:  # initialize() is getMe
                return bot.bot
        except (NetworkError, TimedOut) as exc:
            if isinstance(exc, BadRequest) or attempt == attempts:
                raise OperatorError(describe_telegram_error(exc, settings), 1) from exc
            delay = delays[attempt - 1]
            log.warning("Telegram chưa trả lời (lần %d/%d: %s); thử lại sau %g s", attempt, attempts,
                        " ".join(str(exc).split())[:200], delay)
            await asyncio.sleep(delay)
        except TelegramError as exc:
            raise OperatorError(describe_telegram_error(exc, settings), 2 if isinstance(exc, InvalidToken) else 1
                                ) from exc
    raise AssertionError("unreachable")  # pragma: no cover


class _OneLineOperatorErrors(logging.Filter):
    """Drops the traceback of an operator-caused Telegram error from a log record (the message
    keeps the error's own text); LOG_LEVEL=DEBUG keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, OPERATOR_ERRORS):
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_operator_tracebacks(handler: logging.Handler, settings: Settings) -> None:
    """Install the one-line filter on `handler` unless debugging."""
    if settings.log_level != "DEBUG":
        handler.addFilter(_OneLineOperatorErrors())


@dataclass(frozen=True)
class Webhook:
    """Where the webhook server listens and what Telegram is told."""

    url: str
    listen: str
    port: int
    path: str
    secret: str


def webhook_of(settings: Settings) -> Webhook | None:
    """The webhook configuration, or None for long polling. A WEBHOOK_URL without the server PTB
    needs for it (tornado) is one line."""
    if not settings.webhook_url:
        return None
    try:
        import tornado  # noqa: F401 - PTB's webhook server
    except ImportError:
        raise OperatorError("WEBHOOK_URL cần máy chủ webhook của python-telegram-bot: cài lại (`make install`, "
                            "hoặc pip install 'python-telegram-bot[webhooks]'), hoặc để trống WEBHOOK_URL", 2) from None
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else secrets.token_urlsafe(32)
    return Webhook(settings.webhook_url, settings.webhook_listen, settings.webhook_port,
                   urlsplit(settings.webhook_url).path.lstrip("/"), secret)


def _settings(settings: Settings | None) -> Settings:
    try:
        settings = settings if settings is not None else load_settings(require_token=True)
        settings.token  # noqa: B018 - raises the one-line "missing token" SettingsError
    except SettingsError as exc:
        raise OperatorError(str(exc), 2) from None
    return settings


def serve(settings: Settings | None = None) -> int:
    """Check, contact Telegram, run until stopped (see module docs). Raises OperatorError."""
    from bot.services.answers import AnswerService
    from bot.transports.telegram.app import ALLOWED_UPDATES, POLL_INTERVAL, build_application
    from bot.transports.telegram.features import install

    settings = _settings(settings)
    handler = configure_logging(settings)
    quiet_operator_tracebacks(handler, settings)
    problem = access_problem(settings)
    if problem:
        raise OperatorError(problem, 2)
    webhook = webhook_of(settings)
    try:
        loaded = load_engine(settings.knowledge_dir, settings.report_path)
    except KnowledgeError as exc:
        raise invalid_base(settings.knowledge_dir, exc) from exc
    if loaded.warning:
        log.warning("REPORT_PATH=%s: %s", settings.report_path, loaded.warning)

    async def preflight() -> User:
        try:
            status = await probe_database(settings.database_path)
        except DatabaseProblem as exc:
            raise OperatorError(str(exc), 2) from exc
        log.info("database %s: schema v%d, %s", status.path, status.schema_version, status.journal_mode)
        return await first_contact(settings)

    me = asyncio.run(preflight())
    log.info("Telegram: @%s (id %d)", me.username, me.id)
    application = build_application(settings, AnswerService(loaded.engine, workers=settings.engine_workers),
                                    extra_handlers=install)
    try:
        if webhook is None:
            log.info("starting long polling (access policy: %s, rate limiter: %s)",
                     settings.access_policy, "on" if settings.rate_limiter else "off")
            application.run_polling(poll_interval=POLL_INTERVAL, allowed_updates=ALLOWED_UPDATES, bootstrap_retries=3)
        else:
            log.info("starting the webhook server on %s:%d/%s for %s (access policy: %s)", webhook.listen,
                     webhook.port, webhook.path, webhook.url, settings.access_policy)
            application.run_webhook(
                listen=webhook.listen, port=webhook.port, url_path=webhook.path, webhook_url=webhook.url,
                secret_token=webhook.secret, allowed_updates=ALLOWED_UPDATES, bootstrap_retries=3)
    except TelegramError as exc:
        raise OperatorError(describe_telegram_error(exc, settings), 1) from exc
    except OSError as exc:
        if webhook is not None:
            raise OperatorError(f"không mở được cổng webhook {webhook.listen}:{webhook.port} ({exc.strerror or exc}); "
                                "chọn WEBHOOK_PORT/WEBHOOK_LISTEN khác", 2) from exc
        raise
    fatal = application.bot_data.fatal  # reliability.fatal(): the database failed while running
    if fatal:
        raise OperatorError(fatal, 1)
    return 0
