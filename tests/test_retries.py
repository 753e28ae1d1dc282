"""Reminder deliveries that outlive outages (service level, virtual time): transient failures go
back to the ledger and are retried until the period ends; uncertain ones are never re-sent; the
breaker holds a fan-out to one probe at a time while the network is down; notices are paced."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from telegram.error import NetworkError, TimedOut

from bot.services.reminders import ReminderService
from bot.services.sending import ChatUnavailable, Pacer, TransientSendError, UncertainSendError
from bot.transports.telegram.sender import surely_not_sent

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY_9 = datetime(2024, 2, 12, 9, 0, tzinfo=TZ)


class VirtualTime:
    """A monotonic clock that only sleeping moves, and the wall clock (for the ledger) with it."""

    def __init__(self) -> None:
        self.t = 0.0
        self.start = MONDAY_9

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


class Network:
    """A `send` over a network that can be down; records every attempt and delivery."""

    def __init__(self) -> None:
        self.down = False
        self.attempts = 0
        self.delivered: list[int] = []
        self.plan: dict[int, list[Exception]] = {}

    async def __call__(self, chat_id: int, text: str) -> None:
        self.attempts += 1
        if self.down:
            raise TransientSendError("httpx.ConnectError: connection refused")
        queue = self.plan.get(chat_id)
        if queue:
            raise queue.pop(0)
        self.delivered.append(chat_id)


def service(storage, kb, vt: VirtualTime, **kw) -> ReminderService:
    kw.setdefault("rate", 20)
    kw.setdefault("per_chat_interval", 0.0)
    return ReminderService(storage, lambda: kb, TZ, sleep=vt.sleep, monotonic=vt.monotonic, clock=vt.now, **kw)


async def subscribe(storage, chats) -> None:
    for chat in chats:
        await storage.add_subscription(chat, "all", "", "weekly", weekday=0, hour=8)


async def test_transient_failures_are_retried_until_the_period_ends(storage, kb) -> None:
    await subscribe(storage, [1, 2, 3])
    vt, net = VirtualTime(), Network()
    net.plan = {2: [TransientSendError("502 Bad Gateway")] * 5, 3: [TransientSendError("502")] * 1000}
    svc = service(storage, kb, vt, max_attempts=3, retry_base=30, retry_max=600)
    r = await svc.run_due(net, MONDAY_9)
    assert (r.sent, r.retry, r.failed) == (1, 2, 0)
    row = await storage.delivery_status(2, "2024-W07")
    assert (row.status, row.attempts) == ("retry", 3)
    # On the service's clock: 30 s after the deferral (the run itself took a little virtual time).
    assert MONDAY_9 + timedelta(seconds=30) <= row.next_attempt_at <= vt.now() + timedelta(seconds=30)
    # Not due yet: nothing is tried.
    before = net.attempts
    r = await svc.run_due(net, MONDAY_9 + timedelta(seconds=1))
    assert net.attempts == before and r.skipped == 3
    # Later the same week: chat 2 goes through (attempt 5), chat 3 is put back again, with a longer wait.
    vt.t += 3600
    r = await svc.run_due(net, vt.now())
    assert (r.sent, r.retry) == (1, 1) and net.delivered == [1, 2]
    row3 = await storage.delivery_status(3, "2024-W07")
    assert row3.attempts == 6
    assert vt.now() + timedelta(seconds=55) <= row3.next_attempt_at <= vt.now() + timedelta(seconds=60)  # doubled
    # The week ends with chat 3 never taken: its reminder is 'failed' with the reason; the next week's goes out.
    vt.t += 7 * 24 * 3600
    net.plan = {}
    r = await svc.run_due(net, vt.now())
    assert r.expired == 1
    row3 = await storage.delivery_status(3, "2024-W07")
    assert row3.status == "failed" and row3.last_error.startswith("not delivered before the period ended: 502")
    assert r.sent == 3  # the new week's, for everybody
    assert sorted(net.delivered) == [1, 1, 2, 2, 3]


async def test_uncertain_is_never_resent_and_blocked_is_final(storage, kb) -> None:
    await subscribe(storage, [1, 2])
    vt, net = VirtualTime(), Network()
    net.plan = {1: [UncertainSendError("httpx.ReadTimeout")], 2: [ChatUnavailable("Forbidden: bot was blocked")]}
    svc = service(storage, kb, vt)
    r = await svc.run_due(net, MONDAY_9)
    assert (r.uncertain, r.deactivated, r.sent) == (1, 1, 0)
    vt.t += 3600
    r = await svc.run_due(net, vt.now())
    assert r.sent == 0 and net.attempts == 2 and net.delivered == []
    assert (await storage.delivery_status(1, "2024-W07")).status == "uncertain"


async def test_the_breaker_sends_one_probe_at_a_time_while_the_network_is_down(storage, kb) -> None:
    """A 60 s outage (virtual time) in the middle of a 300-reminder fan-out at 20/s: the fan-out
    spends it probing with backoff (a handful of attempts, not one per reminder), and everything
    is delivered once: most in the same run, the few that were probes later in the period."""
    chats = list(range(1, 301))
    await subscribe(storage, chats)
    vt, net = VirtualTime(), Network()
    svc = service(storage, kb, vt, rate=20, backoff=0.5, max_backoff=8.0, max_attempts=3, concurrency=32)
    outage = (5.0, 65.0)
    real_call = net.__call__

    async def send(chat_id: int, text: str) -> None:
        net.down = outage[0] <= vt.t < outage[1]
        await real_call(chat_id, text)

    r = await svc.run_due(send, MONDAY_9)
    failed_attempts = net.attempts - len(net.delivered)
    assert failed_attempts <= 40, failed_attempts  # ~60 s of probes with backoff up to 8 s, plus the in-flight
    assert r.sent + r.retry == 300 and r.failed == r.uncertain == 0
    vt.t += 3600
    r2 = await svc.run_due(send, vt.now())
    assert r2.sent == r.retry
    assert sorted(net.delivered) == chats  # each exactly once


async def test_pacer_breaker_opens_and_closes() -> None:
    vt = VirtualTime()
    p = Pacer(10, vt.monotonic, vt.sleep, backoff=1.0, max_backoff=4.0)
    assert [p.trip() for _ in range(4)] == [1.0, 2.0, 4.0, 4.0]
    await p.wait()  # the probe
    waiter = asyncio.create_task(p.wait())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiter.done()  # held while the probe is out
    p.ok()
    await asyncio.wait_for(waiter, 1)
    assert p.failures == 0


async def test_removed_target_notices_are_paced(storage, kb) -> None:
    vt, net = VirtualTime(), Network()
    svc = service(storage, kb, vt, rate=20)
    times = []

    async def send(chat_id: int, text: str) -> None:
        times.append(vt.t)
        await net(chat_id, text)

    statuses = [await svc.send_paced(send, chat, "⚠️") for chat in range(1000)]
    assert statuses == ["sent"] * 1000
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.05 - 1e-9  # 20 msg/s, never faster
    assert times[-1] >= 49.9


@pytest.mark.parametrize(("exc", "not_sent"), [
    (NetworkError("Bad Gateway"), True),  # an HTTP error answer: Telegram did not take it
    (TimedOut("Timed out"), False),
])
def test_plain_errors_classified(exc, not_sent) -> None:
    assert surely_not_sent(exc) is not_sent


@pytest.mark.parametrize(("cause", "not_sent"), [
    (httpx.ConnectError("refused"), True),
    (httpx.ConnectTimeout("connect"), True),
    (httpx.PoolTimeout("pool"), True),
    (httpx.WriteError("broken pipe"), True),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), True),
    (httpx.ReadTimeout("read"), False),
    (httpx.ReadError("reset"), False),
    (httpx.RemoteProtocolError("peer closed connection without sending complete message body"), False),
])
def test_httpx_causes_classified(cause, not_sent) -> None:
    exc = (TimedOut() if isinstance(cause, httpx.TimeoutException) else NetworkError(f"httpx: {cause}"))
    exc.__cause__ = cause
    assert surely_not_sent(exc) is not_sent
