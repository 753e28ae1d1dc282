"""User-facing texts of the Telegram bot's core flows (Vietnamese), in HTML parse mode: no raw '<'
or '&'.

Where texts live: the core flows (start, help, questions, lists, buttons, access, errors) here;
each feature module keeps its own under a "texts (Vietnamese, HTML)" banner at its top (admin.py,
progress.py, capnhat.py, reminders.py, backup.py), beside the only code that uses them. No
user-facing string is written inline in a handler."""

from __future__ import annotations

from typing import Protocol


class _HasYears(Protocol):
    @property
    def result_year(self) -> int: ...
    @property
    def target_year(self) -> int: ...


def years(service: _HasYears) -> dict[str, int]:
    """{'ry': result year, 'ty': target year} for the texts' placeholders."""
    return {"ry": service.result_year, "ty": service.target_year}

GREETING = (
    "Xin chào {name}! Tôi trả lời câu hỏi về <b>Báo cáo tổng kết công tác xây dựng Đảng, hệ thống "
    "chính trị năm {ry} và nhiệm vụ năm {ty}</b> của Thành ủy Hải Phòng.\n\n"
    "Hãy gõ câu hỏi bằng tiếng Việt (có dấu hoặc không dấu), hoặc bấm một câu hỏi mẫu bên dưới. "
    "Gõ /help để xem các lệnh."
)

HELP = (
    "<b>Tôi có thể giúp gì?</b>\n"
    "• Gõ câu hỏi, ví dụ: <i>năm {ry} kết nạp bao nhiêu đảng viên?</i> — tôi trả lời bằng số liệu "
    "của báo cáo kèm mục nguồn.\n"
    "• /chitieu — các chỉ tiêu năm {ty}\n"
    "• /ketqua [chủ đề] — kết quả năm {ry} theo lĩnh vực, ví dụ <i>/ketqua kiểm tra</i>\n"
    "• /vanban [từ khóa] — các văn bản được báo cáo trích dẫn, ví dụ <i>/vanban 45-NQ/TW</i>\n"
    "• /tiendo [số] — tiến độ các chỉ tiêu năm {ty}, kèm biểu đồ, ví dụ <i>/tiendo 1</i>\n"
    "• /theodoi — nhận nhắc tiến độ chỉ tiêu hằng tuần hoặc hằng tháng; /dangtheodoi — xem, đổi lịch; "
    "/huytheodoi — hủy\n"
    "• /help — hướng dẫn này\n\n"
    "Trong nhóm, hãy gọi tôi bằng lệnh, nhắc tên @{username} hoặc trả lời tin nhắn của tôi."
)

# (command, description) for setMyCommands; descriptions are plain text ({ry}/{ty}: the years).
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Bắt đầu và xem câu hỏi mẫu"),
    ("chitieu", "Các chỉ tiêu năm {ty}"),
    ("ketqua", "Kết quả năm {ry} theo lĩnh vực"),
    ("vanban", "Các văn bản được trích dẫn"),
    ("tiendo", "Tiến độ các chỉ tiêu năm {ty}"),
    ("theodoi", "Nhận nhắc tiến độ chỉ tiêu"),
    ("dangtheodoi", "Các nhắc tiến độ đang theo dõi"),
    ("huytheodoi", "Hủy nhắc tiến độ"),
    ("help", "Hướng dẫn sử dụng"),
)

# Example questions offered by /start (button i sends EXAMPLES[i]); each answers with the real base.
# {ry}/{ty}: the report's result and target years.
EXAMPLES: tuple[str, ...] = (
    "Năm {ry} kết nạp bao nhiêu đảng viên mới?",
    "Chỉ tiêu kết nạp đảng viên năm {ty} là bao nhiêu?",
    "Có bao nhiêu tổ chức đảng bị kỷ luật?",
    "Nghị quyết 45-NQ/TW nói về gì?",
)

REFUSAL = "Xin lỗi, bot này chỉ phục vụ cán bộ được cấp quyền."
REFUSAL_ID = "Mã số Telegram của bạn: {user}. Gửi mã này cho quản trị viên để được cấp quyền."
REFUSAL_GROUP_ID = "Mã số nhóm này: {chat} (quản trị viên có thể cấp quyền cho cả nhóm)."


def refusal(user_id: int | None, chat_id: int | None = None, *, html: bool = True) -> str:
    """The access refusal with the numeric id the admin needs (and the group's, in a group):
    without it the user cannot ask to be added. ``html``: the ids in <code> (a message); plain for
    a button's alert."""
    def code(n: int) -> str:
        return f"<code>{n}</code>" if html else str(n)

    parts = [REFUSAL]
    if user_id is not None:
        parts.append(REFUSAL_ID.format(user=code(user_id)))
    if chat_id is not None and chat_id < 0:  # a group or supergroup
        parts.append(REFUSAL_GROUP_ID.format(chat=code(chat_id)))
    return "\n".join(parts)
ERROR = "Đã có lỗi xảy ra, vui lòng thử lại sau."
STALE_BUTTON = "Nút này đã cũ hoặc không hợp lệ."
STALE_BUTTON_MESSAGE = (
    "Nút bấm này đã cũ hoặc không còn hợp lệ. Bạn hãy gõ lại câu hỏi, hoặc dùng /chitieu, /ketqua, /vanban."
)
FOLLOW_SOON = (
    "Tính năng nhắc tiến độ chỉ tiêu <b>{title}</b> sẽ sớm có. "
    "Khi sẵn sàng, bạn có thể theo dõi ngay từ nút «Theo dõi»."
)
UNKNOWN_COMMAND = "Tôi không biết lệnh này. Gõ /help để xem các lệnh."
NOT_TEXT = "Tôi chỉ hiểu câu hỏi dạng chữ. Hãy gõ câu hỏi, hoặc dùng /help."
EMPTY_MENTION = "Bạn muốn hỏi gì? Hãy gõ câu hỏi sau tên của tôi, ví dụ: @{username} kết nạp bao nhiêu đảng viên?"

# Lists
TARGETS_TITLE = "Các chỉ tiêu năm {ty}"
RESULTS_TITLE = "Kết quả năm {ry}"
RESULTS_SECTIONS = "<b>Kết quả năm {ry}</b>\nChọn lĩnh vực:"
RESULTS_NONE = "Không tìm thấy kết quả năm {ry} nào về «{topic}». Chọn một lĩnh vực:"
DOCUMENTS_TITLE = "Các văn bản được báo cáo trích dẫn"
DOCUMENTS_NONE = "Không tìm thấy văn bản nào có «{keyword}»."
PAGE = "Trang {page}/{pages} · {total} mục — bấm một mục để xem chi tiết."

# Buttons
BTN_PREV = "◀ Trang trước"
BTN_NEXT = "Trang sau ▶"
BTN_SECTIONS = "↩ Các lĩnh vực"
BTN_ALL_DOCUMENTS = "Xem tất cả văn bản"
BTN_FOLLOW = "🔔 Theo dõi"
BTN_TARGETS = "🎯 Chỉ tiêu {ty}"
BTN_RESULTS = "📊 Kết quả {ry}"
BTN_DOCUMENTS = "📄 Văn bản"
BTN_TARGET = "🎯 Chỉ tiêu {year}: {title}"
BTN_PLAN = "📋 Kế hoạch {year}: {title}"
BTN_RESULT = "📊 Kết quả {year}: {title}"
