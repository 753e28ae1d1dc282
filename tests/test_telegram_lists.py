"""/chitieu, /ketqua, /vanban: paging edits the message, items open their answers; every page of
every list fits Telegram's limits (unit checks over the real knowledge base)."""

from __future__ import annotations

import pytest

from bot.services.answers import AnswerService
from bot.transports.telegram.callbacks import ListPage
from bot.transports.telegram.formatting import TELEGRAM_LIMIT, utf16_len
from bot.transports.telegram.keyboards import ARG_BUDGET, fit_arg
from bot.transports.telegram.lists import PAGE_SIZE, render
from tests.emulator import Emulator
from tests.test_telegram_flows import buttons, data_of

CHAT = 777


def page_line(total: int, page: int = 1) -> str:
    """'Trang 1/2 · 13 mục' for a list of ``total`` items (counts follow the knowledge base)."""
    return f"Trang {page}/{-(-total // PAGE_SIZE)} · {total} mục"


async def next_page(bot, emulator: Emulator, message: dict) -> dict:
    """Press "Trang sau" and return the edited message."""
    edits = emulator.request_counts["editMessageText"]
    await bot.press(CHAT, message["message_id"], data_of(message, "Trang sau"), n=0)
    await emulator.wait_for(lambda: emulator.request_counts["editMessageText"] > edits)
    return emulator.get_message(CHAT, message["message_id"])


async def test_targets_paging_edits_the_message_and_items_open(telegram_bot, emulator: Emulator) -> None:
    async with telegram_bot() as bot:
        [page] = await bot.say(CHAT, "/chitieu")
        first_text = page["text"]
        n = len(bot.answers.targets())
        assert PAGE_SIZE < n <= 2 * PAGE_SIZE
        assert first_text.startswith("Các chỉ tiêu năm 2024\n1. Chỉ tiêu kết nạp đảng viên mới năm 2024: 3.800 - 3.900")
        assert page_line(n) in first_text
        items = [d for _, d in buttons(page) if d.startswith("a:")]
        assert len(items) == PAGE_SIZE
        assert not any(label.startswith("◀") for label, _ in buttons(page))
        count = len(emulator.sent_messages(CHAT))
        edited = await next_page(bot, emulator, page)
        assert len(emulator.sent_messages(CHAT)) == count  # edited, not sent anew
        assert edited["message_id"] == page["message_id"] and "edit_date" in edited
        assert page_line(n, 2) in edited["text"] and edited["text"].count("\n9. ") == 1
        assert any(label.startswith("◀") for label, _ in buttons(edited))
        # Back to page 1, then open an item.
        await bot.press(CHAT, page["message_id"], data_of(edited, "◀"), n=0)
        await emulator.wait_for(lambda: emulator.get_message(CHAT, page["message_id"])["text"] == first_text)
        [answer] = await bot.press(CHAT, page["message_id"], data_of(page, "2. "))
        assert answer["text"].startswith("Chỉ tiêu thành lập tổ chức đảng năm 2024\nChỉ tiêu năm 2024: 45 tổ chức đảng")


async def test_results_sections_then_a_section_with_paging(telegram_bot, emulator: Emulator) -> None:
    async with telegram_bot() as bot:
        [menu] = await bot.say(CHAT, "/ketqua")
        sections = buttons(menu)
        assert len(sections) == len(bot.answers.result_sections()) and sections[1][1] == "l:s:0:p1.i.2"
        await bot.press(CHAT, menu["message_id"], sections[1][1], n=0)
        await emulator.wait_for(lambda: "Trang 1/" in emulator.get_message(CHAT, menu["message_id"])["text"])
        page = emulator.get_message(CHAT, menu["message_id"])
        assert page["text"].startswith("Kết quả năm 2023 – 2. Công tác tổ chức, xây dựng bộ máy và công tác cán bộ")
        n = len(bot.answers.section_results("p1.i.2"))
        assert page_line(n) in page["text"]
        edited = await next_page(bot, emulator, page)
        assert page_line(n, 2) in edited["text"] and "\n9. " in edited["text"]
        assert any(label == "↩ Các lĩnh vực" for label, _ in buttons(edited))


async def test_results_by_topic_and_by_section_number(telegram_bot) -> None:
    async with telegram_bot() as bot:
        [by_section] = await bot.say(CHAT, "/ketqua kiểm tra")
        assert by_section["text"].startswith("Kết quả năm 2023 – 3. Công tác kiểm tra, giám sát, kỷ luật Đảng")
        [by_number] = await bot.say(CHAT, "/ketqua 3")
        assert by_number["text"] == by_section["text"]
        [by_topic] = await bot.say(CHAT, "/ketqua kết nạp")
        assert by_topic["text"].startswith("Kết quả năm 2023 – từ khóa: ket nap\n1. Kết nạp đảng viên mới")
        assert page_line(len(bot.answers.results_about("kết nạp"))) in by_topic["text"]
        assert data_of(by_topic, "Trang sau") == "l:r:1:ket nap"
        [nothing] = await bot.say(CHAT, "/ketqua tàu vũ trụ")
        assert "Không tìm thấy kết quả năm 2023 nào về «tau vu tru»" in nothing["text"]
        assert len(buttons(nothing)) == len(bot.answers.result_sections())  # the sections instead


async def test_documents_paging_and_keyword(telegram_bot, emulator: Emulator) -> None:
    async with telegram_bot() as bot:
        [page] = await bot.say(CHAT, "/vanban")
        assert page["text"].startswith("Các văn bản được báo cáo trích dẫn\n1. Nghị quyết số 45-NQ/TW")
        n = len(bot.answers.documents())
        assert page_line(n) in page["text"]
        edited = await next_page(bot, emulator, page)
        assert page_line(n, 2) in edited["text"]
        [found] = await bot.say(CHAT, "/vanban 45-NQ/TW")
        assert "1. Nghị quyết số 45-NQ/TW ngày 24/01/2019" in found["text"] and page_line(1) in found["text"]
        [answer] = await bot.press(CHAT, found["message_id"], data_of(found, "1. "))
        assert answer["text"].startswith("Nghị quyết số 45-NQ/TW\n")
        [none] = await bot.say(CHAT, "/vanban xyzzy")
        assert "Không tìm thấy văn bản nào có «xyzzy»" in none["text"]
        await bot.press(CHAT, none["message_id"], data_of(none, "Xem tất cả"), n=0)
        await emulator.wait_for(lambda: page_line(n) in emulator.get_message(CHAT, none["message_id"])["text"])


async def test_double_tap_on_a_page_is_harmless(telegram_bot, emulator: Emulator) -> None:
    async with telegram_bot() as bot:
        [page] = await bot.say(CHAT, "/chitieu")
        data = data_of(page, "Trang sau")
        await bot.press(CHAT, page["message_id"], data, n=0)
        await bot.press(CHAT, page["message_id"], data, n=0)  # the same page again: "not modified"
        assert await bot.quiet(CHAT) == []  # no error message, no new message
        assert [e.status for e in emulator.errors if e.method == "editMessageText"] == [400]


# -- unit checks over the real base ---------------------------------------------------------


def all_refs(service: AnswerService) -> list[ListPage]:
    refs = [ListPage("t"), ListPage("S"), ListPage("d"), ListPage("d", 0, "nghi quyet"), ListPage("r", 0, "ket nap")]
    refs += [ListPage("s", 0, s.id) for s in service.result_sections()]
    out = []
    for ref in refs:
        page = render(service, ref)
        assert page is not None
        out += [ref.at(p) for p in range(page.pages)]
    return out


def test_every_page_fits_telegram_limits(kb_engine) -> None:
    service = AnswerService(kb_engine)
    refs = all_refs(service)
    assert len(refs) > 25
    for ref in refs:
        page = render(service, ref)
        assert page is not None and page.ref == ref
        assert utf16_len(page.text) <= TELEGRAM_LIMIT
        rows = page.markup.inline_keyboard if page.markup else ()
        for row in rows:
            for b in row:
                assert 1 <= len(b.callback_data.encode()) <= 64
                assert ListPage.parse(b.callback_data) or b.callback_data.startswith("a:")


def test_stale_list_refs(kb_engine) -> None:
    service = AnswerService(kb_engine)
    assert render(service, ListPage("s", 0, "no-such-section")) is None
    assert render(service, ListPage("x")) is None
    last = render(service, ListPage("t", 99))  # the list shrank since the button was made
    assert last is not None and last.ref.page == 1
    assert ListPage.parse("l:t:abc:") is None and ListPage.parse("garbage") is None


@pytest.mark.parametrize("keyword", ["", "45", "tổ chức cơ sở đảng " * 8, "Nghị quyết Trung ương về công tác " * 5])
def test_keyword_fits_callback_data(keyword: str) -> None:
    arg = fit_arg(keyword)
    assert len(arg.encode()) <= ARG_BUDGET
    assert len(ListPage("d", 9999, arg).pack().encode()) <= 64
    assert arg == fit_arg(arg)  # stable when it comes back from a button
