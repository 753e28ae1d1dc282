"""The admin audit log (table ``admin_audit``)."""

from __future__ import annotations

from datetime import datetime

from bot.services.storage.connection import StorageConnection
from bot.services.storage.models import _ts


class AuditRepo(StorageConnection):
    """Admin action attempts, allowed or refused."""

    async def audit(
        self, user_id: int, action: str, allowed: bool, detail: str = "", *, now: datetime | None = None
    ) -> int:
        """Record an admin action attempt (allowed or refused); return its id."""
        cur = await self._write(
            "INSERT INTO admin_audit (ts, user_id, action, allowed, detail) VALUES (?, ?, ?, ?, ?)",
            (_ts(now), user_id, action, 1 if allowed else 0, detail or ""),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid
