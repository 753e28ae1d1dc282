"""Schema migrations for the bot's SQLite database.

The schema is described by :data:`MIGRATIONS`, an ordered tuple of
:class:`Migration` ``(version, description, sql)``.  ``PRAGMA user_version``
is the single source of truth for which migrations have been applied; the
``schema_migrations`` table is only a human-readable history (when and what).

Rules for adding a migration:

* append a new ``Migration`` with ``version = previous + 1``; never edit or
  reorder a migration that has shipped, because databases in the field have
  already recorded its version;
* each migration runs in its own ``BEGIN IMMEDIATE`` transaction together
  with the ``user_version`` bump, so a failing migration leaves the database
  exactly at the previous version;
* statements that SQLite refuses inside a transaction (``VACUUM``,
  ``PRAGMA foreign_keys``/``journal_mode``) cannot be used here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

import aiosqlite

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "MIGRATIONS",
    "Migration",
    "SchemaTooNewError",
    "apply_migrations",
    "get_schema_version",
    "split_sql",
]


class Migration(NamedTuple):
    """One schema step: applied when the database's version is below ``version``."""

    version: int
    description: str
    sql: str


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer program version than this one.

    Opening it anyway could silently misread or corrupt data written under a
    schema we do not know, so we refuse and ask the operator to upgrade.
    """

    def __init__(self, db_version: int, code_version: int) -> None:
        self.db_version = db_version
        self.code_version = code_version
        super().__init__(
            f"database schema v{db_version} is newer than this program supports "
            f"(v{code_version}); upgrade the bot"
        )


_V1_INITIAL = """
-- Chats the bot has seen. chat_id is Telegram's id (negative for groups), so it
-- is the natural key; 'active' flips to 0 when Telegram says we can no longer
-- write there (blocked, kicked), which stops reminders without losing history.
CREATE TABLE chats (
    chat_id         INTEGER PRIMARY KEY,
    type            TEXT    NOT NULL,
    title           TEXT,
    username        TEXT,
    first_seen      TEXT    NOT NULL,
    last_seen       TEXT    NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    inactive_reason TEXT
);

-- Reminder subscriptions. Rows are never deleted (only deactivated) because
-- the delivery ledger references them; AUTOINCREMENT guarantees an id is never
-- reused, so an old ledger row can never be mistaken for a new subscription.
CREATE TABLE subscriptions (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id              INTEGER NOT NULL REFERENCES chats (chat_id),
    scope                TEXT    NOT NULL CHECK (scope IN ('target', 'section', 'all')),
    ref                  TEXT    NOT NULL DEFAULT '',
    cadence              TEXT    NOT NULL CHECK (cadence IN ('weekly', 'monthly')),
    weekday              INTEGER CHECK (weekday BETWEEN 0 AND 6),
    day_of_month         INTEGER CHECK (day_of_month BETWEEN 1 AND 28),
    hour                 INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
    active               INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL,
    missing_notified_ref TEXT,
    -- The schedule fields must match the cadence so the scheduler never has
    -- to guess which one applies.
    CHECK ((cadence = 'weekly' AND weekday IS NOT NULL AND day_of_month IS NULL)
        OR (cadence = 'monthly' AND day_of_month IS NOT NULL AND weekday IS NULL)),
    CHECK ((scope = 'all') = (ref = ''))
);
-- At most one ACTIVE subscription per chat+scope+ref: re-subscribing updates the
-- schedule instead of doubling the reminders. Cancelled rows may repeat.
CREATE UNIQUE INDEX subscriptions_one_active
    ON subscriptions (chat_id, scope, ref) WHERE active = 1;
CREATE INDEX subscriptions_by_chat ON subscriptions (chat_id, active);

-- Progress figures are an append-only audit trail: a correction is a newer
-- row for the same as_of date, so nobody can quietly rewrite history.
CREATE TABLE progress (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    target_id   TEXT    NOT NULL CHECK (target_id <> ''),
    value       REAL    NOT NULL,
    as_of       TEXT    NOT NULL
                CHECK (as_of GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    recorded_by INTEGER NOT NULL,
    recorded_at TEXT    NOT NULL,
    note        TEXT
);
CREATE INDEX progress_by_target ON progress (target_id, as_of, id);
CREATE TRIGGER progress_no_update BEFORE UPDATE ON progress
BEGIN
    SELECT RAISE(ABORT, 'progress is append-only');
END;
CREATE TRIGGER progress_no_delete BEFORE DELETE ON progress
BEGIN
    SELECT RAISE(ABORT, 'progress is append-only');
END;

-- Delivery ledger. The primary key is the at-most-once guarantee: a reminder
-- for (subscription, period) can be claimed exactly once, ever. WITHOUT ROWID
-- keeps the table clustered on that key, so a claim is one B-tree insert.
CREATE TABLE deliveries (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id),
    period          TEXT    NOT NULL,
    status          TEXT    NOT NULL
                    CHECK (status IN ('sending', 'sent', 'failed', 'deactivated')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      TEXT,
    updated_at      TEXT    NOT NULL,
    PRIMARY KEY (subscription_id, period)
) WITHOUT ROWID;
-- Serves interrupted_deliveries() (status = 'sending') and the stats window.
CREATE INDEX deliveries_by_status ON deliveries (status, updated_at);
CREATE INDEX deliveries_by_period ON deliveries (period, status);

-- Every question asked, for the "what do people ask that we cannot answer"
-- report. chat_id is deliberately not a foreign key: logging must never fail
-- just because the chat row was not written first.
CREATE TABLE query_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ts         TEXT    NOT NULL,
    chat_id    INTEGER,
    user_id    INTEGER,
    question   TEXT    NOT NULL,
    normalized TEXT    NOT NULL,
    status     TEXT    NOT NULL
               CHECK (status IN ('answer', 'clarify', 'list', 'not_found', 'error')),
    top_id     TEXT,
    score      REAL,
    elapsed_ms REAL
);
CREATE INDEX query_log_by_ts ON query_log (ts);
CREATE INDEX query_log_by_status_ts ON query_log (status, ts);

-- Who tried which admin action, including refused attempts.
CREATE TABLE admin_audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    ts      TEXT    NOT NULL,
    user_id INTEGER NOT NULL,
    action  TEXT    NOT NULL,
    allowed INTEGER NOT NULL CHECK (allowed IN (0, 1)),
    detail  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX admin_audit_by_ts ON admin_audit (ts);
"""

_V2_RELIABILITY = """
-- Deliveries that outlive outages. 'retry': Telegram did not take the message
-- (5xx, connection refused); it is tried again from next_attempt_at until the
-- period ends. 'uncertain': the request may have reached Telegram (a crash or
-- a dropped connection mid-request); at most once, so it is never re-sent.
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt.
CREATE TABLE deliveries_v2 (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id),
    period          TEXT    NOT NULL,
    status          TEXT    NOT NULL
                    CHECK (status IN ('sending', 'sent', 'failed', 'deactivated', 'retry', 'uncertain')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      TEXT,
    updated_at      TEXT    NOT NULL,
    next_attempt_at TEXT,
    PRIMARY KEY (subscription_id, period)
) WITHOUT ROWID;
INSERT INTO deliveries_v2 (subscription_id, period, status, attempts, last_error, updated_at)
    SELECT subscription_id, period, status, attempts, last_error, updated_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v2 RENAME TO deliveries;
CREATE INDEX deliveries_by_status ON deliveries (status, updated_at);
CREATE INDEX deliveries_by_period ON deliveries (period, status);

-- Idempotent progress records: the Telegram message or confirmation that made
-- a record, so handling the same update twice (a replay after a crash) adds
-- nothing. NULL for records made elsewhere.
ALTER TABLE progress ADD COLUMN source TEXT;
CREATE UNIQUE INDEX progress_by_source ON progress (source) WHERE source IS NOT NULL;

-- Updates fetched from Telegram, written before the next getUpdates confirms
-- them, marked done once handled: a crash (kill -9) loses none; those not done
-- are replayed at start. Kept a little over Telegram's own 24 hours.
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,
    received_at TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1))
);
CREATE INDEX inbox_pending ON inbox (done, update_id);

-- One row the start-up and periodic checks write, so a database that cannot be
-- written is found before a user's write is acknowledged.
CREATE TABLE health (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at TEXT    NOT NULL
);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema: chats, subscriptions, progress, deliveries, query_log, admin_audit",
              _V1_INITIAL),
    Migration(2, "reliability: delivery retries and uncertain outcomes, idempotent progress, update inbox, "
                 "health probe", _V2_RELIABILITY),
)


def _check_migrations(migrations: Sequence[Migration]) -> None:
    """Reject a migration list whose versions are not exactly 1, 2, 3, ...

    A gap or a duplicate would make ``user_version`` ambiguous, so it is a bug
    to catch at import/test time rather than on a production database.
    """
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise ValueError(
                f"migration versions must be consecutive from 1; "
                f"expected v{expected}, found v{migration.version} ({migration.description!r})"
            )


_check_migrations(MIGRATIONS)

#: The schema version this program writes and understands.
CURRENT_SCHEMA_VERSION: int = MIGRATIONS[-1].version


def split_sql(script: str) -> list[str]:
    """Split an SQL script into complete statements.

    ``sqlite3.executescript`` would be simpler, but it COMMITs any open
    transaction first, which defeats running each migration atomically.
    ``sqlite3.complete_statement`` understands string literals and trigger
    bodies, so splitting on ';' and re-joining until a statement is complete
    is safe for those too.
    """
    statements: list[str] = []
    parts = script.split(";")
    buf = ""
    for index, part in enumerate(parts):
        buf += part
        if index < len(parts) - 1:
            buf += ";"
        if buf.strip() and sqlite3.complete_statement(buf):
            statements.append(buf.strip())
            buf = ""
    if buf.strip() and not _is_only_comments(buf):
        raise ValueError(f"incomplete SQL statement at end of script: {buf.strip()[:80]!r}")
    return statements


def _is_only_comments(text: str) -> bool:
    """True if ``text`` holds nothing but whitespace and ``--`` line comments."""
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


async def get_schema_version(conn: aiosqlite.Connection) -> int:
    """Return the database's ``PRAGMA user_version`` (0 for a new database)."""
    rows = await conn.execute_fetchall("PRAGMA user_version")
    return int(list(rows)[0][0])


async def apply_migrations(
    conn: aiosqlite.Connection,
    migrations: Sequence[Migration] = MIGRATIONS,
    *,
    now: datetime | None = None,
) -> list[int]:
    """Bring the database up to the newest version in ``migrations``.

    ``conn`` must be in autocommit mode (``isolation_level=None``) and not in
    a transaction. Returns the versions applied (empty if already current).
    Raises :class:`SchemaTooNewError` if the database is ahead of the code.
    """
    _check_migrations(migrations)
    code_version = migrations[-1].version if migrations else 0
    current = await get_schema_version(conn)
    if current > code_version:
        raise SchemaTooNewError(current, code_version)

    applied: list[int] = []
    for migration in migrations:
        if migration.version <= current:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process opening the same
            # file may have migrated between our first read and BEGIN.
            current = await get_schema_version(conn)
            if current > code_version:
                raise SchemaTooNewError(current, code_version)
            if migration.version <= current:
                await conn.execute("ROLLBACK")
                continue
            for statement in split_sql(migration.sql):
                await conn.execute(statement)
            # The history table is owned by the runner (not by v1) so that it
            # exists no matter which migration list is being applied.
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            await conn.execute(
                "INSERT OR REPLACE INTO schema_migrations (version, description, applied_at) "
                "VALUES (?, ?, ?)",
                (migration.version, migration.description,
                 (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")),
            )
            # PRAGMA cannot take a bound parameter; int() makes the f-string safe.
            await conn.execute(f"PRAGMA user_version = {int(migration.version)}")
            await conn.execute("COMMIT")
        except BaseException:
            try:
                await conn.execute("ROLLBACK")
            except sqlite3.OperationalError:
                pass  # SQLite already rolled back (e.g. after a disk/IO error).
            raise
        current = migration.version
        applied.append(migration.version)
    return applied
