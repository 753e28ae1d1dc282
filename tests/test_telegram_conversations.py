"""End to end: conversations through the real Application and the Bot API emulator — follow-ups in a
private chat, two members of a group asking in turn, expiry on the store's clock, a change of
subject, and buttons of earlier answers after the conversation moved on."""

from __future__ import annotations

from tests.emulator import Emulator
from tests.test_conversations import NO_CONTEXT, Q1, Q2, Q3, FakeClock
from tests.test_telegram_flows import buttons, data_of

CHAT = 5151
GROUP = -1005151515151
ALICE, BOB = 61, 62
SUPERVISE = "BTV Thành ủy giám sát bao nhiêu tổ chức đảng năm 2023?"


async def test_three_turn_conversation_in_a_private_chat(telegram_bot) -> None:
    async with telegram_bot() as bot:
        [first] = await bot.say(CHAT, Q1)
        assert "3.482 đảng viên mới" in first["text"] and "hiểu là" not in first["text"]
        [second] = await bot.say(CHAT, Q2)
        assert second["text"].startswith("(hiểu là:")
        assert "Kế hoạch năm 2023: 4000 - 4100 đảng viên mới" in second["text"]
        [third] = await bot.say(CHAT, Q3)
        assert third["text"].startswith("(hiểu là:")
        assert "Chỉ tiêu năm 2024: 3.800 - 3.900 đảng viên" in third["text"]
        assert bot.answers.conversations.get((CHAT, CHAT)).entry_ids == ("chi-tieu-2024-ket-nap-dang-vien",)


async def test_two_members_of_a_group_follow_up_in_turn(telegram_bot) -> None:
    async with telegram_bot() as bot:
        [a1] = await bot.say(GROUP, Q1, user_id=ALICE, mention_bot=True)
        [b1] = await bot.say(GROUP, SUPERVISE, user_id=BOB, mention_bot=True)
        assert "3.482" in a1["text"] and "47 tổ chức đảng" in b1["text"]
        # Each follow-up is read against its sender's last answer, not the group's last one.
        [a2] = await bot.say(GROUP, Q2, user_id=ALICE, mention_bot=True)
        [b2] = await bot.say(GROUP, "còn đảng viên?", user_id=BOB, reply_to_bot=True)
        assert "Kế hoạch năm 2023: 4000 - 4100 đảng viên mới" in a2["text"]
        assert "38 đảng viên" in b2["text"] and "kết nạp" not in b2["text"].split("\n")[0]
        [a3] = await bot.say(GROUP, Q3, user_id=ALICE, mention_bot=True)
        [b3] = await bot.say(GROUP, "còn năm 2024?", user_id=BOB, mention_bot=True)
        assert "Chỉ tiêu năm 2024: 3.800 - 3.900 đảng viên" in a3["text"]
        assert "Chỉ tiêu năm 2024: 10 - 12 đảng viên là cấp ủy viên cùng cấp" in b3["text"]
        assert a3["reply_to_message"]["from"]["id"] == ALICE and b3["reply_to_message"]["from"]["id"] == BOB
        # The group conversation is not Alice's private one, and a third member has none.
        [alone] = await bot.say(ALICE, Q2)
        [carol] = await bot.say(GROUP, Q2, user_id=63, mention_bot=True)
        assert alone["text"].startswith(NO_CONTEXT) and carol["text"].startswith(NO_CONTEXT)


async def test_a_conversation_expires_after_the_idle_time(telegram_bot) -> None:
    clock = FakeClock()
    async with telegram_bot(conversation_idle_minutes=5) as bot:
        bot.answers.conversations.clock = clock  # the store the app uses, on the test's clock
        assert bot.answers.conversations.idle_seconds == 300  # CONVERSATION_IDLE_MINUTES is applied
        await bot.say(CHAT, Q1)
        clock.now += 299
        [second] = await bot.say(CHAT, Q2)
        assert "Kế hoạch năm 2023: 4000 - 4100 đảng viên mới" in second["text"]
        clock.now += 301  # idle for over 5 minutes since the last answer
        [expired] = await bot.say(CHAT, Q2)
        assert expired["text"].startswith(NO_CONTEXT)
        assert len(bot.answers.conversations) == 0


async def test_a_complete_question_changes_the_subject(telegram_bot) -> None:
    async with telegram_bot() as bot:
        await bot.say(CHAT, Q1)
        await bot.say(CHAT, Q3)
        [switched] = await bot.say(CHAT, SUPERVISE)
        assert "hiểu là" not in switched["text"] and "47 tổ chức đảng" in switched["text"]
        [follow] = await bot.say(CHAT, "còn năm 2024?")
        assert follow["text"].startswith("(hiểu là:")
        assert "Chỉ tiêu năm 2024: 12 - 15 tổ chức đảng" in follow["text"]


async def test_buttons_of_earlier_answers_still_work_and_set_the_context(telegram_bot, emulator: Emulator) -> None:
    async with telegram_bot() as bot:
        [choice] = await bot.say(CHAT, "kiểm tra")
        assert choice["text"].startswith("Có vài mục gần với câu hỏi")
        [first] = await bot.say(CHAT, Q1)
        await bot.say(CHAT, Q2)
        await bot.say(CHAT, Q3)
        # The clarification of four messages ago still opens its entry …
        [chosen] = await bot.press(CHAT, choice["message_id"], buttons(choice)[0][1])
        assert chosen["text"].startswith("Ban Thường vụ Thành ủy kiểm tra tổ chức đảng\n"
                                         "Kết quả (năm 2023): 44 tổ chức đảng")
        # … and the next follow-up is about it, not about the last typed question.
        [follow] = await bot.say(CHAT, "còn năm 2024?")
        assert follow["text"].startswith("(hiểu là:")
        assert "Chỉ tiêu năm 2024: 25 - 30 lượt tổ chức đảng" in follow["text"]
        # The first answer's related-target button, pressed after all that.
        [target] = await bot.press(CHAT, first["message_id"], data_of(first, "🎯"))
        assert target["text"].startswith("Chỉ tiêu kết nạp đảng viên mới năm 2024\nChỉ tiêu năm 2024: 3.800 - 3.900")
        [result] = await bot.say(CHAT, "còn kết quả 2023?")
        assert result["text"].startswith("(hiểu là:") and "3.482 đảng viên mới" in result["text"]


async def test_a_button_in_a_group_sets_the_pressers_conversation(telegram_bot) -> None:
    async with telegram_bot() as bot:
        await bot.say(GROUP, Q1, user_id=ALICE, mention_bot=True)
        [choice] = await bot.say(GROUP, "kiểm tra", user_id=BOB, mention_bot=True)
        # Alice presses a button of Bob's answer: her conversation moves to that entry, his stays.
        await bot.press(GROUP, choice["message_id"], buttons(choice)[0][1], user_id=ALICE)
        store = bot.answers.conversations
        assert store.get((GROUP, ALICE)).entry_ids == ("kiem-tra-to-chuc-dang-btv-thanh-uy-2023",)
        assert store.get((GROUP, BOB)).question == "kiểm tra" and len(store.get((GROUP, BOB)).entry_ids) == 2
        [alice] = await bot.say(GROUP, "còn năm 2024?", user_id=ALICE, mention_bot=True)
        assert "Chỉ tiêu năm 2024: 25 - 30 lượt tổ chức đảng" in alice["text"]
