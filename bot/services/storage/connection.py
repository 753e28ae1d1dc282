"""The one SQLite connection behind :class:`~bot.services.storage.Storage`: open/close, the
lock, transactions and single-statement writes, fault detection and the health check.

Every repository mixin derives from :class:`StorageConnection` and reaches the database only
through its ``_transaction`` / ``_write`` / ``_write_returning`` / ``_fetchall`` / ``_fetchone``."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import aiosqlite

from bot.services.migrations import apply_migrations
from bot.services.storage.models import _ts

_DEFAULT_BUSY_TIMEOUT_MS: Final = 5000


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


class StorageConnection:
    """The shared connection and its plumbing; :class:`Storage` adds the tables' methods."""

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
                        problems = [str(r[0]) for r in await db.execute_fetchall("PRAGMA quick_check(5)")
                                    if str(r[0]) != "ok"]
                    except sqlite3.DatabaseError as exc:  # pages so damaged the check cannot read them
                        problems = [str(exc)[:_MAX_FAULT_LEN]]
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

    async def _write_many(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        """Run one statement for each of ``rows`` in ONE transaction; return the rows it changed.

        Counted with ``total_changes`` so that an INSERT ... DO NOTHING counts only new rows.
        """
        if not rows:
            return 0
        async with self._transaction() as db:
            before = db.total_changes
            await db.executemany(sql, rows)
            return db.total_changes - before

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
