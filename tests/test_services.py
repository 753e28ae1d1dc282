"""Services: scheduling rules, progress status and input, reminder fan-out, admin reload/upload."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.engine.engine import Engine
from bot.knowledge.base import load_base
from bot.knowledge.schema import Target
from bot.services.admin import CONFIRM_TTL, AdminService, EngineHolder, diff, synonym_changes
from bot.services.progress import (
    AHEAD,
    BEHIND,
    NO_DATA,
    ON_TRACK,
    ProgressInputError,
    bar,
    compute_status,
    parse_as_of,
    parse_value,
    render_chart,
    year_fraction,
)
from bot.services.reminders import ReminderService
from bot.services.schedule import due_period, fire_time_in_period, next_fire, period_of
from bot.services.sending import ChatUnavailable, FloodWait, TransientSendError
from bot.services.storage import ProgressRecord, Subscription
from tests.storage_helpers import get_chat, ledger_counts

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def target(kb, year: int = 2024, percent: bool | None = None) -> Target:
    for e in kb.of_kind("target"):
        if e.year == year and (percent is None or (e.unit == "%") == percent):
            return e
    raise AssertionError("no such target")


def sub(**kw) -> Subscription:
    base = dict(id=1, chat_id=10, scope="all", ref="", cadence="weekly", weekday=0, day_of_month=None, hour=8,
                active=True, created_at=datetime.now(UTC), updated_at=datetime.now(UTC), missing_notified_ref=None)
    base.update(kw)
    return Subscription(**base)


# -- schedule ---------------------------------------------------------------------------------------

def test_weekly_period_and_fire_time() -> None:
    s = sub(weekday=0, hour=8)
    local = datetime(2024, 2, 14, 9, 0, tzinfo=TZ)  # a Wednesday
    assert period_of(s, local) == "2024-W07"
    assert fire_time_in_period(s, local) == datetime(2024, 2, 12, 8, 0, tzinfo=TZ)


def test_due_only_after_local_hour() -> None:
    s = sub(weekday=0, hour=8)
    before = datetime(2024, 2, 12, 7, 59, tzinfo=TZ).astimezone(UTC)
    at = datetime(2024, 2, 12, 8, 0, tzinfo=TZ).astimezone(UTC)
    assert due_period(s, before, TZ) is None
    assert due_period(s, at, TZ) == "2024-W07"
    # 01:00 UTC is 08:00 in Hà Nội: the hour is local, not UTC.
    assert at.hour == 1


def test_monthly_due_and_next() -> None:
    s = sub(cadence="monthly", weekday=None, day_of_month=5, hour=9)
    now = datetime(2024, 3, 4, 12, 0, tzinfo=TZ)
    assert due_period(s, now, TZ) is None
    assert next_fire(s, now, TZ) == datetime(2024, 3, 5, 9, 0, tzinfo=TZ)
    later = datetime(2024, 3, 20, 12, 0, tzinfo=TZ)
    assert due_period(s, later, TZ) == "2024-03"
    assert next_fire(s, later, TZ) == datetime(2024, 4, 5, 9, 0, tzinfo=TZ)


# -- progress ---------------------------------------------------------------------------------------

def rec(value: float, day: date, rid: int = 1) -> ProgressRecord:
    return ProgressRecord(rid, "t", value, day, 1, datetime.now(UTC), None)


def test_year_fraction() -> None:
    assert year_fraction(date(2024, 12, 31)) == 1.0
    assert 0.49 < year_fraction(date(2024, 7, 1)) < 0.51


def test_status_verdicts(kb) -> None:
    t = target(kb, percent=False)
    goal = t.goal[0]
    mid = date(2024, 7, 1)
    expected = goal * year_fraction(mid)
    assert compute_status(t, []).verdict == NO_DATA
    assert compute_status(t, [rec(expected, mid)]).verdict == ON_TRACK
    assert compute_status(t, [rec(expected * 1.3, mid)]).verdict == AHEAD
    assert compute_status(t, [rec(expected * 0.5, mid)]).verdict == BEHIND
    # A correction for the same date (higher id) wins.
    st = compute_status(t, [rec(expected * 0.5, mid, 1), rec(expected * 1.3, mid, 2)])
    assert st.verdict == AHEAD


def test_bar() -> None:
    assert bar(48) == "▓▓▓▓▓░░░░░ 48%"
    assert bar(250).startswith("▓" * 10)


def test_parse_value_units(kb) -> None:
    count = target(kb, percent=False)
    pct = target(kb, percent=True)
    assert parse_value("1.250", count) == 1250
    assert parse_value("45%", pct) == 45
    with pytest.raises(ProgressInputError):
        parse_value("45%", count)
    with pytest.raises(ProgressInputError):
        parse_value("120", pct)
    with pytest.raises(ProgressInputError):
        parse_value("nhiều", count)


def test_parse_as_of(kb) -> None:
    t = target(kb)
    today = date(2024, 6, 30)
    assert parse_as_of("15/3", t, today) == date(2024, 3, 15)
    assert parse_as_of(None, t, today) == today
    for bad in ("31/12/2024", "15/3/2023", "32/1", "hôm qua"):
        with pytest.raises(ProgressInputError):
            parse_as_of(bad, t, today)


def test_chart_is_png(kb) -> None:
    t = target(kb, percent=False)
    records = [rec(100, date(2024, 2, 1), 1), rec(900, date(2024, 5, 1), 2)]
    png = render_chart(compute_status(t, records), records)
    assert png.startswith(b"\x89PNG") and len(png) > 2000


# -- reminders --------------------------------------------------------------------------------------

class FakeSend:
    def __init__(self) -> None:
        self.sent: list[int] = []
        self.plan: dict[int, list[Exception]] = {}

    async def __call__(self, chat_id: int, text: str) -> None:
        queue = self.plan.get(chat_id)
        if queue:
            raise queue.pop(0)
        assert "Nhắc tiến độ" in text
        self.sent.append(chat_id)


def service(storage, kb, **kw) -> ReminderService:
    kw.setdefault("rate", 1000)
    kw.setdefault("per_chat_interval", 0.0)
    kw.setdefault("backoff", 0.001)
    return ReminderService(storage, lambda: kb, TZ, **kw)


async def test_fanout_once_per_period(storage, kb) -> None:
    for chat in range(1, 21):
        await storage.add_subscription(chat, "all", "", "weekly", weekday=0, hour=8)
    svc, send = service(storage, kb), FakeSend()
    monday = datetime(2024, 2, 12, 8, 30, tzinfo=TZ)
    r1 = await svc.run_due(send, monday)
    r2 = await svc.run_due(send, monday + timedelta(hours=3))
    assert r1.sent == 20 and sorted(send.sent) == list(range(1, 21))
    assert r2.sent == 0 and r2.skipped == 20
    counts = await ledger_counts(storage, "2024-W07")
    assert counts["sent"] == 20
    # Next week it goes out again.
    r3 = await svc.run_due(send, monday + timedelta(days=7))
    assert r3.sent == 20


async def test_fanout_errors_end_in_ledger(storage, kb) -> None:
    for chat in (1, 2, 3, 4):
        await storage.add_subscription(chat, "all", "", "weekly", weekday=0, hour=8)
    send = FakeSend()
    send.plan = {
        1: [FloodWait(0.01), FloodWait(0.01)],  # waited out, then sent
        2: [ChatUnavailable("Forbidden: bot was blocked by the user")],
        3: [TransientSendError("502")] * 10,  # not taken within the run: back in the ledger as 'retry'
        4: [TransientSendError("connection refused")],  # recovers within the run
    }
    svc = service(storage, kb, max_attempts=3)
    r = await svc.run_due(send, datetime(2024, 2, 12, 9, 0, tzinfo=TZ))
    assert (r.sent, r.deactivated, r.failed, r.retry) == (2, 1, 0, 1)
    assert r.flood_waits == 2
    assert (await get_chat(storage, 2)).active is False
    assert await storage.list_subscriptions(2) == []
    counts = await ledger_counts(storage)
    assert counts["sent"] + counts["deactivated"] + counts["retry"] == 4 and counts["sending"] == 0


async def test_crash_mid_fanout_sends_only_missing(storage, kb) -> None:
    for chat in range(1, 11):
        await storage.add_subscription(chat, "all", "", "monthly", day_of_month=1, hour=8)
    now = datetime(2024, 3, 1, 8, 5, tzinfo=TZ)
    sent: list[int] = []
    hung = asyncio.Event()

    async def crashing(chat_id: int, text: str) -> None:
        if len(sent) == 4:
            hung.set()
            await asyncio.Event().wait()  # in flight when the process dies
        sent.append(chat_id)

    svc = service(storage, kb, concurrency=1)
    run = asyncio.create_task(svc.run_due(crashing, now))
    await asyncio.wait_for(hung.wait(), 5)
    run.cancel()  # the process dies mid-run
    with pytest.raises(asyncio.CancelledError):
        await run
    assert len(sent) == 4
    interrupted = await svc.recover()  # start-up after the crash
    assert interrupted == 1  # the one in flight: at most once, so it is not re-sent ('uncertain')
    send = FakeSend()
    r = await svc.run_due(send, now + timedelta(minutes=10))
    assert r.sent == 5 and not set(send.sent) & set(sent)
    counts = await ledger_counts(storage, "2024-03")
    assert counts["sent"] == 9 and counts["uncertain"] == 1


async def test_missing_target_not_sent(storage, kb) -> None:
    await storage.add_subscription(5, "target", "no-such-target", "weekly", weekday=0, hour=8)
    r = await service(storage, kb).run_due(FakeSend(), datetime(2024, 2, 12, 9, 0, tzinfo=TZ))
    assert r.sent == 0 and r.failed == 1


# -- admin ------------------------------------------------------------------------------------------

@pytest.fixture
def kdir(tmp_path) -> Path:
    d = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", d, ignore=shutil.ignore_patterns("backups"))
    return d


async def test_reload_good_and_broken(kdir) -> None:
    holder = EngineHolder(Engine(load_base(kdir)))
    admin = AdminService(holder, kdir)
    targets = kdir / "targets.yaml"
    text = targets.read_text(encoding="utf-8")
    first_target = holder.kb.of_kind("target")[0]
    # Remove one target: the reload reports it.
    start = text.index(f"  - id: {first_target.id}")
    end = text.index("\n  - id:", start + 5)
    targets.write_text(text[:start] + text[end + 1:], encoding="utf-8")
    rep = await admin.reload()
    assert rep.ok and first_target.id in rep.change.removed and rep.removed_targets == [first_target.id]
    engine_before = holder.engine
    # A broken base: the old engine keeps serving, errors name the file.
    targets.write_text("kind: target\nentries: [ {id: x", encoding="utf-8")
    rep = await admin.reload()
    assert not rep.ok and rep.errors and "targets.yaml" in rep.errors[0].file
    assert holder.engine is engine_before
    assert holder.engine.ask("chỉ tiêu kết nạp đảng viên năm 2024").status == "answer"


async def test_upload_valid_writes_backup(kdir) -> None:
    holder = EngineHolder(Engine(load_base(kdir)))
    admin = AdminService(holder, kdir, clock=lambda: datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    original = (kdir / "targets.yaml").read_text(encoding="utf-8")
    changed = original.replace("Chỉ tiêu kết nạp đảng viên mới năm 2024",
                               "Chỉ tiêu phát triển đảng viên mới năm 2024", 1)
    assert changed != original
    rep = await admin.upload("targets.yaml", changed.encode())
    assert rep.ok, rep.errors
    assert rep.backup and rep.backup.read_text(encoding="utf-8") == original
    assert (kdir / "targets.yaml").read_text(encoding="utf-8") == changed
    assert rep.change.changed


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("targets.yaml", b"kind: target\nentries: [ {id: x", "không hợp lệ"),
        ("targets.txt", b"kind: target", "Tên tệp"),
        ("../evil.yaml", b"kind: target", "Tên tệp"),
        ("big.yaml", b"#" * 1_000_001, "quá lớn"),
        ("latin.yaml", "kind: target\n# caf\xe9".encode("latin-1"), "UTF-8"),
    ],
)
async def test_upload_refused_nothing_written(kdir, name: str, content: bytes, reason: str) -> None:
    holder = EngineHolder(Engine(load_base(kdir)))
    before = {p: p.read_bytes() for p in kdir.rglob("*.yaml")}
    rep = await AdminService(holder, kdir).upload(name, content)
    assert not rep.ok and reason in rep.message
    assert {p: p.read_bytes() for p in kdir.rglob("*.yaml")} == before
    assert not (kdir / "backups").exists()


def test_diff_detects_change(kb) -> None:
    assert diff(kb, kb).added == diff(kb, kb).removed == diff(kb, kb).changed == []


async def test_mass_removal_is_held_until_confirmed_and_expires(kdir) -> None:
    now = [datetime(2024, 5, 1, 10, 0, tzinfo=UTC)]
    holder = EngineHolder(Engine(load_base(kdir)))
    admin = AdminService(holder, kdir, clock=lambda: now[0], max_removed_share=0.2)
    engine = holder.engine
    (kdir / "documents.yaml").unlink()
    held = await admin.reload()
    assert not held.ok and held.pending is not None and held.pending.removed_files == ["knowledge/documents.yaml"]
    assert holder.engine is engine
    # Not confirmed within CONFIRM_TTL: dropped, nothing applied.
    now[0] += CONFIRM_TTL + timedelta(seconds=1)
    late = await admin.confirm(held.pending.token)
    assert not late.ok and holder.engine is engine and admin.pending is None
    # Held again, and a wrong token changes nothing; the right one applies.
    held = await admin.reload()
    assert not (await admin.confirm("00000000")).ok and holder.engine is engine
    applied = await admin.confirm(held.pending.token)
    assert applied.ok and holder.engine is not engine and not holder.kb.of_kind("document")
    # SIGHUP's reload (hold=False) reports but keeps nothing to confirm.
    (kdir / "targets.yaml").unlink()
    sig = await admin.reload(hold=False)
    assert sig.pending is not None and admin.pending is None and holder.kb.of_kind("target")


async def test_removal_share_counts_per_file(kdir) -> None:
    holder = EngineHolder(Engine(load_base(kdir)))
    text = (kdir / "targets.yaml").read_text(encoding="utf-8")
    ids = [t.id for t in holder.kb.of_kind("target")]
    starts = [text.index(f"  - id: {i}\n") for i in ids[:3]]
    ends = [text.index("\n  - id:", s + 5) + 1 for s in starts]
    two = text[:starts[0]] + text[ends[0]:starts[1]] + text[ends[1]:]
    (kdir / "targets.yaml").write_text(two, encoding="utf-8")
    assert (await AdminService(holder, kdir).reload()).ok  # 2 of 24 targets: applied
    holder = EngineHolder(Engine(load_base(ROOT / "knowledge")))
    (kdir / "targets.yaml").write_text(text[:starts[0]] + text[ends[0]:starts[1]] + text[ends[1]:starts[2]]
                                       + text[ends[2]:], encoding="utf-8")
    rep = await AdminService(holder, kdir, max_removed_share=0.1).reload()
    assert rep.pending is not None  # 3 of 24 = 12.5% of the file > 10%, though 1.2% of the base
    assert (await AdminService(holder, kdir, max_removed_share=0.2).reload()).ok


async def test_upload_backups_are_pruned_to_the_newest(kdir) -> None:
    now = [datetime(2024, 5, 1, 10, 0, tzinfo=UTC)]
    holder = EngineHolder(Engine(load_base(kdir)))
    admin = AdminService(holder, kdir, clock=lambda: now[0], backups_keep=2)
    original = (kdir / "targets.yaml").read_text(encoding="utf-8")
    for i in range(4):
        now[0] += timedelta(minutes=1)
        rep = await admin.upload("targets.yaml", (original + f"# edit {i}\n").encode())
        assert rep.ok, rep.message
    kept = sorted(p.name for p in (kdir / "backups").iterdir())
    assert kept == ["targets.20240501T100300.yaml", "targets.20240501T100400.yaml"]
    assert (kdir / "backups" / kept[-1]).read_text(encoding="utf-8") == original + "# edit 2\n"


def test_synonym_changes_are_listed(kb) -> None:
    new = kb.synonyms.model_copy(update={
        "abbreviations": {**{k: v for k, v in kb.synonyms.abbreviations.items() if k != "đv"}, "qzx": "quần chúng"},
        "places": [*kb.synonyms.places, "Bạch Long Vĩ mới"],
    })
    assert synonym_changes(kb.synonyms, new) == ["viết tắt thêm 1: qzx", "viết tắt bỏ 1: đv",
                                                "địa danh thêm 1: Bạch Long Vĩ mới"]
    assert synonym_changes(kb.synonyms, kb.synonyms) == []
