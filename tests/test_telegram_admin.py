"""End to end: admin operations — /reload (and SIGHUP), YAML upload, /chuatraloi, /thongke, refusals."""

from __future__ import annotations

import os
import re
import shutil
import signal
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.engine.engine import Engine
from bot.knowledge.base import load_base
from bot.transports.telegram.shared import ADMIN_ONLY
from tests.emulator import Emulator
from tests.storage_helpers import recent_audit
from tests.test_bounded_input import ANCHOR_BOMB
from tests.test_telegram_reminders import FakeClock, features, reminders, settle, until

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN = 910001
USER = 910002
FOLLOWER = 910003
OTHER = 910004
T1 = "chi-tieu-2024-ket-nap-dang-vien"
T2 = "chi-tieu-2024-thanh-lap-to-chuc-dang"
OLD_TITLE = "Chỉ tiêu kết nạp đảng viên mới năm 2024"
NEW_TITLE = "Chỉ tiêu phát triển đảng viên mới năm 2024"
QUESTION = "Chỉ tiêu kết nạp đảng viên năm 2024 là bao nhiêu?"
BROKEN = "kind: target\nentries: [ {id: x"


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    """A copy of the knowledge base the test may edit."""
    d = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", d, ignore=shutil.ignore_patterns("backups"))
    return d


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def without_target(text: str, target_id: str) -> str:
    start = text.index(f"  - id: {target_id}")
    end = text.index("\n  - id:", start + 5)
    return text[:start] + text[end + 1:]


def clock() -> FakeClock:
    return FakeClock(datetime(2024, 2, 12, 7, 0, tzinfo=TZ))  # Monday 07:00: Monday-08:00 reminders not due


async def test_non_admin_is_refused_every_admin_command(telegram_bot, emulator: Emulator, kdir: Path) -> None:
    before = snapshot(kdir)
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(clock())) as bot:
        for command in ("/reload", "/chuatraloi", "/thongke", "/capnhat 1 100", "/capnhat"):
            [reply] = await bot.say(USER, command)
            assert reply["text"] == ADMIN_ONLY, command
        emulator.inject_document(USER, "targets.yaml", BROKEN.encode())
        upload = (await emulator.wait_for_messages(USER, 6))[-1]
        assert upload["text"] == ADMIN_ONLY
        assert emulator.calls("getFile") == []
        audit = await recent_audit(bot.answers.storage)
        assert sorted((a.action, a.user_id, a.allowed) for a in audit) == sorted(
            (action, USER, False) for action in ("reload", "chuatraloi", "thongke", "capnhat", "capnhat", "upload"))
        # The admin may.
        [ok] = await bot.say(ADMIN, "/thongke")
        assert ok["text"].startswith("📊 Thống kê 7 ngày")
        assert (await recent_audit(bot.answers.storage, 1))[0].allowed
    assert snapshot(kdir) == before


async def test_reload_good_base(telegram_bot, kdir: Path) -> None:
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(clock())) as bot:
        targets = kdir / "targets.yaml"
        targets.write_text(targets.read_text(encoding="utf-8").replace(OLD_TITLE, NEW_TITLE, 1), encoding="utf-8")
        [reply] = await bot.say(ADMIN, "/reload")
        n = len(bot.answers.kb.entries)
        assert reply["text"] == f"✅ Đã nạp lại: {n} mục (thêm 0; bỏ 0; sửa 1: {T1})."
        [answer] = await bot.say(USER, QUESTION)
        assert answer["text"].startswith(NEW_TITLE)
        [entry] = await recent_audit(bot.answers.storage, 1)
        assert (entry.user_id, entry.action, entry.allowed, entry.detail) == (
            ADMIN, "reload", True, f"thêm 0; bỏ 0; sửa 1: {T1}")


async def test_reload_broken_base_keeps_the_old_one(telegram_bot, kdir: Path) -> None:
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(clock())) as bot:
        engine = bot.answers.engine
        (kdir / "targets.yaml").write_text(BROKEN, encoding="utf-8")
        [reply] = await bot.say(ADMIN, "/reload")
        lines = reply["text"].splitlines()
        assert lines[0] == "❌ Cơ sở dữ liệu mới có lỗi; vẫn dùng bản cũ."
        assert lines[1].startswith("• knowledge/targets.yaml:") and "invalid YAML" in lines[1]
        assert bot.answers.engine is engine
        [answer] = await bot.say(USER, QUESTION)
        assert answer["text"].startswith(OLD_TITLE)
        # An entry error names the file, the entry and the field.
        text = (ROOT / "knowledge" / "targets.yaml").read_text(encoding="utf-8")
        (kdir / "targets.yaml").write_text(text.replace("    year: 2024\n", "    year: hai nghìn\n", 1),
                                           encoding="utf-8")
        [reply] = await bot.say(ADMIN, "/reload")
        assert "• knowledge/targets.yaml:" in reply["text"] and f"entry '{T1}', field 'year'" in reply["text"]
        [answer] = await bot.say(USER, QUESTION)
        assert answer["text"].startswith(OLD_TITLE)


async def test_reload_removing_a_followed_target_tells_its_subscribers_once(
        telegram_bot, emulator: Emulator, kdir: Path) -> None:
    c = clock()
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(c)) as bot:
        storage = bot.answers.storage
        for chat, ref in ((FOLLOWER, T1), (OTHER, T2)):
            await storage.upsert_chat(chat, "private")
            await storage.add_subscription(chat, "target", ref, "weekly", weekday=0, hour=8, now=c())
        targets = kdir / "targets.yaml"
        original = targets.read_text(encoding="utf-8")
        targets.write_text(without_target(original, T1), encoding="utf-8")
        [reply] = await bot.say(ADMIN, "/reload")
        assert f"bỏ 1: {T1}" in reply["text"]
        assert reply["text"].endswith(f"Chỉ tiêu bị bỏ: {T1}. Người theo dõi các chỉ tiêu này sẽ được báo "
                                      "(1 tin nhắn, gửi dần).")
        [notice] = await emulator.wait_for_messages(FOLLOWER, 1)

        async def marked() -> bool:
            [s] = await storage.list_subscriptions(FOLLOWER)
            return s.missing_notified_ref == T1

        await until(marked)
        assert notice["text"].startswith(f"⚠️ Chỉ tiêu «{OLD_TITLE}» mà bạn theo dõi không còn trong cơ sở dữ liệu")
        assert emulator.sent_messages(OTHER) == []
        # Told once: another reload, a restart of the job, nothing more. The subscription is kept.
        await bot.say(ADMIN, "/reload")
        assert len(emulator.sent_messages(FOLLOWER)) == 1
        [sub] = await storage.list_subscriptions(FOLLOWER)
        assert (sub.ref, sub.active, sub.missing_notified_ref) == (T1, True, T1)
        [listing] = await bot.say(FOLLOWER, "/dangtheodoi")
        assert f"1. chỉ tiêu {T1} (không còn trong cơ sở dữ liệu) — hằng tuần, Thứ Hai lúc 08:00" in listing["text"]
        # Its reminder is not sent (nothing to show) and ends in the ledger as failed.
        c.set(datetime(2024, 2, 12, 8, 0, 1, tzinfo=TZ))
        await until(lambda: reminders(emulator, OTHER))
        await settle(bot, 3)
        assert reminders(emulator, FOLLOWER) == []
        assert (await storage.delivery_status(sub.id, "2024-W07")).status == "failed"
        # The target comes back: the mark is cleared, so a later removal is told again.
        targets.write_text(original, encoding="utf-8")
        [back] = await bot.say(ADMIN, "/reload")
        assert f"thêm 1: {T1}" in back["text"]
        assert (await storage.get_subscription(sub.id)).missing_notified_ref is None
    # A restart with the target gone again (edited while the bot was down): told once at start-up.
    targets.write_text(without_target(original, T1), encoding="utf-8")
    engine = Engine(load_base(kdir))
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, engine=engine, extra_handlers=features(c)) as bot:
        await until(lambda: len(emulator.sent_messages(FOLLOWER)) >= 3, timeout=5)
        await settle(bot, 3)
        assert [m["text"][:2] for m in emulator.sent_messages(FOLLOWER)].count("⚠️") == 2


async def test_sighup_reloads(telegram_bot, kdir: Path) -> None:
    if not hasattr(signal, "SIGHUP"):
        pytest.skip("no SIGHUP on this platform")
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(clock())) as bot:
        assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        targets = kdir / "targets.yaml"
        targets.write_text(targets.read_text(encoding="utf-8").replace(OLD_TITLE, NEW_TITLE, 1), encoding="utf-8")
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: bot.answers.get(T1).title == NEW_TITLE)
        [answer] = await bot.say(USER, QUESTION)
        assert answer["text"].startswith(NEW_TITLE)
        [entry] = await recent_audit(bot.answers.storage, 1)
        assert (entry.user_id, entry.action, entry.detail) == (0, "reload", f"SIGHUP: thêm 0; bỏ 0; sửa 1: {T1}")
    assert signal.getsignal(signal.SIGHUP) in (signal.SIG_DFL, None)  # removed with the app


async def test_yaml_upload_good(telegram_bot, emulator: Emulator, kdir: Path) -> None:
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(clock())) as bot:
        original = (kdir / "targets.yaml").read_text(encoding="utf-8")
        changed = original.replace(OLD_TITLE, NEW_TITLE, 1)
        emulator.inject_document(ADMIN, "targets.yaml", changed.encode())
        [reply] = await emulator.wait_for_messages(ADMIN, 1)
        m = re.match(r"✅ Đã ghi targets\.yaml \(bản cũ lưu ở (targets\.\d{8}T\d{6}\.yaml)\)\. Đã nạp lại: \d+ mục "
                     rf"\(thêm 0; bỏ 0; sửa 1: {T1}\)\.$", reply["text"])
        assert m, reply["text"]
        assert (kdir / "targets.yaml").read_text(encoding="utf-8") == changed
        assert (kdir / "backups" / m.group(1)).read_text(encoding="utf-8") == original
        assert len(emulator.calls("getFile")) == 1
        [answer] = await bot.say(USER, QUESTION)
        assert answer["text"].startswith(NEW_TITLE)
        [entry] = await recent_audit(bot.answers.storage, 1)
        assert (entry.action, entry.allowed, entry.detail) == (
            "upload", True, f"targets.yaml: thêm 0; bỏ 0; sửa 1: {T1}")


@pytest.mark.parametrize(
    ("name", "content", "reply", "downloaded"),
    [
        ("big.yaml", b"#" * 1_000_001, "Tệp «big.yaml» quá lớn (1.000.001 byte); tối đa 1 MB. Không tải về", False),
        ("notes.txt", b"kind: target\n", "Tệp «notes.txt» không phải tệp YAML", False),
        ("targets.yaml", BROKEN.encode(),
         "❌ Tệp targets.yaml không hợp lệ; không ghi gì.\n• knowledge/targets.yaml:", True),
        ("targets.yaml", b"kind: target\nentries:\n  - id: X\n",
         "❌ Tệp targets.yaml không hợp lệ; không ghi gì.", True),
        ("latin.yaml", "# caf\xe9".encode("latin-1"), "❌ Tệp không phải văn bản UTF-8.", True),
        ("../evil.yaml", b"kind: target\n", "Tên tệp «../evil.yaml» không hợp lệ", False),
        ("targets.yml", b"kind: target\n", "Tệp «targets.yml» có đuôi .yml", False),
        ("targets.yaml", ANCHOR_BOMB.encode(), "❌ Tệp targets.yaml không hợp lệ; không ghi gì.\n"
         "• knowledge/targets.yaml:6: invalid YAML: aliases expand to more than 100.000 nodes", True),
    ],
)
async def test_yaml_upload_refused_nothing_written(telegram_bot, emulator: Emulator, kdir: Path, name: str,
                                                   content: bytes, reply: str, downloaded: bool) -> None:
    before = snapshot(kdir)
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(clock())) as bot:
        engine = bot.answers.engine
        emulator.inject_document(ADMIN, name, content)
        [answer] = await emulator.wait_for_messages(ADMIN, 1)
        assert answer["text"].startswith(reply), answer["text"]
        assert bool(emulator.calls("getFile")) is downloaded
        assert bot.answers.engine is engine
        assert await bot.quiet(ADMIN) == []  # one reply, whatever the file held
        entry = next(e for e in await recent_audit(bot.answers.storage, 5) if e.action == "upload")
        assert entry.user_id == ADMIN
    assert snapshot(kdir) == before


async def test_unanswered_questions_and_stats(telegram_bot, emulator: Emulator) -> None:
    c = clock()
    async with telegram_bot(admin_ids=str(ADMIN), extra_handlers=features(c)) as bot:
        [empty] = await bot.say(ADMIN, "/chuatraloi")
        assert empty["text"] == "Không có câu hỏi nào chưa trả lời được trong 30 ngày qua."
        for question in ("thời tiết Hải Phòng hôm nay thế nào", "giá vàng hôm nay",
                         "Thời tiết Hải Phòng hôm nay thế nào?", QUESTION):
            await bot.say(USER, question)
        [top] = await bot.say(ADMIN, "/chuatraloi")
        lines = top["text"].splitlines()
        assert lines[0] == "Câu hỏi chưa trả lời được nhiều nhất (30 ngày qua)"
        assert re.fullmatch(r"1\. «Thời tiết Hải Phòng hôm nay thế nào\?» — 2 lần, gần nhất \d\d/\d\d/\d{4}", lines[1])
        assert lines[2].startswith("2. «giá vàng hôm nay» — 1 lần")
        assert "aliases" in lines[-1]
        [bad] = await bot.say(ADMIN, "/chuatraloi mười")
        assert bad["text"] == "Số ngày phải là số nguyên từ 1 đến 366, ví dụ: /chuatraloi 7. Bạn gõ: «mười»."
        # A subscriber, and one reminder sent.
        await bot.answers.storage.add_subscription(USER, "all", "", "weekly", weekday=0, hour=8, now=c())
        c.set(datetime(2024, 2, 12, 8, 0, 1, tzinfo=TZ))
        await until(lambda: reminders(emulator, USER))
        [stats] = await bot.say(ADMIN, "/thongke")
        lines = stats["text"].splitlines()
        assert lines[0].startswith("📊 Thống kê 7 ngày (")
        assert lines[1] == "Câu hỏi: 4; trả lời được: 1 (25%)"
        assert lines[2].count(" · ") == 6 and lines[2].endswith(": 4")
        assert lines[3] == "Theo kết quả: trả lời 1 · danh sách 0 · hỏi lại 0 · không tìm thấy 3 · lỗi 0"
        assert lines[4] == "Người theo dõi: 1 (1 lịch nhắc)"
        assert lines[5] == "Nhắc tiến độ: đã gửi 1 · lỗi 0 · gián đoạn, không rõ đã tới chưa 0 · đang chờ gửi lại 0"
        [bad] = await bot.say(ADMIN, "/thongke 0")
        assert bad["text"].startswith("Số ngày phải là số nguyên từ 1 đến 366")
        actions = [a.action for a in await recent_audit(bot.answers.storage) if a.allowed]
        assert actions.count("chuatraloi") == 2 and actions.count("thongke") == 1


# -- a change that removes too much waits for confirmation -------------------------------------------


async def edited(emulator: Emulator, chat: int, message_id: int, prefix: str) -> str:
    """Wait until the bot has edited the message to a text starting with ``prefix``; return it."""
    await emulator.wait_for(lambda: emulator.get_message(chat, message_id)["text"].startswith(prefix))
    return emulator.get_message(chat, message_id)["text"]


def confirm_buttons(message: dict) -> dict[str, str]:
    """{label: callback_data} of the Áp dụng / Huỷ buttons."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def test_reload_of_a_deleted_file_waits_for_confirmation(telegram_bot, emulator: Emulator,
                                                                kdir: Path) -> None:
    """targets.yaml deleted + /reload: nothing removed, nobody told, until the admin presses Áp
    dụng; Huỷ leaves the base as it was; a non-admin's press is refused."""
    c = clock()
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(c)) as bot:
        storage = bot.answers.storage
        await storage.upsert_chat(FOLLOWER, "private")
        await storage.add_subscription(FOLLOWER, "target", T1, "weekly", weekday=0, hour=8, now=c())
        engine = bot.answers.engine
        targets = len([e for e in engine.kb.entries if engine.kb.files[e] == "knowledge/targets.yaml"])
        (kdir / "targets.yaml").unlink()
        [held] = await bot.say(ADMIN, "/reload")
        assert held["text"].startswith(f"⚠️ Thay đổi này mất cả tệp knowledge/targets.yaml; bỏ {targets}/")
        assert held["text"].endswith("vẫn dùng bản cũ. Xác nhận để áp dụng, hoặc huỷ.")
        buttons = confirm_buttons(held)
        assert list(buttons) == ["✅ Áp dụng", "✖️ Huỷ"]
        assert bot.answers.engine is engine
        [answer] = await bot.say(USER, QUESTION)
        assert answer["text"].startswith(OLD_TITLE)
        # Somebody else sends the button's data (forged, on a message of their own): refused.
        await bot.press(USER, answer["message_id"], buttons["✅ Áp dụng"], n=0, check_button=False)
        assert emulator.callback_answers[-1].get("text") == ADMIN_ONLY
        assert bot.answers.engine is engine
        # Huỷ: dropped; the same Áp dụng afterwards is stale.
        await bot.press(ADMIN, held["message_id"], buttons["✖️ Huỷ"], n=0)
        await edited(emulator, ADMIN, held["message_id"], "Đã huỷ; không thay đổi gì")
        # (pressed from another device that still shows the buttons)
        await bot.press(ADMIN, held["message_id"], buttons["✅ Áp dụng"], n=0, check_button=False)
        await edited(emulator, ADMIN, held["message_id"], "Yêu cầu này đã hết hạn")
        assert bot.answers.engine is engine and emulator.sent_messages(FOLLOWER) == []
        # Asked again and confirmed: applied, and the follower is told.
        [held] = await bot.say(ADMIN, "/reload")
        await bot.press(ADMIN, held["message_id"], confirm_buttons(held)["✅ Áp dụng"], n=0)
        applied = await edited(emulator, ADMIN, held["message_id"], "✅ Đã nạp lại:")
        assert f"bỏ {targets}" in applied, applied
        assert T1 not in bot.answers.engine.kb.entries
        [notice] = await emulator.wait_for_messages(FOLLOWER, 1)
        assert notice["text"].startswith("⚠️ Chỉ tiêu")
        actions = [(e.action, e.detail.split(" ")[0]) for e in await recent_audit(storage, 4)]
        assert ("reload-confirm", "apply") in actions and ("reload-confirm", "cancel") in actions


async def test_sighup_never_applies_a_mass_removal(telegram_bot, kdir: Path) -> None:
    if not hasattr(signal, "SIGHUP"):
        pytest.skip("no SIGHUP on this platform")
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(clock())) as bot:
        engine = bot.answers.engine
        (kdir / "targets.yaml").unlink()
        os.kill(os.getpid(), signal.SIGHUP)

        async def audited() -> bool:
            return any(e.action == "reload" for e in await recent_audit(bot.answers.storage, 3))

        await until(audited)
        [entry] = [e for e in await recent_audit(bot.answers.storage, 3) if e.action == "reload"]
        assert (entry.detail.startswith("SIGHUP: held for confirmation")
                and "mất cả tệp knowledge/targets.yaml" in entry.detail)
        assert bot.answers.engine is engine
        [answer] = await bot.say(USER, QUESTION)
        assert answer["text"].startswith(OLD_TITLE)


async def test_upload_emptying_a_file_is_written_only_when_confirmed(telegram_bot, emulator: Emulator,
                                                                      kdir: Path) -> None:
    before = snapshot(kdir)
    original = (kdir / "targets.yaml").read_text(encoding="utf-8")
    one = original[:original.index("  - id:", original.index("  - id:") + 1)]  # the first target only
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(clock())) as bot:
        engine = bot.answers.engine
        emulator.inject_document(ADMIN, "targets.yaml", one.encode())
        [held] = await emulator.wait_for_messages(ADMIN, 1)
        assert held["text"].startswith("⚠️ Chưa ghi targets.yaml. Thay đổi này bỏ "), held["text"]
        assert snapshot(kdir) == before and bot.answers.engine is engine
        await bot.press(ADMIN, held["message_id"], confirm_buttons(held)["✅ Áp dụng"], n=0)
        applied = await edited(emulator, ADMIN, held["message_id"], "✅")
        assert re.match(r"✅ Đã ghi targets\.yaml \(bản cũ lưu ở targets\.\d{8}T\d{6}\.yaml\)\. Đã nạp lại:", applied)
        assert (kdir / "targets.yaml").read_text(encoding="utf-8") == one
        assert bot.answers.engine is not engine


async def test_upload_reply_lists_synonym_changes(telegram_bot, emulator: Emulator, kdir: Path) -> None:
    text = (kdir / "synonyms.yaml").read_text(encoding="utf-8")
    assert "\nabbreviations:\n" in text
    changed = text.replace("\nabbreviations:\n", "\nabbreviations:\n  qzx: quần chúng\n", 1)
    async with telegram_bot(admin_ids=str(ADMIN), knowledge_dir=kdir, extra_handlers=features(clock())):
        emulator.inject_document(ADMIN, "synonyms.yaml", changed.encode())
        [reply] = await emulator.wait_for_messages(ADMIN, 1)
        assert "thêm 0; bỏ 0; sửa 0; viết tắt thêm 1: qzx)" in reply["text"], reply["text"]
