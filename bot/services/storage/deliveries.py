"""The delivery ledger (table ``deliveries``): at most one reminder per subscription and period."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from bot.services.storage.connection import StorageConnection
from bot.services.storage.models import FINAL_DELIVERY_STATUSES, Delivery, _delivery, _ts

# '2024-W07' (ISO week) or '2024-03' (month): the only period shapes the
# scheduler produces; rejecting anything else keeps the ledger key canonical
# (a stray '2024-W7' would otherwise defeat the at-most-once key).
_PERIOD_RE: Final = re.compile(r"^\d{4}-(?:W(?:0[1-9]|[1-4]\d|5[0-3])|(?:0[1-9]|1[0-2]))$")

# Telegram error texts can be long; the ledger only needs enough to diagnose.
_MAX_ERROR_LEN: Final = 1000



def _check_period(period: str) -> str:
    if not isinstance(period, str) or not _PERIOD_RE.match(period):
        raise ValueError(
            f"period must look like '2024-W07' (ISO week) or '2024-03' (month); got {period!r}"
        )
    return period


def _check_outcome(status: str, error: str | None, attempts: int) -> str | None:
    """Validate a delivery outcome; return the error text trimmed for storage."""
    if status not in FINAL_DELIVERY_STATUSES:
        raise ValueError(f"status must be one of 'sent', 'failed', 'deactivated'; got {status!r}")
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
        raise ValueError(f"attempts must be a non-negative integer; got {attempts!r}")
    return None if error is None else str(error)[:_MAX_ERROR_LEN]


class DeliveriesRepo(StorageConnection):
    """Ledger rows: claim for one send, finish, defer as retry, find interrupted ones."""

    async def finish_deliveries(
        self,
        outcomes: Iterable[tuple[int, str, str, str | None, int]],
        *,
        now: datetime | None = None,
    ) -> int:
        """Record the outcomes of claimed deliveries, ``(sub_id, period, status, error, attempts)``
        tuples: 'sent', 'failed', 'deactivated' or 'uncertain'.

        One transaction (executemany). Keys that were never claimed are
        skipped rather than failing the batch, so other outcomes are not lost;
        returns the number of ledger rows updated.
        """
        ts = _ts(now)
        params: list[tuple[Any, ...]] = []
        for sub_id, period, status, error, attempts in outcomes:
            params.append((status, _check_outcome(status, error, attempts), attempts, ts, sub_id, period))
        return await self._write_many(
            "UPDATE deliveries SET status = ?, last_error = ?, attempts = attempts + ?, updated_at = ?,"
            " next_attempt_at = NULL WHERE subscription_id = ? AND period = ?",
            params,
        )

    async def claim_for_send(self, sub_id: int, period: str, *, now: datetime | None = None) -> int | None:
        """Claim ``(sub_id, period)`` for one send: a new ledger row, or a 'retry' row whose next
        attempt is due at ``now``. Returns the attempts already made (0 for a new row), or None
        when the reminder is not this caller's to send (sent, failed, uncertain, in flight, or a
        retry not yet due). One statement, so two callers can never both own it.
        """
        _check_period(period)
        ts = _ts(now)
        rows = await self._write_returning(
            "INSERT INTO deliveries (subscription_id, period, status, attempts, updated_at) "
            "VALUES (?, ?, 'sending', 0, ?) ON CONFLICT (subscription_id, period) DO UPDATE SET"
            " status = 'sending', updated_at = excluded.updated_at, next_attempt_at = NULL "
            "WHERE deliveries.status = 'retry'"
            " AND (deliveries.next_attempt_at IS NULL OR deliveries.next_attempt_at <= excluded.updated_at) "
            "RETURNING attempts",
            (sub_id, period, ts),
        )
        return int(rows[0][0]) if rows else None

    async def defer_deliveries(
        self,
        items: Iterable[tuple[int, str, str | None, int, datetime]],
        *,
        now: datetime | None = None,
    ) -> int:
        """Put claimed deliveries back as 'retry' for ``(sub_id, period, error, attempts, next_at)``:
        Telegram did not take them (5xx, connection refused), so they are tried again from
        ``next_at`` while their period lasts. ``attempts`` is added to the row's count."""
        ts = _ts(now)
        params = [
            (None if error is None else str(error)[:_MAX_ERROR_LEN], int(attempts), ts, _ts(next_at), sub_id, period)
            for sub_id, period, error, attempts, next_at in items
        ]
        return await self._write_many(
            "UPDATE deliveries SET status = 'retry', last_error = ?, attempts = attempts + ?, updated_at = ?,"
            " next_attempt_at = ? WHERE subscription_id = ? AND period = ? AND status = 'sending'",
            params,
        )

    async def pending_retries(self) -> list[Delivery]:
        """Every 'retry' row (any period), oldest first."""
        rows = await self._fetchall(
            "SELECT * FROM deliveries WHERE status = 'retry' ORDER BY updated_at, subscription_id"
        )
        return [_delivery(r) for r in rows]

    async def delivery_status(self, sub_id: int, period: str) -> Delivery | None:
        """The ledger row for (subscription, period), or None if never claimed."""
        row = await self._fetchone(
            "SELECT * FROM deliveries WHERE subscription_id = ? AND period = ?", (sub_id, period)
        )
        return _delivery(row) if row else None

    async def fail_interrupted(self, error: str = "interrupted", *, now: datetime | None = None) -> int:
        """Mark every 'sending' row as 'uncertain' (the message may have gone out; at most once,
        so it is never re-sent) with ``error`` in one transaction; return count."""
        cur = await self._write(
            "UPDATE deliveries SET status = 'uncertain', last_error = ?,"
            " attempts = MAX(attempts, 1), updated_at = ? WHERE status = 'sending'",
            (error, _ts(now)),
        )
        return cur.rowcount

    async def delivered_keys(
        self, keys: Iterable[tuple[int, str]], *, now: datetime | None = None
    ) -> set[tuple[int, str]]:
        """Which of these (subscription, period) keys have nothing to send at ``now``: a ledger row
        in any status but a 'retry' whose next attempt is due."""
        wanted = set(keys)
        if not wanted:
            return set()
        periods = sorted({p for _, p in wanted})
        marks = ",".join("?" * len(periods))
        rows = await self._fetchall(
            f"SELECT subscription_id, period FROM deliveries WHERE period IN ({marks})"
            " AND NOT (status = 'retry' AND (next_attempt_at IS NULL OR next_attempt_at <= ?))",
            [*periods, _ts(now)],
        )
        return {(r[0], r[1]) for r in rows} & wanted
