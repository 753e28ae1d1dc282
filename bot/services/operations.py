"""Operating the database: the start-up probe (open, migrate, writable, WAL), online backups with
SQLite's backup API (safe while the bot runs and writes), and restoring a backup.

Every failure is a :class:`DatabaseProblem` whose message is one line naming DATABASE_PATH (or the
backup file), the cause and the fix.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.services.migrations import CURRENT_SCHEMA_VERSION, SchemaTooNewError
from bot.services.storage import Storage

BUSY_TIMEOUT_S = 10.0
# Tables every database of this bot has from its first migration on: a file without them is not
# one of our databases (another SQLite file given by mistake).
_CORE_TABLES = ("chats", "subscriptions")


class DatabaseProblem(Exception):
    """One line: which file, what is wrong, what to do."""


@dataclass(frozen=True)
class DatabaseStatus:
    """What the probe found: the schema version after migrations and the journal mode."""

    path: Path
    schema_version: int
    journal_mode: str


def _explain(path: Path, exc: BaseException) -> str:
    """The cause of a failure to open or use `path`, in words an operator can act on."""
    text = " ".join(str(exc).split())
    if text.startswith("DATABASE_PATH="):  # already one line naming the setting (Storage's own)
        text = text.split(": ", 1)[1] if ": " in text else text
    if path.is_dir():
        return "là một thư mục, không phải tệp"
    if isinstance(exc, SchemaTooNewError) or "newer than this program" in text:
        return (f"được ghi bởi phiên bản bot mới hơn ({text}); nâng cấp bot, hoặc khôi phục một bản sao lưu "
                "của phiên bản này")
    if isinstance(exc, OSError):
        return f"không tạo được ({exc.strerror or text})"
    if "not a database" in text or "malformed" in text:
        return f"không phải cơ sở dữ liệu SQLite hợp lệ ({text})"
    return text or type(exc).__name__


def _line(path: Path, exc: BaseException) -> str:
    return (f"DATABASE_PATH={path}: {_explain(path, exc)}; sửa DATABASE_PATH trong .env (một tệp trong thư mục "
            "mà bot ghi được)")


def _try_write(path: Path) -> None:
    """Take SQLite's write lock and give it back: the file and its folder are writable (the -wal
    and -shm files can be created), without changing anything."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    finally:
        conn.close()


async def probe_database(path: Path) -> DatabaseStatus:
    """Open the database as the bot does (create, migrate), check that it takes writes and is in
    WAL mode; close it. Raises DatabaseProblem (one line) on any failure."""
    import asyncio

    path = Path(path)
    if path.is_dir():  # found here, before SQLite's own less telling "unable to open database file"
        raise DatabaseProblem(_line(path, IsADirectoryError(21, "Is a directory")))
    storage = Storage(path)
    try:
        await storage.open()
    except (OSError, sqlite3.Error, RuntimeError) as exc:  # RuntimeError: SchemaTooNewError, Storage's own
        raise DatabaseProblem(_line(path, exc)) from exc
    try:
        version = await storage.schema_version()
        mode = (await storage.journal_mode()).lower()
    finally:
        await storage.close()
    try:
        await asyncio.to_thread(_try_write, path)
    except sqlite3.Error as exc:
        raise DatabaseProblem(f"DATABASE_PATH={path}: không ghi được ({exc}); cấp quyền ghi cho tệp và thư mục "
                              "của nó cho người chạy bot") from exc
    if mode != "wal":
        raise DatabaseProblem(f"DATABASE_PATH={path}: chế độ nhật ký là {mode}, không phải WAL (hệ tệp không hỗ "
                              "trợ bộ nhớ chung, ví dụ thư mục mạng?); đặt cơ sở dữ liệu trên ổ đĩa cục bộ")
    return DatabaseStatus(path, version, mode)


# -- backup and restore ------------------------------------------------------------------------


def default_backup_path(database: Path, now: datetime | None = None) -> Path:
    """`data/backups/bot-20240312T081500.sqlite3` for `data/bot.sqlite3`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    return database.parent / "backups" / f"{database.stem}-{stamp}{database.suffix or '.sqlite3'}"


def _check_file(path: Path, what: str) -> tuple[int, int]:
    """Integrity and identity of a database file: (schema version, page count); DatabaseProblem if
    it is not a sound database of this bot."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise DatabaseProblem(f"{what} {path}: không đọc được như cơ sở dữ liệu SQLite ({exc})") from exc
    problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
    if problems:
        raise DatabaseProblem(f"{what} {path}: hỏng ({'; '.join(problems)[:200]}); dùng một bản sao lưu khác")
    missing = [t for t in _CORE_TABLES if t not in tables]
    if missing:
        raise DatabaseProblem(f"{what} {path}: không phải cơ sở dữ liệu của bot (thiếu bảng {', '.join(missing)})")
    if version > CURRENT_SCHEMA_VERSION:
        raise DatabaseProblem(f"{what} {path}: do phiên bản bot mới hơn ghi (schema v{version} > "
                              f"v{CURRENT_SCHEMA_VERSION}); nâng cấp bot trước khi khôi phục")
    return version, pages


def _copy(source: Path, dest: Path) -> None:
    """SQLite's online backup of `source` into a new file `dest` (atomically, private, standalone:
    rollback journal, no -wal beside it)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.partial")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_S)
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)  # it holds users' questions and ids
        os.close(fd)
        dst = sqlite3.connect(tmp)
        try:
            # One step (pages=-1): the copy is one consistent snapshot, even while the bot writes
            # (WAL: the bot's writes go on meanwhile, they are simply not in this copy).
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, dest)


@dataclass(frozen=True)
class BackupResult:
    """Where the backup went, its schema version and size in bytes."""

    path: Path
    schema_version: int
    size: int


def backup_database(database: Path, dest: Path | None = None, *, now: datetime | None = None) -> BackupResult:
    """Copy the live database to `dest` (default: :func:`default_backup_path`) with SQLite's backup
    API and verify the copy. Raises DatabaseProblem (one line)."""
    database = Path(database)
    if not database.is_file():
        raise DatabaseProblem(f"DATABASE_PATH={database}: chưa có cơ sở dữ liệu ở đó (bot tạo nó ở lần chạy đầu); "
                              "kiểm tra DATABASE_PATH trong .env")
    dest = Path(dest) if dest is not None else default_backup_path(database, now)
    if dest.exists() and dest.resolve() == database.resolve():
        raise DatabaseProblem(f"{dest}: là chính cơ sở dữ liệu đang dùng; chọn một tệp khác cho bản sao lưu")
    if dest.is_dir():
        dest = dest / default_backup_path(database, now).name
    try:
        _copy(database, dest)
    except sqlite3.Error as exc:
        raise DatabaseProblem(f"DATABASE_PATH={database}: sao lưu không được ({exc}); chạy `python -m bot doctor`"
                              ) from exc
    except OSError as exc:
        raise DatabaseProblem(f"{dest}: không ghi được bản sao lưu ({exc.strerror or exc}); chọn thư mục ghi được"
                              ) from exc
    version, _ = _check_file(dest, "bản sao lưu")
    return BackupResult(dest, version, dest.stat().st_size)


def restore_database(backup: Path, database: Path, *, now: datetime | None = None) -> BackupResult | None:
    """Replace the database with `backup` (checked first: sound, of this bot, not newer). The
    database it replaces is backed up first (returned; None when there was none). Stop the bot
    before restoring: a running bot keeps writing to what it opened."""
    backup, database = Path(backup), Path(database)
    if not backup.is_file():
        raise DatabaseProblem(f"{backup}: không có tệp sao lưu ở đó")
    _check_file(backup, "bản sao lưu")
    before = None
    if database.is_file():
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
        before = backup_database(database, database.parent / "backups" / f"{database.stem}-before-restore-{stamp}"
                                 f"{database.suffix or '.sqlite3'}")
    database.parent.mkdir(parents=True, exist_ok=True)
    tmp = database.with_name(f".{database.name}.restoring")
    try:
        _copy(backup, tmp)
        # The -wal/-shm of the replaced file belong to it: left beside the restored one, SQLite
        # would replay the old file's last writes into it.
        for suffix in ("-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, database)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DatabaseProblem(f"DATABASE_PATH={database}: không khôi phục được ({exc.strerror or exc})") from exc
    return before
