"""Reminder subscriptions: subscribe, reschedule, cancel, list, and the notices about removed targets.

The business rules of subscriptions, for any transport (pure asyncio + storage):

* a subscription follows one target of the target year (scope 'target'), the targets of one
  section ('section') or all of them ('all', ref ''); its schedule is weekly (weekday 0-6) or
  monthly (day 1-28) at a local hour (0-23); the rules of when it fires are in
  :mod:`bot.services.schedule`;
* subscribing again to what a chat already follows changes that subscription's schedule (never a
  second one);
* a chat may only change or cancel its own active subscriptions (:meth:`SubscriptionService.owned`);
* after a reload removed a followed target (or section), each subscriber is told once per ref
  (``missing_notified_ref``); the subscription is kept. The notices go out through the reminder
  service's pacer, breaker and retry rules (:meth:`ReminderService.send_paced`), so a thousand of
  them never exceed the transport's limits.

Texts stay in the transport: :meth:`SubscriptionService.notify_missing` takes the function that
words a notice, and a ``send`` coroutine raising :mod:`bot.services.reminders`' errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.knowledge.base import KnowledgeBase
from bot.services.reminders import ReminderService
from bot.services.schedule import due_period, next_fire
from bot.services.sending import ChatUnavailable, Sender, SendError
from bot.services.storage import Storage, Subscription

log = logging.getLogger(__name__)

SCOPES = ("target", "section", "all")
NoticeText = Callable[[Subscription, str | None], str]  # (subscription, old title or None) -> text


class InvalidSubscription(ValueError):
    """What to follow or the schedule is not valid."""


@dataclass(frozen=True)
class Schedule:
    """When a subscription fires: weekly on ``weekday`` (0 = Monday) or monthly on ``day_of_month``
    (1-28), at ``hour`` local time."""

    cadence: str
    weekday: int | None
    day_of_month: int | None
    hour: int

    @classmethod
    def weekly(cls, weekday: int, hour: int) -> Schedule:
        return cls("weekly", weekday, None, hour)

    @classmethod
    def monthly(cls, day_of_month: int, hour: int) -> Schedule:
        return cls("monthly", None, day_of_month, hour)

    def validate(self) -> None:
        """Raise InvalidSubscription unless the schedule can be kept."""
        if self.cadence == "weekly":
            ok = self.weekday is not None and 0 <= self.weekday <= 6 and self.day_of_month is None
        elif self.cadence == "monthly":
            ok = self.day_of_month is not None and 1 <= self.day_of_month <= 28 and self.weekday is None
        else:
            ok = False
        if not ok or not 0 <= self.hour <= 23:
            raise InvalidSubscription(f"invalid schedule: {self}")

    def fields(self) -> dict[str, Any]:
        """The subscription fields it sets."""
        return {"cadence": self.cadence, "weekday": self.weekday, "day_of_month": self.day_of_month,
                "hour": self.hour}


@dataclass(frozen=True)
class Subscribed:
    """What :meth:`SubscriptionService.subscribe` did: ``rescheduled`` when the chat already
    followed the same thing (its schedule was changed)."""

    subscription: Subscription
    rescheduled: bool


def follows_something(kb: KnowledgeBase, scope: str, ref: str) -> bool:
    """True while what (scope, ref) names is in the base: a target of the target year, a section, all."""
    if scope == "all":
        return True
    if scope == "section":
        return ref in kb.sections
    return kb.current_target(ref) is not None


class SubscriptionService:
    """A chat's subscriptions and the notices to subscribers of removed targets."""

    def __init__(
        self,
        storage: Storage,
        kb_provider: Callable[[], KnowledgeBase],
        tz: ZoneInfo,
        *,
        reminders: ReminderService | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``reminders``: the service whose pacer and retry rules the notices share (None: one plain
        attempt each); ``clock``: the time of writes and of "next reminder" (default: real UTC)."""
        self.storage = storage
        self.kb_provider = kb_provider
        self.tz = tz
        self.reminders = reminders
        self.clock = clock or (lambda: datetime.now(UTC))
        self.notices_pending = False  # removed-target notices the transport did not take yet

    # -- a chat's subscriptions ---------------------------------------------------------------

    async def of_chat(self, chat_id: int) -> list[Subscription]:
        """The chat's active subscriptions, oldest first (the numbering users see)."""
        return await self.storage.list_subscriptions(chat_id)

    async def owned(self, chat_id: int, sub_id: int) -> Subscription | None:
        """The ownership check: subscription ``sub_id`` if it is an active one of ``chat_id``, else
        None (another chat's, cancelled or unknown: not to be shown or changed)."""
        sub = await self.storage.get_subscription(sub_id)
        if sub is None or sub.chat_id != chat_id or not sub.active:
            return None
        return sub

    async def subscribe(self, chat_id: int, scope: str, ref: str, schedule: Schedule, *,
                        chat_type: str | None = None, title: str | None = None,
                        username: str | None = None) -> Subscribed:
        """Follow (scope, ref) on ``schedule``; following it again changes the schedule. With
        ``chat_type`` the chat is recorded first (its type, title, username). Raises
        InvalidSubscription for a scope, ref or schedule that cannot be kept."""
        if scope not in SCOPES or (scope == "all") != (ref == ""):
            raise InvalidSubscription(f"invalid scope/ref: {scope!r} {ref!r}")
        if not follows_something(self.kb_provider(), scope, ref):
            raise InvalidSubscription(f"{scope} {ref!r} is not in the base")
        schedule.validate()
        if chat_type is not None:
            await self.storage.upsert_chat(chat_id, chat_type, title, username)
        before = {(s.scope, s.ref) for s in await self.storage.list_subscriptions(chat_id)}
        sub = await self.storage.add_subscription(chat_id, scope, ref, now=self.clock(), **schedule.fields())
        return Subscribed(sub, (scope, ref) in before)

    async def reschedule(self, chat_id: int, sub_id: int, schedule: Schedule) -> Subscription | None:
        """Change the schedule of one of the chat's subscriptions; None if it is not the chat's
        active one (refused)."""
        schedule.validate()
        if await self.owned(chat_id, sub_id) is None:
            return None
        return await self.storage.update_subscription(sub_id, chat_id, now=self.clock(), **schedule.fields())

    async def cancel(self, chat_id: int, sub_id: int) -> Subscription | None:
        """Cancel one of the chat's subscriptions; returns it, or None if it is not the chat's
        active one (refused)."""
        sub = await self.owned(chat_id, sub_id)
        if sub is None or not await self.storage.cancel_subscription(sub.id, chat_id, now=self.clock()):
            return None
        return sub

    async def cancel_all(self, chat_id: int) -> int:
        """Cancel every subscription of the chat; returns how many."""
        return await self.storage.cancel_all(chat_id, now=self.clock())

    async def next_reminder(self, sub: Subscription) -> datetime | None:
        """When the next reminder comes; None when this period's time has passed and nothing went
        out yet (it is sent at the next tick)."""
        current = self.clock()
        period = due_period(sub, current, self.tz)
        if period and await self.storage.delivery_status(sub.id, period) is None:
            return None
        return next_fire(sub, current, self.tz)

    # -- removed targets ----------------------------------------------------------------------

    async def to_tell(self) -> list[Subscription]:
        """Active subscriptions whose followed ref is gone and whose subscriber was not told yet (a
        ref that came back is un-marked on the way)."""
        kb = self.kb_provider()
        out = []
        for sub in await self.storage.active_subscriptions():
            if follows_something(kb, sub.scope, sub.ref):
                if sub.missing_notified_ref is not None:
                    await self.storage.mark_missing_notified(sub.id, None)
                continue
            if sub.missing_notified_ref != sub.ref:
                out.append(sub)
        return out

    async def notify_missing(self, send: Sender, text: NoticeText, old_kb: KnowledgeBase | None = None) -> int:
        """Tell each subscriber whose followed target (or section) left the base, once per ref; the
        subscription is kept. ``text(sub, old_title)`` words the notice (``old_title``: the
        target's title in ``old_kb``, the base before the reload, if known). A notice the
        transport did not take stays unmarked (``notices_pending``) for a later call. Returns the
        number of messages sent."""
        sent = 0
        pending = False
        for sub in await self.to_tell():
            old = old_kb.entries.get(sub.ref) if old_kb is not None and sub.scope == "target" else None
            status = await self._send(send, sub.chat_id, text(sub, old.title if old is not None else None))
            if status == "sent":
                sent += 1
                await self.storage.mark_missing_notified(sub.id, sub.ref)
            elif status == "deactivated":
                await self.storage.deactivate_chat(sub.chat_id, "blocked")
            elif status in ("uncertain", "failed"):
                # May have arrived, or will never: at most once, so it counts as told.
                await self.storage.mark_missing_notified(sub.id, sub.ref)
            else:
                pending = True
                log.warning("could not tell chat %s that %s is gone yet; a later tick tries again",
                            sub.chat_id, sub.ref)
        self.notices_pending = pending
        return sent

    async def _send(self, send: Sender, chat_id: int, text: str) -> str:
        """Through the reminder service's pacer and retry rules; without one, a single attempt."""
        if self.reminders is not None:
            return await self.reminders.send_paced(send, chat_id, text)
        try:
            await send(chat_id, text)
        except ChatUnavailable:
            return "deactivated"
        except SendError:
            return "retry"
        return "sent"
