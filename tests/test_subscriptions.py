"""The subscription service: subscribe, ownership, reschedule, cancel, and the removed-target notices."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bot.knowledge.schema import Target
from bot.services.reminders import ReminderService
from bot.services.sending import ChatUnavailable, SendError, TransientSendError
from bot.services.storage import Subscription
from bot.services.subscriptions import InvalidSubscription, Schedule, SubscriptionService
from tests.storage_helpers import get_chat

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY_9 = datetime(2024, 2, 12, 9, 0, tzinfo=TZ)


def a_target(kb) -> Target:
    return next(e for e in kb.of_kind("target") if e.year == kb.target_year)


def reminders(storage, kb, **kw) -> ReminderService:
    kw.setdefault("rate", 1000)
    kw.setdefault("per_chat_interval", 0.0)
    kw.setdefault("backoff", 0.001)
    return ReminderService(storage, lambda: kb, TZ, clock=lambda: MONDAY_9, **kw)


def service(storage, kb, **kw) -> SubscriptionService:
    kw.setdefault("clock", lambda: MONDAY_9)
    return SubscriptionService(storage, lambda: kb, TZ, **kw)


class Send:
    """A send coroutine: raises what ``plan`` queues for a chat, else records the message."""

    def __init__(self, plan: dict[int, list[Exception]] | None = None) -> None:
        self.plan = plan or {}
        self.attempts: list[int] = []
        self.sent: list[tuple[int, str]] = []

    async def __call__(self, chat_id: int, text: str) -> None:
        self.attempts.append(chat_id)
        queue = self.plan.get(chat_id)
        if queue:
            raise queue.pop(0)
        self.sent.append((chat_id, text))


def notice(sub: Subscription, old_title: str | None) -> str:
    return f"gone: {old_title or sub.ref}"


# -- subscribe, ownership, reschedule, cancel ---------------------------------------------------


async def test_subscribe_validates_and_a_second_time_reschedules(storage, kb) -> None:
    subs = service(storage, kb)
    t = a_target(kb)
    with pytest.raises(InvalidSubscription):
        await subs.subscribe(1, "target", "no-such-target", Schedule.weekly(0, 8))
    with pytest.raises(InvalidSubscription):
        await subs.subscribe(1, "all", "x", Schedule.weekly(0, 8))
    with pytest.raises(InvalidSubscription):
        await subs.subscribe(1, "target", t.id, Schedule.monthly(29, 8))
    with pytest.raises(InvalidSubscription):
        await subs.subscribe(1, "target", t.id, Schedule.weekly(0, 24))
    assert await subs.of_chat(1) == []

    first = await subs.subscribe(1, "target", t.id, Schedule.weekly(0, 8), chat_type="private", title="A")
    assert not first.rescheduled
    assert (await get_chat(storage, 1)).type == "private"
    again = await subs.subscribe(1, "target", t.id, Schedule.monthly(5, 7))
    assert again.rescheduled and again.subscription.id == first.subscription.id
    [only] = await subs.of_chat(1)
    assert (only.cadence, only.day_of_month, only.weekday, only.hour) == ("monthly", 5, None, 7)


async def test_a_chat_cannot_change_another_chats_subscription(storage, kb) -> None:
    subs = service(storage, kb)
    mine = (await subs.subscribe(1, "all", "", Schedule.weekly(0, 8))).subscription
    assert await subs.owned(1, mine.id) == mine
    assert await subs.owned(2, mine.id) is None
    assert await subs.owned(1, 999) is None
    assert await subs.reschedule(2, mine.id, Schedule.weekly(3, 9)) is None
    assert await subs.cancel(2, mine.id) is None
    assert await subs.cancel_all(2) == 0
    [kept] = await subs.of_chat(1)
    assert (kept.weekday, kept.hour, kept.active) == (0, 8, True)


async def test_reschedule(storage, kb) -> None:
    subs = service(storage, kb)
    sub = (await subs.subscribe(1, "all", "", Schedule.weekly(0, 8))).subscription
    updated = await subs.reschedule(1, sub.id, Schedule.monthly(10, 18))
    assert updated is not None and updated.id == sub.id
    assert (updated.cadence, updated.weekday, updated.day_of_month, updated.hour) == ("monthly", None, 10, 18)
    with pytest.raises(InvalidSubscription):
        await subs.reschedule(1, sub.id, Schedule("daily", None, None, 8))
    await subs.cancel(1, sub.id)
    assert await subs.reschedule(1, sub.id, Schedule.weekly(1, 8)) is None  # cancelled: refused


async def test_cancel_one_and_all(storage, kb) -> None:
    subs = service(storage, kb)
    one = (await subs.subscribe(1, "all", "", Schedule.weekly(0, 8))).subscription
    await subs.subscribe(1, "target", a_target(kb).id, Schedule.weekly(1, 8))
    await subs.subscribe(1, "section", a_target(kb).section, Schedule.weekly(2, 8))
    cancelled = await subs.cancel(1, one.id)
    assert cancelled is not None and cancelled.id == one.id
    assert await subs.cancel(1, one.id) is None  # twice: nothing left to cancel
    assert len(await subs.of_chat(1)) == 2
    assert await subs.cancel_all(1) == 2
    assert await subs.of_chat(1) == []


async def test_next_reminder(storage, kb) -> None:
    subs = service(storage, kb)
    due = (await subs.subscribe(1, "all", "", Schedule.weekly(0, 8))).subscription  # Monday 08:00: passed
    assert await subs.next_reminder(due) is None  # this week's goes out at the next tick
    later = (await subs.subscribe(2, "all", "", Schedule.weekly(1, 8))).subscription
    assert await subs.next_reminder(later) == datetime(2024, 2, 13, 8, 0, tzinfo=TZ)


# -- removed targets --------------------------------------------------------------------------


async def test_notify_missing_tells_each_subscriber_once(storage, kb) -> None:
    kept = await storage.add_subscription(1, "target", a_target(kb).id, "weekly", weekday=0, hour=8)
    gone = await storage.add_subscription(2, "target", "gone-target", "weekly", weekday=0, hour=8)
    await storage.add_subscription(3, "section", "gone-section", "weekly", weekday=0, hour=8)
    subs = service(storage, kb, reminders=reminders(storage, kb))
    old_kb = SimpleNamespace(entries={"gone-target": SimpleNamespace(title="Old title")})
    send = Send()
    assert {s.chat_id for s in await subs.to_tell()} == {2, 3}
    assert await subs.notify_missing(send, notice, old_kb) == 2
    assert sorted(send.sent) == [(2, "gone: Old title"), (3, "gone: gone-section")]
    assert (await storage.get_subscription(gone.id)).missing_notified_ref == "gone-target"
    assert (await storage.get_subscription(gone.id)).active  # the subscription is kept
    assert await subs.notify_missing(send, notice) == 0  # told once
    assert len(send.sent) == 2 and not subs.notices_pending
    # A ref that came back is un-marked (told again if it leaves again).
    await storage.mark_missing_notified(kept.id, kept.ref)
    assert await subs.to_tell() == []
    assert (await storage.get_subscription(kept.id)).missing_notified_ref is None


async def test_notice_retried_through_the_reminder_sender(storage, kb) -> None:
    sub = await storage.add_subscription(2, "target", "gone-target", "weekly", weekday=0, hour=8)
    sender = reminders(storage, kb, max_attempts=3)
    subs = service(storage, kb, reminders=sender)
    send = Send({2: [TransientSendError("502 Bad Gateway")]})
    assert await subs.notify_missing(send, notice) == 1
    assert send.attempts == [2, 2] and len(send.sent) == 1
    assert sender.pacer.trips == 1  # the reminder service's breaker saw the failure
    assert (await storage.get_subscription(sub.id)).missing_notified_ref == "gone-target"
    assert not subs.notices_pending


async def test_notice_not_taken_stays_pending_for_a_later_call(storage, kb) -> None:
    sub = await storage.add_subscription(2, "target", "gone-target", "weekly", weekday=0, hour=8)
    subs = service(storage, kb, reminders=reminders(storage, kb, max_attempts=2))
    down = Send({2: [TransientSendError("connection refused")] * 2})
    assert await subs.notify_missing(down, notice) == 0
    assert down.attempts == [2, 2]  # max_attempts of the reminder service, no retry loop of its own
    assert subs.notices_pending
    assert (await storage.get_subscription(sub.id)).missing_notified_ref is None
    assert await subs.notify_missing(down, notice) == 1  # the network is back
    assert not subs.notices_pending


async def test_a_permanent_failure_ends_the_notice(storage, kb) -> None:
    await storage.add_subscription(2, "target", "gone-target", "weekly", weekday=0, hour=8)
    failed = await storage.add_subscription(3, "target", "gone-target", "weekly", weekday=0, hour=8)
    subs = service(storage, kb, reminders=reminders(storage, kb))
    send = Send({2: [ChatUnavailable("Forbidden: bot was blocked by the user")], 3: [ValueError("bug")]})
    assert await subs.notify_missing(send, notice) == 0
    assert send.attempts.count(2) == 1 and send.attempts.count(3) == 1  # neither is retried
    assert (await get_chat(storage, 2)).active is False  # blocked: the chat is deactivated
    assert (await storage.get_subscription(failed.id)).missing_notified_ref == "gone-target"  # at most once
    assert not subs.notices_pending
    assert await subs.notify_missing(send, notice) == 0 and len(send.attempts) == 2


async def test_without_the_reminder_service_one_plain_attempt(storage, kb) -> None:
    await storage.add_subscription(2, "target", "gone-target", "weekly", weekday=0, hour=8)
    subs = service(storage, kb)
    send = Send({2: [SendError("down")]})
    assert await subs.notify_missing(send, notice) == 0
    assert send.attempts == [2] and subs.notices_pending
