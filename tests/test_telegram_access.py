"""End to end: group-chat behaviour and the access policy."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.transports.telegram import texts
from tests.emulator import Emulator
from tests.test_telegram_flows import buttons
from tests.test_telegram_reminders import FakeClock, features

GROUP = -1001234567890
QUESTION = "kết nạp bao nhiêu đảng viên năm 2023"


async def test_group_ignores_plain_text_but_answers_mentions_replies_and_commands(telegram_bot,
                                                                                  emulator: Emulator) -> None:
    async with telegram_bot() as bot:
        assert await bot.quiet(GROUP, QUESTION, user_id=5) == []
        [mentioned] = await bot.say(GROUP, QUESTION, user_id=5, mention_bot=True)
        assert "3.482 đảng viên mới" in mentioned["text"]
        assert mentioned["reply_to_message"]["from"]["id"] == 5  # quoted: the group sees whom it answers
        [replied] = await bot.say(GROUP, "còn chỉ tiêu năm 2024 kết nạp đảng viên?", user_id=6, reply_to_bot=True)
        assert replied["text"].startswith("Chỉ tiêu kết nạp đảng viên mới năm 2024")
        [listed] = await bot.say(GROUP, "/chitieu@emulator_test_bot", user_id=5)
        assert listed["text"].startswith("Các chỉ tiêu năm 2024")
        [plain_command] = await bot.say(GROUP, "/vanban", user_id=5)
        assert plain_command["text"].startswith("Các văn bản")
        assert await bot.quiet(GROUP, "/chitieu@some_other_bot", user_id=5) == []
        assert await bot.quiet(GROUP, "@someone_else " + QUESTION, user_id=5) == []
        [empty] = await bot.say(GROUP, "", user_id=5, mention_bot=True)
        assert empty["text"].startswith("Bạn muốn hỏi gì?")
        # Buttons work in groups too (asked by a member without a conversation: user 5's "kiểm tra"
        # would be read as a follow-up of the question above).
        [clarify] = await bot.say(GROUP, "kiểm tra", user_id=8, mention_bot=True)
        [answer] = await bot.press(GROUP, clarify["message_id"], buttons(clarify)[0][1], user_id=7)
        assert answer["text"].startswith("Ban Thường vụ Thành ủy kiểm tra tổ chức đảng")


async def test_open_policy_serves_everyone(telegram_bot) -> None:
    async with telegram_bot(access_policy="open") as bot:
        [reply] = await bot.say(123, QUESTION)
        assert "3.482" in reply["text"]


async def test_allowlist_refuses_others(telegram_bot, emulator: Emulator) -> None:
    allowed_group, other_group = -100777, -100888
    async with telegram_bot(access_policy="allowlist", allowed_ids=f"555, {allowed_group}", admin_ids="999") as bot:
        [ok] = await bot.say(555, QUESTION)
        assert "3.482" in ok["text"]
        [admin] = await bot.say(999, "/chitieu")
        assert admin["text"].startswith("Các chỉ tiêu năm 2024")
        [refused] = await bot.say(123, QUESTION)
        # The refusal tells the user the numeric id to give the admin.
        assert refused["text"] == texts.refusal(123, 123, html=False) == (
            f"{texts.REFUSAL}\nMã số Telegram của bạn: 123. Gửi mã này cho quản trị viên để được cấp quyền.")
        assert any(e["type"] == "code" for e in refused["entities"])
        [refused_start] = await bot.say(123, "/start")
        assert refused_start["text"] == texts.refusal(123, html=False)
        # An allowed group serves any member; an allowed user is served in any group.
        [in_group] = await bot.say(allowed_group, QUESTION, user_id=123, mention_bot=True)
        assert "3.482" in in_group["text"]
        [user_ok] = await bot.say(other_group, QUESTION, user_id=555, mention_bot=True)
        assert "3.482" in user_ok["text"]
        [group_no] = await bot.say(other_group, QUESTION, user_id=123, mention_bot=True)
        assert group_no["text"] == texts.refusal(123, other_group, html=False)
        assert group_no["text"].endswith(f"Mã số nhóm này: {other_group} (quản trị viên có thể cấp quyền cho cả nhóm).")
        assert await bot.quiet(other_group, QUESTION, user_id=123, probe_user=555) == []  # chatter: no refusal spam
        # A button pressed by someone not allowed: an alert, nothing else.
        answered = len(emulator.callback_answers)
        emulator.inject_callback(123, refused["message_id"], "a:chi-tieu-2024-ket-nap-dang-vien", check_button=False)
        await emulator.wait_for(lambda: len(emulator.callback_answers) > answered)
        assert emulator.callback_answers[-1]["text"] == texts.refusal(123, 123, html=False)
        assert "123" in emulator.callback_answers[-1]["text"]
        assert emulator.callback_answers[-1]["show_alert"] is True
        assert await bot.quiet(555) == []
        assert [m["text"] for m in emulator.sent_messages(123)] == [texts.refusal(123, html=False)] * 2
        # Refused questions are not logged.
        stats = await bot.answers.storage.stats()
        assert stats["questions"] == 3


async def test_a_stranger_replying_to_an_admin_prompt_meets_the_access_gate_first(
        telegram_bot, emulator: Emulator) -> None:
    """ACCESS_POLICY=allowlist: in a group the admin asked /capnhat's prompt; a user outside the
    allowlist who replies to it gets the access refusal (with ids), not the prompt's handling."""
    admin, stranger = 950_001, 950_002
    clock = FakeClock(datetime(2024, 3, 20, 9, 0, tzinfo=UTC))
    async with telegram_bot(access_policy="allowlist", admin_ids=str(admin), allowed_ids="",
                            extra_handlers=features(clock)) as bot:
        [pick] = await bot.say(GROUP, "/capnhat", user_id=admin)
        [prompt] = await bot.press(GROUP, pick["message_id"], buttons(pick)[0][1], user_id=admin)
        assert prompt["text"].startswith("✍️ Cập nhật tiến độ")
        [refused] = await bot.say(GROUP, "12", user_id=stranger, reply_to=prompt["message_id"])
        assert refused["text"] == texts.refusal(stranger, GROUP, html=False).replace("<code>", "")
        assert await bot.answers.storage.latest_progress_all() == {}
