"""The report's vocabulary of documents, in one place: type names, the letters their codes use, and
the form of a document code.

The schema validates `doc_type` against `DOC_TYPES`, `extract` finds and names documents with it,
provenance and the engine read codes with the patterns below; `tests/test_vocabulary.py` pins that
they agree.
"""

from __future__ import annotations

import re

from bot.normalize import fold

#: Document types, spelled as the report and the schema spell them. The last two are state documents
#: the report may cite.
DOC_TYPES: tuple[str, ...] = (
    "Nghị quyết", "Kết luận", "Chỉ thị", "Kế hoạch", "Quy định", "Quyết định", "Hướng dẫn",
    "Thông báo", "Công văn", "Đề án", "Quy chế", "Chương trình", "Luật", "Báo cáo",
    "Nghị định", "Thông tư",
)

#: Type → the letters its codes use (45-NQ/TW, 21-KL/TW, 1058-QĐ/TU, 05-ĐA/TU). A law's code carries
#: the issuer's letters (59/2020/QH14).
TYPE_LETTERS: dict[str, str] = {
    "Nghị quyết": "NQ", "Kết luận": "KL", "Chỉ thị": "CT", "Kế hoạch": "KH", "Quy định": "QĐ",
    "Quyết định": "QĐ", "Hướng dẫn": "HD", "Thông báo": "TB", "Công văn": "CV", "Đề án": "ĐA",
    "Quy chế": "QC", "Chương trình": "CTr", "Luật": "QH", "Báo cáo": "BC", "Nghị định": "NĐ",
    "Thông tư": "TT",
}

#: Letters → the type a code stands for when no type word precedes it (`extract`). QĐ is read as
#: Quyết định, QH (35/2021/QH15) as Nghị quyết; QD is QĐ typed without its Đ.
CODE_LETTERS: dict[str, str] = {
    "NQ": "Nghị quyết", "KL": "Kết luận", "CT": "Chỉ thị", "KH": "Kế hoạch", "QĐ": "Quyết định",
    "QD": "Quyết định", "HD": "Hướng dẫn", "TB": "Thông báo", "CV": "Công văn", "BC": "Báo cáo",
    "QC": "Quy chế", "CTr": "Chương trình", "NĐ": "Nghị định", "TT": "Thông tư", "QH": "Nghị quyết",
}

#: Types whose draft ids start with their code letters (nq-45-nq-tw); other types use their name's
#: slug (quy-che-…).
ID_LETTER_TYPES: tuple[str, ...] = (
    "Nghị quyết", "Kết luận", "Chỉ thị", "Kế hoạch", "Quy định", "Quyết định", "Hướng dẫn",
    "Thông báo", "Công văn", "Báo cáo", "Nghị định", "Thông tư",
)

#: Types a question asks for by their word ("theo hướng dẫn nào", "Thông báo phân công …").
ASKED_TYPES: tuple[str, ...] = (
    "Nghị quyết", "Kết luận", "Chỉ thị", "Kế hoạch", "Quy định", "Hướng dẫn", "Quyết định", "Thông báo",
)

#: Types a question may cite by a bare number ('kế hoạch 254', 'KL 01'); not Báo cáo ("báo cáo 6
#: tháng" is a period, not a document).
NUMBERED_TYPES: tuple[str, ...] = (
    "Nghị quyết", "Kết luận", "Chỉ thị", "Kế hoạch", "Quy định", "Quyết định", "Hướng dẫn",
    "Thông báo", "Công văn",
)


def type_id_prefix(doc_type: str) -> str | None:
    """'Nghị quyết' → 'nq', 'Quy định' → 'qd'; None for types whose ids use their name."""
    return fold(TYPE_LETTERS[doc_type]) if doc_type in ID_LETTER_TYPES else None


def folded_letters(types: tuple[str, ...]) -> dict[str, str]:
    """Folded type word → folded code letters: {'nghi quyet': 'nq', …}, in the order given."""
    return {fold(t): fold(TYPE_LETTERS[t]) for t in types}


def folded_words(types: tuple[str, ...]) -> dict[str, str]:
    """Folded type word → the type: {'nghi quyet': 'Nghị quyết', …}, in the order given."""
    return {fold(t): t for t in types}


# --------------------------------------------------------------------------------------------------
# Document codes
# --------------------------------------------------------------------------------------------------

#: A document code as the report writes it: 45-NQ/TW, 35/2021/QH15, 594/NQ-UBTVQH15, 1058-QĐ/TU.
CODE = r"\d{1,5}(?:/\d{4})?[-/][A-ZĐ][A-ZĐa-z0-9]*(?:[-/][A-ZĐ][A-ZĐa-z0-9]*)*"
#: A code standing alone in text (not inside a longer code, path or number).
CODE_RE = re.compile(rf"(?<![\w/.-]){CODE}(?![\w/])")
#: The looser form provenance reads as one figure (a number inside it is not a figure): any number of
#: digits, and the parts after the letters may start with a digit or a lower-case letter.
CODE_TOKEN = r"\d+(?:/\d{4})?[-/][A-ZĐ][A-ZĐa-z0-9]*(?:[-/][A-ZĐa-z0-9]+)*"
#: A code in folded text (a question): number, year, letters, then up to two parts.
FOLDED_CODE_RE = re.compile(
    r"(?<![\w/])(\d{1,5})(?:/(\d{4}))?[-/]([a-z]{2,4}\d*)(?:[-/]([a-z0-9]+))?(?:[-/]([a-z0-9]+))?(?![\w])"
)


def code_parts(code: str) -> tuple[int, str, str] | None:
    """Number, type letters and issuer of a code.

    '45-NQ/TW' → (45, 'nq', 'tw'); '594/NQ-UBTVQH15' → (594, 'nq', 'ubtvqh15'); '35/2021/QH15' → (35, 'qh', 'qh15').
    """
    m = FOLDED_CODE_RE.search(fold(code))
    if not m:
        return None
    number, year, a, b, c = m.groups()
    if year:  # 35/2021/QH15: the letters are the issuer's
        return int(number), re.sub(r"\d+", "", a), a
    return int(number), a, b or ""
