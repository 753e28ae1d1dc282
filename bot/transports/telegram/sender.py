"""The reminder fan-out's `send`: a Bot call mapped onto the service's error kinds.

Reminders bypass the global rate limiter's retry (`rate_limit_args={"fanout": True}`): the
fan-out paces itself, so one 429 on a reminder never holds back users' answers.
"""

from __future__ import annotations

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.services.reminders import ChatUnavailable, FloodWait, Sender, TransientSendError

_GONE = ("chat not found", "user is deactivated", "bot was kicked", "chat_write_forbidden", "have no rights")


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]


def make_sender(bot: Bot) -> Sender:
    """A `send(chat_id, text)` for ReminderService that sends plain text through `bot`."""

    # PTB accepts rate_limit_args only when the bot has a rate limiter.
    extra = {"rate_limit_args": {"fanout": True}} if getattr(bot, "rate_limiter", None) else {}

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
            raise TransientSendError(exc.message) from exc

    return send
