"""Messages that are not questions about the report: greetings, thanks, English. They get a short
fitting reply, never "the report has no information"."""

from __future__ import annotations

import re

from bot.normalize import fold

_GREETING = re.compile(r"^(xin chao|chao|hello|hi|hey|alo|a lo)( (ban|bot|anh|chi|em|ad|admin|moi nguoi))?$")
_THANKS = re.compile(
    r"^(cam on|cam on nhieu|thank you|thanks|thank|tks|thanks a lot|ok cam on|cam on ban)( (ban|bot|nhe|nha|nhieu|a))*$"
)
_WHO = re.compile(r"^(ban|bot|em)( ten)? (la )?(ai|gi)$|^ban ten la gi$|^ban la ai$|^ban lam duoc gi$")
_BYE = re.compile(r"^(tam biet|bye|goodbye|hen gap lai)( (ban|bot|nhe|nha))*$")
# Common English function words: two or more of them and no Vietnamese diacritics is English.
# (None of them is a Vietnamese syllable typed without diacritics: not "the", "do", "can", "on".)
_ENGLISH = frozenset("what how many much is are was were of for who which when where does did please you "
                     "tell about number year party members hello thanks".split())

GREETING = (
    "Xin chào! Bạn hãy hỏi về báo cáo công tác xây dựng Đảng năm 2023 và chỉ tiêu năm 2024, "
    "ví dụ: “năm 2023 kết nạp bao nhiêu đảng viên?”"
)
THANKS = "Rất vui được giúp bạn. Bạn cứ hỏi tiếp về báo cáo nhé."
WHO = (
    "Tôi là bot hỏi–đáp về báo cáo công tác xây dựng Đảng năm 2023 của Thành ủy Hải Phòng: số liệu, "
    "chỉ tiêu năm 2024, văn bản và nội dung báo cáo nêu. Gõ /help để xem cách hỏi."
)
BYE = "Tạm biệt! Khi cần, bạn cứ hỏi tiếp về báo cáo."
ENGLISH = "Vui lòng hỏi bằng tiếng Việt (có dấu hoặc không dấu), ví dụ: “chỉ tiêu kết nạp đảng viên năm 2024?”"


def small_talk(text: str) -> str | None:
    """The reply to a greeting, thanks, goodbye or an English question; None for anything else."""
    folded = re.sub(r"[^\w\s]", " ", fold(text)).split()
    plain = " ".join(folded)
    if not plain:
        return None
    if _GREETING.match(plain):
        return GREETING
    if _THANKS.match(plain):
        return THANKS
    if _WHO.match(plain):
        return WHO
    if _BYE.match(plain):
        return BYE
    words = text.lower().split()
    if text.isascii() and sum(1 for w in words if w.strip("?.,!") in _ENGLISH) >= 2 and len(words) >= 3:
        return ENGLISH
    return None
