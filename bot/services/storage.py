"""Persistent storage for the bot: one SQLite file accessed through aiosqlite.

Usage::

    async with Storage("data/bot.sqlite3") as storage:
        await storage.upsert_chat(chat_id, "private")
        sub = await storage.add_subscription(chat_id, "all", "", "weekly", weekday=0)

Design notes (why it looks like this):

* One connection per ``Storage``; an :class:`asyncio.Lock` serialises every
  statement group, so one coroutine never sees another's half-finished
  transaction on the shared connection.
* Every write is exactly one transaction, taken under the lock. Writes of
  several statements use ``BEGIN IMMEDIATE ... COMMIT`` and roll back on any
  error (including cancellation); IMMEDIATE takes the write lock up front, so
  a writer in another process waits (``busy_timeout``) instead of failing
  half-way. A write that is a single statement (claim/finish, logging, ...)
  runs as SQLite's implicit autocommit transaction, which has the same
  guarantees and saves two thread round trips (see ``_write``).
* Fan-out: ``claim_delivery``/``finish_delivery`` cost one round trip each
  (~0.22 ms per pair); ``claim_deliveries``/``finish_deliveries`` batch a
  whole fan-out into two transactions (~15 ms per 1,000 pairs).
* Nothing is cached in memory: every method reads or writes the database, so
  a crash or restart loses nothing that was acknowledged.
* Rows are returned as small frozen dataclasses (``Chat``, ``Subscription``,
  ``ProgressRecord``, ``Delivery``, ``AuditEntry``) or the ``UnansweredQuestion``
  named tuple; ``stats`` and ``ledger_counts`` return plain dicts.
* Timestamps are stored as UTC ISO-8601 strings with a fixed format
  (``2024-02-12T08:00:00.000000+00:00``), so string comparison in SQL equals
  time comparison. Methods that stamp time take an optional ``now`` so tests
  can drive a fake clock; naive datetimes are taken to be UTC.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Final, NamedTuple, Self

import aiosqlite

from bot.services.migrations import (
    CURRENT_SCHEMA_VERSION,
    SchemaTooNewError,
    apply_migrations,
)

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "DELIVERY_STATUSES",
    "QUERY_STATUSES",
    "AuditEntry",
    "Chat",
    "Delivery",
    "ProgressRecord",
    "SchemaTooNewError",
    "Storage",
    "StorageClosedError",
    "StorageFault",
    "Subscription",
    "UnansweredQuestion",
]

SCOPES: Final = ("target", "section", "all")
CADENCES: Final = ("weekly", "monthly")
DELIVERY_STATUSES: Final = ("sending", "sent", "failed", "deactivated", "retry", "uncertain")
# 'retry' is not final: the message is tried again (claim_for_send) until its period ends.
FINAL_DELIVERY_STATUSES: Final = ("sent", "failed", "deactivated", "uncertain")
QUERY_STATUSES: Final = ("answer", "clarify", "list", "not_found", "error")
UNANSWERED_STATUSES: Final = ("not_found", "clarify")

# '2024-W07' (ISO week) or '2024-03' (month): the only period shapes the
# scheduler produces; rejecting anything else keeps the ledger key canonical
# (a stray '2024-W7' would otherwise defeat the at-most-once key).
_PERIOD_RE: Final = re.compile(r"^\d{4}-(?:W(?:0[1-9]|[1-4]\d|5[0-3])|(?:0[1-9]|1[0-2]))$")

# Telegram error texts can be long; the ledger only needs enough to diagnose.
_MAX_ERROR_LEN: Final = 1000

_DEFAULT_BUSY_TIMEOUT_MS: Final = 5000

# Rows per multi-row INSERT in claim_deliveries: 3 bound parameters each stays
# far below SQLite's 32766-parameter limit while amortising the round trip.
_CLAIM_CHUNK: Final = 500


class StorageClosedError(RuntimeError):
    """A method was called before :meth:`Storage.open` or after :meth:`Storage.close`."""


class StorageFault(RuntimeError):
    """The database cannot keep what the bot writes (read-only, corrupt, deleted or replaced, disk
    full). ``str(exc)`` is one line naming DATABASE_PATH; the bot stops rather than acknowledge a
    write it cannot keep."""


# SQLite result codes that mean the file itself is unusable (as opposed to a constraint or a
# caller's bug): a write that fails with one of them marks the storage as faulty.
_FAULT_CODES: Final = ("SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_CORRUPT", "SQLITE_NOTADB",
                       "SQLITE_CANTOPEN", "SQLITE_PERM")
_MAX_FAULT_LEN: Final = 300


def _fault_kind(exc: BaseException) -> str | None:
    """A short reason when ``exc`` says the database file is unusable, else None."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    text = str(exc)
    if name.startswith(_FAULT_CODES) or any(
        w in text for w in ("readonly", "disk I/O", "database or disk is full", "malformed", "not a database")
    ):
        return text[:_MAX_FAULT_LEN]
    return None


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
    count: int
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
    return scope, norm_ref, cadence, weekday, day_of_month, hour  # type: ignore[return-value]


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


async def _rollback(db: aiosqlite.Connection) -> None:
    await db.execute("ROLLBACK")


def _private_file(path: Path) -> None:
    """Create the database file readable by its owner only (0600), or tighten an existing one:
    it holds users' questions and ids. SQLite gives its -wal and -shm files the same mode."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            with suppress(OSError):  # not ours to change (another owner, immutable): the checks decide
                os.chmod(path, 0o600)
        return
    os.close(fd)


# --------------------------------------------------------------------------- storage


class Storage:
    """Async SQLite storage. Open with ``await open()`` or ``async with Storage(path)``."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = _DEFAULT_BUSY_TIMEOUT_MS) -> None:
        """Remember where the database lives; nothing touches the disk until :meth:`open`."""
        self._path = path if str(path) == ":memory:" else Path(path)
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the file opened
        self.fault: str | None = None  # set once a write found the file unusable (one line)

    # ---------------------------------------------------------------- lifecycle

    @property
    def path(self) -> Path | str:
        """The database file path (or ``':memory:'``)."""
        return self._path

    @property
    def is_open(self) -> bool:
        """True between a successful :meth:`open` and :meth:`close`."""
        return self._db is not None

    async def open(self) -> Self:
        """Open the database, apply connection pragmas and run pending migrations.

        Creates the parent directory if needed. Raises :class:`SchemaTooNewError`
        (and leaves the storage closed) if the file was written by a newer bot.
        """
        if self._db is not None:
            return self
        if isinstance(self._path, Path):
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                _private_file(self._path)
            except OSError as exc:
                raise StorageFault(self._line(f"cannot create the database file ({exc.strerror or exc})")) from None
        # isolation_level=None: the sqlite3 module must not open transactions
        # behind our back; we issue BEGIN IMMEDIATE / COMMIT ourselves.
        try:
            db = await aiosqlite.connect(self._path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageFault(self._line(f"cannot open ({str(exc)[:_MAX_FAULT_LEN]})")) from None
        try:
            db.row_factory = sqlite3.Row
            await db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            # WAL lets readers (e.g. an admin running sqlite3 on the file) work
            # while the bot writes; NORMAL sync is durable across app crashes
            # in WAL mode and avoids an fsync per commit, which the delivery
            # ledger's many tiny transactions would otherwise pay.
            await db.execute_fetchall("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await apply_migrations(db)
        except sqlite3.DatabaseError as exc:
            await db.close()
            raise StorageFault(self._line(f"cannot be used ({str(exc)[:_MAX_FAULT_LEN]})")) from None
        except BaseException:
            await db.close()
            raise
        self._db = db
        self._identity = self._stat_identity()
        self.fault = None
        return self

    # ---------------------------------------------------------------- health

    def _line(self, problem: str) -> str:
        """One line naming DATABASE_PATH, for logs and the exit message."""
        return f"DATABASE_PATH={self._path}: {problem}".replace("\n", " ")

    def _stat_identity(self) -> tuple[int, int] | None:
        if not isinstance(self._path, Path):
            return None
        st = os.stat(self._path)
        return (st.st_dev, st.st_ino)

    def verify_file(self) -> None:
        """Raise StorageFault when the database file is no longer the one opened (deleted, moved
        or replaced under the running bot: SQLite would keep writing to the old, unlinked file and
        every acknowledged write would vanish). A few microseconds: run before every write."""
        if self.fault is not None:
            raise StorageFault(self.fault)
        if self._identity is None:
            return
        try:
            identity = self._stat_identity()
        except FileNotFoundError:
            self.fault = self._line("the database file was deleted while the bot was running")
            raise StorageFault(self.fault) from None
        except OSError as exc:
            self.fault = self._line(f"cannot check the database file ({exc.strerror or exc})")
            raise StorageFault(self.fault) from None
        if identity != self._identity:
            self.fault = self._line("the database file was replaced while the bot was running")
            raise StorageFault(self.fault)

    def _note(self, exc: BaseException) -> None:
        """Remember a write error that means the file is unusable (the watchdog stops the bot)."""
        kind = _fault_kind(exc)
        if kind is not None and self.fault is None:
            self.fault = self._line(f"a write failed ({kind})")

    async def check_health(self, *, integrity: bool = True, now: datetime | None = None) -> None:
        """Start-up (``integrity``: also ``PRAGMA quick_check``) and periodic check: the file is the
        one opened, WAL mode, and a real write commits. Raises StorageFault (one line)."""
        self.verify_file()
        db = self._conn()
        try:
            async with self._lock:
                if integrity:
                    try:
                        rows = list(await db.execute_fetchall("PRAGMA quick_check(5)"))
                    except sqlite3.DatabaseError as exc:  # pages so damaged the check cannot read them
                        rows = [(f"{str(exc)[:_MAX_FAULT_LEN]}",)]
                    problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
                    if problems:
                        raise StorageFault(self._line("integrity check failed: " + "; ".join(problems)[:200]))
                if isinstance(self._path, Path):
                    mode = str(list(await db.execute_fetchall("PRAGMA journal_mode"))[0][0]).lower()
                    if mode != "wal":
                        raise StorageFault(self._line(f"journal mode is {mode}, not wal (read-only file or folder?)"))
                await db.execute(
                    "INSERT INTO health (id, checked_at) VALUES (1, ?) "
                    "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                    (_ts(now),),
                )
        except sqlite3.DatabaseError as exc:
            self.fault = self._line(f"write probe failed ({str(exc)[:_MAX_FAULT_LEN]})")
            raise StorageFault(self.fault) from None
        except StorageFault as exc:
            self.fault = str(exc)
            raise

    async def close(self) -> None:
        """Close the connection (idempotent). Waits for an in-flight transaction."""
        if self._db is None:
            return
        async with self._lock:
            db, self._db = self._db, None
            if db is not None:
                await db.close()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ---------------------------------------------------------------- plumbing

    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StorageClosedError("storage is not open; call `await storage.open()` first")
        return self._db

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block as one write transaction; roll back on any exception."""
        db = self._conn()
        self.verify_file()
        async with self._lock:
            try:
                await db.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                self._note(exc)
                raise
            try:
                yield db
                await db.execute("COMMIT")
            except BaseException as exc:
                self._note(exc)
                # shield: even if the task is cancelled again, the ROLLBACK is
                # already queued on the connection thread ahead of any later
                # statement, so the next transaction starts clean.
                with suppress(sqlite3.OperationalError):
                    await asyncio.shield(_rollback(db))
                raise

    async def _write(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        """Run ONE write statement as its own transaction; return its cursor.

        In autocommit mode SQLite wraps a lone statement in an implicit
        transaction that takes the write lock when the statement starts (as
        BEGIN IMMEDIATE would) and is rolled back entirely if the statement
        fails. Adding explicit BEGIN/COMMIT would be equivalent but cost two
        more hops to the connection thread (~85 us each), which dominates the
        hot claim/finish path. The lock still matters: it keeps the statement
        from landing inside another coroutine's open explicit transaction.
        """
        db = self._conn()
        self.verify_file()
        async with self._lock:
            try:
                return await db.execute(sql, tuple(params))
            except sqlite3.DatabaseError as exc:
                self._note(exc)
                raise

    async def _write_returning(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Like :meth:`_write` for a statement with RETURNING; fetches all rows in one hop."""
        db = self._conn()
        self.verify_file()
        async with self._lock:
            try:
                return list(await db.execute_fetchall(sql, tuple(params)))
            except sqlite3.DatabaseError as exc:
                self._note(exc)
                raise

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Read under the lock so we never observe another coroutine's open transaction."""
        db = self._conn()
        async with self._lock:
            return list(await db.execute_fetchall(sql, tuple(params)))

    async def _fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    async def schema_version(self) -> int:
        """Return the database's schema version (``PRAGMA user_version``)."""
        row = await self._fetchone("PRAGMA user_version")
        assert row is not None
        return int(row[0])

    async def journal_mode(self) -> str:
        """Return the current journal mode ('wal' for a file database)."""
        row = await self._fetchone("PRAGMA journal_mode")
        assert row is not None
        return str(row[0])

    # ---------------------------------------------------------------- chats

    async def upsert_chat(
        self,
        chat_id: int,
        type: str,  # mirrors Telegram's Chat.type, which callers pass straight through
        title: str | None = None,
        username: str | None = None,
        *,
        now: datetime | None = None,
    ) -> Chat:
        """Record that a chat was seen; return its row.

        Updates ``last_seen``; ``title``/``username`` are only overwritten when
        given (None keeps the stored value). Seeing a chat proves we can reach
        it again, so an inactive chat is reactivated (its subscriptions are not:
        the user re-subscribes explicitly).
        """
        _check_int("chat_id", chat_id)
        if not isinstance(type, str) or not type:
            raise ValueError(f"type must be a non-empty string; got {type!r}")
        ts = _ts(now)
        rows = await self._write_returning(
            "INSERT INTO chats (chat_id, type, title, username, first_seen, last_seen, active) "
            "VALUES (?, ?, ?, ?, ?, ?, 1) "
            "ON CONFLICT (chat_id) DO UPDATE SET "
            " type = excluded.type,"
            " title = COALESCE(excluded.title, chats.title),"
            " username = COALESCE(excluded.username, chats.username),"
            " last_seen = excluded.last_seen,"
            " active = 1, inactive_reason = NULL "
            "RETURNING *",
            (chat_id, type, title, username, ts, ts),
        )
        return _chat(rows[0])

    async def set_chat_active(self, chat_id: int, active: bool, reason: str | None = None) -> bool:
        """Set a chat's active flag (reason is cleared when activating). Returns False if unknown.

        Does not touch subscriptions; use :meth:`deactivate_chat` for "bot was blocked".
        """
        _check_int("chat_id", chat_id)
        cur = await self._write(
            "UPDATE chats SET active = ?, inactive_reason = ? WHERE chat_id = ?",
            (1 if active else 0, None if active else reason, chat_id),
        )
        return cur.rowcount == 1

    async def get_chat(self, chat_id: int) -> Chat | None:
        """Return the chat row, or None if the chat was never seen."""
        row = await self._fetchone("SELECT * FROM chats WHERE chat_id = ?", (chat_id,))
        return _chat(row) if row else None

    async def deactivate_chat(self, chat_id: int, reason: str, *, now: datetime | None = None) -> int:
        """Mark the chat inactive and deactivate all its subscriptions.

        For "Forbidden: bot was blocked" and similar. Returns the number of
        subscriptions deactivated.
        """
        _check_int("chat_id", chat_id)
        async with self._transaction() as db:
            await db.execute(
                "UPDATE chats SET active = 0, inactive_reason = ? WHERE chat_id = ?", (reason, chat_id)
            )
            cur = await db.execute(
                "UPDATE subscriptions SET active = 0, updated_at = ? WHERE chat_id = ? AND active = 1",
                (_ts(now), chat_id),
            )
            return cur.rowcount

    # ---------------------------------------------------------------- subscriptions

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

    async def count_subscribers(self) -> int:
        """Number of distinct active chats with at least one active subscription."""
        row = await self._fetchone(
            f"SELECT COUNT(DISTINCT s.chat_id) FROM subscriptions s WHERE {_ACTIVE_SUBS_WHERE}"
        )
        return int(row[0]) if row else 0

    # ---------------------------------------------------------------- progress

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

    async def progress_series(self, target_id: str) -> list[ProgressRecord]:
        """One record per as_of date (its latest correction), ordered by as_of."""
        rows = await self._fetchall(
            "SELECT p.* FROM progress p WHERE p.target_id = ? AND p.id = "
            "(SELECT MAX(q.id) FROM progress q WHERE q.target_id = p.target_id AND q.as_of = p.as_of) "
            "ORDER BY p.as_of",
            (target_id,),
        )
        return [_progress(r) for r in rows]

    async def latest_progress(self, target_id: str) -> ProgressRecord | None:
        """The current figure: greatest as_of, ties (corrections) broken by highest id."""
        row = await self._fetchone(
            "SELECT * FROM progress WHERE target_id = ? ORDER BY as_of DESC, id DESC LIMIT 1",
            (target_id,),
        )
        return _progress(row) if row else None

    async def latest_progress_all(self) -> dict[str, ProgressRecord]:
        """``latest_progress`` for every target that has any record, in one query."""
        rows = await self._fetchall(
            "SELECT * FROM (SELECT p.*, ROW_NUMBER() OVER"
            " (PARTITION BY target_id ORDER BY as_of DESC, id DESC) AS rn FROM progress p) "
            "WHERE rn = 1 ORDER BY target_id"
        )
        return {r["target_id"]: _progress(r) for r in rows}

    # ---------------------------------------------------------------- delivery ledger

    async def claim_delivery(self, sub_id: int, period: str, *, now: datetime | None = None) -> bool:
        """Atomically claim the right to send ``sub_id``'s reminder for ``period``.

        Inserts a 'sending' row and returns True only if no row existed, so a
        reminder is attempted at most once per period, even across restarts.
        """
        _check_period(period)
        # ON CONFLICT DO NOTHING rather than INSERT OR IGNORE: OR IGNORE would
        # also swallow CHECK/NOT NULL violations and report them as "taken".
        # rowcount is sqlite3_changes() of this statement: 1 = we inserted.
        cur = await self._write(
            "INSERT INTO deliveries (subscription_id, period, status, attempts, updated_at) "
            "VALUES (?, ?, 'sending', 0, ?) ON CONFLICT (subscription_id, period) DO NOTHING",
            (sub_id, period, _ts(now)),
        )
        return cur.rowcount == 1

    async def finish_delivery(
        self,
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
        cur = await self._write(
            "UPDATE deliveries SET status = ?, last_error = ?, attempts = attempts + ?, updated_at = ?,"
            " next_attempt_at = NULL WHERE subscription_id = ? AND period = ?",
            (status, error, attempts, _ts(now), sub_id, period),
        )
        if cur.rowcount != 1:
            raise LookupError(f"delivery ({sub_id}, {period!r}) was not claimed")

    async def claim_deliveries(
        self, keys: Iterable[tuple[int, str]], *, now: datetime | None = None
    ) -> set[tuple[int, str]]:
        """Batch :meth:`claim_delivery`: claim many (sub_id, period) keys in one transaction.

        Returns the keys this call claimed (those not already in the ledger).
        One multi-row INSERT ... RETURNING per chunk replaces a thread round
        trip per key, which is what makes a large fan-out cheap.
        """
        unique = list(dict.fromkeys((int(sub_id), _check_period(period)) for sub_id, period in keys))
        if not unique:
            return set()
        ts = _ts(now)
        claimed: set[tuple[int, str]] = set()
        async with self._transaction() as db:
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

    async def finish_deliveries(
        self,
        outcomes: Iterable[tuple[int, str, str, str | None, int]],
        *,
        now: datetime | None = None,
    ) -> int:
        """Batch :meth:`finish_delivery` for ``(sub_id, period, status, error, attempts)`` tuples.

        One transaction (executemany). Keys that were never claimed are
        skipped rather than failing the batch, so other outcomes are not lost;
        returns the number of ledger rows updated.
        """
        ts = _ts(now)
        params: list[tuple[Any, ...]] = []
        for sub_id, period, status, error, attempts in outcomes:
            params.append((status, _check_outcome(status, error, attempts), attempts, ts, sub_id, period))
        if not params:
            return 0
        async with self._transaction() as db:
            cur = await db.executemany(
                "UPDATE deliveries SET status = ?, last_error = ?, attempts = attempts + ?, updated_at = ?,"
                " next_attempt_at = NULL WHERE subscription_id = ? AND period = ?",
                params,
            )
            return cur.rowcount

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
        if not params:
            return 0
        async with self._transaction() as db:
            cur = await db.executemany(
                "UPDATE deliveries SET status = 'retry', last_error = ?, attempts = attempts + ?, updated_at = ?,"
                " next_attempt_at = ? WHERE subscription_id = ? AND period = ? AND status = 'sending'",
                params,
            )
            return cur.rowcount

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

    async def ledger_counts(self, period: str | None = None) -> dict[str, int]:
        """Rows per status (all four statuses present, zero-filled), optionally for one period."""
        if period is None:
            rows = await self._fetchall("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
        else:
            rows = await self._fetchall(
                "SELECT status, COUNT(*) FROM deliveries WHERE period = ? GROUP BY status", (period,)
            )
        counts = dict.fromkeys(DELIVERY_STATUSES, 0)
        counts.update({r[0]: int(r[1]) for r in rows})
        return counts

    async def interrupted_deliveries(self) -> list[Delivery]:
        """Rows still 'sending' (the process died mid-send). They must NOT be re-sent:
        the message may have gone out. Mark them with :meth:`fail_interrupted`."""
        rows = await self._fetchall(
            "SELECT * FROM deliveries WHERE status = 'sending' ORDER BY updated_at, subscription_id"
        )
        return [_delivery(r) for r in rows]

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

    async def delivered_periods(self, sub_id: int) -> list[str]:
        """Periods for which the subscription's reminder was successfully 'sent', sorted."""
        rows = await self._fetchall(
            "SELECT period FROM deliveries WHERE subscription_id = ? AND status = 'sent' ORDER BY period",
            (sub_id,),
        )
        return [r[0] for r in rows]

    # ---------------------------------------------------------------- query log

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

    # ---------------------------------------------------------------- admin audit

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

    async def recent_audit(self, limit: int = 50) -> list[AuditEntry]:
        """The newest ``limit`` audit entries, newest first."""
        rows = await self._fetchall("SELECT * FROM admin_audit ORDER BY id DESC LIMIT ?", (limit,))
        return [_audit(r) for r in rows]

    # ---------------------------------------------------------------- update inbox

    async def inbox_put(self, updates: Iterable[tuple[int, str]], *, now: datetime | None = None) -> int:
        """Store fetched updates ``(update_id, raw JSON)`` before Telegram is told they were
        received (one transaction); an update already stored is left as it is. Returns how many
        were new."""
        ts = _ts(now)
        params = [(int(uid), ts, payload) for uid, payload in updates]
        if not params:
            return 0
        async with self._transaction() as db:
            before = db.total_changes
            await db.executemany(
                "INSERT INTO inbox (update_id, received_at, payload) VALUES (?, ?, ?) "
                "ON CONFLICT (update_id) DO NOTHING",
                params,
            )
            return db.total_changes - before

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

    # ---------------------------------------------------------------- retention

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
