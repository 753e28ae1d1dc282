"""The update inbox (table ``inbox``): updates kept before Telegram is told they were received,
and the retention that prunes it and the query log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.services.storage.connection import StorageConnection
from bot.services.storage.models import _ts, _utc


class InboxRepo(StorageConnection):
    """Inbox rows: put, mark done, pending, handled ids; ``prune`` for retention."""

    async def inbox_put(self, updates: Iterable[tuple[int, str]], *, now: datetime | None = None) -> int:
        """Store fetched updates ``(update_id, raw JSON)`` before Telegram is told they were
        received (one transaction); an update already stored is left as it is. Returns how many
        were new."""
        ts = _ts(now)
        params = [(int(uid), ts, payload) for uid, payload in updates]
        return await self._write_many(
            "INSERT INTO inbox (update_id, received_at, payload) VALUES (?, ?, ?)"
            " ON CONFLICT (update_id) DO NOTHING",
            params,
        )

    async def inbox_done(self, update_id: int) -> None:
        """Mark one update handled (it is not replayed after a crash)."""
        await self._write("UPDATE inbox SET done = 1 WHERE update_id = ? AND done = 0", (int(update_id),))

    async def inbox_pending(self) -> list[tuple[int, str]]:
        """Updates stored but not handled, oldest first: ``(update_id, raw JSON)``."""
        rows = await self._fetchall("SELECT update_id, payload FROM inbox WHERE done = 0 ORDER BY update_id")
        return [(int(r[0]), str(r[1])) for r in rows]

    async def inbox_done_ids(self, limit: int = 100_000) -> list[int]:
        """The newest handled update ids (a redelivered one is recognised and skipped)."""
        rows = await self._fetchall(
            "SELECT update_id FROM inbox WHERE done = 1 ORDER BY update_id DESC LIMIT ?", (limit,)
        )
        return [int(r[0]) for r in rows]

    async def prune(
        self, *, query_log_days: int, inbox_hours: float = 25.0, now: datetime | None = None
    ) -> dict[str, int]:
        """Delete query-log rows older than ``query_log_days`` and handled inbox rows older than
        ``inbox_hours`` (Telegram keeps an update for 24 hours). Returns rows deleted per table."""
        end = _utc(now)
        async with self._transaction() as db:
            q = await db.execute("DELETE FROM query_log WHERE ts < ?", (_ts(end - timedelta(days=query_log_days)),))
            i = await db.execute(
                "DELETE FROM inbox WHERE done = 1 AND received_at < ?", (_ts(end - timedelta(hours=inbox_hours)),)
            )
            return {"query_log": q.rowcount, "inbox": i.rowcount}
