"""Reminder subscriptions (table ``subscriptions``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from bot.services.storage.connection import StorageConnection
from bot.services.storage.models import CADENCES, SCOPES, Subscription, _check_int, _subscription, _ts

_SUB_COLUMNS: Final = (
    "id, chat_id, scope, ref, cadence, weekday, day_of_month, hour, active, "
    "created_at, updated_at, missing_notified_ref"
)
# Subscriptions of a chat that went inactive are not fanned out: sending would
# fail anyway, and the chat may come back (upsert_chat reactivates it).
_ACTIVE_SUBS_WHERE: Final = (
    "s.active = 1 AND EXISTS (SELECT 1 FROM chats c WHERE c.chat_id = s.chat_id AND c.active = 1)"
)
_UPDATABLE_SUB_FIELDS: Final = frozenset({"scope", "ref", "cadence", "weekday", "day_of_month", "hour"})


def _normalize_ref(scope: str, ref: object) -> str:
    if scope == "all":
        if ref not in (None, ""):
            raise ValueError(f"ref must be '' for scope 'all'; got {ref!r}")
        return ""
    if isinstance(ref, int) and not isinstance(ref, bool):
        ref = str(ref)
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError(f"ref must be a non-empty {scope} id for scope {scope!r}; got {ref!r}")
    return ref.strip()


def _validate_subscription(
    scope: object,
    ref: object,
    cadence: object,
    weekday: object,
    day_of_month: object,
    hour: object,
) -> tuple[str, str, str, int | None, int | None, int]:
    """Validate subscription fields; return them normalized or raise ValueError."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of 'target', 'section', 'all'; got {scope!r}")
    assert isinstance(scope, str)
    norm_ref = _normalize_ref(scope, ref)
    if cadence not in CADENCES:
        raise ValueError(f"cadence must be 'weekly' or 'monthly'; got {cadence!r}")
    if cadence == "weekly":
        if weekday is None:
            raise ValueError("weekday is required for a weekly subscription (0=Monday .. 6=Sunday)")
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(f"weekday must be an integer 0..6 (0=Monday); got {weekday!r}")
        if day_of_month is not None:
            raise ValueError(f"day_of_month must not be set for a weekly subscription; got {day_of_month!r}")
    else:
        if day_of_month is None:
            raise ValueError("day_of_month is required for a monthly subscription (1..28)")
        if (
            isinstance(day_of_month, bool)
            or not isinstance(day_of_month, int)
            or not 1 <= day_of_month <= 28
        ):
            raise ValueError(f"day_of_month must be an integer 1..28; got {day_of_month!r}")
        if weekday is not None:
            raise ValueError(f"weekday must not be set for a monthly subscription; got {weekday!r}")
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        raise ValueError(f"hour must be an integer 0..23; got {hour!r}")
    return scope, norm_ref, cadence, weekday, day_of_month, hour


class SubscriptionsRepo(StorageConnection):
    """Subscriptions: add (or reschedule), list, update, cancel, fan-out list."""

    async def add_subscription(
        self,
        chat_id: int,
        scope: str,
        ref: str | int | None,
        cadence: str,
        weekday: int | None = None,
        day_of_month: int | None = None,
        hour: int = 8,
        *,
        now: datetime | None = None,
    ) -> Subscription:
        """Create a subscription, or update the schedule of the chat's active one
        for the same scope+ref (so re-subscribing never doubles reminders).

        ``ref``: target id / section id (str; an int is converted), '' or None
        for scope 'all'. Raises ValueError on invalid arguments. If the chat is
        unknown a placeholder row (type 'unknown') is created; an inactive chat
        is reactivated, since subscribing proves we can reach it.
        """
        _check_int("chat_id", chat_id)
        scope, ref, cadence, weekday, day_of_month, hour = _validate_subscription(
            scope, ref, cadence, weekday, day_of_month, hour
        )
        ts = _ts(now)
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO chats (chat_id, type, first_seen, last_seen, active) "
                "VALUES (?, 'unknown', ?, ?, 1) "
                "ON CONFLICT (chat_id) DO UPDATE SET active = 1, inactive_reason = NULL",
                (chat_id, ts, ts),
            )
            rows = await db.execute_fetchall(
                "INSERT INTO subscriptions (chat_id, scope, ref, cadence, weekday, day_of_month, hour,"
                " active, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?) "
                "ON CONFLICT (chat_id, scope, ref) WHERE active = 1 DO UPDATE SET"
                " cadence = excluded.cadence, weekday = excluded.weekday,"
                " day_of_month = excluded.day_of_month, hour = excluded.hour,"
                " updated_at = excluded.updated_at "
                f"RETURNING {_SUB_COLUMNS}",
                (chat_id, scope, ref, cadence, weekday, day_of_month, hour, ts, ts),
            )
            return _subscription(list(rows)[0])

    async def list_subscriptions(self, chat_id: int, active_only: bool = True) -> list[Subscription]:
        """Return the chat's subscriptions (only active ones by default), oldest first."""
        sql = f"SELECT {_SUB_COLUMNS} FROM subscriptions WHERE chat_id = ?"
        if active_only:
            sql += " AND active = 1"
        rows = await self._fetchall(sql + " ORDER BY id", (chat_id,))
        return [_subscription(r) for r in rows]

    async def get_subscription(self, sub_id: int) -> Subscription | None:
        """Return a subscription by id (any chat, active or not), or None."""
        row = await self._fetchone(f"SELECT {_SUB_COLUMNS} FROM subscriptions WHERE id = ?", (sub_id,))
        return _subscription(row) if row else None

    async def update_subscription(
        self, sub_id: int, chat_id: int, *, now: datetime | None = None, **changes: Any
    ) -> Subscription | None:
        """Change fields of one of the chat's ACTIVE subscriptions.

        Allowed fields: scope, ref, cadence, weekday, day_of_month, hour.
        Switching cadence clears the other cadence's field unless it is given
        (weekly->monthly drops ``weekday``). Changing ref resets
        ``missing_notified_ref``. Returns the updated row, or None if the id is
        not an active subscription of ``chat_id``. Raises ValueError for unknown
        fields, invalid values, or a clash with another active subscription.
        """
        unknown = set(changes) - _UPDATABLE_SUB_FIELDS
        if unknown:
            raise ValueError(
                f"cannot update subscription field(s) {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(_UPDATABLE_SUB_FIELDS))}"
            )
        async with self._transaction() as db:
            rows = list(await db.execute_fetchall(
                f"SELECT {_SUB_COLUMNS} FROM subscriptions WHERE id = ? AND chat_id = ? AND active = 1",
                (sub_id, chat_id),
            ))
            if not rows:
                return None
            old = _subscription(rows[0])
            merged: dict[str, Any] = {
                "scope": old.scope, "ref": old.ref, "cadence": old.cadence, "weekday": old.weekday,
                "day_of_month": old.day_of_month, "hour": old.hour,
            }
            if changes.get("cadence", old.cadence) != old.cadence:
                merged["weekday" if changes["cadence"] == "monthly" else "day_of_month"] = None
            if changes.get("scope") == "all" and "ref" not in changes:
                merged["ref"] = ""
            merged.update(changes)
            scope, ref, cadence, weekday, day_of_month, hour = _validate_subscription(**merged)
            if (scope, ref) != (old.scope, old.ref):
                clash = list(await db.execute_fetchall(
                    "SELECT id FROM subscriptions WHERE chat_id = ? AND scope = ? AND ref = ?"
                    " AND active = 1 AND id <> ?",
                    (chat_id, scope, ref, sub_id),
                ))
                if clash:
                    raise ValueError(
                        f"chat {chat_id} already has an active subscription for "
                        f"scope={scope!r} ref={ref!r} (id {clash[0][0]})"
                    )
            missing = old.missing_notified_ref if ref == old.ref else None
            rows = list(await db.execute_fetchall(
                "UPDATE subscriptions SET scope = ?, ref = ?, cadence = ?, weekday = ?, day_of_month = ?,"
                " hour = ?, missing_notified_ref = ?, updated_at = ? WHERE id = ? "
                f"RETURNING {_SUB_COLUMNS}",
                (scope, ref, cadence, weekday, day_of_month, hour, missing, _ts(now), sub_id),
            ))
            return _subscription(rows[0])

    async def cancel_subscription(self, sub_id: int, chat_id: int, *, now: datetime | None = None) -> bool:
        """Deactivate one of the chat's subscriptions. False if not found/not active/other chat."""
        cur = await self._write(
            "UPDATE subscriptions SET active = 0, updated_at = ? WHERE id = ? AND chat_id = ? AND active = 1",
            (_ts(now), sub_id, chat_id),
        )
        return cur.rowcount == 1

    async def cancel_all(self, chat_id: int, *, now: datetime | None = None) -> int:
        """Deactivate all of the chat's active subscriptions; return how many."""
        cur = await self._write(
            "UPDATE subscriptions SET active = 0, updated_at = ? WHERE chat_id = ? AND active = 1",
            (_ts(now), chat_id),
        )
        return cur.rowcount

    async def active_subscriptions(self) -> list[Subscription]:
        """All active subscriptions of active chats (what the scheduler fans out), by id."""
        rows = await self._fetchall(
            f"SELECT {_SUB_COLUMNS} FROM subscriptions s WHERE {_ACTIVE_SUBS_WHERE} ORDER BY s.id"
        )
        return [_subscription(r) for r in rows]

    async def mark_missing_notified(self, sub_id: int, ref: str | None) -> bool:
        """Remember that the subscriber was told ``ref`` no longer exists (None clears it).

        Returns False if the subscription does not exist.
        """
        cur = await self._write(
            "UPDATE subscriptions SET missing_notified_ref = ? WHERE id = ?", (ref, sub_id)
        )
        return cur.rowcount == 1
