"""Storage queries only the tests use (no production caller): functions over a Storage.

They were methods of ``Storage``; the bot itself claims with ``claim_for_send``, finishes with
``finish_deliveries`` and reads the ledger through ``delivered_keys`` / ``delivery_status``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.services.storage import Storage
from bot.services.storage.deliveries import _check_outcome, _check_period
from bot.services.storage.models import (
    DELIVERY_STATUSES,
    AuditEntry,
    Chat,
    Delivery,
    ProgressRecord,
    _audit,
    _chat,
    _check_int,
    _delivery,
    _progress,
    _ts,
)
from bot.services.storage.subscriptions import _ACTIVE_SUBS_WHERE

# Rows per multi-row INSERT in claim_deliveries: 3 bound parameters each stays
# far below SQLite's 32766-parameter limit while amortising the round trip.
_CLAIM_CHUNK = 500


async def set_chat_active(storage: Storage, chat_id: int, active: bool, reason: str | None = None) -> bool:
    """Set a chat's active flag (reason is cleared when activating). Returns False if unknown.

    Does not touch subscriptions; use ``deactivate_chat`` for "bot was blocked".
    """
    _check_int("chat_id", chat_id)
    cur = await storage._write(
        "UPDATE chats SET active = ?, inactive_reason = ? WHERE chat_id = ?",
        (1 if active else 0, None if active else reason, chat_id),
    )
    return cur.rowcount == 1


async def get_chat(storage: Storage, chat_id: int) -> Chat | None:
    """Return the chat row, or None if the chat was never seen."""
    row = await storage._fetchone("SELECT * FROM chats WHERE chat_id = ?", (chat_id,))
    return _chat(row) if row else None


async def count_subscribers(storage: Storage) -> int:
    """Number of distinct active chats with at least one active subscription."""
    row = await storage._fetchone(
        f"SELECT COUNT(DISTINCT s.chat_id) FROM subscriptions s WHERE {_ACTIVE_SUBS_WHERE}"
    )
    return int(row[0]) if row else 0


async def progress_series(storage: Storage, target_id: str) -> list[ProgressRecord]:
    """One record per as_of date (its latest correction), ordered by as_of."""
    rows = await storage._fetchall(
        "SELECT p.* FROM progress p WHERE p.target_id = ? AND p.id = "
        "(SELECT MAX(q.id) FROM progress q WHERE q.target_id = p.target_id AND q.as_of = p.as_of) "
        "ORDER BY p.as_of",
        (target_id,),
    )
    return [_progress(r) for r in rows]


async def latest_progress(storage: Storage, target_id: str) -> ProgressRecord | None:
    """The current figure: greatest as_of, ties (corrections) broken by highest id."""
    row = await storage._fetchone(
        "SELECT * FROM progress WHERE target_id = ? ORDER BY as_of DESC, id DESC LIMIT 1",
        (target_id,),
    )
    return _progress(row) if row else None


async def claim_delivery(storage: Storage, sub_id: int, period: str, *, now: datetime | None = None) -> bool:
    """Atomically claim the right to send ``sub_id``'s reminder for ``period``.

    Inserts a 'sending' row and returns True only if no row existed, so a
    reminder is attempted at most once per period, even across restarts.
    """
    _check_period(period)
    # ON CONFLICT DO NOTHING rather than INSERT OR IGNORE: OR IGNORE would
    # also swallow CHECK/NOT NULL violations and report them as "taken".
    # rowcount is sqlite3_changes() of this statement: 1 = we inserted.
    cur = await storage._write(
        "INSERT INTO deliveries (subscription_id, period, status, attempts, updated_at) "
        "VALUES (?, ?, 'sending', 0, ?) ON CONFLICT (subscription_id, period) DO NOTHING",
        (sub_id, period, _ts(now)),
    )
    return cur.rowcount == 1


async def finish_delivery(storage: Storage,
    sub_id: int,
    period: str,
    status: str,
    error: str | None = None,
    attempts: int = 1,
    *,
    now: datetime | None = None,
) -> None:
    """Record the outcome of a claimed delivery: 'sent', 'failed' or 'deactivated'.

    Raises LookupError if the delivery was never claimed (a caller bug that
    would otherwise break the at-most-once bookkeeping).
    """
    error = _check_outcome(status, error, attempts)
    cur = await storage._write(
        "UPDATE deliveries SET status = ?, last_error = ?, attempts = attempts + ?, updated_at = ?,"
        " next_attempt_at = NULL WHERE subscription_id = ? AND period = ?",
        (status, error, attempts, _ts(now), sub_id, period),
    )
    if cur.rowcount != 1:
        raise LookupError(f"delivery ({sub_id}, {period!r}) was not claimed")


async def claim_deliveries(storage: Storage, keys: Iterable[tuple[int, str]], *, now: datetime | None = None
) -> set[tuple[int, str]]:
    """Batch ``claim_delivery``: claim many (sub_id, period) keys in one transaction.

    Returns the keys this call claimed (those not already in the ledger).
    One multi-row INSERT ... RETURNING per chunk replaces a thread round
    trip per key, which is what makes a large fan-out cheap.
    """
    unique = list(dict.fromkeys((int(sub_id), _check_period(period)) for sub_id, period in keys))
    if not unique:
        return set()
    ts = _ts(now)
    claimed: set[tuple[int, str]] = set()
    async with storage._transaction() as db:
        for start in range(0, len(unique), _CLAIM_CHUNK):
            chunk = unique[start:start + _CLAIM_CHUNK]
            params: list[Any] = []
            for sub_id, period in chunk:
                params += (sub_id, period, ts)
            # RETURNING reports only rows actually inserted, never the
            # DO NOTHING conflicts, so it is exactly the set we now own.
            rows = await db.execute_fetchall(
                "INSERT INTO deliveries (subscription_id, period, status, attempts, updated_at) VALUES "
                + ", ".join(["(?, ?, 'sending', 0, ?)"] * len(chunk))
                + " ON CONFLICT (subscription_id, period) DO NOTHING RETURNING subscription_id, period",
                params,
            )
            claimed.update((r[0], r[1]) for r in rows)
    return claimed


async def ledger_counts(storage: Storage, period: str | None = None) -> dict[str, int]:
    """Rows per status (all four statuses present, zero-filled), optionally for one period."""
    if period is None:
        rows = await storage._fetchall("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
    else:
        rows = await storage._fetchall(
            "SELECT status, COUNT(*) FROM deliveries WHERE period = ? GROUP BY status", (period,)
        )
    counts = dict.fromkeys(DELIVERY_STATUSES, 0)
    counts.update({r[0]: int(r[1]) for r in rows})
    return counts


async def interrupted_deliveries(storage: Storage) -> list[Delivery]:
    """Rows still 'sending' (the process died mid-send). They must NOT be re-sent:
    the message may have gone out. Mark them with ``fail_interrupted``."""
    rows = await storage._fetchall(
        "SELECT * FROM deliveries WHERE status = 'sending' ORDER BY updated_at, subscription_id"
    )
    return [_delivery(r) for r in rows]


async def delivered_periods(storage: Storage, sub_id: int) -> list[str]:
    """Periods for which the subscription's reminder was successfully 'sent', sorted."""
    rows = await storage._fetchall(
        "SELECT period FROM deliveries WHERE subscription_id = ? AND status = 'sent' ORDER BY period",
        (sub_id,),
    )
    return [r[0] for r in rows]


async def recent_audit(storage: Storage, limit: int = 50) -> list[AuditEntry]:
    """The newest ``limit`` audit entries, newest first."""
    rows = await storage._fetchall("SELECT * FROM admin_audit ORDER BY id DESC LIMIT ?", (limit,))
    return [_audit(r) for r in rows]
