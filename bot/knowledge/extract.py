"""Draft knowledge-base YAML from a report in the source's markdown form (`python -m bot extract`).

This is how next year's report gets in: the draft holds the report's section table (found from its
headings, not from `knowledge/sections.yaml`), every document it cites and every figure it states,
each figure with the clause around it so an admin can write the real entries. The draft is close to
the schema (`draft_files` turns it into files `load_base` accepts, and its figures pass provenance),
but ids, titles, units, roles and issuers are guesses and every subject is a placeholder.

With `--compare` (the default) the draft is measured against the curated base: how many of its
documents (by code, or by fuzzy name for documents without a code) and figures (by text, section
and footnote) the draft found.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from rapidfuzz import fuzz

from bot.knowledge.provenance import _TOKEN, _YEAR, squash
from bot.knowledge.source import (
    FOOTNOTE_LINE,
    FOOTNOTE_MARKER,
    SourceError,
    SourceReport,
    clean,
    parse_report,
    read_text,
)
from bot.knowledge.vocabulary import CODE, CODE_LETTERS, CODE_RE, DOC_TYPES, type_id_prefix
from bot.normalize import fold, nfc, strip_diacritics

if TYPE_CHECKING:
    from bot.knowledge.base import KnowledgeBase

# --------------------------------------------------------------------------------------------------
# Vocabulary (types, code letters and the code pattern are in bot.knowledge.vocabulary)
# --------------------------------------------------------------------------------------------------

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

_PART_WORDS = {"nhất": 1, "một": 1, "hai": 2, "ba": 3, "tư": 4, "bốn": 4, "năm": 5, "sáu": 6,
               "bảy": 7, "tám": 8, "chín": 9, "mười": 10}
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
_ROMAN_RE = r"(?:X{0,3}(?:IX|IV|V?I{0,3}))"
_H_PART = re.compile(r"^PHẦN\s+(?:THỨ\s+)?(?P<n>[^\s.:,]+)", re.IGNORECASE)
_H_ROMAN = re.compile(rf"^(?P<n>{_ROMAN_RE})\.\s*(?P<t>\S.*)$")
_H_SUB = re.compile(r"^(?P<n>\d{1,2}(?:\.\d{1,2})+)\.?\s+(?P<t>\S.*)$")
_H_ARABIC = re.compile(r"^(?P<n>\d{1,2})\.\s+(?P<t>\S.*)$")
_BOLD_SEG = re.compile(r"(\*{2,3})(.+?)\1")
_CLOSING = re.compile(r"^\s*\**\s*(Nơi nhận\s*:?)", re.IGNORECASE)
_SEPARATOR = re.compile(r"^\s*[-_*=]{3,}\s*$")

#: Fields of the draft that the schema does not know; `draft_files` drops them.
DRAFT_ONLY = ("clause", "mention", "note", "subtitle")
DRAFT_HEADER = """\
# DRAFT — generated by `python -m bot extract` from {source}.
# Review every entry before anything goes into knowledge/: ids, titles, units, roles, periods and
# issuers are guesses from the report's wording; every `subject` is a placeholder to write in our own
# words; `clause`, `mention`, `note` and `subtitle` are for the reviewer only (the schema does not
# know them).
# Split into knowledge/sections.yaml, indicators/*.yaml, targets.yaml and documents.yaml, then run
# `python -m bot check --source <report> --coverage`.
"""
SUBJECT_TODO = "TODO: viết lại bằng lời của cơ sở tri thức"


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------

@dataclass
class Heading:
    """A section of the report found from its heading (or the preamble / the closing 'Nơi nhận')."""

    id: str
    title: str
    anchor: str
    level: int
    parent: str | None = None
    subtitle: str = ""
    numbering: str = ""


@dataclass
class DocMention:
    """One place where the report cites a document."""

    doc_type: str
    code: str | None = None
    name: str | None = None
    date: str | None = None
    issuer: str | None = None
    implements: str | None = None  # the code of the document it carries out, when the report says so
    section: str | None = None
    footnote: int | None = None
    start: int = 0
    end: int = 0
    context: str = ""
    note: str = ""


@dataclass
class DraftDocument:
    """A document of the draft: its mentions merged (by code, or by folded name)."""

    id: str
    doc_type: str
    code: str | None
    name: str | None
    issuer: str | None
    date: str | None
    implements: list[str] = field(default_factory=list)
    cited_in: list[tuple[str, int | None]] = field(default_factory=list)
    mention: str = ""
    note: str = ""


@dataclass
class DraftFigure:
    """A figure as the report writes it, with the draft's guess of its unit, label and role."""

    text: str
    start: int
    end: int
    kind: str  # num | range | ratio | date | daterange | yearrange | of | percent
    unit: str = ""
    label: str = ""
    role: str = "value"


@dataclass
class DraftFact:
    """An indicator or target draft: the figures of one clause of a section or footnote."""

    kind: str
    id: str
    title: str
    section: str
    footnote: int | None
    figures: list[DraftFigure]
    clause: str
    period: str | None = None
    year: int | None = None
    note: str = ""


@dataclass
class Draft:
    """The whole draft of a report."""

    source: str
    title: str
    sections: list[Heading]
    documents: list[DraftDocument]
    facts: list[DraftFact]
    warnings: list[str] = field(default_factory=list)
    report: SourceReport | None = None

    def to_data(self) -> dict[str, Any]:
        """The draft as plain data (what `render_yaml` writes and `yaml.safe_load` reads back)."""
        return {
            "draft": {"source": self.source, "report": self.title, "warnings": list(self.warnings)},
            "sections": [_section_data(s) for s in self.sections],
            "documents": [_document_data(d) for d in self.documents],
            "indicators": [_fact_data(f) for f in self.facts if f.kind == "indicator"],
            "targets": [_fact_data(f) for f in self.facts if f.kind == "target"],
        }


# --------------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------------

def _roman_value(s: str) -> int:
    total = 0
    for i, ch in enumerate(s):
        v = _ROMAN[ch]
        total += -v if i + 1 < len(s) and _ROMAN[s[i + 1]] > v else v
    return total


def _anchor_text(segment: str) -> str:
    """A heading segment as it stands in the loader's cleaned body (up to a footnote marker)."""
    text = clean(segment)
    text = FOOTNOTE_MARKER.split(text)[0]
    return text.split("\n")[0].strip()


def _sentence_case(text: str) -> str:
    """'KẾT QUẢ ĐẠT ĐƯỢC' → 'Kết quả đạt được'; mixed-case text is kept."""
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) / len(letters) > 0.8:
        low = text.lower()
        return low[:1].upper() + low[1:]
    return text


def classify_heading(text: str) -> tuple[str, int, str, str] | None:
    """(kind, level, number, rest) of a numbered heading text, or None when it is not numbered.

    Levels: 'Phần thứ …' 1, Roman 'I.' 2, '1.' 3, '2.1.' 4 (one more per further component).
    """
    text = squash(text).strip()
    m = _H_PART.match(text)
    if m:
        word = m.group("n")
        n = _PART_WORDS.get(word.lower())
        if n is None and word.isdigit():
            n = int(word)
        elif n is None and re.fullmatch(_ROMAN_RE, word.upper()):
            n = _roman_value(word.upper())  # 'Phần II'
        if n is not None:
            return ("part", 1, str(n), text[m.end():].strip(" :.-–"))
    m = _H_ROMAN.match(text)
    if m and m.group("n"):
        return ("roman", 2, m.group("n"), m.group("t"))
    m = _H_SUB.match(text)
    if m:
        return ("sub", 2 + m.group("n").count(".") + 1, m.group("n"), m.group("t"))
    m = _H_ARABIC.match(text)
    if m:
        return ("arabic", 3, m.group("n"), m.group("t"))
    return None


def _line_segments(line: str) -> tuple[list[str], str, bool] | None:
    """Heading candidates of a line: (segments, trailing text, markdown '#' heading) or None.

    `**A****B**` gives [A, B]; `## **A**` and `### A` give [A]; `**A** text…` gives [A] and 'text…'.
    """
    stripped = line.strip()
    hashes = re.match(r"^#{1,6}\s*", stripped)
    rest = stripped[hashes.end():] if hashes else stripped
    segs: list[str] = []
    while True:
        m = _BOLD_SEG.match(rest)
        if not m:
            break
        segs.append(m.group(2))
        rest = rest[m.end():]
    if hashes:
        if not segs:
            return ([rest.replace("*", "")], "", True) if rest.strip() else None
        return segs, rest.strip(), True
    if not segs:
        return None
    return segs, rest.strip(), False


def _logical_lines(text: str) -> list[str]:
    """Lines, with a bold run left open at a line end joined to the lines that close it."""
    out: list[str] = []
    pending = ""
    for line in text.splitlines():
        cur = f"{pending} {line.strip()}" if pending else line
        if cur.count("**") % 2 and len(cur) < 600:
            pending = cur
            continue
        pending = ""
        out.append(cur)
    if pending:
        out.append(pending)
    return out


def _new_heading(cls: tuple[str, int, str, str], anchor: str, stack: list[Heading]) -> Heading:
    """A heading placed under the nearest open heading of a lower level (`stack` is updated)."""
    kind, level, number, rest = cls
    while stack and stack[-1].level >= level:
        stack.pop()
    parent = stack[-1] if stack else None
    if kind == "part":
        hid, title = f"p{number}", _part_title(anchor, rest)
    elif kind == "roman":
        hid = f"{parent.id}.{number.lower()}" if parent else number.lower()
        title = f"{number}. {_sentence_case(rest)}"
    else:  # '1.' under its parent, '2.1.' under '2.' (the id takes the last component)
        last = number.split(".")[-1]
        hid = f"{parent.id}.{last}" if parent else f"s{number.replace('.', '-')}"
        title = f"{number}. {_sentence_case(rest)}"
    h = Heading(hid, squash(title).rstrip(" :."), anchor, level, parent.id if parent else None, numbering=number)
    if kind == "part" and rest:
        h.subtitle = rest
    return h


def parse_headings(text: str) -> tuple[list[Heading], str, list[str]]:
    """The section table of a report: its headings in order, the report's title, warnings.

    Headings are bold (`**…**`, several may stand on one line), markdown (`#…`) or both, or a bold
    numbered lead-in at the start of a paragraph. Their level comes from their numbering; an unnumbered
    heading right after a part is the part's subtitle; other unnumbered bold text is not a heading.
    Text before the first heading (after the title block) becomes 'mo-dau'; 'Nơi nhận:' 'noi-nhan'.
    """
    text = nfc(text)
    headings: list[Heading] = []
    warnings: list[str] = []
    stack: list[Heading] = []
    ids: set[str] = set()
    title_lines: list[str] = []
    seen_body = False  # a plain paragraph has been seen (the title block is over)
    open_part: Heading | None = None  # a part whose subtitle may follow
    closing_seen = False

    def add(h: Heading) -> None:
        base, n = h.id, 2
        while h.id in ids:
            h.id = f"{base}-{n}"
            n += 1
        ids.add(h.id)
        headings.append(h)

    for line in _logical_lines(text):
        if not line.strip() or FOOTNOTE_LINE.match(line) or _SEPARATOR.match(line):
            continue
        if closing_seen:
            continue
        m = _CLOSING.match(line)
        if m and headings:
            add(Heading("noi-nhan", "Nơi nhận", _anchor_text(m.group(1)), 1))
            closing_seen = True
            continue
        parts = _line_segments(line)
        if parts:
            segs, trailing, _hashed = parts
            whole_line = not trailing
            numbered = False
            for i, seg in enumerate(segs):
                anchor = _anchor_text(seg)
                cls = classify_heading(anchor) if anchor else None
                if cls is None:
                    if open_part is not None and whole_line and 0 < len(anchor.split()) <= 25:
                        open_part.subtitle = f"{open_part.subtitle} {squash(anchor)}".strip()
                        continue
                    break  # unnumbered bold text that is no subtitle: a lead-in, not a heading
                if i > 0 and not whole_line:
                    break  # only the first bold segment of a paragraph can be its heading
                numbered = True
                h = _new_heading(cls, anchor, stack)
                add(h)
                stack.append(h)
                open_part = h if cls[0] == "part" else None
            if numbered:
                if trailing:  # '**8. Mặt trận …** phát huy …': the paragraph starts here
                    open_part = None
                    seen_body = True
                continue
            if whole_line:
                # an unnumbered bold or '#' line: the title block, or emphasis; not a section
                if not headings and not seen_body:
                    title_lines.append(squash(clean(re.sub(r"\*{2,}", " ", line))))
                continue
        # a plain paragraph (or one led by unnumbered bold words)
        if not headings and not seen_body:
            words = re.match(r"\s*((?:\S+\s+){0,4}\S+)", _anchor_text(line))
            if words:
                add(Heading("mo-dau", "Mở đầu", words.group(1).rstrip(",;:."), 1))
        seen_body = True
        open_part = None
    if not [h for h in headings if h.id not in ("mo-dau", "noi-nhan")]:
        warnings.append("no numbered heading found: the section table holds only the preamble")
    # 'Nơi nhận' and the preamble are roots; every other root is a part (or a top-level heading).
    return headings, squash(" ".join(title_lines)).strip(), warnings


def _part_title(anchor: str, rest: str) -> str:
    """'Phần thứ nhất' (the subtitle is kept apart)."""
    head = anchor[: len(anchor) - len(rest)].strip(" :.-–") if rest and anchor.endswith(rest) else anchor
    return _sentence_case(head)


def _depths(headings: list[Heading]) -> dict[str, int]:
    by_id = {h.id: h for h in headings}
    out: dict[str, int] = {}
    for h in headings:
        d, p = 0, h.parent
        while p:
            d, p = d + 1, by_id[p].parent
        out[h.id] = d
    return out


def locate_sections(text: str, headings: list[Heading]) -> tuple[SourceReport, list[Heading], list[str]]:
    """Parse the report with the draft's anchors exactly as the loader will; drop anchors it cannot find."""
    warnings: list[str] = []
    kept = list(headings)
    while True:
        depth = _depths(kept)
        try:
            report = parse_report(text, [(h.id, h.anchor, depth[h.id]) for h in kept])
            break
        except SourceError as exc:
            bad = next((h for h in kept if f"section {h.id}:" in str(exc)), None)
            if bad is None:
                raise
            warnings.append(f"section {bad.id}: anchor {bad.anchor!r} not found by the loader; dropped")
            kept = [h for h in kept if h is not bad]
            for h in kept:
                if h.parent == bad.id:
                    h.parent = bad.parent
    for h in kept:
        n = report.body.count(nfc(h.anchor))
        if n > 1:
            warnings.append(f"section {h.id}: anchor {h.anchor!r} occurs {n} times in the report; "
                            f"the loader takes the first after the previous section — check it")
    return report, kept, warnings


# --------------------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------------------

def flatten(text: str) -> str:
    """The text with page breaks inside sentences joined; same length, so offsets stay valid.

    A line break is joined (turned into spaces) when the next line starts in lower case, or when it is
    a page break (footnote lines were removed there: three or more newlines, or a '---' rule) that
    does not follow the end of a sentence.
    """
    chars = list(text)
    for m in re.finditer(r"[ \t]*\n(?:[ \t\-_*]*\n)*[ \t]*", text):
        run = m.group(0)
        i = m.start() - 1
        while i >= 0 and text[i] in " \t":
            i -= 1
        prev = text[i] if i >= 0 else ""
        nxt = text[m.end(): m.end() + 1]
        page_break = run.count("\n") >= 3 or "-" in run
        if nxt and (nxt.islower() or (page_break and prev and prev not in ".:;!?…”\")")):
            for k in range(m.start(), m.end()):
                chars[k] = " "
    return "".join(chars)


def _protected(text: str) -> list[bool]:
    """Positions inside a closed (…) or “…” on the same line: clause splitting does not cut there."""
    mask = [False] * len(text)
    for open_, close in (("(", ")"), ("“", "”")):
        i = 0
        while True:
            i = text.find(open_, i)
            if i < 0:
                break
            j = text.find(close, i + 1)
            nl = text.find("\n", i + 1)
            if j > 0 and (nl < 0 or j < nl) and j - i < 500:
                for k in range(i + 1, j):
                    mask[k] = True
                i = j + 1
            else:
                i += 1
    return mask


def slug(text: str, limit: int = 60) -> str:
    """Lower-case ascii slug ('Kết nạp 3.482 đảng viên' → 'ket-nap-3482-dang-vien')."""
    s = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    if len(s) > limit:
        s = s[:limit].rsplit("-", 1)[0]
    return s


def code_slug(code: str) -> str:
    """'1058-QĐ/TU' → '1058-qd-tu' (leading zeros kept: '05-CT/TW' → '05-ct-tw')."""
    return re.sub(r"[^a-z0-9]+", "-", strip_diacritics(code.lower())).strip("-")


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _expand(issuer: str) -> str:
    """An issuer as the base writes it: abbreviations spelled out, 'uỷ'/'hoá' in today's spelling."""
    for short, long in _ABBREVIATIONS.items():
        issuer = re.sub(rf"(?<!\w){short}(?!\w)", long, issuer)
    for old, new in (("uỷ", "ủy"), ("Uỷ", "Ủy"), ("hoá", "hóa"), ("khoá", "khóa")):
        issuer = issuer.replace(old, new)
    return squash(issuer).strip()


# --------------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------------

def _issuer_at(text: str, pos: int) -> tuple[str, int] | None:
    """An issuer starting at `pos` (a known one, or 'Ban Chỉ đạo …'), with a 'khóa XIII' suffix."""
    m = _ISSUER_RE.match(text, pos)
    if not m:
        return None
    end = m.end()
    k = _KHOA.match(text, end)
    if k:
        end = k.end()
    return _expand(text[pos:end]), end


def _issuer_after(text: str, pos: int) -> tuple[str, int] | None:
    """'của <issuer>' (or 'do <issuer>') right at `pos`; an unknown issuer is taken up to a stop word."""
    m = re.compile(r"\s*,?\s*(?:của|do)\s+").match(text, pos)
    if not m:
        return None
    known = _issuer_at(text, m.end())
    if known:
        return known
    words = re.compile(r"((?:[A-ZĐÀ-Ỹ][^\s,;.:()“”]*)(?:\s+(?!về\b|thực hiện\b|tại\b|trong\b|đối với\b|theo\b|"
                       r"nhằm\b|để\b|gắn\b)[^\s,;.:()“”]+){0,6})").match(text, m.end())
    if words and words.group(1)[:1].isupper():
        return _expand(words.group(1)), words.end()
    return None


def _type_of(word: str) -> str:
    return _TYPE_BY_LOWER.get(word.lower(), _capitalize(word.lower()))


def _type_from_code(code: str) -> str | None:
    for letters in re.findall(r"[A-ZĐ][A-ZĐa-z]*", code):
        if letters in CODE_LETTERS:
            return CODE_LETTERS[letters]
        for k in (letters[:3], letters[:2]):
            if k in CODE_LETTERS:
                return CODE_LETTERS[k]
    return None


def _context(text: str, start: int, end: int, width: int = 90) -> str:
    a = max(0, start - width)
    b = min(len(text), end + width)
    return squash(("…" if a else "") + text[a:b] + ("…" if b < len(text) else "")).strip()


def find_code_mentions(text: str) -> list[DocMention]:
    """Every document code in `text` with its type, date, issuer and what it implements.

    'Kế hoạch số 254-KH/TU, ngày 31/5/2023 của Ban Thường vụ Thành ủy thực hiện Nghị quyết số 28-NQ/TW'
    gives Kế hoạch 254-KH/TU 31/5/2023 Ban Thường vụ Thành ủy implements 28-NQ/TW (and a mention of it).
    """
    out: list[DocMention] = []
    for m in CODE_RE.finditer(text):
        code = m.group(0)
        if "/" not in code:
            continue
        before = _TYPE_BEFORE.search(text[max(0, m.start() - 40): m.start()])
        doc_type = _type_of(before.group("type")) if before else _type_from_code(code)
        if doc_type is None:
            continue
        start = m.start() - (len(before.group(0)) if before else 0)
        pos = m.end()
        date = None
        d = _DATE_AFTER.match(text, pos)
        if d:
            date, pos = d.group(1), d.end()
        issuer = None
        iss = _issuer_after(text, pos)
        if iss:
            issuer, pos = iss
        implements = None
        seg_end = re.compile(r"[;\n]|\.(?:\s|$)").search(text, pos)
        seg = text[pos: seg_end.start() if seg_end else len(text)]
        imp = re.search(rf"thực hiện\s+(?:{_TYPES_ALT})?\s*(?:số\s+)?({CODE})", seg, re.IGNORECASE)
        if imp and not CODE_RE.search(seg[: imp.start()]):
            implements = imp.group(1)
        out.append(DocMention(doc_type, code=code, date=date, issuer=issuer, implements=implements,
                              start=start, end=pos, context=_context(text, start, pos)))
    return out


_NAME_TOKEN = re.compile(
    r"(?P<quote>“[^”\n]{0,400}”)|(?P<paren>\([^()\n]{0,120}\))|(?P<space>\s+)|(?P<punct>[,;:!?…]|\.{2,}|\.(?!\S))"
    r"|(?P<word>(?:[^\s,;:.!?…“”()]|[.,](?=\S))+)|(?P<other>.)"
)


_AND_TYPE = re.compile(rf"và\s+(?:các\s+|những\s+)?(?:{_TYPES_ALT})(?![\w])", re.IGNORECASE)


def _scan_name(text: str, pos: int) -> tuple[int, str]:
    """Where a document's name that starts at `pos` ends, and why ('stop', 'code', 'cap')."""
    words = 0
    end = pos
    first_comma: int | None = None
    i = pos
    while i < len(text):
        m = _NAME_TOKEN.match(text, i)
        if not m:
            break
        kind = m.lastgroup
        tok = m.group(0)
        if kind == "space":
            if "\n" in tok:
                return end, "stop"
            i = m.end()
            continue
        if kind == "punct":
            if tok != ",":
                return end, "stop"
            j = m.end()
            while j < len(text) and text[j] == " ":
                j += 1
            if text.startswith("“", j):
                i = m.end()
                continue
            if _TYPE_WORD.match(text, j) or _COMMA_STOP.match(text, j) or _ISSUER_RE.match(text, j):
                return end, "stop"
            if first_comma is None:
                first_comma = end
            i = m.end()
            continue
        if kind == "paren":
            inner = tok[1:-1]
            if len(inner.split()) > 8 or re.fullmatch(r"\d{1,2}", inner):
                return end, "stop"
            end = i = m.end()
            continue
        if kind == "quote":
            end = i = m.end()
            words += len(tok.split())
            continue
        if kind == "other":
            if tok in "“\"'":  # a quote left open: part of the name
                i = m.end()
                continue
            return end, "stop"
        # a word
        if _NAME_STOP.match(text, i):
            return end, "stop"
        if tok == "và" and _AND_TYPE.match(text, i):
            return end, "stop"
        if CODE_RE.fullmatch(tok):
            return m.end(), "code"
        words += 1
        end = i = m.end()
        if words > _MAX_NAME_WORDS:
            return (first_comma if first_comma is not None else end), "cap"
    return end, "stop"


def _list_items(text: str, pos: int) -> list[tuple[int, int]]:
    """Items of a 'về: a; b; c.' list starting at `pos` (spans of a, b, c)."""
    end_m = re.compile(r"\.(?:\s|$)|\n").search(text, pos)
    end = end_m.start() if end_m else len(text)
    items = []
    i = pos
    for part in text[pos:end].split(";"):
        s = i + len(part) - len(part.lstrip(" -"))
        e = i + len(part.rstrip())
        if e > s:
            items.append((s, e))
        i += len(part) + 1
    return items


def find_name_mentions(text: str, code_mentions: Iterable[DocMention] = ()) -> list[DocMention]:
    """Documents named without a code ('Luật …', 'Đề án “…”', 'Quy chế …', 'Nghị quyết Đại hội …').

    Best effort: a capitalised type word starts a name, which runs to the end of the clause (stop words,
    a comma before a new clause, ';', '.'); a lower-case type word counts when it continues a list of
    documents, heads a 'về: a; b; c' list, or its name holds a year or a quoted title. 'Đề án và Quyết
    định X' gives two documents named X; 'Chỉ thị của <issuer> về X' takes the issuer out of the name.
    """
    code_spans = [(c.start, c.end) for c in code_mentions]
    out: list[DocMention] = []
    raw: list[tuple[re.Match[str], int, str, str | None, int]] = []  # (match, name_start, stop, issuer, end)
    for m in _TYPE_WORD.finditer(text):
        if _FOLLOWED_BY_CODE.match(text, m.end()):
            continue
        if any(a <= m.start() < b for a, b in code_spans):
            continue
        pos = m.end()
        issuer = None
        iss = re.compile(r"\s+của\s+").match(text, pos)
        if iss:
            known = _issuer_at(text, iss.end())
            if known:
                issuer, pos = known
        lst = re.compile(r"\s+về\s*:\s*").match(text, pos)
        if lst:
            doc_type = _type_of(m.group(0))
            for s, e in _list_items(text, lst.end()):
                item = squash(text[s:e]).strip(" .")
                if not item:
                    continue
                name = f"{doc_type} về {item[:1].lower()}{item[1:]}"
                out.append(DocMention(doc_type, name=name, issuer=issuer, start=s, end=e,
                                      context=_context(text, s, e), note="item of a 'về:' list"))
            continue
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        end, why = _scan_name(text, pos)
        raw.append((m, pos, why, issuer, end))

    ends: list[int] = []  # where the names taken so far end (a lower-case type word may continue them)
    for idx, (m, pos, why, issuer, end) in enumerate(raw):
        word = m.group(0)
        doc_type = _type_of(word)
        note = ""
        name_rest = squash(text[pos:end]).strip(" ,")
        # "Đề án và Quyết định X", "Chương trình, Kế hoạch X": the first shares the second's name
        if not name_rest and idx + 1 < len(raw):
            nm, npos, _nwhy, nissuer, nend = raw[idx + 1]
            if re.fullmatch(r"\s*(?:và|,)\s*", text[m.end(): nm.start()]):
                name_rest = squash(text[npos:nend]).strip(" ,")
                issuer = issuer or nissuer
                end = nend
                note = f"shares its name with the {_type_of(nm.group(0))} named next to it"
        if not name_rest or not re.search(r"\w", name_rest):
            continue
        if word[:1].islower():
            prev_end = re.search(r"(?:,|\s+và)\s+(?:các\s+|những\s+)?$", text[max(0, m.start() - 30): m.start()])
            continues_list = prev_end is not None and (m.start() - len(prev_end.group(0))) in ends
            specific = re.search(r"\b(?:19|20)\d{2}\b|“", name_rest) and not re.match(r"\s+của\s", text[m.end():])
            if not (continues_list or specific):
                continue
        # a trailing 'của <issuer>' belongs to the document (unless the name ends in another's code)
        if why != "code":
            trail = re.search(r"\s+của\s+(.+)$", name_rest)
            if trail:
                known = _issuer_at(trail.group(1), 0)
                if known and known[1] == len(trail.group(1)):
                    issuer = issuer or known[0]
                    name_rest = name_rest[: trail.start()]
        name = f"{doc_type} {name_rest}".strip()
        date = None
        d = _DATE_AFTER.match(text, end)
        if d:
            date = d.group(1)
        out.append(DocMention(doc_type, name=name, issuer=issuer, date=date, start=m.start(), end=end,
                              context=_context(text, m.start(), end), note=note))
        ends.append(end)
        out.extend(_elliptic_items(text, end, doc_type, name_rest, issuer))
    for men in out:
        if not men.issuer:
            back = re.search(r"(" + _ISSUER_RE.pattern + r")\s+(?:đã\s+|tiếp tục\s+)?ban hành\s+(?:các\s+)?$",
                             text[max(0, men.start - 90): men.start])
            if back and men.note != "item of a 'về:' list":
                men.issuer = _expand(back.group(1))
    _complete_bare_congress(text, out)
    return out


def _elliptic_items(text: str, end: int, doc_type: str, name_rest: str, issuer: str | None) -> list[DocMention]:
    """'Đề án nhân sự Đại hội Công đoàn …; Đại hội Hội Nông dân …': a ';'-item that repeats the head of
    the name just read (its first two words stand in that name) names another document of the kind."""
    out: list[DocMention] = []
    pos = end
    while True:
        semi = re.compile(r"\s*;\s*").match(text, pos)
        if not semi:
            return out
        stop = re.compile(r";|\n|\.(?:\s|$)").search(text, semi.end())
        item_end = stop.start() if stop else len(text)
        item = squash(text[semi.end(): item_end]).strip()
        head = " ".join(item.split()[:2])
        idx = name_rest.find(head) if len(item.split()) >= 3 and head[:1].isupper() else -1
        if idx <= 0:
            return out
        name = f"{doc_type} {name_rest[:idx]}{item}"
        out.append(DocMention(doc_type, name=name, issuer=issuer, start=semi.end(), end=item_end,
                              context=_context(text, semi.end(), item_end),
                              note="name completed from the list item before it (the report leaves the head out)"))
        pos = item_end


def _complete_bare_congress(text: str, mentions: list[DocMention]) -> None:
    """A bare 'Nghị quyết Đại hội' names the congress the text just spoke of: complete it from there."""
    for men in mentions:
        if not men.name or not re.fullmatch(r"\S+(?: \S+)? Đại hội", men.name):
            continue
        lo = max(0, men.start - 600)
        found = []
        for c in re.finditer(r"Đại hội\s+", text[lo: men.start]):
            end, _ = _scan_name(text, lo + c.end())
            end = min(end, men.start)
            if len(text[lo + c.end(): end].split()) >= 3:
                found.append(squash(text[lo + c.end(): end]))
        if found:
            men.name = f"{men.name} {found[-1]}"
            men.note = "name completed from the congress named just before ('Nghị quyết Đại hội' alone)"


def _places(report: SourceReport, flat: str) -> Iterator[tuple[str, int | None, str, int]]:
    """(section, footnote, text, offset) of every place of the report: section texts, then footnotes."""
    order = sorted(report.sections.values(), key=lambda s: s.start)
    for s in order:
        yield s.id, None, flat[s.start: s.end], s.start
    for number in sorted(report.footnotes):
        owner = report.footnote_section.get(number)
        if owner:
            yield owner, number, report.footnotes[number], 0


def collect_documents(report: SourceReport, flat: str, taken_ids: set[str]) -> list[DraftDocument]:
    """Every document the report cites, merged by code (or by folded name) with all its citations."""
    mentions: list[DocMention] = []
    for section, footnote, text, _ in _places(report, flat):
        codes = find_code_mentions(text)
        names = find_name_mentions(text, codes)
        for men in codes + names:
            men.section, men.footnote = section, footnote
        mentions.extend(sorted(codes + names, key=lambda x: x.start))

    docs: dict[str, DraftDocument] = {}
    for men in mentions:
        key = f"code:{men.code}" if men.code else f"name:{men.doc_type}:{fold(men.name or '')}"
        doc = docs.get(key)
        n = 2
        while doc is not None and not men.code and men.issuer and doc.issuer and \
                fold(men.issuer) != fold(doc.issuer):
            # same name, another issuer ('Chương trình công tác năm 2023' of two committees): another document
            key = f"{key.split('#')[0]}#{n}"
            doc, n = docs.get(key), n + 1
        if doc is None:
            if men.code:
                did = f"{type_id_prefix(men.doc_type) or slug(men.doc_type)}-{code_slug(men.code)}"
            else:
                did = slug(men.name or men.doc_type) or "tai-lieu"
            did = _unique(did, taken_ids)
            doc = DraftDocument(did, men.doc_type, men.code, None if men.code else men.name, men.issuer,
                                men.date, mention=men.context, note=men.note)
            docs[key] = doc
        doc.issuer = doc.issuer or men.issuer
        doc.date = doc.date or men.date
        if men.implements and men.implements not in doc.implements:
            doc.implements.append(men.implements)
        place = (men.section or "", men.footnote)
        if men.section and place not in doc.cited_in:
            doc.cited_in.append(place)
    by_code = {d.code: d.id for d in docs.values() if d.code}
    for d in docs.values():
        d.implements = [by_code[c] for c in d.implements if c in by_code and by_code[c] != d.id]
    return [d for d in docs.values() if d.cited_in]


def _unique(base: str, taken: set[str]) -> str:
    base = base[:70].strip("-") or "muc"
    if len(base) < 2:
        base = f"muc-{base}"
    out, n = base, 2
    while out in taken:
        out = f"{base}-{n}"
        n += 1
    taken.add(out)
    return out


# --------------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------------

def _tokens(text: str, skip: list[tuple[int, int]], offset: int) -> list[DraftFigure]:
    """Figure tokens of `text` by provenance's rules (heading numbers and '(1)' enumerators skipped)."""
    out: list[DraftFigure] = []
    for m in _TOKEN.finditer(text):
        start = m.start() + offset
        if any(a <= start < b for a, b in skip):
            continue
        tok = m.group(0)
        before, after = text[max(0, m.start() - 1): m.start()], text[m.end(): m.end() + 1]
        if before == "(" and after == ")" and len(tok) <= 2:
            continue
        kind = "code" if m.group("code") else "date" if m.group("date") else "num"
        if kind == "num" and tok.endswith("%"):
            kind = "percent"
        out.append(DraftFigure(tok, m.start(), m.end(), kind))
    return out


def compose_figures(text: str, tokens: list[DraftFigure]) -> list[DraftFigure]:
    """Join tokens the report writes as one figure: '4000 - 4100', '45/44', '1 trong 10', '15.000m'.

    Then drop what is not a fact of its own: bare years, document codes and the date after a code.
    """
    out: list[DraftFigure] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if i + 1 < len(tokens):
            n = tokens[i + 1]
            gap = text[t.end: n.start]
            kinds = {t.kind, n.kind}
            joined = None
            if re.fullmatch(r"\s*[-–]\s*", gap) and kinds <= {"num", "percent", "date"} and "\n" not in gap:
                if kinds == {"date"}:
                    joined = "daterange"
                elif _YEAR.match(t.text) and _YEAR.match(n.text):
                    joined = "yearrange"
                elif "date" not in kinds:
                    joined = "range"
            elif gap == "/" and kinds == {"num"}:
                joined = "ratio"
            elif re.fullmatch(r"\s+trong(?: số)?\s+", gap) and kinds == {"num"} and not _YEAR.match(n.text):
                joined = "of"
            if joined:
                out.append(DraftFigure(text[t.start: n.end], t.start, n.end, joined))
                i += 2
                continue
        out.append(t)
        i += 1
    kept: list[DraftFigure] = []
    for k, f in enumerate(out):
        glued = re.match(r"[a-zđ²³]{1,3}(?![\w])", text[f.end:])
        if glued and f.kind in ("num", "range") and not _YEAR.match(f.text):
            f.text, f.end = f.text + glued.group(0), f.end + glued.end()
        if f.kind == "code":
            continue
        if f.kind == "num" and _YEAR.match(f.text):
            continue
        if f.kind == "date" and k > 0 and out[k - 1].kind == "code" and _DATE_AFTER.fullmatch(
                text[out[k - 1].end: f.end]):
            continue  # the document's date: the document draft holds it
        kept.append(f)
    return kept


def _hard_clauses(text: str, mask: list[bool]) -> list[tuple[int, int]]:
    """Spans between ';', sentence ends and line breaks (not inside (…) or “…”)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in re.finditer(r"\n|;|(?:\.{2,}|[.!?…])(?=\s|$)", text):
        if mask[m.start()] and m.group(0) != "\n":
            continue
        if m.group(0) not in "\n;" and text[m.end():].lstrip()[:1].islower():
            continue  # 'nhà Khăn quàng đỏ... với kinh phí': the sentence goes on
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _is_fact(f: DraftFigure) -> bool:
    return f.kind not in ("date", "daterange", "yearrange")


_COST = re.compile(r"(?:kinh phí|trị giá|tương ứng(?: với)?|tổng số tiền)\s+(?:gần\s+|trên\s+|khoảng\s+)?$")


def split_clauses(text: str, figures: list[DraftFigure]) -> list[tuple[int, int, list[DraftFigure]]]:
    """Clauses of `text` holding figures: split on ';' and sentence ends, then on ', ' where each side
    states a figure of its own (a piece without one joins its neighbour)."""
    mask = _protected(text)
    out: list[tuple[int, int, list[DraftFigure]]] = []
    for a, b in _hard_clauses(text, mask):
        figs = [f for f in figures if a <= f.start < b]
        if not figs:
            continue
        cuts = [m.start() for m in re.finditer(r",\s", text[a:b]) if not mask[a + m.start()]]
        bounds = [a] + [a + c for c in cuts] + [b]
        pieces = [(bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]
        groups: list[list[tuple[int, int]]] = []
        pending: list[tuple[int, int]] = []
        for s, e in pieces:
            # a fact of its own: not an aside in (…), not the cost of the previous one ('với kinh phí …')
            own = [f for f in figs if _is_fact(f) and s <= f.start < e and not mask[f.start]]
            has_fact = bool(own) and not (groups and _COST.search(text[s:own[0].start]))
            if has_fact:
                groups.append(pending + [(s, e)])
                pending = []
            elif groups:
                groups[-1].append((s, e))
            else:
                pending.append((s, e))
        if pending:
            if groups:
                groups[-1].extend(pending)
            else:
                groups.append(pending)
        for g in groups:
            s, e = g[0][0], g[-1][1]
            gf = [f for f in figs if s <= f.start < e]
            if gf:
                out.append((s, e, gf))
    return out


_UNIT_STOP = {"và", "với", "theo", "đạt", "bằng", "so", "tại", "để", "nhằm", "trong", "của", "từ", "cho",
              "được", "đã", "thuộc", "gồm", "là", "có", "ở", "trên", "đến", "khi", "về", "hoặc", "nhưng"}
_APPROX = re.compile(r"(gần|trên|hơn|khoảng|tối thiểu|ít nhất|tối đa|bằng|đạt|từ)\s*$", re.IGNORECASE)


def _unit_after(text: str, pos: int, end: int) -> str:
    words: list[str] = []
    for m in re.finditer(r"\S+", text[pos:end]):
        w = m.group(0)
        if m.start() > 0 and not text[pos:pos + m.start()].strip() == "" and not words:
            break
        if w[:1] in "(“\"[" or re.search(r"\d", w):
            break
        core = w.rstrip(",;:.)”\"]…")
        if core.lower() in _UNIT_STOP or not core:
            break
        words.append(core)
        if core != w or len(words) >= 5:
            break
    return " ".join(words)


def annotate(text: str, clause: tuple[int, int], figures: list[DraftFigure], mask: list[bool]) -> None:
    """Guess unit, label and role of each figure of a clause."""
    a, b = clause
    clause_text = text[a:b]
    expected = re.search(r"\b(?:dự kiến|ước|phấn đấu đến hết)\b", clause_text, re.IGNORECASE)
    seen_value_outside = False
    prev: DraftFigure | None = None
    for f in figures:
        before = text[max(a, f.start - 40): f.start]
        after = text[f.end: b]
        f.unit = _unit_after(text, f.end, b)
        approx = _APPROX.search(before)
        if f.kind in ("date", "daterange"):
            f.role = "detail"
            f.label = "ngày" if re.search(r"ngày\s*$", before) else ""
            f.unit = ""
        elif f.kind == "yearrange":
            f.role = "detail"
            lab = re.search(r"(nhiệm kỳ|giai đoạn|khóa|khoá)\s*$", before)
            f.label, f.unit = (lab.group(1) if lab else ""), ""
        elif f.kind == "percent":
            if re.match(r"\s*(?:so với\s+)?kế hoạch", after):
                f.role, f.unit = "percent_of_plan", ""
            elif re.search(r"bằng\s*$", before) or re.match(r"\s*so với", after):
                f.role, f.label = "compare", "bằng" if re.search(r"bằng\s*$", before) else ""
                versus = re.match(r"\s*(so với[^,;:.()]*)", after)
                f.unit = squash(versus.group(1)).strip() if versus else f.unit
            elif re.search(r"đạt\s*$", before) and prev is not None and prev.kind == "ratio":
                f.role, f.unit = "percent_of_plan", ""
        else:
            plan = list(re.finditer(r"kế hoạch\s*:|giao chỉ tiêu|chỉ tiêu\s*:", text[a:f.start], re.IGNORECASE))
            if plan and ")" not in text[a + plan[-1].end(): f.start]:
                f.role = "plan"
            elif mask[f.start] and seen_value_outside:
                f.role = "detail"
            elif expected:
                f.role = "expected"
            if not mask[f.start]:
                seen_value_outside = True
        if f.role in ("value", "expected", "plan", "detail") and f.kind not in ("date", "daterange", "yearrange"):
            if approx and approx.group(1).lower() not in ("đạt", "bằng", "từ"):
                f.label = approx.group(1)
            elif not f.unit:
                lead = re.split(r"[,;(“”]", text[a:f.start])[-1]
                pieces = lead.split(":")  # 'nữ: 2.171' → 'nữ'; 'kỷ luật: Khiển trách 136' → 'Khiển trách'
                lead = pieces[-1] if pieces[-1].strip() or len(pieces) == 1 else pieces[-2]
                lead_words = [w for w in lead.split() if not re.search(r"\d", w)][-4:]
                f.label = " ".join(lead_words)
        prev = f
    # 'A/B (đạt X% kế hoạch)': B is the plan; give it as a figure of its own
    for k, f in enumerate(list(figures)):
        if f.kind == "ratio" and any(g.role == "percent_of_plan" for g in figures[k + 1:]):
            plan_text = f.text.split("/", 1)[1]
            pos = f.start + len(f.text) - len(plan_text)
            figures.insert(figures.index(f) + 1, DraftFigure(plan_text, pos, f.end, "num", unit=f.unit,
                                                             role="plan"))


def _period(clause_text: str, kind: str) -> str | None:
    if kind == "target":
        return None
    m = re.search(r"tính đến (?:ngày )?(\d{1,2}/\d{1,2}/\d{4})", clause_text, re.IGNORECASE)
    if m:
        return f"tính đến {m.group(1)}"
    m = re.search(r"(?:đến hết|cả) năm (\d{4})", clause_text, re.IGNORECASE)
    if m and re.search(r"dự kiến|phấn đấu|ước", clause_text, re.IGNORECASE):
        return f"dự kiến cả năm {m.group(1)}"
    m = re.search(r"\b[Nn]ăm (\d{4})\b", clause_text)
    if m:
        return f"năm {m.group(1)}"
    return None


def _title_of(text: str, clause: tuple[int, int], figures: list[DraftFigure], mask: list[bool],
              limit: int = 14) -> str:
    """A draft title: the clause from the phrase that leads to its first fact (lead-in 'X: ' dropped),
    cut to `limit` words."""
    s, e = clause
    first = next((f for f in figures if _is_fact(f)), figures[0])
    commas = [s + m.start() for m in re.finditer(r",\s", text[s:e]) if not mask[s + m.start()]]
    before = [c for c in commas if c < first.start]
    a = before[-1] + 2 if before else s
    if len(text[a:first.start].split()) < 2 and len(before) >= 2:
        a = before[-2] + 2  # 'hỗ trợ xây, sửa 676 …': keep the verb
    colon = text.rfind(": ", a, first.start)
    if colon >= 0 and len(text[colon + 2: e].split()) >= 3:
        a = colon + 2
    t = squash(text[a:e]).strip(" -–,;:.")
    t = re.sub(r"^(?:và|với|trong đó|đồng thời|gồm|riêng|còn)\s+", "", t, flags=re.IGNORECASE)
    words = t.split()
    if len(words) > limit:
        t = " ".join(words[:limit]).rstrip(",;:(")
        t = t + ")" * (t.count("(") - t.count(")")) + " …"
    elif t.count("(") > t.count(")"):
        t += ")"
    return _capitalize(t)


def collect_facts(report: SourceReport, flat: str, headings: list[Heading],
                  taken_ids: set[str]) -> list[DraftFact]:
    """Indicator and target drafts: one per clause that states figures, in report order."""
    by_id = {h.id: h for h in headings}

    def chain(sid: str) -> list[Heading]:
        out, cur = [], by_id.get(sid)
        while cur:
            out.append(cur)
            cur = by_id.get(cur.parent) if cur.parent else None
        return out

    facts: list[DraftFact] = []
    for section, footnote, text, offset in _places(report, flat):
        skip = report.heading_spans if footnote is None else []
        figures = compose_figures(text, _tokens(text, skip, offset))
        if not figures:
            continue
        mask = _protected(text)
        heads = chain(section)
        own = heads[0] if heads else None
        is_target = own is not None and "chi tieu" in fold(own.title)
        year = None
        for h in heads:
            y = re.search(r"\bnăm\s+(\d{4})\b", f"{h.title} {h.subtitle}", re.IGNORECASE)
            if y:
                year = int(y.group(1))
                break
        kind = "target" if is_target and year else "indicator"
        for s, e, figs in split_clauses(text, figures):
            annotate(text, (s, e), figs, mask)
            clause_text = squash(text[s:e]).strip(" -–,;")
            title = _title_of(text, (s, e), figs, mask)
            fid = _unique(slug(title) or f"{section.replace('.', '-')}-so-lieu", taken_ids)
            note = "" if any(_is_fact(f) for f in figs) else "only a date or a term: keep it only if it is a fact"
            facts.append(DraftFact(kind, fid, title, section, footnote, figs, clause_text,
                                   period=_period(clause_text, kind), year=year if kind == "target" else None,
                                   note=note))
    return facts


# --------------------------------------------------------------------------------------------------
# The draft
# --------------------------------------------------------------------------------------------------

def extract(text: str, source: str = "") -> Draft:
    """Draft the knowledge base of a report: sections, documents, figures."""
    headings, title, warnings = parse_headings(text)
    report, headings, more = locate_sections(text, headings)
    warnings.extend(more)
    flat = flatten(report.body)
    taken: set[str] = set()
    documents = collect_documents(report, flat, taken)
    facts = collect_facts(report, flat, headings, taken)
    return Draft(source, title, headings, documents, facts, warnings, report)


def _section_data(h: Heading) -> dict[str, Any]:
    d: dict[str, Any] = {"id": h.id, "title": h.title}
    if h.parent:
        d["parent"] = h.parent
    d["anchor"] = h.anchor
    if h.subtitle:
        d["subtitle"] = h.subtitle
    return d


def _document_data(doc: DraftDocument) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": "document", "id": doc.id, "doc_type": doc.doc_type}
    if doc.code:
        d["code"] = doc.code
    else:
        d["name"] = doc.name
    d["issuer"] = doc.issuer
    d["date"] = doc.date
    d["subject"] = SUBJECT_TODO
    if doc.implements:
        d["implements"] = list(doc.implements)
    d["cited_in"] = [{"section": s, **({"footnote": fn} if fn else {})} for s, fn in doc.cited_in]
    d["mention"] = doc.mention
    if doc.note:
        d["note"] = doc.note
    return d


def _figure_data(f: DraftFigure) -> dict[str, Any]:
    d: dict[str, Any] = {"text": f.text}
    if f.unit:
        d["unit"] = f.unit
    if f.label:
        d["label"] = f.label
    if f.role != "value":
        d["role"] = f.role
    return d


def _fact_data(f: DraftFact) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": f.kind, "id": f.id, "title": f.title, "section": f.section,
                         "footnote": f.footnote}
    if f.kind == "target":
        d["year"] = f.year
        d["counts"] = "TODO: cái được đếm, bằng lời của cơ sở tri thức"
    elif f.period:
        d["period"] = f.period
    d["subject"] = SUBJECT_TODO
    d["figures"] = [_figure_data(x) for x in f.figures]
    d["clause"] = f.clause
    if f.note:
        d["note"] = f.note
    return d


# --------------------------------------------------------------------------------------------------
# YAML
# --------------------------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[a-z][a-z0-9._\-]*$")
_RESERVED = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "none"}


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    s = str(v)
    if _PLAIN.match(s) and s not in _RESERVED:
        return s
    return json.dumps(s, ensure_ascii=False)


def _flow(d: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in d.items()) + "}"


def _block(d: dict[str, Any], indent: str) -> list[str]:
    """A mapping as block YAML under a '- ' list item; lists of mappings as flow items."""
    lines: list[str] = []
    first = True
    for k, v in d.items():
        lead = f"{indent}- " if first else f"{indent}  "
        first = False
        if isinstance(v, list):
            if not v:
                lines.append(f"{lead}{k}: []")
                continue
            lines.append(f"{lead}{k}:")
            for item in v:
                lines.append(f"{indent}    - {_flow(item) if isinstance(item, dict) else _scalar(item)}")
        else:
            lines.append(f"{lead}{k}: {_scalar(v)}")
    return lines


def render_yaml(draft: Draft) -> str:
    """The draft as YAML: a header comment, then sections, documents, indicators, targets."""
    data = draft.to_data()
    out = [DRAFT_HEADER.format(source=draft.source or "a report").rstrip("\n")]
    meta = data["draft"]
    out.append("draft:")
    out.append(f"  source: {_scalar(meta['source'])}")
    out.append(f"  report: {_scalar(meta['report'])}")
    if meta["warnings"]:
        out.append("  warnings:")
        out.extend(f"    - {_scalar(w)}" for w in meta["warnings"])
    else:
        out.append("  warnings: []")
    n_sec = len(data["sections"])
    out.append(f"\n# {n_sec} sections: anchors are searched in order in the report's cleaned text.")
    out.append("sections:")
    for s in data["sections"]:
        out.append(f"  - {_flow(s)}")
    for key, what in (("documents", "documents (merged by code, or by name when the report gives none)"),
                      ("indicators", "indicator drafts (one per clause stating figures)"),
                      ("targets", "target drafts (figures under a 'chỉ tiêu' heading)")):
        items = data[key]
        out.append(f"\n# {len(items)} {what}")
        if not items:
            out.append(f"{key}: []")
            continue
        out.append(f"{key}:")
        for item in items:
            out.extend(_block(item, "  "))
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def draft_files(data: dict[str, Any]) -> dict[str, str]:
    """Knowledge-directory files (name → YAML text) from draft data, without the draft-only fields.

    The result can be validated with `load_base(directory, overrides=draft_files(data))`.
    """
    def strip(entry: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in entry.items() if k not in DRAFT_ONLY}

    files = {"sections.yaml": yaml.safe_dump({"sections": [strip(s) for s in data["sections"]]},
                                             allow_unicode=True, sort_keys=False)}
    for key, kind in (("documents", "document"), ("indicators", "indicator"), ("targets", "target")):
        if data.get(key):
            files[f"{key}.yaml"] = yaml.safe_dump({"kind": kind, "entries": [strip(e) for e in data[key]]},
                                                  allow_unicode=True, sort_keys=False)
    return files


# --------------------------------------------------------------------------------------------------
# Comparison with the curated base
# --------------------------------------------------------------------------------------------------

NAME_THRESHOLD = 85


def name_score(a: str, b: str) -> float:
    """Similarity of two document names (0-100): rapidfuzz on folded names; a name that is most of the
    other (≥60% of its length) may match as a part of it."""
    fa, fb = fold(a), fold(b)
    if not fa or not fb:
        return 0.0
    score = fuzz.ratio(fa, fb)
    if min(len(fa), len(fb)) / max(len(fa), len(fb)) >= 0.6:
        score = max(score, fuzz.partial_ratio(fa, fb))
    return float(score)


@dataclass
class Comparison:
    """How much of the curated base the draft found."""

    coded_found: int
    coded_total: int
    docs_found: int
    docs_total: int
    figures_found: int
    figures_total: int
    figures_found_tokens: int
    missing_documents: list[str]
    missing_figures: list[str]
    citations_found: int = 0
    citations_total: int = 0

    def summary(self) -> list[str]:
        """Lines for the terminal."""
        def pct(a: int, b: int) -> str:
            return f"{a / b:.1%}" if b else "n/a"

        return [
            f"documents: {self.coded_found}/{self.coded_total} with a code, {self.docs_found}/{self.docs_total} "
            f"overall ({pct(self.docs_found, self.docs_total)}); documents without a code matched by name "
            f"(rapidfuzz on folded names ≥{NAME_THRESHOLD}) in a section that cites them",
            f"citations: {self.citations_found}/{self.citations_total} of the base's (section, footnote) "
            f"citations of documents found ({pct(self.citations_found, self.citations_total)})",
            f"figures: {self.figures_found}/{self.figures_total} ({pct(self.figures_found, self.figures_total)}) "
            f"by exact text + section + footnote; {self.figures_found_tokens}/{self.figures_total} "
            f"({pct(self.figures_found_tokens, self.figures_total)}) counting every number of a figure "
            f"written with words ('68 năm', 'mức 1')",
        ] + [f"not found: {m}" for m in self.missing_documents + self.missing_figures]


def compare(draft: Draft, kb: KnowledgeBase) -> Comparison:
    """Measure the draft against a loaded KnowledgeBase."""
    from bot.knowledge.schema import Document

    parents = {h.id: h.parent for h in draft.sections}

    def ancestors(sid: str) -> set[str]:
        out = set()
        cur: str | None = sid
        while cur:
            out.add(cur)
            cur = parents.get(cur)
        return out

    # documents
    codes = {d.code for d in draft.documents if d.code}
    coded_found = coded_total = docs_found = 0
    missing_docs: list[str] = []
    draft_cites = {(s, fn) for d in draft.documents for s, fn in d.cited_in}
    cit_found = cit_total = 0
    base_docs = [e for e in kb.entries.values() if isinstance(e, Document)]
    nocode: list[Document] = []
    for doc in base_docs:
        for c in doc.cited_in:
            cit_total += 1
            cit_found += (c.section, c.footnote) in draft_cites
        if doc.code:
            coded_total += 1
            if doc.code in codes:
                coded_found += 1
                docs_found += 1
            else:
                missing_docs.append(f"document {doc.id} ({doc.code})")
            continue
        nocode.append(doc)
    # documents without a code: one draft document answers for at most one base document (best first)
    pairs: list[tuple[float, float, int, int]] = []
    for bi, doc in enumerate(nocode):
        sections = {c.section for c in doc.cited_in}
        for di, d in enumerate(draft.documents):
            if d.code or not d.name or d.doc_type != doc.doc_type or not sections & {s for s, _ in d.cited_in}:
                continue
            sc = name_score(doc.name or "", d.name)
            if sc >= NAME_THRESHOLD:
                pairs.append((sc, fuzz.ratio(fold(doc.name or ""), fold(d.name)), bi, di))
    matched: dict[int, int] = {}
    used: set[int] = set()
    for _sc, _r, bi, di in sorted(pairs, reverse=True):
        if bi not in matched and di not in used:
            matched[bi] = di
            used.add(di)
    docs_found += len(matched)
    for bi, doc in enumerate(nocode):
        if bi in matched:
            continue
        sections = {c.section for c in doc.cited_in}
        cands = [(name_score(doc.name or "", d.name), d.name) for d in draft.documents
                 if not d.code and d.name and sections & {s for s, _ in d.cited_in}]
        best, best_name = max(cands, default=(0.0, ""))
        hint = (f"best draft name in its sections: {best_name!r}, score {best:.0f}" if best_name
                else "no draft document without a code in its sections")
        missing_docs.append(f"document {doc.id} ({doc.name!r}) — {hint}")

    # figures
    held: dict[tuple[str, int | None], set[str]] = {}
    for f in draft.facts:
        for sid in ancestors(f.section):
            held.setdefault((sid, f.footnote), set()).update(squash(x.text) for x in f.figures)
    base_figs: dict[tuple[str, int | None, str], None] = {}
    for e in kb.entries.values():
        if isinstance(e, Document):
            continue
        for fig in e.figures:
            base_figs[(e.section, e.footnote, squash(nfc(fig.text)))] = None
    found = found_tok = 0
    missing_figs: list[str] = []
    for section, footnote, text in base_figs:
        texts = held.get((section, footnote), set())
        if text in texts:
            found += 1
            found_tok += 1
            continue
        want = {m.group(0) for m in _TOKEN.finditer(text)}
        have = {m.group(0) for t in texts for m in _TOKEN.finditer(t)}
        where = f"{section} fn{footnote}" if footnote else section
        if want and want <= have:
            found_tok += 1
            missing_figs.append(f"figure {where}: {text!r} (its numbers are in the draft, written apart)")
        else:
            missing_figs.append(f"figure {where}: {text!r}")
    return Comparison(coded_found, coded_total, docs_found, len(base_docs), found, len(base_figs), found_tok,
                      missing_docs, missing_figs, cit_found, cit_total)


# --------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------

def run_extract(args: argparse.Namespace) -> int:
    """`python -m bot extract FILE [--out DRAFT.yaml] [--no-compare]`: write the draft, print the comparison."""
    path = Path(args.file)
    try:
        text = read_text(path, "the report")
        draft = extract(text, source=str(path))
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rendered = render_yaml(draft)
    out_path = getattr(args, "out", None)
    info = sys.stdout if out_path else sys.stderr
    if out_path:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        Path(out_path).write_text(rendered, encoding="utf-8")
    else:
        sys.stdout.write(rendered)
    n_fig = sum(len(f.figures) for f in draft.facts)
    n_ind = sum(f.kind == "indicator" for f in draft.facts)
    print(f"draft{' ' + str(out_path) if out_path else ''}: {len(draft.sections)} sections, "
          f"{len(draft.documents)} documents ({sum(1 for d in draft.documents if d.code)} with a code), "
          f"{n_ind} indicator drafts, {len(draft.facts) - n_ind} target drafts, {n_fig} figures", file=info)
    for w in draft.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not getattr(args, "compare", True):
        return 0
    from bot.knowledge.base import load_base
    from bot.knowledge.errors import KnowledgeError

    settings = getattr(args, "settings", None)  # set by the CLI: --knowledge, KNOWLEDGE_DIR, .env
    directory = Path(settings.knowledge_dir if settings is not None else getattr(args, "knowledge", None) or "knowledge")
    try:
        kb = load_base(directory)
    except KnowledgeError as exc:
        print(f"error: cannot compare, the curated base does not load: {exc}", file=sys.stderr)
        return 1
    for line in compare(draft, kb).summary():
        print(line, file=info)
    return 0
