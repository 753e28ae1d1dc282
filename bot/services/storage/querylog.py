"""The query log (table ``query_log``) and the usage report built on it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

from bot.services.storage.connection import StorageConnection
from bot.services.storage.models import QUERY_STATUSES, UnansweredQuestion, _parse_ts, _ts, _utc
from bot.services.storage.subscriptions import _ACTIVE_SUBS_WHERE


class QueryLogRepo(StorageConnection):
    """Questions asked: log one, most frequent unanswered, usage statistics."""

    async def log_query(
        self,
        chat_id: int | None,
        user_id: int | None,
        question: str,
        normalized: str,
        status: str,
        top_id: str | int | None = None,
        score: float | None = None,
        elapsed_ms: float | None = None,
        *,
        now: datetime | None = None,
    ) -> int:
        """Append one question to the query log; return its id."""
        if status not in QUERY_STATUSES:
            raise ValueError(
                f"status must be one of {', '.join(repr(s) for s in QUERY_STATUSES)}; got {status!r}"
            )
        cur = await self._write(
            "INSERT INTO query_log (ts, chat_id, user_id, question, normalized, status, top_id,"
            " score, elapsed_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _ts(now), chat_id, user_id, question, normalized, status,
                None if top_id is None else str(top_id),
                None if score is None else float(score),
                None if elapsed_ms is None else float(elapsed_ms),
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def top_unanswered(
        self, days: int = 30, limit: int = 10, now: datetime | None = None
    ) -> list[UnansweredQuestion]:
        """Most frequent unanswered ('not_found'/'clarify') questions of the last ``days``.

        Grouped by ``normalized``; ordered by count, then most recent. The
        example is the latest wording (SQLite returns bare columns from the
        row that produced MAX()).
        """
        end = _utc(now)
        rows = await self._fetchall(
            "SELECT question, normalized, COUNT(*) AS n, MAX(ts) AS last_ts FROM query_log "
            "WHERE status IN ('not_found', 'clarify') AND ts >= ? AND ts <= ? AND normalized <> '' "
            "GROUP BY normalized ORDER BY n DESC, last_ts DESC, normalized LIMIT ?",
            (_ts(end - timedelta(days=days)), _ts(end), limit),
        )
        return [UnansweredQuestion(r[0], r[1], int(r[2]), _parse_ts(r[3])) for r in rows]

    async def stats(self, days: int = 7, now: datetime | None = None) -> dict[str, Any]:
        """Usage summary over the last ``days`` UTC calendar days (today included).

        Keys: ``days``, ``since``/``until`` (aware datetimes), ``questions_per_day``
        (``{'YYYY-MM-DD': n}``, oldest first, zero-filled), ``questions``,
        ``answered`` (answer + list), ``answer_rate`` (0..1, None if no
        questions), ``by_status`` (all query statuses), ``subscribers``,
        ``active_subscriptions``, ``reminders_sent``, ``reminders_failed``,
        ``reminders_uncertain`` (ledger rows finished inside the window; uncertain: interrupted by a
        crash or a dropped connection, may have arrived) and ``reminders_retrying`` (waiting to be
        tried again now, whatever the window).
        """
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"days must be a positive integer; got {days!r}")
        until = _utc(now)
        first_day = until.date() - timedelta(days=days - 1)
        since = datetime.combine(first_day, time(0), tzinfo=UTC)
        window = (_ts(since), _ts(until))
        db = self._conn()
        # One lock hold for all reads so the numbers are a consistent snapshot.
        async with self._lock:
            per_status = await db.execute_fetchall(
                "SELECT substr(ts, 1, 10) AS day, status, COUNT(*) FROM query_log "
                "WHERE ts >= ? AND ts <= ? GROUP BY day, status",
                window,
            )
            ledger = await db.execute_fetchall(
                "SELECT status, COUNT(*) FROM deliveries WHERE (status IN ('sent', 'failed', 'uncertain')"
                " AND updated_at >= ? AND updated_at <= ?) OR status = 'retry' GROUP BY status",
                window,
            )
            subs = list(await db.execute_fetchall(
                f"SELECT COUNT(*), COUNT(DISTINCT s.chat_id) FROM subscriptions s WHERE {_ACTIVE_SUBS_WHERE}"
            ))[0]
        per_day = {(first_day + timedelta(days=i)).isoformat(): 0 for i in range(days)}
        by_status = dict.fromkeys(QUERY_STATUSES, 0)
        for day, status, n in per_status:
            per_day[day] = per_day.get(day, 0) + int(n)
            by_status[status] = by_status.get(status, 0) + int(n)
        total = sum(by_status.values())
        answered = by_status["answer"] + by_status["list"]
        sent_failed: Mapping[str, int] = {r[0]: int(r[1]) for r in ledger}
        return {
            "days": days,
            "since": since,
            "until": until,
            "questions_per_day": per_day,
            "questions": total,
            "answered": answered,
            "answer_rate": (answered / total) if total else None,
            "by_status": by_status,
            "subscribers": int(subs[1]),
            "active_subscriptions": int(subs[0]),
            "reminders_sent": sent_failed.get("sent", 0),
            "reminders_failed": sent_failed.get("failed", 0),
            "reminders_uncertain": sent_failed.get("uncertain", 0),
            "reminders_retrying": sent_failed.get("retry", 0),
        }
