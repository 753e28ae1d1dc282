"""Append-only progress figures for the 2024 targets (table ``progress``)."""

from __future__ import annotations

import math
from datetime import date, datetime

from bot.services.storage.connection import StorageConnection
from bot.services.storage.models import ProgressRecord, _check_int, _progress, _ts


class ProgressRepo(StorageConnection):
    """Progress records: append (idempotent per source), per target, latest of every target."""

    async def add_progress(
        self,
        target_id: str,
        value: float,
        as_of: date,
        recorded_by: int,
        note: str | None = None,
        *,
        now: datetime | None = None,
        source: str | None = None,
    ) -> ProgressRecord:
        """Append a progress figure. To correct one, add a newer record with the same ``as_of``.

        ``source`` names what made the record (a Telegram message or confirmation): a second call
        with the same source adds nothing and returns the first record, so handling one update
        twice (a replay after a crash) records it once.
        """
        if not isinstance(target_id, str) or not target_id.strip():
            raise ValueError(f"target_id must be a non-empty string; got {target_id!r}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"value must be a finite number; got {value!r}")
        # datetime is a date subclass; accepting it would silently drop a time
        # and timezone the caller probably cared about.
        if isinstance(as_of, datetime) or not isinstance(as_of, date):
            raise ValueError(f"as_of must be a datetime.date; got {as_of!r}")
        _check_int("recorded_by", recorded_by)
        rows = await self._write_returning(
            "INSERT INTO progress (target_id, value, as_of, recorded_by, recorded_at, note, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source) WHERE source IS NOT NULL DO NOTHING RETURNING *",
            (target_id.strip(), float(value), as_of.isoformat(), recorded_by, _ts(now), note, source),
        )
        if not rows:  # this source was recorded before: the same record, not a second one
            rows = await self._fetchall("SELECT * FROM progress WHERE source = ?", (source,))
        return _progress(rows[0])

    async def progress_for(self, target_id: str) -> list[ProgressRecord]:
        """Every record for the target (corrections included), ordered by as_of, then id."""
        rows = await self._fetchall(
            "SELECT * FROM progress WHERE target_id = ? ORDER BY as_of, id", (target_id,)
        )
        return [_progress(r) for r in rows]

    async def latest_progress_all(self) -> dict[str, ProgressRecord]:
        """The current figure of every target that has any record (greatest as_of, ties broken by
        highest id), in one query."""
        rows = await self._fetchall(
            "SELECT * FROM (SELECT p.*, ROW_NUMBER() OVER"
            " (PARTITION BY target_id ORDER BY as_of DESC, id DESC) AS rn FROM progress p) "
            "WHERE rn = 1 ORDER BY target_id"
        )
        return {r["target_id"]: _progress(r) for r in rows}
