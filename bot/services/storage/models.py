"""Row types of the storage (small frozen dataclasses), the status vocabularies, the canonical
timestamp format and the row -> record converters shared by the repositories."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final, NamedTuple

SCOPES: Final = ("target", "section", "all")
CADENCES: Final = ("weekly", "monthly")
DELIVERY_STATUSES: Final = ("sending", "sent", "failed", "deactivated", "retry", "uncertain")
# 'retry' is not final: the message is tried again (claim_for_send) until its period ends.
FINAL_DELIVERY_STATUSES: Final = ("sent", "failed", "deactivated", "uncertain")
QUERY_STATUSES: Final = ("answer", "clarify", "list", "not_found", "error")
UNANSWERED_STATUSES: Final = ("not_found", "clarify")


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Chat:
    """A Telegram chat the bot has seen."""

    chat_id: int
    type: str
    title: str | None
    username: str | None
    first_seen: datetime
    last_seen: datetime
    active: bool
    inactive_reason: str | None


@dataclass(frozen=True, slots=True)
class Subscription:
    """A reminder subscription.

    ``weekday`` (0=Monday..6=Sunday) is set only for weekly cadence,
    ``day_of_month`` (1..28) only for monthly. ``ref`` is '' for scope 'all'.
    """

    id: int
    chat_id: int
    scope: str
    ref: str
    cadence: str
    weekday: int | None
    day_of_month: int | None
    hour: int
    active: bool
    created_at: datetime
    updated_at: datetime
    missing_notified_ref: str | None


@dataclass(frozen=True, slots=True)
class ProgressRecord:
    """One append-only progress figure for a 2024 target."""

    id: int
    target_id: str
    value: float
    as_of: date
    recorded_by: int
    recorded_at: datetime
    note: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the delivery ledger (a reminder for one subscription and period)."""

    subscription_id: int
    period: str
    status: str
    attempts: int
    last_error: str | None
    updated_at: datetime
    next_attempt_at: datetime | None = None  # for 'retry' rows


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One admin action attempt (allowed or refused)."""

    id: int
    ts: datetime
    user_id: int
    action: str
    allowed: bool
    detail: str


class UnansweredQuestion(NamedTuple):
    """A group of unanswered questions sharing one normalized form."""

    question_example: str  # the most recent wording of the question
    normalized: str
    count: int  # type: ignore[assignment]  # shadows tuple.count; callers read row.count and unpack rows
    last_ts: datetime


# --------------------------------------------------------------------------- helpers


def _utc(now: datetime | None) -> datetime:
    """Return ``now`` as an aware UTC datetime (default: the real clock)."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def _ts(now: datetime | None) -> str:
    """Format a timestamp in the single canonical form stored in the database."""
    return _utc(now).isoformat(timespec="microseconds")


def _parse_ts(value: str) -> datetime:
    """Parse a stored timestamp back to an aware UTC datetime."""
    return _utc(datetime.fromisoformat(value))


def _check_int(name: str, value: object) -> int:
    # bool is an int subclass; True as a chat id or hour is always a bug.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    return value


def _chat(row: sqlite3.Row) -> Chat:
    return Chat(
        chat_id=row["chat_id"],
        type=row["type"],
        title=row["title"],
        username=row["username"],
        first_seen=_parse_ts(row["first_seen"]),
        last_seen=_parse_ts(row["last_seen"]),
        active=bool(row["active"]),
        inactive_reason=row["inactive_reason"],
    )


def _subscription(row: sqlite3.Row) -> Subscription:
    return Subscription(
        id=row["id"],
        chat_id=row["chat_id"],
        scope=row["scope"],
        ref=row["ref"],
        cadence=row["cadence"],
        weekday=row["weekday"],
        day_of_month=row["day_of_month"],
        hour=row["hour"],
        active=bool(row["active"]),
        created_at=_parse_ts(row["created_at"]),
        updated_at=_parse_ts(row["updated_at"]),
        missing_notified_ref=row["missing_notified_ref"],
    )


def _progress(row: sqlite3.Row) -> ProgressRecord:
    return ProgressRecord(
        id=row["id"],
        target_id=row["target_id"],
        value=float(row["value"]),
        as_of=date.fromisoformat(row["as_of"]),
        recorded_by=row["recorded_by"],
        recorded_at=_parse_ts(row["recorded_at"]),
        note=row["note"],
    )


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        subscription_id=row["subscription_id"],
        period=row["period"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        updated_at=_parse_ts(row["updated_at"]),
        next_attempt_at=_parse_ts(row["next_attempt_at"]) if row["next_attempt_at"] else None,
    )


def _audit(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        ts=_parse_ts(row["ts"]),
        user_id=row["user_id"],
        action=row["action"],
        allowed=bool(row["allowed"]),
        detail=row["detail"],
    )
