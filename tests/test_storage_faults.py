"""Storage faults and process hygiene (issue 10): read-only, corrupt and deleted databases are found
at start or on the next write and stop the bot with one line naming DATABASE_PATH; the database is
created 0600; the engine worker dies with its parent; a start-up BrokenPipeError is an error."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from bot.failure import OperatorError
from bot.services.ratelimit import RateLimiter
from bot.services.storage import Storage, StorageFault, _fault_kind
from tests.emulator import Emulator
from tests.test_telegram_reminders import until

ROOT = Path(__file__).resolve().parents[1]
ADMIN = 930001


async def make_db(path: Path, rows: int = 0) -> None:
    async with Storage(path) as st:
        for i in range(rows):
            await st.log_query(1, 1, f"câu hỏi số {i} " + "x" * 200, "q", "answer")


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The database file and its folder read-only (chattr +i as root, chmod otherwise)."""
    files = [p for p in path.parent.iterdir()]
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("root without chattr: cannot make a file read-only")
        targets = [*files, path.parent]
        done = [p for p in targets if subprocess.run(["chattr", "+i", str(p)], capture_output=True).returncode == 0]
        if len(done) != len(targets):
            subprocess.run(["chattr", "-i", *map(str, done)], capture_output=True)
            pytest.skip("chattr +i not supported here")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *map(str, targets)], capture_output=True)
    else:
        for p in files:
            p.chmod(0o444)
        path.parent.chmod(0o555)
        try:
            yield
        finally:
            path.parent.chmod(0o755)
            for p in files:
                p.chmod(0o644)


async def test_database_created_private(tmp_path: Path) -> None:
    db = tmp_path / "data" / "bot.sqlite3"
    await make_db(db, rows=1)
    assert db.stat().st_mode & 0o777 == 0o600
    loose = tmp_path / "loose.sqlite3"
    await make_db(loose)
    loose.chmod(0o644)
    async with Storage(loose):
        assert loose.stat().st_mode & 0o777 == 0o600  # tightened when opened


async def test_read_only_database_refused_at_start(tmp_path: Path) -> None:
    db = tmp_path / "ro" / "bot.sqlite3"
    await make_db(db, rows=3)
    with read_only(db):
        st = Storage(db)
        with pytest.raises(StorageFault) as info:
            await st.open()
            await st.check_health()
        await st.close()
    assert str(info.value).startswith(f"DATABASE_PATH={db}: ") and "\n" not in str(info.value)


async def test_corrupt_database_refused_at_start(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageFault, match=f"DATABASE_PATH={garbage}: cannot be used .*not a database"):
        await Storage(garbage).open()
    # Partly corrupt: the header is fine, a page in the middle of the query log is not.
    db = tmp_path / "partly.sqlite3"
    await make_db(db, rows=400)
    con = sqlite3.connect(db)
    page = con.execute("PRAGMA page_size").fetchone()[0]
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    with open(db, "r+b") as f:
        f.seek(page * 20)
        f.write(random.Random(7).randbytes(page * 3))  # fixed bytes: the same damage every run
    st = Storage(db)
    with pytest.raises(StorageFault, match="integrity check failed"):
        await st.open()
        await st.check_health(integrity=True)
    await st.close()


async def test_deleted_database_stops_the_bot_instead_of_acknowledging(telegram_bot, emulator: Emulator,
                                                                      tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from tests.test_telegram_reminders import FakeClock, features

    stopped = asyncio.Event()
    async with telegram_bot(admin_ids=str(ADMIN),
                            extra_handlers=features(FakeClock(datetime(2024, 3, 20, tzinfo=UTC)))) as bot:
        bot.app.bot_data.stopper = stopped.set
        storage = bot.answers.storage
        [ok] = await bot.say(ADMIN, "/capnhat 1 100 15/3/2024")
        assert ok["text"].startswith("✅ Đã ghi nhận: 100")
        os.unlink(storage.path)  # the database deleted under the running bot
        emulator.inject_message(ADMIN, "/capnhat 1 200 16/3/2024")
        # The update cannot be written to the inbox: the bot stops without confirming it to
        # Telegram (which sends it again after a restart) and without acknowledging the record.
        await asyncio.wait_for(stopped.wait(), 5)
        assert [m["text"][:22] for m in emulator.sent_messages(ADMIN)] == [ok["text"][:22]]
        message = bot.app.bot_data.fatal
        assert message == f"DATABASE_PATH={storage.path}: the database file was deleted while the bot was running"
        with pytest.raises(StorageFault):
            await storage.add_progress("x", 1, date(2024, 3, 1), 1)


async def test_start_on_a_corrupt_database_is_one_line(telegram_bot, tmp_path: Path) -> None:
    db = tmp_path / "bad.sqlite3"
    db.write_bytes(b"\0garbage" * 1000)
    with pytest.raises((OperatorError, StorageFault)) as info:
        async with telegram_bot(database_path=db):
            pass
    assert str(info.value).startswith(f"DATABASE_PATH={db}") and "\n" not in str(info.value)


def test_disk_errors_mark_the_storage_faulty() -> None:
    assert _fault_kind(sqlite3.OperationalError("database or disk is full"))
    assert _fault_kind(sqlite3.OperationalError("attempt to write a readonly database"))
    assert _fault_kind(sqlite3.IntegrityError("UNIQUE constraint failed")) is None


def test_rate_limiter_bucket() -> None:
    t = [0.0]
    rl = RateLimiter(burst=3, per_minute=6, clock=lambda: t[0])  # a token every 10 s
    verdicts = [rl.check(1) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert [v.notify for v in verdicts[3:]] == [True, False]  # one notice per episode
    assert rl.check(2).allowed  # another user is not affected
    t[0] = 10.0
    assert rl.check(1).allowed and not rl.check(1).allowed
    assert rl.check(1).notify is False and rl.refused == 4
    t[0] = 20.0
    assert rl.check(1).allowed
    assert rl.check(1).notify  # a new episode, a new notice


def test_engine_worker_dies_with_its_parent(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import os, sys, time
        from bot.services.answers import _make_pool
        pool = _make_pool({"tiny": "engine"}, 1)
        pid = pool.submit(os.getpid).result(60)
        print(pid, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)

        def gone() -> bool:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                return True
            state = Path(f"/proc/{worker}/stat")
            return state.exists() and state.read_text().split(") ")[1].startswith("Z")

        asyncio.run(until(gone, timeout=20, interval=0.05))
    finally:
        if parent.poll() is None:
            parent.kill()


def test_run_exits_non_zero_on_a_start_up_broken_pipe(monkeypatch, capsys) -> None:
    from bot import cli
    from bot.transports.telegram import serve

    def broken(settings=None):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(serve, "serve", broken)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:" + "A" * 35)
    assert cli.main(["run"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "BrokenPipeError" in err[0]
