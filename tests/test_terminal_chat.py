"""The terminal chat, fed input lines through streams."""

from __future__ import annotations

import io

from bot.services.answers import AnswerService
from bot.transports.terminal import BYE, PROMPT, run_chat


def chat(kb_engine, *lines: str, eof: bool = True) -> str:
    out = io.StringIO()
    text = "".join(f"{line}\n" for line in lines)
    assert run_chat(kb_engine, io.StringIO(text), out) == 0
    return out.getvalue()


def test_question_clarification_by_number_and_exit(kb_engine) -> None:
    # "kiểm tra" first: after the other question the session's conversation would read it as a
    # follow-up of that one (see tests/test_conversations.py).
    out = chat(kb_engine, "kiểm tra", "1", "7", "nam 2023 ket nap bao nhieu dang vien moi", "/thoat", "never read")
    assert "3.482 đảng viên mới" in out
    assert "Nguồn: Phần thứ nhất › I. Kết quả đạt được › 2. Công tác tổ chức" in out
    assert "Có vài mục gần với câu hỏi" in out and "(Gõ số để xem chi tiết.)" in out
    assert "Ban Thường vụ Thành ủy kiểm tra tổ chức đảng\nKết quả (năm 2023): 44 tổ chức đảng" in out
    assert "Hãy chọn một số từ 1 đến 2." in out  # after choosing, related entries are the numbered list
    assert out.rstrip().endswith(BYE) and "never read" not in out


def test_lists_and_related_entries(kb_engine) -> None:
    service = AnswerService(kb_engine)
    out = chat(kb_engine, "/chitieu", "1", "1", "/vanban 45-NQ/TW", "/ketqua", "/ketqua 3", "/ketqua tàu vũ trụ",
               "/help", "/xyz")
    assert (f"Các chỉ tiêu năm 2024 ({len(service.targets())}):\n"
            "1. Chỉ tiêu kết nạp đảng viên mới năm 2024: 3.800 - 3.900") in out
    assert "Xem thêm (gõ số):\n1. Kết nạp đảng viên mới đến 31/10/2023" in out
    # the related 2023 result, by number
    assert "Kết nạp đảng viên mới đến 31/10/2023\nKết quả (tính đến 31/10/2023): 3.482" in out
    assert "Các văn bản được trích dẫn (1):\n1. Nghị quyết số 45-NQ/TW" in out
    assert "Các lĩnh vực" in out and ("Kết quả năm 2023 – 3. Công tác kiểm tra, giám sát, kỷ luật Đảng "
                                      f"({len(service.section_results('p1.i.3'))}):") in out
    assert "Không tìm thấy kết quả năm 2023 nào về «tàu vũ trụ»" in out
    assert "Lệnh không rõ." in out


def test_end_of_input_exits_cleanly(kb_engine) -> None:
    out = chat(kb_engine, "thời tiết hôm nay")
    assert "Chưa tìm thấy nội dung này trong báo cáo" in out and "/chitieu" in out
    assert out.endswith(PROMPT + "\n" + BYE + "\n")


def test_ctrl_c_exits_cleanly(kb_engine) -> None:
    class Interrupting(io.StringIO):
        def readline(self, *args: object) -> str:
            raise KeyboardInterrupt

    out = io.StringIO()
    assert run_chat(kb_engine, Interrupting(), out) == 0
    assert out.getvalue().endswith(BYE + "\n")
