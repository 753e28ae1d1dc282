"""Where retries and ordering live.

Retries: PTB's ``ExtBot`` routes every Bot API call except ``getUpdates`` through its rate
limiter (``getUpdates`` has the Updater's own retry loop). :class:`ResilientRateLimiter` is that
hook: an ``AIORateLimiter`` (throttling optional, on by the RATE_LIMITER setting) that also

* waits out ``429 Too Many Requests`` for ``retry_after`` seconds and retries (AIORateLimiter's
  ``max_retries``; while waiting it holds back *every* request, as Telegram's flood control
  applies to the whole bot), and
* retries server errors (5xx) and network failures with exponential backoff (at most
  ``max_backoff`` apart) until ``deadline`` seconds have passed since the first failure
  (ANSWER_RETRY_MINUTES): a reply outlives an outage of a few minutes.

Not retried: 4xx other than 429 (retrying cannot help) and a timeout after the request was sent
(``TimedOut`` from a read: it may have been executed; resending could duplicate a message). A
connect or pool timeout is retried (nothing was sent). A 5xx can also, rarely, follow a delivered
message; one duplicate answer is the price of never losing one.

``rate_limit_args={"fanout": True}`` (the reminder sender, `sender.py`) bypasses all of this: one
attempt, no throttling, no global pause — the fan-out paces itself and records each outcome, and a
reminder's 429 must not hold back users' answers. An int keeps PTB's meaning (max 429 retries).

Ordering: :class:`ChatOrderedProcessor` runs updates of different chats concurrently but those of
one chat one after the other, so a user's answers arrive in the order of their questions even
when a send is waiting out a 429 or an outage; other chats are not held up by it. With an inbox
(``reliability.Inbox``) it handles each update id once and marks it done after its handlers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from telegram import Update
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter, BaseUpdateProcessor

log = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


class ResilientRateLimiter(AIORateLimiter):
    """AIORateLimiter plus retries of 429 (waited out) and 5xx/network errors (backoff, deadline)."""

    __slots__ = ("backoff", "clock", "deadline", "failures", "max_backoff", "sleep", "throttled")

    def __init__(self, *, throttle: bool = True, retry_after_retries: int = 5, deadline: float = 300.0,
                 backoff: float = 0.5, max_backoff: float = 8.0,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``throttle`` False keeps the retries but no rate limits (Telegram's: 30 msg/s overall,
        20 msg/min per group). ``deadline``: seconds from a request's first failure after which it
        is given up; ``sleep``/``clock``: tests pass their own."""
        if throttle:
            super().__init__(max_retries=retry_after_retries)
        else:
            super().__init__(overall_max_rate=0, group_max_rate=0, max_retries=retry_after_retries)
        self.throttled = throttle
        self.deadline = deadline
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.clock = clock
        self.failures = 0  # requests that failed at least once (for the records)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | Mapping[str, Any] | None,
    ) -> JSONResult:
        """Throttle, then call; wait out 429s (parent class) and retry 5xx/network errors with
        backoff until the deadline."""
        if isinstance(rate_limit_args, Mapping):
            if rate_limit_args.get("fanout"):
                return await callback(*args, **kwargs)
            rate_limit_args = None
        delay = self.backoff
        give_up: float | None = None
        attempt = 0
        while True:
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except BadRequest:
                raise
            except TimedOut as exc:
                if not _surely_not_sent(exc):
                    raise  # the request may have been executed: not sent twice
                error: NetworkError = exc
            except NetworkError as exc:
                error = exc
            now = self.clock()
            if give_up is None:
                give_up = now + self.deadline
                self.failures += 1
            if now + delay > give_up:
                log.warning("%s failed (%s); given up after %.0f s of retries", endpoint, error.message,
                            self.deadline)
                raise error
            attempt += 1
            log.warning("%s failed (%s); retry %d in %.2fs", endpoint, error.message, attempt, delay)
            await self.sleep(delay)
            delay = min(delay * 2, self.max_backoff)


def _surely_not_sent(exc: TimedOut) -> bool:
    from bot.transports.telegram.sender import surely_not_sent

    return surely_not_sent(exc)


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent across chats, sequential within a chat (see module docs)."""

    __slots__ = ("_locks", "inbox")

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        self.inbox: Any = None  # reliability.Inbox, set by reliability.install

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await ``coroutine`` holding its chat's lock (updates without a chat run at once); with
        an inbox, once per update id, marked done afterwards."""
        inbox = self.inbox
        update_id = update.update_id if isinstance(update, Update) else None
        if inbox is not None and update_id is not None and not inbox.claim(update_id):
            if hasattr(coroutine, "close"):
                coroutine.close()  # a copy of an update already handled or being handled
            return
        await self._ordered(update, coroutine)
        if inbox is not None and update_id is not None:
            try:
                await inbox.done(update_id)
            except Exception:  # noqa: BLE001 - the storage watchdog stops the bot on a real fault
                log.exception("could not mark update %s handled", update_id)

    async def _ordered(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        key = chat.id
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
