"""Reminder fan-out: who is due, one message per chat and period, paced, with the delivery ledger.

At most once per (subscription, period): a ledger row is claimed just before its message is sent,
so a crash leaves at most the in-flight messages unsent-and-marked ('uncertain'), and a rerun
sends only the ones never claimed. Telegram specifics stay in the transport: it passes a `send`
coroutine that raises the errors of bot.services.sending (which also holds the pacer).

Outages: a message Telegram did not take (5xx, connection refused, connect timeout) is not lost.
It is retried a few times within the run, behind a circuit breaker that holds every send while
the network is down (one probe at a time, backoff up to ``max_backoff``), then put back in the
ledger as 'retry' with a next attempt time, and tried again by later runs until its period ends;
only then is it 'failed'. A request that may have reached Telegram (read timeout, connection
dropped mid-request) is 'uncertain' and never re-sent: at most once wins over at least once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.schema import Target
from bot.normalize import format_value
from bot.services.progress import bar, compute_status
from bot.services.schedule import due_period
from bot.services.sending import (
    ChatUnavailable,
    FloodWait,
    Pacer,
    Sender,
    Sleep,
    TransientSendError,
    UncertainSendError,
)
from bot.services.storage import Storage, Subscription

log = logging.getLogger(__name__)


@dataclass
class FanoutResult:
    """What one run did."""

    due: int = 0
    sent: int = 0
    deactivated: int = 0
    failed: int = 0
    retry: int = 0  # put back for a later run (Telegram did not take them)
    uncertain: int = 0  # may have gone out; never re-sent
    expired: int = 0  # retries whose period ended: now failed
    skipped: int = 0  # already in the ledger (another run, or before a restart)
    flood_waits: int = 0
    global_pauses: int = 0
    retries: int = 0
    duration_s: float = 0.0
    messages: int = 0
    errors: list[str] = field(default_factory=list)


def targets_for(sub: Subscription, kb: KnowledgeBase) -> list[Target]:
    """The targets (of the report's target year) a subscription follows; missing ones are left out."""
    targets = kb.current_targets()
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
        if st.latest is None:
            lines.append(f"• {t.title}: chưa có số liệu (chỉ tiêu {kb.figure(t)})")
        else:
            lines.append(
                f"• {t.title}: {format_value(st.latest.value, st.unit)} ngày {st.latest.as_of:%d/%m}"
                f" — {bar(st.percent_of_goal or 0)}"
            )
    lines.append("Xem chi tiết: /tiendo; đổi lịch nhắc: /dangtheodoi")
    return "\n".join(lines)


def period_still_due(sub: Subscription | None, period: str, now: datetime, tz: ZoneInfo) -> bool:
    """True while a reminder of ``period`` is still worth sending: the subscription is active and
    ``period`` is the one due at ``now`` (its period has not ended)."""
    return sub is not None and due_period(sub, now, tz) == period


@dataclass
class _Fanout:
    """What every chat of one run shares."""

    send: Sender
    kb: KnowledgeBase
    latest: dict  # target id -> its latest progress record
    done: set[tuple[int, str]]  # (subscription id, period) the ledger already has
    pacer: Pacer
    sem: asyncio.Semaphore  # at most ``concurrency`` chats in flight
    result: FanoutResult


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
        max_attempts: int = 3,
        max_flood_waits: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 15.0,
        retry_base: float = 30.0,
        retry_max: float = 600.0,
        concurrency: int = 32,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``max_attempts``: sends within one run before a message Telegram did not take is put
        back as 'retry'; ``backoff``/``max_backoff``: the circuit breaker's pauses (seconds);
        ``retry_base``/``retry_max``: how long a 'retry' row waits before a later run tries it
        (doubling per deferral); ``clock``: the time written in the ledger (default: real UTC);
        ``monotonic``/``sleep``: the pacer's time (tests pass a virtual one)."""
        self.storage = storage
        self.kb_provider = kb_provider
        self.tz = tz
        self.rate = rate
        self.per_chat_interval = per_chat_interval
        self.max_attempts = max(1, max_attempts)
        self.max_flood_waits = max_flood_waits
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.concurrency = concurrency
        self.sleep = sleep  # every wait of a fan-out (pacing, flood waits, backoff); tests pass a fast one
        self.clock = clock or (lambda: datetime.now(UTC))
        self.monotonic = monotonic
        self._running = asyncio.Lock()
        self._pacer: Pacer | None = None

    @property
    def pacer(self) -> Pacer:
        """The one pacer of every send of this service (fan-outs and notices share the rate)."""
        if self._pacer is None:
            self._pacer = Pacer(self.rate, self.monotonic, self.sleep, backoff=self.backoff,
                                max_backoff=self.max_backoff)
        return self._pacer

    async def recover(self) -> int:
        """At start-up: ledger rows left 'sending' by a crash are marked 'uncertain', never re-sent."""
        return await self.storage.fail_interrupted("interrupted (crash or restart during send)")

    async def run_due(self, send: Sender, now: datetime | None = None) -> FanoutResult:
        """Send every reminder due at `now` that the ledger has not seen, and the retries whose
        time has come. Skips if a run is going."""
        if self._running.locked():
            return FanoutResult()
        async with self._running:
            return await self._run(send, now or datetime.now(UTC))

    def retry_delay(self, attempts: int) -> float:
        """Seconds before a later run tries a 'retry' row again, after ``attempts`` sends in all:
        ``retry_base`` doubled per earlier deferral, at most ``retry_max``."""
        deferrals = max(0, (attempts - 1) // self.max_attempts)
        return min(self.retry_base * 2 ** min(deferrals, 30), self.retry_max)

    async def _expire(self, subs: list[Subscription], now: datetime, result: FanoutResult) -> None:
        """Retries whose period ended (or whose subscription is gone) become 'failed'."""
        pending = await self.storage.pending_retries()
        if not pending:
            return
        by_id = {s.id: s for s in subs}
        ended = [d for d in pending if not period_still_due(by_id.get(d.subscription_id), d.period, now, self.tz)]
        if ended:
            await self.storage.finish_deliveries([
                (d.subscription_id, d.period, "failed",
                 f"not delivered before the period ended: {d.last_error or 'unknown error'}", 0)
                for d in ended
            ])
            result.expired += len(ended)
            log.warning("%d reminder(s) could not be delivered before their period ended", len(ended))

    async def _run(self, send: Sender, now: datetime) -> FanoutResult:
        started = time.monotonic()
        result = FanoutResult()
        kb = self.kb_provider()
        subs = await self.storage.active_subscriptions()
        await self._expire(subs, now, result)
        by_chat = self._due_by_chat(subs, now)
        result.due = sum(len(v) for v in by_chat.values())
        if not by_chat:
            return result
        # Cheap pre-filter: what the ledger already has (and retries not yet due) is skipped
        # without a claim.
        done = await self.storage.delivered_keys([(s.id, p) for v in by_chat.values() for s, p in v],
                                                 now=self.clock())
        latest = await self.storage.latest_progress_all()
        run = _Fanout(send, kb, latest, done, self.pacer, asyncio.Semaphore(self.concurrency), result)
        await asyncio.gather(*(self._one_chat(run, c, items) for c, items in by_chat.items()))
        result.duration_s = time.monotonic() - started
        return result

    def _due_by_chat(self, subs: list[Subscription], now: datetime) -> dict[int, list[tuple[Subscription, str]]]:
        """The (subscription, period) pairs due at ``now``, by chat: a chat gets one message for all."""
        by_chat: dict[int, list[tuple[Subscription, str]]] = defaultdict(list)
        for sub in subs:
            period = due_period(sub, now, self.tz)
            if period:
                by_chat[sub.chat_id].append((sub, period))
        return by_chat

    async def _one_chat(self, run: _Fanout, chat_id: int, items: list[tuple[Subscription, str]]) -> None:
        """One chat's reminder: claim its due periods, send one message for them, record the outcome."""
        result, pacer = run.result, run.pacer
        todo = [(s, p) for s, p in items if (s.id, p) not in run.done]
        result.skipped += len(items) - len(todo)
        if not todo:
            return
        async with run.sem:
            # Take the send slot first, then claim: a crash can then only leave the message
            # actually in flight as 'sending', not every chat queued behind the pacer.
            await pacer.wait()
            claimed, before = await self._claim(todo)
            result.skipped += len(todo) - len(claimed)
            if not claimed:
                pacer.release()  # nothing sent: the probe's turn (if it was one) passes on
                return
            targets: list[Target] = []
            for s, _ in claimed:
                targets += [t for t in targets_for(s, run.kb) if t not in targets]
            if not targets:
                pacer.release()
                await self._finish(claimed, "failed", "the followed targets are no longer in the base", 1)
                result.failed += len(claimed)
                return
            status, error, attempts = await self._deliver(
                run.send, chat_id, reminder_text(targets, run.latest, run.kb), pacer, result, paced=True)
            await self._record(chat_id, claimed, status, error, attempts, before)
            setattr(result, status, getattr(result, status) + len(claimed))
            result.messages += status == "sent"

    async def _claim(self, todo: list[tuple[Subscription, str]]) -> tuple[list[tuple[Subscription, str]], int]:
        """Claim each (subscription, period) in the ledger: the ones this run won, and the most sends
        any of them had in earlier runs (a retry's delay grows with them)."""
        claimed: list[tuple[Subscription, str]] = []
        before = 0
        for s, p in todo:
            prior = await self.storage.claim_for_send(s.id, p, now=self.clock())
            if prior is not None:
                claimed.append((s, p))
                before = max(before, prior)
        return claimed, before

    async def _record(self, chat_id: int, claimed: list[tuple[Subscription, str]], status: str,
                      error: str | None, attempts: int, before: int) -> None:
        """Write a delivery's outcome in the ledger: a chat that blocked the bot is deactivated; a
        'retry' waits for a later run (longer the more sends it had, ``before`` in earlier runs)."""
        if status == "deactivated":
            await self.storage.deactivate_chat(chat_id, error or "blocked")
            log.info("chat %s deactivated: %s", chat_id, error)
        if status == "retry":
            at = self.clock()
            next_at = at + timedelta(seconds=self.retry_delay(before + attempts))
            # updated_at stays real time (what /thongke counts); next_attempt_at is on the
            # service's clock, the one claims compare it with.
            await self.storage.defer_deliveries([(s.id, p, error, attempts, next_at) for s, p in claimed])
        else:
            await self._finish(claimed, status, error, attempts)

    async def _finish(self, claimed: list[tuple[Subscription, str]], status: str, error: str | None,
                      attempts: int) -> None:
        await self.storage.finish_deliveries([(s.id, p, status, error, attempts) for s, p in claimed])

    async def send_paced(self, send: Sender, chat_id: int, text: str) -> str:
        """One message outside a fan-out (a notice) through the same pacer, breaker and retry rules
        as reminders. Returns 'sent', 'deactivated', 'retry' (Telegram did not take it: try again
        later), 'uncertain' or 'failed'."""
        status, _, _ = await self._deliver(send, chat_id, text, self.pacer, FanoutResult())
        return status

    async def _deliver(self, send: Sender, chat_id: int, text: str, pacer: Pacer,
                       result: FanoutResult, paced: bool = False) -> tuple[str, str | None, int]:
        """Send one message with the retry rules; returns (ledger status, error, attempts).
        ``paced``: the caller already waited for the first slot (and holds the probe's turn)."""
        attempts = floods = 0
        last_error: str | None = None
        while True:
            if paced:
                paced = False
            else:
                await pacer.wait()
            attempts += 1
            tripped = False
            try:
                await send(chat_id, text)
                return "sent", None, attempts
            except FloodWait as exc:
                floods += 1
                result.flood_waits += 1
                last_error = str(exc)
                if floods > self.max_flood_waits:
                    return "retry", last_error, attempts
                result.global_pauses += pacer.note_flood(exc.retry_after)
                attempts -= 1  # a flood wait is Telegram pacing us, not a failed attempt
                await self.sleep(max(exc.retry_after, self.per_chat_interval))
            except ChatUnavailable as exc:
                return "deactivated", str(exc) or "chat unavailable", attempts
            except UncertainSendError as exc:
                last_error = str(exc) or exc.__class__.__name__
                result.errors.append(f"{chat_id}: {last_error}")
                return "uncertain", last_error, attempts
            except TransientSendError as exc:
                last_error = str(exc) or exc.__class__.__name__
                tripped = True
                pacer.trip()
                if attempts >= self.max_attempts:
                    result.errors.append(f"{chat_id}: {last_error}")
                    return "retry", last_error, attempts
                result.retries += 1
                if self.per_chat_interval > 0:
                    await self.sleep(self.per_chat_interval)
            except Exception as exc:  # noqa: BLE001 - an unknown error must end in the ledger, not vanish
                log.exception("reminder to %s failed", chat_id)
                return "failed", f"{exc.__class__.__name__}: {exc}", attempts
            finally:
                if not tripped:
                    pacer.ok()  # Telegram answered (or the send ended): the breaker closes
