"""Words of the report `extract` reads documents by: type words, issuers, where a name ends."""

from __future__ import annotations

import re

from bot.knowledge.vocabulary import CODE, DOC_TYPES

_TYPE_BY_LOWER = {t.lower(): t for t in DOC_TYPES}
_TYPES_ALT = "|".join(sorted((re.escape(t) for t in DOC_TYPES), key=len, reverse=True))
_TYPE_WORD = re.compile(rf"(?<![\w])(?:{_TYPES_ALT})(?![\w])", re.IGNORECASE)
_TYPE_BEFORE = re.compile(rf"(?P<type>{_TYPES_ALT})\s+(?:số\s+)?$", re.IGNORECASE)
_FOLLOWED_BY_CODE = re.compile(rf"\s+(?:số\s+)?{CODE}")
_DATE_AFTER = re.compile(r"\s*,?\s*(?:ban hành\s+)?ngày\s+(\d{1,2}/\d{1,2}/\d{4})")
_KHOA = re.compile(r"\s+(?:Đảng\s+)?(?:khóa|khoá)\s+[IVXLC]+(?:\s*,\s*[IVXLC]+)*\b")


def _vi(pattern: str) -> str:
    """Let 'ủy', 'hóa' also match the older spellings 'uỷ', 'hoá'."""
    pattern = pattern.replace("\\ ", " ").replace(" ", r"\s+")
    return (pattern.replace("Ủy", "(?:Ủy|Uỷ)").replace("ủy", "(?:ủy|uỷ)")
            .replace("hóa", "(?:hóa|hoá)").replace("khóa", "(?:khóa|khoá)"))


#: Issuers the report names, longest first; the generic "Ban Chỉ đạo …" is matched separately.
ISSUERS: tuple[str, ...] = (
    "Ban Chấp hành Trung ương Đảng", "Ban Chấp hành Trung ương", "Ban Chấp hành Đảng bộ thành phố",
    "Ban Chấp hành Đảng bộ tỉnh", "Bộ Chính trị", "Ban Bí thư Trung ương Đảng", "Ban Bí thư",
    "Ủy ban Thường vụ Quốc hội", "Quốc hội", "Thủ tướng Chính phủ", "Chính phủ",
    "Ban Tổ chức Trung ương", "Ban Tuyên giáo Trung ương", "Ban Dân vận Trung ương",
    "Ban Nội chính Trung ương", "Ban Kinh tế Trung ương", "Ban Đối ngoại Trung ương",
    "Ủy ban Kiểm tra Trung ương", "Ban Thường vụ Thành ủy", "Ban Thường vụ Tỉnh ủy", "BTV Thành ủy",
    "BTV Tỉnh ủy", "Thường trực Thành ủy", "Thường trực Tỉnh ủy", "Ủy ban Kiểm tra Thành ủy",
    "Ban Tổ chức Thành ủy", "Ban Tuyên giáo Thành ủy", "Ban Dân vận Thành ủy", "Ban Nội chính Thành ủy",
    "Thành ủy", "Tỉnh ủy", "Hội đồng nhân dân thành phố", "Ủy ban nhân dân thành phố", "UBND thành phố",
    "HĐND thành phố", "Ủy ban Trung ương Mặt trận Tổ quốc Việt Nam", "Trung ương",
)
_ISSUER_RE = re.compile(
    r"(?:" + "|".join(_vi(re.escape(i)) for i in sorted(ISSUERS, key=len, reverse=True))
    + r"|Ban\s+Chỉ\s+đạo(?:\s+[^\s,;.:()“”]+){1,10}?(?=\s+về\s|\s+của\s|[,;.:(“]|\s*$|\s+thực hiện|\s+theo))"
    r"(?![\w])"
)
_ABBREVIATIONS = {"BTV": "Ban Thường vụ", "BCH": "Ban Chấp hành", "UBND": "Ủy ban nhân dân",
                  "HĐND": "Hội đồng nhân dân", "TW": "Trung ương"}

# Words after which a document's name has ended (a new clause starts), checked word by word.
_NAME_STOP = re.compile(
    r"(?:theo|gắn với|đi đôi|để|nhằm|đã|đề ra|bảo đảm|đảm bảo|trong bối cảnh|kịp thời|có|góp phần|tại|"
    r"đến|đạt|so với|với quyết tâm|thì|mà|hằng|vào|sẽ|cần)(?![\w])"
)
# Words that start a new clause after a comma.
_COMMA_STOP = re.compile(
    r"(?:góp phần|nhằm|để|bảo đảm|đảm bảo|qua đó|đồng thời|trong đó|tiếp tục|triển khai|thực hiện|"
    r"chỉ đạo|ban hành|phê duyệt|giải thể|thành lập|nâng cao|tăng cường|kiện toàn|đề ra|điều chỉnh|"
    r"phân công|nghiên cứu|phát huy|đẩy mạnh|gắn với|đi đôi|kịp thời|hoàn thành|lãnh đạo|tạo|có|được|"
    r"đã|sẽ|cho|theo|với|bằng|đạt|hướng tới|làm|là|từng|hằng|trong|đưa|xây dựng)(?![\w])"
)
_MAX_NAME_WORDS = 32
