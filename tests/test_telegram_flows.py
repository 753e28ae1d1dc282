"""End to end: the real Application against the Bot API emulator — commands, questions, buttons."""

from __future__ import annotations

from tests.emulator import Emulator
from tests.storage_helpers import get_chat

CHAT = 4242


def buttons(message: dict) -> list[tuple[str, str]]:
    """(label, callback_data) of every inline button of a delivered message."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


def data_of(message: dict, startswith: str) -> str:
    """The callback data of the first button whose label starts with ``startswith``."""
    return next(d for label, d in buttons(message) if label.startswith(startswith))


async def test_start_greets_offers_examples_and_registers_commands(telegram_bot, emulator: Emulator) -> None:
    async with telegram_bot() as bot:
        commands = emulator.commands[('{"type": "default"}', "")]
        assert [c["command"] for c in commands] == ["start", "chitieu", "ketqua", "vanban", "tiendo", "theodoi",
                                                    "dangtheodoi", "huytheodoi", "help"]
        [greeting] = await bot.say(CHAT, "/start")
        assert greeting["text"].startswith("Xin chào User4242!")
        examples = buttons(greeting)
        assert len(examples) == 4 and all(d.startswith("q:") for _, d in examples)
        # The chat is remembered (for reminders later).
        chat = await get_chat(bot.answers.storage, CHAT)
        assert chat is not None and chat.type == "private"
        # An example button asks its question.
        [answer] = await bot.press(CHAT, greeting["message_id"], examples[0][1])
        assert "3.482 đảng viên mới" in answer["text"]


async def test_help_lists_commands(telegram_bot) -> None:
    async with telegram_bot() as bot:
        [reply] = await bot.say(CHAT, "/help")
        for command in ("/chitieu", "/ketqua", "/vanban", "/help"):
            assert command in reply["text"]
        assert "@emulator_test_bot" in reply["text"]


async def test_question_is_answered_with_its_section_in_html(telegram_bot) -> None:
    async with telegram_bot() as bot:
        [reply] = await bot.say(CHAT, "Năm 2023 kết nạp bao nhiêu đảng viên mới?")
        text = reply["text"]
        assert text.startswith("Kết nạp đảng viên mới đến 31/10/2023\n"
                               "Kết quả (tính đến 31/10/2023): 3.482 đảng viên mới")
        assert "Nguồn: Phần thứ nhất › I. Kết quả đạt được › 2. Công tác tổ chức, xây dựng bộ máy" in text
        kinds = {e["type"] for e in reply["entities"]}
        assert kinds == {"bold", "italic"}  # heading bold, source italic: parse_mode=HTML
        # Related 2024 target as a button; the answer came from the log-writing service.
        related = buttons(reply)
        assert ("🎯 Chỉ tiêu 2024: Chỉ tiêu kết nạp đảng viên mới năm 2024",
                "a:chi-tieu-2024-ket-nap-dang-vien") in related
        stats = await bot.answers.storage.stats()
        assert stats["by_status"]["answer"] == 1


async def test_no_diacritics_question(telegram_bot) -> None:
    async with telegram_bot() as bot:
        [reply] = await bot.say(CHAT, "nam 2023 ket nap bao nhieu dang vien moi")
        assert "3.482 đảng viên mới" in reply["text"]


async def test_knowledge_base_text_is_escaped(telegram_bot) -> None:
    async with telegram_bot() as bot:
        [reply] = await bot.say(CHAT, "chi tieu dan van kheo xa")
        assert '"Dân vận khéo"' in reply["text"]  # sent as &quot; in HTML, shown as a quote


async def test_clarification_resolved_by_a_button(telegram_bot, kb_engine) -> None:
    assert kb_engine.ask("kiểm tra").status == "clarify"
    async with telegram_bot() as bot:
        [choice] = await bot.say(CHAT, "kiểm tra")
        assert choice["text"].startswith("Có vài mục gần với câu hỏi")
        options = buttons(choice)
        assert len(options) >= 2 and all(d.startswith("a:") for _, d in options)
        assert all(len(d.encode()) <= 64 for _, d in options)
        label, data = options[0]
        [answer] = await bot.press(CHAT, choice["message_id"], data)
        assert answer["text"].startswith("Ban Thường vụ Thành ủy kiểm tra tổ chức đảng\n"
                                         "Kết quả (năm 2023): 44 tổ chức đảng")
        assert "Nguồn: Phần thứ nhất › I. Kết quả đạt được › 3. Công tác kiểm tra" in answer["text"]
        # A candidate whose id is longer than a callback allows travels as a hashed reference.
        assert any("~" in d for _, d in options)
        _, long_data = next(o for o in options if "~" in o[1])
        [doc] = await bot.press(CHAT, choice["message_id"], long_data)
        assert doc["text"].startswith("Kế hoạch phục vụ Đoàn kiểm tra số 1")


async def test_not_found_points_to_the_lists(telegram_bot) -> None:
    async with telegram_bot() as bot:
        [reply] = await bot.say(CHAT, "thời tiết Hải Phòng hôm nay thế nào")
        assert reply["text"].startswith("Chưa tìm thấy nội dung này trong báo cáo.")
        assert "/chitieu" in reply["text"] and "/vanban" in reply["text"]
        assert [d for _, d in buttons(reply)] == ["l:t:0:", "l:S:0:", "l:d:0:"]
        unanswered = await bot.answers.storage.top_unanswered()
        assert unanswered[0].normalized == "thoi tiet hai phong hom nay the nao"


async def test_not_given_offers_the_nearest_fact_as_a_button(telegram_bot) -> None:
    async with telegram_bot() as bot:
        [reply] = await bot.say(CHAT, "Năm 2023 kết nạp được bao nhiêu đảng viên mới trong doanh nghiệp nhà nước?")
        assert reply["text"].startswith("Báo cáo không nêu")
        data = [d for _, d in buttons(reply)]
        # The fact the report does give comes first, as an entry button; the lists follow.
        assert data[0].startswith("a:") and data[-3:] == ["l:t:0:", "l:S:0:", "l:d:0:"]
        [entry] = await bot.press(CHAT, reply["message_id"], data[0])
        assert "doanh nghiệp tư nhân" in entry["text"]


async def test_result_and_target_link_both_ways_and_follow_hook(telegram_bot) -> None:
    async with telegram_bot() as bot:
        [result] = await bot.say(CHAT, "Năm 2023 kết nạp bao nhiêu đảng viên mới?")
        [target] = await bot.press(CHAT, result["message_id"], data_of(result, "🎯 Chỉ tiêu 2024"))
        assert target["text"].startswith("Chỉ tiêu kết nạp đảng viên mới năm 2024\n"
                                         "Chỉ tiêu năm 2024: 3.800 - 3.900 đảng viên")
        back = [d for label, d in buttons(target) if label.startswith("📊 Kết quả 2023")]
        assert "a:ket-nap-dang-vien-den-31-10-2023" in back
        follow = data_of(target, "🔔 Theo dõi")
        assert follow == "sub:chi-tieu-2024-ket-nap-dang-vien"
        [soon] = await bot.press(CHAT, target["message_id"], follow)
        assert "sẽ sớm có" in soon["text"] and "Chỉ tiêu kết nạp đảng viên mới năm 2024" in soon["text"]


async def test_follow_hook_can_be_replaced(telegram_bot, emulator: Emulator) -> None:
    calls = []

    async def hook(update, context, target) -> None:
        calls.append(target.id)
        await update.callback_query.answer("ok")

    async with telegram_bot() as bot:
        bot.app.bot_data.services.follow = hook
        [target] = await bot.say(CHAT, "Chỉ tiêu kết nạp đảng viên năm 2024 là bao nhiêu?")
        await bot.press(CHAT, target["message_id"], data_of(target, "🔔"), n=0)
        assert calls == ["chi-tieu-2024-ket-nap-dang-vien"]
        assert emulator.callback_answers[-1]["text"] == "ok"


async def test_unknown_command_in_private_chat(telegram_bot) -> None:
    async with telegram_bot() as bot:
        [reply] = await bot.say(CHAT, "/khongco")
        assert "/help" in reply["text"]


async def test_questions_answered_by_an_engine_worker_process(telegram_bot) -> None:
    async with telegram_bot(engine_workers=1) as bot:
        assert bot.answers.workers == 1
        [reply] = await bot.say(CHAT, "nam 2023 ket nap bao nhieu dang vien moi")
        assert "3.482 đảng viên mới" in reply["text"]
