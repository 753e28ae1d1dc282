"""Tests for bot.services.storage and bot.services.migrations (real SQLite files in tmp_path)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.services.migrations import (
    CURRENT_SCHEMA_VERSION,
    MIGRATIONS,
    Migration,
    SchemaTooNewError,
    apply_migrations,
    get_schema_version,
    split_sql,
)
from bot.services.storage import (
    Storage,
    StorageClosedError,
    Subscription,
    UnansweredQuestion,
)
from tests.storage_helpers import (
    claim_deliveries,
    claim_delivery,
    count_subscribers,
    delivered_periods,
    finish_delivery,
    get_chat,
    interrupted_deliveries,
    latest_progress,
    ledger_counts,
    progress_series,
    recent_audit,
    set_chat_active,
)

NOW = datetime(2024, 2, 14, 12, 0, tzinfo=UTC)  # a Wednesday
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.sqlite3"


@pytest.fixture
async def storage(db_path: Path) -> AsyncIterator[Storage]:
    async with Storage(db_path) as st:
        yield st


def raw(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection for inspecting the file behind Storage's back."""
    return sqlite3.connect(path, isolation_level=None)


async def weekly(st: Storage, chat_id: int = 1, scope: str = "all", ref: str = "", **kw: object) -> Subscription:
    kw.setdefault("weekday", 0)
    return await st.add_subscription(chat_id, scope, ref, "weekly", **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- open / migrations


async def test_open_creates_parent_dir_schema_and_wal(db_path: Path) -> None:
    assert not db_path.parent.exists()
    async with Storage(db_path) as st:
        assert st.is_open
        assert await st.schema_version() == CURRENT_SCHEMA_VERSION
        assert await st.journal_mode() == "wal"
    assert not st.is_open
    con = raw(db_path)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"chats", "subscriptions", "progress", "deliveries", "query_log", "admin_audit",
            "schema_migrations"} <= tables
    # WAL is persistent in the file, so any other reader sees it too.
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == CURRENT_SCHEMA_VERSION
    con.close()


async def test_connection_pragmas(storage: Storage) -> None:
    db = storage._conn()
    assert (await db.execute_fetchall("PRAGMA foreign_keys"))[0][0] == 1  # type: ignore[index]
    assert (await db.execute_fetchall("PRAGMA synchronous"))[0][0] == 1  # type: ignore[index]  # 1 = NORMAL
    assert (await db.execute_fetchall("PRAGMA busy_timeout"))[0][0] == 5000  # type: ignore[index]
    # foreign keys are enforced: a ledger row for a missing subscription is refused
    with pytest.raises(sqlite3.IntegrityError):
        await claim_delivery(storage, 999, "2024-W07")


async def test_migrations_idempotent_across_reopen(db_path: Path) -> None:
    async with Storage(db_path) as st:
        await st.upsert_chat(1, "private", now=NOW)
        sub = await weekly(st, now=NOW)
    for _ in range(2):
        async with Storage(db_path) as st:
            assert await st.schema_version() == CURRENT_SCHEMA_VERSION
            assert await st.get_subscription(sub.id) == sub
            assert (await get_chat(st, 1)) is not None
    async with aiosqlite.connect(db_path, isolation_level=None) as db:
        assert await apply_migrations(db) == []
    con = raw(db_path)
    versions = [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY version")]
    con.close()
    assert versions == [m.version for m in MIGRATIONS]


async def test_newer_schema_refuses_to_open(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    con = raw(db_path)
    con.execute(f"PRAGMA user_version = {CURRENT_SCHEMA_VERSION + 1}")
    con.close()

    st = Storage(db_path)
    with pytest.raises(SchemaTooNewError) as info:
        await st.open()
    message = str(info.value)
    assert message == (
        f"database schema v{CURRENT_SCHEMA_VERSION + 1} is newer than this program supports "
        f"(v{CURRENT_SCHEMA_VERSION}); upgrade the bot"
    )
    assert "\n" not in message
    assert info.value.db_version == CURRENT_SCHEMA_VERSION + 1
    assert not st.is_open
    # nothing was touched: still the newer version, no tables created
    con = raw(db_path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == CURRENT_SCHEMA_VERSION + 1
    assert con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0
    con.close()


async def test_each_migration_is_its_own_transaction(tmp_path: Path) -> None:
    good = [
        Migration(1, "t1", "CREATE TABLE t1 (x INTEGER);"),
        Migration(2, "t2", "CREATE TABLE t2 (x INTEGER); INSERT INTO t2 VALUES (1); INSERT INTO nope VALUES (1);"),
    ]
    path = tmp_path / "m.sqlite3"
    async with aiosqlite.connect(path, isolation_level=None) as db:
        with pytest.raises(sqlite3.OperationalError, match="no such table: nope"):
            await apply_migrations(db, good)
        # v1 committed, v2 rolled back completely (table and version bump)
        assert await get_schema_version(db) == 1
        names = {r[0] for r in await db.execute_fetchall("SELECT name FROM sqlite_master")}
        assert "t1" in names and "t2" not in names
        assert not db.in_transaction

        fixed = [good[0], Migration(2, "t2", "CREATE TABLE t2 (x INTEGER); INSERT INTO t2 VALUES (1);")]
        assert await apply_migrations(db, fixed) == [2]
        assert await get_schema_version(db) == 2
        assert await apply_migrations(db, fixed) == []
        with pytest.raises(SchemaTooNewError):
            await apply_migrations(db, fixed[:1])


def test_migration_list_must_be_consecutive() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, CURRENT_SCHEMA_VERSION + 1))
    with pytest.raises(ValueError, match="expected v2, found v3"):
        asyncio.run(apply_migrations(None, [Migration(1, "a", ""), Migration(3, "c", "")]))  # type: ignore[arg-type]


def test_split_sql_handles_triggers_strings_and_comments() -> None:
    script = textwrap.dedent("""
        -- leading comment; with a semicolon
        CREATE TABLE a (x TEXT DEFAULT 'a;b');
        CREATE TRIGGER t BEFORE DELETE ON a BEGIN SELECT RAISE(ABORT, 'no; way'); END;
        -- trailing comment
    """)
    parts = split_sql(script)
    assert len(parts) == 2
    assert parts[0].endswith("DEFAULT 'a;b');")
    assert parts[1].startswith("CREATE TRIGGER") and parts[1].endswith("END;")
    with pytest.raises(ValueError, match="incomplete SQL"):
        split_sql("CREATE TABLE b (x)")


async def test_memory_database_and_closed_errors() -> None:
    st = Storage(":memory:")
    with pytest.raises(StorageClosedError):
        await get_chat(st, 1)
    async with st:
        assert await st.schema_version() == CURRENT_SCHEMA_VERSION
        await st.upsert_chat(1, "private")
    await st.close()  # idempotent
    with pytest.raises(StorageClosedError):
        await claim_delivery(st, 1, "2024-W07")


# --------------------------------------------------------------------------- chats


async def test_upsert_chat_keeps_first_seen_and_known_fields(storage: Storage) -> None:
    first = await storage.upsert_chat(-100123, "supergroup", "Ban Tuyên giáo", None, now=NOW)
    assert first.first_seen == first.last_seen == NOW and first.active
    later = NOW + timedelta(hours=3)
    again = await storage.upsert_chat(-100123, "supergroup", None, "bt_hp", now=later)
    assert again.first_seen == NOW and again.last_seen == later
    assert again.title == "Ban Tuyên giáo" and again.username == "bt_hp"
    assert await get_chat(storage, -100123) == again
    assert await get_chat(storage, 42) is None


async def test_set_chat_active(storage: Storage) -> None:
    await storage.upsert_chat(1, "private", now=NOW)
    assert await set_chat_active(storage, 1, False, "kicked")
    chat = await get_chat(storage, 1)
    assert chat is not None and not chat.active and chat.inactive_reason == "kicked"
    assert await set_chat_active(storage, 1, True, "ignored")
    chat = await get_chat(storage, 1)
    assert chat is not None and chat.active and chat.inactive_reason is None
    assert not await set_chat_active(storage, 2, False, "x")


# --------------------------------------------------------------------------- subscriptions


async def test_add_subscription_dedupes_active_same_scope_ref(storage: Storage) -> None:
    await storage.upsert_chat(1, "private", now=NOW)
    a = await storage.add_subscription(1, "target", "T01", "weekly", weekday=0, hour=8, now=NOW)
    assert (a.scope, a.ref, a.cadence, a.weekday, a.day_of_month, a.hour, a.active) == (
        "target", "T01", "weekly", 0, None, 8, True)
    assert a.created_at == a.updated_at == NOW

    later = NOW + timedelta(minutes=5)
    b = await storage.add_subscription(1, "target", "T01", "monthly", day_of_month=5, hour=9, now=later)
    assert b.id == a.id
    assert (b.cadence, b.weekday, b.day_of_month, b.hour) == ("monthly", None, 5, 9)
    assert b.created_at == NOW and b.updated_at == later

    other_ref = await storage.add_subscription(1, "target", "T02", "weekly", weekday=3)
    other_chat = await storage.add_subscription(2, "target", "T01", "weekly", weekday=3)
    all_scope = await storage.add_subscription(1, "all", None, "weekly", weekday=4)
    assert len({a.id, other_ref.id, other_chat.id, all_scope.id}) == 4
    assert all_scope.ref == ""
    assert [s.id for s in await storage.list_subscriptions(1)] == [a.id, other_ref.id, all_scope.id]
    assert await storage.get_subscription(a.id) == b
    assert await storage.get_subscription(9999) is None


async def test_add_subscription_creates_or_reactivates_chat(storage: Storage) -> None:
    sub = await weekly(storage, chat_id=77, now=NOW)
    chat = await get_chat(storage, 77)
    assert chat is not None and chat.type == "unknown" and chat.active
    await storage.deactivate_chat(77, "blocked")
    again = await weekly(storage, chat_id=77)
    assert again.id != sub.id  # the old one was deactivated, a fresh one is created
    chat = await get_chat(storage, 77)
    assert chat is not None and chat.active and chat.inactive_reason is None
    assert [s.id for s in await storage.active_subscriptions()] == [again.id]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((1, "everything", "", "weekly"), {"weekday": 0},
         "scope must be one of 'target', 'section', 'all'; got 'everything'"),
        ((1, "all", "T01", "weekly"), {"weekday": 0}, "ref must be '' for scope 'all'; got 'T01'"),
        ((1, "target", "", "weekly"), {"weekday": 0}, "ref must be a non-empty target id for scope 'target'; got ''"),
        ((1, "section", None, "weekly"), {"weekday": 0},
         "ref must be a non-empty section id for scope 'section'; got None"),
        ((1, "all", "", "daily"), {"weekday": 0}, "cadence must be 'weekly' or 'monthly'; got 'daily'"),
        ((1, "all", "", "weekly"), {}, "weekday is required for a weekly subscription"),
        ((1, "all", "", "weekly"), {"weekday": 7}, "weekday must be an integer 0..6 (0=Monday); got 7"),
        ((1, "all", "", "weekly"), {"weekday": True}, "weekday must be an integer 0..6 (0=Monday); got True"),
        ((1, "all", "", "weekly"), {"weekday": 1, "day_of_month": 3},
         "day_of_month must not be set for a weekly subscription; got 3"),
        ((1, "all", "", "monthly"), {}, "day_of_month is required for a monthly subscription (1..28)"),
        ((1, "all", "", "monthly"), {"day_of_month": 29}, "day_of_month must be an integer 1..28; got 29"),
        ((1, "all", "", "monthly"), {"day_of_month": 0}, "day_of_month must be an integer 1..28; got 0"),
        ((1, "all", "", "monthly"), {"day_of_month": 1, "weekday": 2},
         "weekday must not be set for a monthly subscription; got 2"),
        ((1, "all", "", "weekly"), {"weekday": 1, "hour": 24}, "hour must be an integer 0..23; got 24"),
        ((1, "all", "", "weekly"), {"weekday": 1, "hour": -1}, "hour must be an integer 0..23; got -1"),
        (("1", "all", "", "weekly"), {"weekday": 1}, "chat_id must be an integer; got '1'"),
    ],
)
async def test_add_subscription_validation(
    storage: Storage, args: tuple, kwargs: dict, message: str
) -> None:
    with pytest.raises(ValueError) as info:
        await storage.add_subscription(*args, **kwargs)
    assert str(info.value).startswith(message)
    assert await storage.active_subscriptions() == []


async def test_update_subscription(storage: Storage) -> None:
    sub = await storage.add_subscription(1, "target", "T01", "weekly", weekday=2, hour=7, now=NOW)
    other = await storage.add_subscription(1, "target", "T02", "weekly", weekday=2)
    later = NOW + timedelta(days=1)

    updated = await storage.update_subscription(sub.id, 1, hour=18, now=later)
    assert updated is not None and updated.hour == 18 and updated.updated_at == later

    # switching cadence drops the other cadence's field automatically
    monthly = await storage.update_subscription(sub.id, 1, cadence="monthly", day_of_month=10)
    assert monthly is not None and (monthly.cadence, monthly.weekday, monthly.day_of_month) == ("monthly", None, 10)
    back = await storage.update_subscription(sub.id, 1, cadence="weekly", weekday=6)
    assert back is not None and (back.weekday, back.day_of_month) == (6, None)

    # ref change resets the "told about a missing ref" memory
    assert await storage.mark_missing_notified(sub.id, "T01")
    assert (await storage.get_subscription(sub.id)).missing_notified_ref == "T01"  # type: ignore[union-attr]
    moved = await storage.update_subscription(sub.id, 1, ref="T03")
    assert moved is not None and moved.ref == "T03" and moved.missing_notified_ref is None
    as_all = await storage.update_subscription(sub.id, 1, scope="all")
    assert as_all is not None and (as_all.scope, as_all.ref) == ("all", "")

    # only the owning chat, only known fields, only valid values, no clash
    assert await storage.update_subscription(sub.id, 2, hour=1) is None
    assert await storage.update_subscription(12345, 1, hour=1) is None
    with pytest.raises(ValueError, match="cannot update subscription field.*active"):
        await storage.update_subscription(sub.id, 1, active=False)
    with pytest.raises(ValueError, match="hour must be an integer 0..23"):
        await storage.update_subscription(sub.id, 1, hour=99)
    with pytest.raises(ValueError, match=f"already has an active subscription .* \\(id {other.id}\\)"):
        await storage.update_subscription(sub.id, 1, scope="target", ref="T02")
    after = await storage.get_subscription(sub.id)
    assert after is not None and (after.scope, after.hour) == ("all", 18)  # failed updates changed nothing

    assert await storage.cancel_subscription(sub.id, 1)
    assert await storage.update_subscription(sub.id, 1, hour=3) is None  # cancelled ones are history


async def test_cancel_and_cancel_all(storage: Storage) -> None:
    a = await weekly(storage, 1, "target", "T01")
    b = await weekly(storage, 1, "target", "T02")
    c = await weekly(storage, 1, "section", "S1")
    d = await weekly(storage, 2, "all")
    assert not await storage.cancel_subscription(a.id, 2)  # another chat's
    assert await storage.cancel_subscription(a.id, 1)
    assert not await storage.cancel_subscription(a.id, 1)  # already cancelled
    assert [s.id for s in await storage.list_subscriptions(1)] == [b.id, c.id]
    assert await storage.cancel_all(1) == 2
    assert await storage.cancel_all(1) == 0
    assert await storage.list_subscriptions(1) == []
    history = await storage.list_subscriptions(1, active_only=False)
    assert [s.id for s in history] == [a.id, b.id, c.id] and not any(s.active for s in history)
    # re-subscribing after a cancel makes a new row; history is kept
    again = await weekly(storage, 1, "target", "T01")
    assert again.id not in {a.id, b.id, c.id, d.id}
    assert [s.id for s in await storage.active_subscriptions()] == [d.id, again.id]


async def test_deactivate_chat_and_subscriber_counts(storage: Storage) -> None:
    await storage.upsert_chat(1, "private", now=NOW)
    await weekly(storage, 1, "target", "T01")
    await weekly(storage, 1, "target", "T02")
    keep = await weekly(storage, 2, "all")
    assert await count_subscribers(storage) == 2

    assert await storage.deactivate_chat(1, "Forbidden: bot was blocked by the user") == 2
    chat = await get_chat(storage, 1)
    assert chat is not None and not chat.active
    assert chat.inactive_reason == "Forbidden: bot was blocked by the user"
    assert await storage.list_subscriptions(1) == []
    assert [s.id for s in await storage.active_subscriptions()] == [keep.id]
    assert await count_subscribers(storage) == 1
    assert await storage.deactivate_chat(1, "again") == 0
    assert await storage.deactivate_chat(999, "unknown chat") == 0

    # the chat writing again reactivates it, but not its old subscriptions
    chat = await storage.upsert_chat(1, "private")
    assert chat.active and chat.inactive_reason is None
    assert await storage.list_subscriptions(1) == []

    # an inactive chat's subscriptions are not fanned out even if still flagged active
    await set_chat_active(storage, 2, False, "paused")
    assert await storage.active_subscriptions() == []
    assert await count_subscribers(storage) == 0


async def test_mark_missing_notified(storage: Storage) -> None:
    sub = await weekly(storage, 1, "target", "T09")
    assert sub.missing_notified_ref is None
    assert await storage.mark_missing_notified(sub.id, "T09")
    assert (await storage.get_subscription(sub.id)).missing_notified_ref == "T09"  # type: ignore[union-attr]
    assert await storage.mark_missing_notified(sub.id, None)
    assert (await storage.get_subscription(sub.id)).missing_notified_ref is None  # type: ignore[union-attr]
    assert not await storage.mark_missing_notified(4242, "x")


# --------------------------------------------------------------------------- progress


async def test_progress_append_only_and_corrections(storage: Storage, db_path: Path) -> None:
    r1 = await storage.add_progress("T01", 40, date(2024, 3, 31), 11, now=NOW)
    r2 = await storage.add_progress("T01", 55.5, date(2024, 6, 30), 11, "Q2", now=NOW)
    fix = await storage.add_progress("T01", 57.0, date(2024, 6, 30), 12, "corrected figure", now=NOW)
    late = await storage.add_progress("T01", 30, date(2024, 1, 31), 11)  # back-filled older date
    await storage.add_progress("T02", 1, date(2024, 1, 1), 11)
    assert r1.value == 40.0 and isinstance(r1.value, float)
    assert r1.as_of == date(2024, 3, 31) and r1.recorded_at == NOW and r1.recorded_by == 11

    assert [r.id for r in await storage.progress_for("T01")] == [late.id, r1.id, r2.id, fix.id]
    assert await latest_progress(storage, "T01") == fix
    assert await latest_progress(storage, "nope") is None
    assert [r.id for r in await progress_series(storage, "T01")] == [late.id, r1.id, fix.id]
    latest = await storage.latest_progress_all()
    assert set(latest) == {"T01", "T02"} and latest["T01"] == fix

    # the table itself refuses UPDATE and DELETE, whoever tries
    con = raw(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE progress SET value = 0 WHERE id = ?", (r1.id,))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM progress")
    con.close()
    assert len(await storage.progress_for("T01")) == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_id": ""}, "target_id must be a non-empty string"),
        ({"value": float("nan")}, "value must be a finite number"),
        ({"value": "12"}, "value must be a finite number"),
        ({"value": True}, "value must be a finite number"),
        ({"as_of": "2024-03-31"}, "as_of must be a datetime.date"),
        ({"as_of": datetime(2024, 3, 31, tzinfo=UTC)}, "as_of must be a datetime.date"),
        ({"recorded_by": None}, "recorded_by must be an integer"),
    ],
)
async def test_add_progress_validation(storage: Storage, kwargs: dict, message: str) -> None:
    args = {"target_id": "T01", "value": 1.0, "as_of": date(2024, 1, 1), "recorded_by": 1} | kwargs
    with pytest.raises(ValueError, match=message):
        await storage.add_progress(**args)
    assert await storage.progress_for("T01") == []


# --------------------------------------------------------------------------- delivery ledger


async def test_ledger_at_most_once_and_counts(storage: Storage) -> None:
    s1 = await weekly(storage, 1)
    s2 = await weekly(storage, 2)
    assert await claim_delivery(storage, s1.id, "2024-W07", now=NOW)
    assert not await claim_delivery(storage, s1.id, "2024-W07")  # second claim loses
    row = await storage.delivery_status(s1.id, "2024-W07")
    assert row is not None and (row.status, row.attempts, row.last_error, row.updated_at) == ("sending", 0, None, NOW)

    await finish_delivery(storage, s1.id, "2024-W07", "sent", now=NOW)
    assert not await claim_delivery(storage, s1.id, "2024-W07")  # still not re-claimable once sent
    assert await claim_delivery(storage, s2.id, "2024-W07")
    await finish_delivery(storage, s2.id, "2024-W07", "failed", "Timed out", attempts=3)
    assert await claim_delivery(storage, s1.id, "2024-W08")
    assert await claim_delivery(storage, s1.id, "2024-02")
    await finish_delivery(storage, s1.id, "2024-02", "deactivated", "Forbidden: bot was blocked")

    failed = await storage.delivery_status(s2.id, "2024-W07")
    assert failed is not None and (failed.status, failed.attempts, failed.last_error) == ("failed", 3, "Timed out")
    assert await storage.delivery_status(s2.id, "2024-W08") is None
    assert await ledger_counts(storage) == {
        "sending": 1, "sent": 1, "failed": 1, "deactivated": 1, "retry": 0, "uncertain": 0}
    assert await ledger_counts(storage, "2024-W07") == {
        "sending": 0, "sent": 1, "failed": 1, "deactivated": 0, "retry": 0, "uncertain": 0}
    assert await ledger_counts(storage, "2030-W01") == {
        "sending": 0, "sent": 0, "failed": 0, "deactivated": 0, "retry": 0, "uncertain": 0}
    assert await delivered_periods(storage, s1.id) == ["2024-W07"]
    assert await delivered_periods(storage, s2.id) == []

    with pytest.raises(LookupError, match="not claimed"):
        await finish_delivery(storage, s2.id, "2024-W09", "sent")
    with pytest.raises(ValueError, match="status must be one of 'sent', 'failed', 'deactivated'; got 'sending'"):
        await finish_delivery(storage, s1.id, "2024-W08", "sending")
    with pytest.raises(ValueError, match="attempts must be a non-negative integer"):
        await finish_delivery(storage, s1.id, "2024-W08", "sent", attempts=-1)
    for bad in ("2024-W7", "2024-W54", "2024-13", "2024-3", "W07", "2024-02-14"):
        with pytest.raises(ValueError, match="period must look like '2024-W07'"):
            await claim_delivery(storage, s1.id, bad)


async def test_long_errors_are_trimmed(storage: Storage) -> None:
    sub = await weekly(storage)
    assert await claim_delivery(storage, sub.id, "2024-W07")
    await finish_delivery(storage, sub.id, "2024-W07", "failed", "x" * 10_000)
    row = await storage.delivery_status(sub.id, "2024-W07")
    assert row is not None and row.last_error is not None and len(row.last_error) == 1000


async def test_batch_claim_and_finish(storage: Storage) -> None:
    subs = [await weekly(storage, chat_id=i) for i in range(1, 6)]
    assert await claim_delivery(storage, subs[0].id, "2024-W07")
    keys = [(s.id, "2024-W07") for s in subs] + [(subs[1].id, "2024-W07")]  # one duplicate key
    claimed = await claim_deliveries(storage, keys)
    assert claimed == {(s.id, "2024-W07") for s in subs[1:]}
    assert await claim_deliveries(storage, keys) == set()
    assert await claim_deliveries(storage, []) == set()
    updated = await storage.finish_deliveries(
        [(s.id, "2024-W07", "sent", None, 1) for s in subs[1:]] + [(subs[0].id, "2099-01", "sent", None, 1)]
    )
    assert updated == 4  # the never-claimed key is skipped
    assert await ledger_counts(storage, "2024-W07") == {
        "sending": 1, "sent": 4, "failed": 0, "deactivated": 0, "retry": 0, "uncertain": 0}
    with pytest.raises(ValueError, match="period must look like"):
        await claim_deliveries(storage, [(subs[0].id, "bad")])
    # a batch larger than one INSERT chunk
    many = await claim_deliveries(storage, [(subs[0].id, f"{y}-W{w:02d}")
                                            for y in range(2040, 2080) for w in range(1, 53)])
    assert len(many) == 40 * 52


async def test_interrupted_deliveries_survive_a_crash(db_path: Path) -> None:
    async with Storage(db_path) as st:
        sub = await weekly(st, 1)
        done = await weekly(st, 2)
    # A separate process claims, finishes one, then dies mid-send without closing anything.
    script = textwrap.dedent(f"""
        import asyncio, os
        from bot.services.storage import Storage
        from tests.storage_helpers import claim_delivery, finish_delivery
        async def main():
            st = await Storage({str(db_path)!r}).open()
            assert await claim_delivery(st, {sub.id}, "2024-W07")
            assert await claim_delivery(st, {done.id}, "2024-W07")
            await finish_delivery(st, {done.id}, "2024-W07", "sent")
            os._exit(3)
        asyncio.run(main())
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr

    async with Storage(db_path) as st:
        interrupted = await interrupted_deliveries(st)
        assert [(d.subscription_id, d.period, d.status) for d in interrupted] == [(sub.id, "2024-W07", "sending")]
        assert not await claim_delivery(st, sub.id, "2024-W07")  # at-most-once: never re-sent
        assert (await st.delivery_status(done.id, "2024-W07")).status == "sent"  # type: ignore[union-attr]

    # ... and a plain close/reopen keeps them too, until someone marks them uncertain
    async with Storage(db_path) as st:
        assert len(await interrupted_deliveries(st)) == 1
        assert await st.fail_interrupted(now=NOW) == 1
        row = await st.delivery_status(sub.id, "2024-W07")
        assert row is not None and (row.status, row.last_error, row.attempts) == ("uncertain", "interrupted", 1)
        assert await interrupted_deliveries(st) == []
        assert await st.fail_interrupted() == 0


# --------------------------------------------------------------------------- query log / stats / audit


async def test_top_unanswered(storage: Storage) -> None:
    async def log(q: str, norm: str, status: str, ago: timedelta) -> None:
        await storage.log_query(1, 10, q, norm, status, now=NOW - ago)

    await log("Kết nạp bao nhiêu đảng viên?", "ket nap dang vien", "not_found", timedelta(days=3))
    await log("ket nap dang vien??", "ket nap dang vien", "clarify", timedelta(days=1))
    await log("Kết nạp đảng viên mới", "ket nap dang vien", "not_found", timedelta(hours=1))
    await log("chi bộ?", "chi bo", "not_found", timedelta(hours=2))
    await log("chi bo", "chi bo", "answer", timedelta(hours=2))  # answered: not counted
    await log("tổ chức cơ sở", "to chuc co so", "clarify", timedelta(days=2))
    await log("very old", "very old", "not_found", timedelta(days=45))  # outside the window
    await log("future", "future", "not_found", -timedelta(days=1))  # after `now`

    top = await storage.top_unanswered(days=30, limit=10, now=NOW)
    assert top == [
        UnansweredQuestion("Kết nạp đảng viên mới", "ket nap dang vien", 3, NOW - timedelta(hours=1)),
        UnansweredQuestion("chi bộ?", "chi bo", 1, NOW - timedelta(hours=2)),
        UnansweredQuestion("tổ chức cơ sở", "to chuc co so", 1, NOW - timedelta(days=2)),
    ]
    question, normalized, count, last_ts = top[0]  # plain tuple unpacking works too
    assert count == 3
    assert len(await storage.top_unanswered(days=30, limit=1, now=NOW)) == 1
    assert [t.normalized for t in await storage.top_unanswered(days=60, now=NOW)][-1] == "very old"
    with pytest.raises(ValueError, match="status must be one of"):
        await storage.log_query(1, 1, "q", "q", "maybe")


async def test_stats(storage: Storage) -> None:
    today = NOW
    yesterday = NOW - timedelta(days=1)
    for status in ("answer", "answer", "list", "not_found"):
        await storage.log_query(1, 1, "q", "q", status, top_id="T01", score=0.9, elapsed_ms=3.5, now=today)
    await storage.log_query(2, 2, "q", "q", "error", now=yesterday)
    await storage.log_query(2, 2, "q", "q", "answer", now=NOW - timedelta(days=10))  # outside the window

    s1 = await weekly(storage, 1, "target", "T01")
    await weekly(storage, 1, "target", "T02")
    s3 = await weekly(storage, 2, "all")
    cancelled = await weekly(storage, 3, "all")
    await storage.cancel_subscription(cancelled.id, 3)
    for sub_id, period, status, when in [
        (s1.id, "2024-W07", "sent", today),
        (s3.id, "2024-W07", "failed", today),
        (s1.id, "2024-W06", "sent", NOW - timedelta(days=8)),  # outside the window
    ]:
        assert await claim_delivery(storage, sub_id, period, now=when)
        await finish_delivery(storage, sub_id, period, status, now=when)

    stats = await storage.stats(days=7, now=NOW)
    assert stats["since"] == datetime(2024, 2, 8, tzinfo=UTC) and stats["until"] == NOW
    assert list(stats["questions_per_day"]) == [f"2024-02-{d:02d}" for d in range(8, 15)]
    assert stats["questions_per_day"]["2024-02-14"] == 4
    assert stats["questions_per_day"]["2024-02-13"] == 1
    assert sum(stats["questions_per_day"].values()) == stats["questions"] == 5
    assert stats["answered"] == 3 and stats["answer_rate"] == pytest.approx(0.6)
    assert stats["by_status"] == {"answer": 2, "clarify": 0, "list": 1, "not_found": 1, "error": 1}
    assert stats["subscribers"] == 2 and stats["active_subscriptions"] == 3
    assert stats["reminders_sent"] == 1 and stats["reminders_failed"] == 1

    empty = await storage.stats(days=1, now=NOW + timedelta(days=30))
    assert empty["questions"] == 0 and empty["answer_rate"] is None
    assert list(empty["questions_per_day"]) == ["2024-03-15"]
    with pytest.raises(ValueError, match="days must be a positive integer"):
        await storage.stats(days=0)


async def test_audit(storage: Storage) -> None:
    first = await storage.audit(7, "add_progress", True, "T01=57", now=NOW)
    second = await storage.audit(8, "add_progress", False, now=NOW + timedelta(seconds=1))
    entries = await recent_audit(storage, 10)
    assert [e.id for e in entries] == [second, first]  # newest first
    assert (entries[0].user_id, entries[0].allowed, entries[0].detail) == (8, False, "")
    assert (entries[1].action, entries[1].allowed, entries[1].ts) == ("add_progress", True, NOW)
    assert len(await recent_audit(storage, 1)) == 1


# --------------------------------------------------------------------------- atomicity / concurrency


async def test_failed_transaction_rolls_back(storage: Storage) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with storage._transaction() as db:
            await db.execute(
                "INSERT INTO admin_audit (ts, user_id, action, allowed) VALUES ('x', 1, 'half-done', 1)"
            )
            raise RuntimeError("boom")
    assert await recent_audit(storage, 10) == []
    # the connection is usable again: not stuck in a transaction, lock released
    assert not storage._conn().in_transaction
    await storage.audit(1, "after", True)
    assert [e.action for e in await recent_audit(storage, 10)] == ["after"]


async def test_multi_statement_write_is_atomic(storage: Storage, db_path: Path) -> None:
    await weekly(storage, 1)
    # Make the second statement of deactivate_chat fail; the first must be undone too.
    con = raw(db_path)
    con.execute(
        "CREATE TRIGGER no_sub_update BEFORE UPDATE ON subscriptions "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="injected failure"):
        await storage.deactivate_chat(1, "blocked")
    chat = await get_chat(storage, 1)
    assert chat is not None and chat.active and chat.inactive_reason is None
    con.execute("DROP TRIGGER no_sub_update")
    con.close()
    assert await storage.deactivate_chat(1, "blocked") == 1


async def test_cancelled_transaction_rolls_back(storage: Storage) -> None:
    entered = asyncio.Event()

    async def stuck() -> None:
        async with storage._transaction() as db:
            await db.execute("INSERT INTO admin_audit (ts, user_id, action, allowed) VALUES ('x', 1, 'a', 1)")
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(stuck())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await recent_audit(storage, 10) == []
    await storage.audit(1, "ok", True)
    assert len(await recent_audit(storage, 10)) == 1


async def test_concurrent_claims_yield_exactly_one_winner(storage: Storage) -> None:
    sub = await weekly(storage)
    results = await asyncio.gather(*(claim_delivery(storage, sub.id, "2024-W07") for _ in range(200)))
    assert results.count(True) == 1 and len(results) == 200
    assert await ledger_counts(storage) == {
        "sending": 1, "sent": 0, "failed": 0, "deactivated": 0, "retry": 0, "uncertain": 0}


async def test_concurrent_claims_across_two_connections(db_path: Path) -> None:
    async with Storage(db_path) as a, Storage(db_path) as b:
        sub = await weekly(a)
        results = await asyncio.gather(
            *(claim_delivery(st, sub.id, "2024-W07") for _ in range(100) for st in (a, b))
        )
        assert results.count(True) == 1


async def test_concurrent_mixed_writes_do_not_interleave(storage: Storage) -> None:
    subs = [await weekly(storage, chat_id=i) for i in range(1, 21)]

    async def fan_out(sub: Subscription) -> None:
        if await claim_delivery(storage, sub.id, "2024-W07"):
            await finish_delivery(storage, sub.id, "2024-W07", "sent")

    await asyncio.gather(
        *(fan_out(s) for s in subs),
        *(storage.deactivate_chat(i, "blocked") for i in range(1, 6)),
        *(storage.log_query(1, 1, "q", "q", "answer") for _ in range(20)),
    )
    assert await ledger_counts(storage) == {
        "sending": 0, "sent": 20, "failed": 0, "deactivated": 0, "retry": 0, "uncertain": 0}
    assert len(await storage.active_subscriptions()) == 15
    assert (await storage.stats(now=datetime.now(UTC)))["questions"] == 20


async def test_claim_finish_is_fast(storage: Storage) -> None:
    sub = await weekly(storage)
    start = time.perf_counter()
    for year in range(2000, 2020):
        for week in range(1, 51):
            period = f"{year}-W{week:02d}"
            assert await claim_delivery(storage, sub.id, period)
            await finish_delivery(storage, sub.id, period, "sent")
    elapsed = time.perf_counter() - start
    # 1,000 pairs; ~0.3 s locally. The bound is loose on purpose: it only
    # catches a regression to per-commit fsync or extra round trips gone wild.
    assert elapsed < 10, elapsed
    assert (await ledger_counts(storage))["sent"] == 1000


async def test_prune_keeps_the_retention_window(storage: Storage) -> None:
    """QUERY_LOG_RETENTION_DAYS: older questions go; handled inbox rows go after a day, pending
    ones (not yet handled) stay whatever their age."""
    now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    for days in (400, 366, 364, 1):
        await storage.log_query(1, 1, f"q{days}", f"q{days}", "answer", now=now - timedelta(days=days))
    await storage.inbox_put([(1, "{}"), (2, "{}"), (3, "{}")], now=now - timedelta(hours=30))
    await storage.inbox_done(1)
    await storage.inbox_done(2)
    await storage.inbox_put([(4, "{}")], now=now - timedelta(hours=1))
    await storage.inbox_done(4)
    removed = await storage.prune(query_log_days=365, now=now)
    assert removed == {"query_log": 2, "inbox": 2}
    left = await storage.stats(days=3650, now=now)
    assert left["questions"] == 2
    assert [uid for uid, _ in await storage.inbox_pending()] == [3]
