"""The reminder fan-out's `send`: a Bot call mapped onto the service's error kinds.

Reminders bypass the global rate limiter's retry (`rate_limit_args={"fanout": True}`): the
fan-out paces itself, so one 429 on a reminder never holds back users' answers.

Which failures may be retried (at most once per reminder): only those where Telegram did not take
the message — an error answer (5xx), no connection at all (refused, connect or pool timeout), a
request that could not be written completely, or a connection the server had already closed (it
closed without a byte of response: the keep-alive race, where a request goes out on a connection
the server closed a moment before). A request that was sent and then got no answer (read timeout,
connection reset while waiting) may have been delivered: it is :class:`UncertainSendError`, never
re-sent.
"""

from __future__ import annotations

from typing import Any

import httpx
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.services.sending import ChatUnavailable, FloodWait, Sender, TransientSendError, UncertainSendError

_GONE = ("chat not found", "user is deactivated", "bot was kicked", "chat_write_forbidden", "have no rights")
# httpx errors that mean the server cannot have executed the request: never connected, or the
# request was not written completely.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError, httpx.WriteTimeout)
_CLOSED_BEFORE = "without sending a response"  # httpcore: the server closed before any response byte


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]


def surely_not_sent(exc: TelegramError) -> bool:
    """True when Telegram cannot have executed the request: it answered with an error (PTB raises
    NetworkError/TimedOut without an httpx cause for an HTTP error status), or the connection
    was never made. False when the request may have been executed (no answer to a sent request)."""
    cause = exc.__cause__
    if cause is None:
        return isinstance(exc, NetworkError) and not isinstance(exc, TimedOut)
    if isinstance(cause, httpx.RemoteProtocolError):
        return _CLOSED_BEFORE in str(cause)
    return isinstance(cause, _NOT_SENT)


def make_sender(bot: Bot) -> Sender:
    """A `send(chat_id, text)` for ReminderService that sends plain text through `bot`."""

    # PTB accepts rate_limit_args only when the bot has a rate limiter.
    extra: dict[str, Any] = {"rate_limit_args": {"fanout": True}} if getattr(bot, "rate_limiter", None) else {}

    async def send(chat_id: int, text: str) -> None:
        try:
            # Plain text: parse_mode=None overrides the application's HTML default, so a "<" or
            # "&" in a target's title cannot make Telegram refuse the reminder.
            await bot.send_message(chat_id, text, parse_mode=None, **extra)
        except RetryAfter as exc:
            raise FloodWait(_seconds(exc._retry_after)) from exc
        except Forbidden as exc:
            raise ChatUnavailable(exc.message) from exc
        except BadRequest as exc:
            if any(g in exc.message.lower() for g in _GONE):
                raise ChatUnavailable(exc.message) from exc
            raise  # a bad request will not get better by retrying: ends in the ledger as failed
        except (TimedOut, NetworkError) as exc:
            if surely_not_sent(exc):
                raise TransientSendError(exc.message) from exc
            raise UncertainSendError(exc.message) from exc

    return send
