"""End to end: /capnhat (command and guided flow) and /tiendo with its chart, against the emulator."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.transports.telegram.shared import ADMIN_ONLY
from tests.emulator import Emulator
from tests.storage_helpers import recent_audit
from tests.test_telegram_flows import buttons, data_of
from tests.test_telegram_reminders import FakeClock, features, press_edit

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN = 900001
USER = 900002
T1 = "chi-tieu-2024-ket-nap-dang-vien"
T2 = "chi-tieu-2024-thanh-lap-to-chuc-dang"


def clock() -> FakeClock:
    return FakeClock(datetime(2024, 3, 20, 10, 0, tzinfo=TZ))  # "today" is 20/03/2024


def photo_bytes(emulator: Emulator, message: dict) -> bytes:
    return emulator.get_file_content(message["photo"][-1]["file_id"])


async def test_progress_recorded_and_shown_with_its_chart(telegram_bot, emulator: Emulator) -> None:
    async with telegram_bot(admin_ids=str(ADMIN), extra_handlers=features(clock())) as bot:
        storage = bot.answers.storage
        [ok] = await bot.say(ADMIN, "/capnhat 1 1.250 15/3/2024")
        assert ok["text"].splitlines() == [
            "✅ Đã ghi nhận: 1.250 đảng viên ngày 15/03/2024.",
            "1. Chỉ tiêu kết nạp đảng viên mới năm 2024",
            "Chỉ tiêu: 3.800 đảng viên",
            "Mới nhất: 1.250 đảng viên (ngày 15/03/2024)",
            "▓▓▓░░░░░░░ 33% chỉ tiêu",
            "Theo tiến độ đều cả năm, đến ngày này cần khoảng 778,7 đảng viên: vượt tiến độ.",
            "Xem biểu đồ: /tiendo 1",
        ]
        # A correction for the same date is a new record; the latest one counts.
        [fixed] = await bot.say(ADMIN, "/capnhat chi-tieu-2024-ket-nap-dang-vien 700 15/3")
        assert "Mới nhất: 700 đảng viên (ngày 15/03/2024)" in fixed["text"] and "chậm tiến độ" in fixed["text"]
        # No date: today by the bot's clock; a percentage target takes "45%".
        [pct] = await bot.say(ADMIN, "/capnhat 8 45%")
        assert pct["text"].startswith("✅ Đã ghi nhận: 45% ngày 20/03/2024.")
        records = await storage.progress_for(T1)
        assert [(r.value, r.as_of.isoformat(), r.recorded_by) for r in records] == [
            (1250.0, "2024-03-15", ADMIN), (700.0, "2024-03-15", ADMIN)]

        # /tiendo 1: the status as the caption of a PNG chart.
        [photo] = await bot.say(USER, "/tiendo 1")
        assert photo_bytes(emulator, photo).startswith(b"\x89PNG\r\n\x1a\n")
        assert photo["caption"].splitlines()[0] == "1. Chỉ tiêu kết nạp đảng viên mới năm 2024"
        assert "Mới nhất: 700 đảng viên (ngày 15/03/2024)" in photo["caption"]
        assert photo["caption_entities"][0]["type"] == "bold"
        [no_data] = await bot.say(USER, f"/tiendo {T2}")
        assert no_data["caption"].splitlines()[-1] == "Chưa có số liệu tiến độ."
        assert photo_bytes(emulator, no_data).startswith(b"\x89PNG")

        # /tiendo: every target in short, with a button for each chart.
        [overview] = await bot.say(USER, "/tiendo")
        lines = overview["text"].splitlines()
        assert lines[0] == "Tiến độ các chỉ tiêu năm 2024 (số liệu mới nhất)"
        assert lines[1] == "1. Chỉ tiêu kết nạp đảng viên mới năm 2024: ▓▓░░░░░░░░ 18% (700 đảng viên, 15/03)"
        assert lines[2] == "2. Chỉ tiêu thành lập tổ chức đảng năm 2024: chưa có số liệu"
        assert lines[8].startswith("8. ") and lines[8].endswith("▓▓▓▓▓░░░░░ 45% (45%, 20/03)")
        assert len(buttons(overview)) == 13
        [chart] = await bot.press(USER, overview["message_id"], data_of(overview, "📈 2."))
        assert chart["caption"].startswith("2. Chỉ tiêu thành lập tổ chức đảng năm 2024")
        [unknown] = await bot.say(USER, "/tiendo 14")
        assert unknown["text"].startswith("Không có chỉ tiêu «14».")


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("/capnhat 99 5", "Không có chỉ tiêu «99». Hãy dùng số thứ tự trong /chitieu (1–13)"),
        ("/capnhat khong-co 5", "Không có chỉ tiêu «khong-co»."),
        ("/capnhat ket-nap-dang-vien-den-31-10-2023 5", "Không có chỉ tiêu «ket-nap-dang-vien-den-31-10-2023»"),
        ("/capnhat 1 abc", "“abc” không phải là một số (ví dụ: 1.250 hoặc 45%)."),
        ("/capnhat 1 -5", "“-5” không phải là một số"),
        ("/capnhat 1 100 25/3/2024", "Ngày 25/03/2024 ở tương lai: chỉ ghi nhận số liệu đã có."),
        ("/capnhat 1 100 15/3/2023", "Ngày 15/03/2023 nằm ngoài năm của chỉ tiêu (2024)."),
        ("/capnhat 1 100 32/13", "“32/13” không phải là ngày hợp lệ"),
        ("/capnhat 1 45%", "Chỉ tiêu này tính bằng “đảng viên”, không phải %: hãy nhập số lượng."),
        ("/capnhat 8 150%", "Chỉ tiêu tính bằng %: giá trị phải từ 0 đến 100."),
        ("/capnhat 1 100 15/3 thừa", "Cách dùng: /capnhat mã giá trị [ngày]"),
    ],
)
async def test_each_bad_capnhat_input_gets_its_message(telegram_bot, command: str, reply: str) -> None:
    async with telegram_bot(admin_ids=str(ADMIN), extra_handlers=features(clock())) as bot:
        [answer] = await bot.say(ADMIN, command)
        assert answer["text"].startswith(reply), answer["text"]
        assert await bot.answers.storage.latest_progress_all() == {}


async def test_guided_progress_flow(telegram_bot, emulator: Emulator) -> None:
    async with telegram_bot(admin_ids=str(ADMIN), extra_handlers=features(clock())) as bot:
        storage = bot.answers.storage
        [pick] = await bot.say(ADMIN, "/capnhat")
        assert pick["text"] == "✍️ Chọn chỉ tiêu muốn cập nhật tiến độ:" and len(buttons(pick)) == 13
        [prompt] = await bot.press(ADMIN, pick["message_id"], data_of(pick, "2. "))
        assert prompt["text"].startswith("✍️ Cập nhật tiến độ: Chỉ tiêu thành lập tổ chức đảng năm 2024 (chỉ tiêu 45")
        assert prompt["text"].endswith(f"(mã: {T2})")
        assert emulator.calls("sendMessage")[-1]["reply_markup"]["force_reply"] is True
        # A bad value: the reason, and the question again.
        [again] = await bot.say(ADMIN, "mười hai", reply_to=prompt["message_id"])
        assert again["text"].startswith("“mười” không phải là một số (ví dụ: 1.250 hoặc 45%).\n\n✍️ Cập nhật")
        assert again["text"].endswith(f"(mã: {T2})")
        [again2] = await bot.say(ADMIN, "12 30/3", reply_to=again["message_id"])
        assert again2["text"].startswith("Ngày 30/03/2024 ở tương lai")
        [again3] = await bot.say(ADMIN, "12 1/3 2024", reply_to=again["message_id"])
        assert again3["text"].startswith("Cần một giá trị, có thể kèm một ngày, ví dụ: 1.250 20/03/2024.")
        # A good one: confirm.
        [confirm] = await bot.say(ADMIN, "12 1/3", reply_to=prompt["message_id"])
        assert confirm["text"] == ("Ghi nhận tiến độ?\n"
                                   "Chỉ tiêu thành lập tổ chức đảng năm 2024: 12 tổ chức đảng ngày 01/03/2024")
        yes = data_of(confirm, "✅ Ghi nhận")
        assert len(yes.encode()) <= 64
        done = await press_edit(bot, ADMIN, confirm["message_id"], yes)
        assert done["text"].startswith("✅ Đã ghi nhận: 12 tổ chức đảng ngày 01/03/2024.\n2. Chỉ tiêu thành lập")
        # A second tap on the same confirmation records nothing more.
        await bot.press(ADMIN, confirm["message_id"], yes, n=0, check_button=False)
        assert emulator.callback_answers[-1]["text"] == "Đã ghi nhận rồi"
        assert [r.value for r in await storage.progress_for(T2)] == [12.0]
        # Cancel.
        [confirm2] = await bot.say(ADMIN, "13", reply_to=prompt["message_id"])
        cancelled = await press_edit(bot, ADMIN, confirm2["message_id"], "cn")
        assert cancelled["text"] == "Đã hủy, không ghi gì."
        assert [r.value for r in await storage.progress_for(T2)] == [12.0]
        # The replies were never taken for questions.
        assert await bot.quiet(ADMIN) == []
        # /capnhat <mã> goes straight to the prompt.
        [direct] = await bot.say(ADMIN, "/capnhat 1")
        assert direct["text"].endswith(f"(mã: {T1})")
        # A forged confirmation is stale.
        [stale] = await bot.press(ADMIN, confirm["message_id"], "cy:khong-co:5:10", check_button=False)
        assert stale["text"].startswith("Nút bấm này đã cũ")


async def test_non_admin_cannot_record_progress(telegram_bot, emulator: Emulator) -> None:
    async with telegram_bot(admin_ids=str(ADMIN), extra_handlers=features(clock())) as bot:
        storage = bot.answers.storage
        [refused] = await bot.say(USER, "/capnhat 1 100")
        assert refused["text"] == ADMIN_ONLY
        # In a group, the admin's prompt and buttons are refused to anyone else.
        group = -100555
        [gprompt] = await bot.say(group, "/capnhat 1", user_id=ADMIN)
        [gref] = await bot.say(group, "100", user_id=USER, reply_to=gprompt["message_id"])
        assert gref["text"] == ADMIN_ONLY
        [gbutton] = await bot.say(group, "/capnhat", user_id=ADMIN)
        await bot.press(group, gbutton["message_id"], data_of(gbutton, "1. "), n=0, user_id=USER)
        assert ((emulator.callback_answers[-1]["text"], emulator.callback_answers[-1]["show_alert"])
                == (ADMIN_ONLY, True))
        await bot.press(group, gbutton["message_id"], f"cy:{T1}:5:10", n=0, user_id=USER, check_button=False)
        assert await storage.latest_progress_all() == {}
        refusals = [a for a in await recent_audit(storage) if not a.allowed]
        assert [(a.user_id, a.action) for a in refusals] == [(USER, "capnhat")] * 4
