"""The report's section table, found from its headings."""

from __future__ import annotations

import re

from bot.knowledge.extract.data import Heading
from bot.knowledge.provenance import squash
from bot.knowledge.source import (
    FOOTNOTE_LINE,
    FOOTNOTE_MARKER,
    SourceError,
    SourceReport,
    clean,
    parse_report,
)
from bot.normalize import nfc

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
    table = _SectionTable()
    for line in _logical_lines(nfc(text)):
        if not line.strip() or FOOTNOTE_LINE.match(line) or _SEPARATOR.match(line):
            continue
        if table.closing_seen:
            continue
        m = _CLOSING.match(line)
        if m and table.headings:
            table.add(Heading("noi-nhan", "Nơi nhận", _anchor_text(m.group(1)), 1))
            table.closing_seen = True
            continue
        parts = _line_segments(line)
        if parts and table.bold_line(line, parts):
            continue
        table.paragraph(line)
    warnings: list[str] = []
    if not [h for h in table.headings if h.id not in ("mo-dau", "noi-nhan")]:
        warnings.append("no numbered heading found: the section table holds only the preamble")
    # 'Nơi nhận' and the preamble are roots; every other root is a part (or a top-level heading).
    return table.headings, squash(" ".join(table.title_lines)).strip(), warnings


class _SectionTable:
    """`parse_headings`' state while it reads the report line by line."""

    def __init__(self) -> None:
        self.headings: list[Heading] = []
        self.stack: list[Heading] = []  # the open headings, outermost first
        self.ids: set[str] = set()
        self.title_lines: list[str] = []
        self.seen_body = False  # a plain paragraph has been seen (the title block is over)
        self.open_part: Heading | None = None  # a part whose subtitle may follow
        self.closing_seen = False

    def add(self, h: Heading) -> None:
        """Append `h`, its id made unique ('-2', '-3' … on a repeat)."""
        base, n = h.id, 2
        while h.id in self.ids:
            h.id = f"{base}-{n}"
            n += 1
        self.ids.add(h.id)
        self.headings.append(h)

    def bold_line(self, line: str, parts: tuple[list[str], str, bool]) -> bool:
        """Take the bold segments of a line (`_line_segments`); False when the line is a paragraph
        after all (led by unnumbered bold words)."""
        segs, trailing, _hashed = parts
        whole_line = not trailing
        numbered = False
        for i, seg in enumerate(segs):
            anchor = _anchor_text(seg)
            cls = classify_heading(anchor) if anchor else None
            if cls is None:
                if self.open_part is not None and whole_line and 0 < len(anchor.split()) <= 25:
                    self.open_part.subtitle = f"{self.open_part.subtitle} {squash(anchor)}".strip()
                    continue
                break  # unnumbered bold text that is no subtitle: a lead-in, not a heading
            if i > 0 and not whole_line:
                break  # only the first bold segment of a paragraph can be its heading
            numbered = True
            h = _new_heading(cls, anchor, self.stack)
            self.add(h)
            self.stack.append(h)
            self.open_part = h if cls[0] == "part" else None
        if numbered:
            if trailing:  # '**8. Mặt trận …** phát huy …': the paragraph starts here
                self.open_part = None
                self.seen_body = True
            return True
        if whole_line:
            # an unnumbered bold or '#' line: the title block, or emphasis; not a section
            if not self.headings and not self.seen_body:
                self.title_lines.append(squash(clean(re.sub(r"\*{2,}", " ", line))))
            return True
        return False

    def paragraph(self, line: str) -> None:
        """A plain paragraph (or one led by unnumbered bold words): the first one, before any
        heading, opens 'mo-dau'; any closes the title block and a part's subtitle."""
        if not self.headings and not self.seen_body:
            words = re.match(r"\s*((?:\S+\s+){0,4}\S+)", _anchor_text(line))
            if words:
                self.add(Heading("mo-dau", "Mở đầu", words.group(1).rstrip(",;:."), 1))
        self.seen_body = True
        self.open_part = None


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
