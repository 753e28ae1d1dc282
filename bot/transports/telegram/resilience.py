"""Where retries and ordering live.

Retries: PTB's ``ExtBot`` routes every Bot API call except ``getUpdates`` through its rate
limiter (``getUpdates`` has the Updater's own retry loop). :class:`ResilientRateLimiter` is that
hook: an ``AIORateLimiter`` (throttling optional, on by the RATE_LIMITER setting) that also

* waits out ``429 Too Many Requests`` for ``retry_after`` seconds and retries (AIORateLimiter's
  ``max_retries``; while waiting it holds back *every* request, as Telegram's flood control
  applies to the whole bot), and
* retries server errors (5xx) and connection failures with exponential backoff.

Not retried: 4xx other than 429 (retrying cannot help) and timeouts (``TimedOut``: the request
may have been executed; resending could duplicate a message). A 5xx can also, rarely, follow a
delivered message; one duplicate answer is the price of never losing one.

``rate_limit_args={"fanout": True}`` (the reminder sender, `sender.py`) bypasses all of this: one
attempt, no throttling, no global pause — the fan-out paces itself and records each outcome, and a
reminder's 429 must not hold back users' answers. An int keeps PTB's meaning (max 429 retries).

Ordering: :class:`ChatOrderedProcessor` runs updates of different chats concurrently but those of
one chat one after the other, so a user's answers arrive in the order of their questions even
when a send is waiting out a 429.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from telegram import Update
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter, BaseUpdateProcessor

log = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


class ResilientRateLimiter(AIORateLimiter):
    """AIORateLimiter plus retries of 429 (waited out) and 5xx/connection errors (backoff)."""

    __slots__ = ("backoff", "max_backoff", "server_retries", "throttled")

    def __init__(self, *, throttle: bool = True, retry_after_retries: int = 5, server_retries: int = 4,
                 backoff: float = 0.5, max_backoff: float = 8.0) -> None:
        """``throttle`` False keeps the retries but no rate limits (Telegram's: 30 msg/s overall,
        20 msg/min per group)."""
        if throttle:
            super().__init__(max_retries=retry_after_retries)
        else:
            super().__init__(overall_max_rate=0, group_max_rate=0, max_retries=retry_after_retries)
        self.throttled = throttle
        self.server_retries = server_retries
        self.backoff = backoff
        self.max_backoff = max_backoff

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | Mapping[str, Any] | None,
    ) -> JSONResult:
        """Throttle, then call; wait out 429s (parent class) and retry 5xx with backoff."""
        if isinstance(rate_limit_args, Mapping):
            if rate_limit_args.get("fanout"):
                return await callback(*args, **kwargs)
            rate_limit_args = None
        delay = self.backoff
        for attempt in range(self.server_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except (BadRequest, TimedOut):
                raise
            except NetworkError as exc:
                if attempt == self.server_retries:
                    raise
                log.warning("%s failed (%s); retry %d in %.2fs", endpoint, exc.message, attempt + 1, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent across chats, sequential within a chat (see module docs)."""

    __slots__ = ("_locks",)

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await ``coroutine`` holding its chat's lock (updates without a chat run at once)."""
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
