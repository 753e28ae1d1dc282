"""Per-user rate limit: a token bucket per user, so one user flooding the bot never delays the others.

Each user has ``burst`` tokens, refilled at ``per_minute`` a minute; a message or a button press
costs one. Without a token the update is dropped before any work (no engine, no database, no reply)
except a single polite notice per episode: the first refused update after the user last had a
token. Memory is bounded: buckets full again are forgotten (they are indistinguishable from new).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float
    noticed: bool = False  # the notice of the current episode was given


@dataclass(frozen=True)
class Verdict:
    """The limiter's answer for one update."""

    allowed: bool
    notify: bool = False  # refused, and the user has not been told yet in this episode
    wait_s: float = 0.0  # until the next token


class RateLimiter:
    """Token buckets per key (a user id)."""

    def __init__(self, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        """``burst``: tokens a user starts with (and at most holds); ``per_minute``: refill rate."""
        self.burst = float(max(1, burst))
        self.rate = max(per_minute, 1e-9) / 60.0  # tokens per second
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[int, _Bucket] = {}
        self.refused = 0

    def check(self, key: int) -> Verdict:
        """Take a token for ``key`` if there is one."""
        now = self.clock()
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            b = self._buckets[key] = _Bucket(self.burst, now)
        else:
            b.tokens = min(self.burst, b.tokens + (now - b.at) * self.rate)
            b.at = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            b.noticed = False
            return Verdict(True)
        self.refused += 1
        notify = not b.noticed
        b.noticed = True
        return Verdict(False, notify, (1.0 - b.tokens) / self.rate)

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled (a new bucket is the same); if none has, the oldest half."""
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self.max_keys:
            for k in sorted(self._buckets, key=lambda k: self._buckets[k].at)[: self.max_keys // 2]:
                del self._buckets[k]
