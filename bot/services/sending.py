"""Sending through a paced channel: the error kinds a `send` raises and the pacer that spaces
sends, waits out flood control and holds every send while Telegram cannot be reached.

Shared by the reminder fan-out and the notices about removed targets (bot.services.subscriptions);
the transport maps Bot API errors onto these kinds (transports/telegram/sender.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class SendError(Exception):
    """Base of the errors a `send` coroutine raises."""


class FloodWait(SendError):
    """429: wait `retry_after` seconds, then retry."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"flood control: retry after {retry_after}s")
        self.retry_after = retry_after


class ChatUnavailable(SendError):
    """403 or chat gone: the chat's subscriptions are deactivated."""


class TransientSendError(SendError):
    """Telegram did not take the message (5xx, connection refused, connect timeout): retried
    with backoff until the period ends."""


class UncertainSendError(SendError):
    """The request may have reached Telegram (read timeout, connection dropped mid-request): the
    message may have gone out, so it is never re-sent (at most once)."""


Sender = Callable[[int, str], Awaitable[None]]
Sleep = Callable[[float], Awaitable[object]]


class Pacer:
    """Spaces sends at a global rate; a flood wait pushes every later send back; a circuit breaker
    holds every send while Telegram cannot be reached.

    Breaker: :meth:`trip` (a send Telegram did not take) pauses all sends for a backoff that doubles
    with each consecutive failure up to ``max_backoff``; until a send succeeds (:meth:`ok`) only one
    send at a time goes out (the probe), so an outage costs one attempt per backoff, not one per
    queued message.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep, *, backoff: float = 0.5, max_backoff: float = 15.0) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._floods: list[float] = []
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.failures = 0  # consecutive sends Telegram did not take (0: breaker closed)
        self.trips = 0  # every trip, for the records
        self._probe: asyncio.Event | None = None  # set while a probe is out (breaker half-open)

    async def wait(self) -> None:
        """Wait for the next slot (and, while the breaker is open, for the probe's turn)."""
        while True:
            async with self._lock:
                now = self._clock()
                slot = max(now, self._next)
                self._next = slot + self.interval
                trips = self.trips
            delay = slot - self._clock()
            if delay > 0:
                await self._sleep(delay)
            if self.trips != trips:
                continue  # a send failed while this one waited: take a slot after the pause
            if self.failures == 0:
                return
            if self._probe is not None:
                await self._probe.wait()  # another send is probing the network
                continue
            self._probe = asyncio.Event()
            return

    def _end_probe(self) -> None:
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.set()

    def release(self) -> None:
        """A slot taken but nothing sent: the probe's turn (if it was one) passes on."""
        self._end_probe()

    def ok(self) -> None:
        """Telegram answered (any answer but a 5xx or no connection): the breaker closes."""
        self.failures = 0
        self._end_probe()

    def trip(self) -> float:
        """Telegram did not take a send: pause every send (doubling backoff); returns the pause."""
        self.failures += 1
        self.trips += 1
        pause = min(self.backoff * 2 ** (self.failures - 1), self.max_backoff)
        self.pause(pause)
        self._end_probe()
        return pause

    def pause(self, seconds: float) -> None:
        """Flood control: nothing goes out for `seconds`."""
        self._next = max(self._next, self._clock() + seconds)

    def note_flood(self, retry_after: float, burst: int = 3, window: float = 1.0) -> bool:
        """Record a 429. One 429 is likely about one chat (1 msg/s per chat) and only that message
        waits; `burst` of them within `window` seconds mean the bot as a whole is too fast, and
        every send pauses for `retry_after`. Returns True when it paused."""
        now = self._clock()
        self._floods = [t for t in self._floods if now - t < window] + [now]
        if len(self._floods) >= burst:
            self._floods = []
            self.pause(retry_after)
            return True
        return False
