"""Reminder fan-out: who is due, one message per chat and period, paced, with the delivery ledger.

At most once per (subscription, period): a ledger row is claimed just before its message is sent,
so a crash leaves at most the in-flight messages unsent-and-marked ("interrupted"), and a rerun
sends only the ones never claimed. Telegram specifics stay in the transport: it passes a `send`
coroutine that raises the errors below.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.schema import Target
from bot.services.progress import bar, compute_status, fmt_number
from bot.services.schedule import due_period
from bot.services.storage import Storage, Subscription

log = logging.getLogger(__name__)


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
    """Network errors, 5xx, timeouts: retried with bounded backoff."""


Sender = Callable[[int, str], Awaitable[None]]
Sleep = Callable[[float], Awaitable[object]]


@dataclass
class FanoutResult:
    """What one run did."""

    due: int = 0
    sent: int = 0
    deactivated: int = 0
    failed: int = 0
    skipped: int = 0  # already in the ledger (another run, or before a restart)
    flood_waits: int = 0
    global_pauses: int = 0
    retries: int = 0
    duration_s: float = 0.0
    messages: int = 0
    errors: list[str] = field(default_factory=list)


def targets_for(sub: Subscription, kb: KnowledgeBase) -> list[Target]:
    """The targets (of the report's target year) a subscription follows; missing ones are left out."""
    targets = [e for e in kb.entries.values() if isinstance(e, Target) and e.year == kb.target_year]
    if sub.scope == "all":
        return targets
    if sub.scope == "section":
        if sub.ref not in kb.sections:
            return []
        inside = kb.descendants(sub.ref)
        return [t for t in targets if t.section in inside]
    return [t for t in targets if t.id == sub.ref]


def reminder_text(targets: list[Target], latest: dict, kb: KnowledgeBase) -> str:
    """One reminder: each followed target's status with a bar (plain text)."""
    lines = [f"Nhắc tiến độ chỉ tiêu năm {kb.target_year}:"]
    for t in targets:
        records = [latest[t.id]] if t.id in latest else []
        st = compute_status(t, records)
        unit = "%" if st.unit == "%" else f" {st.unit}"
        if st.latest is None:
            lines.append(f"• {t.title}: chưa có số liệu (chỉ tiêu {kb.figure(t)})")
        else:
            lines.append(
                f"• {t.title}: {fmt_number(st.latest.value)}{unit} ngày {st.latest.as_of:%d/%m}"
                f" — {bar(st.percent_of_goal or 0)}"
            )
    lines.append("Xem chi tiết: /tiendo; đổi lịch nhắc: /dangtheodoi")
    return "\n".join(lines)


class Pacer:
    """Spaces sends at a global rate; a flood wait pushes every later send back."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._floods: list[float] = []

    async def wait(self) -> None:
        """Wait for the next slot."""
        async with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - self._clock()
        if delay > 0:
            await self._sleep(delay)

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


class ReminderService:
    """Runs the due reminders; safe to call often (each tick sends only what is due and unclaimed)."""

    def __init__(
        self,
        storage: Storage,
        kb_provider: Callable[[], KnowledgeBase],
        tz: ZoneInfo,
        *,
        rate: float = 20.0,
        per_chat_interval: float = 1.0,
        max_attempts: int = 4,
        max_flood_waits: int = 5,
        backoff: float = 0.5,
        concurrency: int = 32,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.storage = storage
        self.kb_provider = kb_provider
        self.tz = tz
        self.rate = rate
        self.per_chat_interval = per_chat_interval
        self.max_attempts = max_attempts
        self.max_flood_waits = max_flood_waits
        self.backoff = backoff
        self.concurrency = concurrency
        self.sleep = sleep  # every wait of a fan-out (pacing, flood waits, backoff); tests pass a fast one
        self._running = asyncio.Lock()

    async def recover(self) -> int:
        """At start-up: ledger rows left 'sending' by a crash are marked failed, never re-sent."""
        return await self.storage.fail_interrupted("interrupted (crash or restart during send)")

    async def run_due(self, send: Sender, now: datetime | None = None) -> FanoutResult:
        """Send every reminder due at `now` that the ledger has not seen. Skips if a run is going."""
        if self._running.locked():
            return FanoutResult()
        async with self._running:
            return await self._run(send, now or datetime.now(UTC))

    async def _run(self, send: Sender, now: datetime) -> FanoutResult:
        started = time.monotonic()
        result = FanoutResult()
        kb = self.kb_provider()
        subs = await self.storage.active_subscriptions()
        by_chat: dict[int, list[tuple[Subscription, str]]] = defaultdict(list)
        for sub in subs:
            period = due_period(sub, now, self.tz)
            if period:
                by_chat[sub.chat_id].append((sub, period))
        result.due = sum(len(v) for v in by_chat.values())
        if not by_chat:
            return result
        # Cheap pre-filter: what the ledger already has is skipped without a claim.
        done = await self.storage.delivered_keys([(s.id, p) for v in by_chat.values() for s, p in v])
        latest = await self.storage.latest_progress_all()
        pacer = Pacer(self.rate, sleep=self.sleep)
        sem = asyncio.Semaphore(self.concurrency)

        async def one_chat(chat_id: int, items: list[tuple[Subscription, str]]) -> None:
            todo = [(s, p) for s, p in items if (s.id, p) not in done]
            result.skipped += len(items) - len(todo)
            if not todo:
                return
            async with sem:
                # Take the send slot first, then claim: a crash can then only leave the message
                # actually in flight as 'sending', not every chat queued behind the pacer.
                await pacer.wait()
                claimed = [(s, p) for s, p in todo if await self.storage.claim_delivery(s.id, p)]
                result.skipped += len(todo) - len(claimed)
                if not claimed:
                    return
                targets: list[Target] = []
                for s, _ in claimed:
                    targets += [t for t in targets_for(s, kb) if t not in targets]
                if not targets:
                    await self._finish(claimed, "failed", "the followed targets are no longer in the base", 1)
                    result.failed += len(claimed)
                    return
                status, error, attempts = await self._deliver(send, chat_id, reminder_text(targets, latest, kb),
                                                              pacer, result, paced=True)
                if status == "deactivated":
                    await self.storage.deactivate_chat(chat_id, error or "blocked")
                    log.info("chat %s deactivated: %s", chat_id, error)
                await self._finish(claimed, status, error, attempts)
                setattr(result, status, getattr(result, status) + len(claimed))
                result.messages += status == "sent"

        await asyncio.gather(*(one_chat(c, items) for c, items in by_chat.items()))
        result.duration_s = time.monotonic() - started
        return result

    async def _finish(self, claimed: list[tuple[Subscription, str]], status: str, error: str | None,
                      attempts: int) -> None:
        await self.storage.finish_deliveries([(s.id, p, status, error, attempts) for s, p in claimed])

    async def _deliver(self, send: Sender, chat_id: int, text: str, pacer: Pacer,
                       result: FanoutResult, paced: bool = False) -> tuple[str, str | None, int]:
        """Send one message with the retry rules; returns (ledger status, error, attempts).
        ``paced``: the caller already waited for the first slot."""
        attempts = floods = 0
        last_error: str | None = None
        while True:
            if paced:
                paced = False
            else:
                await pacer.wait()
            attempts += 1
            try:
                await send(chat_id, text)
                return "sent", None, attempts
            except FloodWait as exc:
                floods += 1
                result.flood_waits += 1
                last_error = str(exc)
                if floods > self.max_flood_waits:
                    return "failed", last_error, attempts
                result.global_pauses += pacer.note_flood(exc.retry_after)
                attempts -= 1  # a flood wait is Telegram pacing us, not a failed attempt
                await self.sleep(max(exc.retry_after, self.per_chat_interval))
            except ChatUnavailable as exc:
                return "deactivated", str(exc) or "chat unavailable", attempts
            except TransientSendError as exc:
                last_error = str(exc) or exc.__class__.__name__
                if attempts >= self.max_attempts:
                    result.errors.append(f"{chat_id}: {last_error}")
                    return "failed", last_error, attempts
                result.retries += 1
                await self.sleep(max(self.backoff * 2 ** (attempts - 1), self.per_chat_interval))
            except Exception as exc:  # noqa: BLE001 - an unknown error must end in the ledger, not vanish
                log.exception("reminder to %s failed", chat_id)
                return "failed", f"{exc.__class__.__name__}: {exc}", attempts
