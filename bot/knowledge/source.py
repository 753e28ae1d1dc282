"""The source report, read where it lies: sections located by their anchors, footnotes by number.

The report is markdown-like text; footnotes are lines starting `<sup>N</sup>`, and markers
`<sup>N</sup>` in the body point to them. Nothing of it is copied into the project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.normalize import nfc

# Where the report lies in this workplace (an operator points REPORT_PATH at their copy).
DEFAULT_REPORT = Path("../shared/source/000_ffa3f5d343d508a7.txt")

# The report's footnote syntax, one place for it (extract.py reads these too).
FOOTNOTE_LINE = re.compile(r"^\s*<sup>(\d+)</sup>\s*(.*)$")
FOOTNOTE_MARKER = re.compile(r"<sup>(\d+)</sup>")
_SUPERSCRIPT_UNIT = re.compile(r"(?<=\bm)<sup>([23])</sup>")


@dataclass
class SourceSection:
    """A section's place in the report: its own text span and the text with its subsections."""

    id: str
    anchor: str
    start: int
    end: int = -1  # end of own text (next anchor of any level)
    end_all: int = -1  # end including subsections
    footnotes: list[int] = field(default_factory=list)


@dataclass
class SourceReport:
    """The parsed report: body text without footnote lines, footnotes, section spans."""

    body: str
    footnotes: dict[int, str]
    sections: dict[str, SourceSection]
    footnote_section: dict[int, str]
    heading_spans: list[tuple[int, int]]
    # Every footnote marker of the body as (footnote number, offset in `body`), in order.
    markers: list[tuple[int, int]] = field(default_factory=list)

    def section_text(self, section_id: str, *, include_subsections: bool = True) -> str:
        """The body text of a section (footnote lines excluded)."""
        s = self.sections[section_id]
        return self.body[s.start : s.end_all if include_subsections else s.end]

    def footnote_text(self, number: int) -> str | None:
        """The text of footnote N, or None."""
        return self.footnotes.get(number)


class SourceError(ValueError):
    """The source cannot be read or a section anchor is not found in it.

    ``section`` names the section whose anchor was not found (None when the file itself is the
    problem), so a caller can point at the line of ``sections.yaml`` to fix.
    """

    def __init__(self, message: str, *, section: str | None = None) -> None:
        super().__init__(message)
        self.section = section


class ReportUnreadable(SourceError):
    """The report file cannot be read as text (missing, a folder, no permission, not text)."""


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def read_text(path: Path, what: str = "the source report") -> str:
    """The text of a report file: UTF-8, or UTF-8/UTF-16 with a byte-order mark (what Word's
    "Unicode text" export writes). Anything else raises ReportUnreadable with one line that says
    how to fix it."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise ReportUnreadable(f"{path}: is a folder, not {what} (give the report's .txt/.md file)") from None
    except OSError as exc:
        raise ReportUnreadable(f"{path}: cannot read {what} ({exc.strerror})") from None
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        hint = ("looks like UTF-16 without a byte-order mark" if data[:200].count(b"\x00") > 20
                else f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        raise ReportUnreadable(f"{path}: {what} is {hint}; save it as UTF-8 text "
                               "(in Word: Save As › Plain Text › Unicode (UTF-8))") from None


def clean(text: str) -> str:
    """Normalise the report for searching: NFC, m<sup>2</sup> → m², markdown emphasis removed."""
    text = nfc(text)
    text = _SUPERSCRIPT_UNIT.sub(lambda m: "²" if m.group(1) == "2" else "³", text)
    return text.replace("*", "").replace("#", "")


def _strip_markers(body: str) -> tuple[str, list[tuple[int, int]]]:
    """Remove footnote markers (they are not text); return the body and every marker's offset."""
    parts: list[str] = []
    positions: list[tuple[int, int]] = []
    last = removed = 0
    for m in FOOTNOTE_MARKER.finditer(body):
        parts.append(body[last : m.start()])
        parts.append(" ")
        positions.append((int(m.group(1)), m.start() - removed))
        removed += len(m.group(0)) - 1
        last = m.end()
    parts.append(body[last:])
    return "".join(parts), positions


def parse_report(text: str, anchors: list[tuple[str, str, int]]) -> SourceReport:
    """Split the report. `anchors` are (section id, anchor text, depth) in report order."""
    text = clean(text)
    body_lines: list[str] = []
    footnotes: dict[int, str] = {}
    for line in text.splitlines():
        m = FOOTNOTE_LINE.match(line)
        if m:
            footnotes[int(m.group(1))] = FOOTNOTE_MARKER.sub(" ", m.group(2)).strip()
        else:
            body_lines.append(line)
    body, markers = _strip_markers("\n".join(body_lines))
    marker_pos: dict[int, int] = {}
    for number, offset in markers:
        marker_pos.setdefault(number, offset)

    sections: dict[str, SourceSection] = {}
    order: list[tuple[SourceSection, int]] = []
    heading_spans: list[tuple[int, int]] = []
    pos = 0
    for sid, anchor, depth in anchors:
        idx = body.find(nfc(anchor), pos)
        if idx < 0:
            raise SourceError(f"section {sid}: anchor {anchor!r} not found in the source after offset {pos}",
                              section=sid)
        sec = SourceSection(id=sid, anchor=anchor, start=idx)
        sections[sid] = sec
        order.append((sec, depth))
        heading_spans.append((idx, idx + len(nfc(anchor))))
        pos = idx + len(anchor)
    for i, (sec, depth) in enumerate(order):
        sec.end = order[i + 1][0].start if i + 1 < len(order) else len(body)
        sec.end_all = next((nxt.start for nxt, nd in order[i + 1 :] if nd <= depth), len(body))

    footnote_section: dict[int, str] = {}
    for number, offset in sorted(marker_pos.items()):
        owner = next((s.id for s, _ in reversed(order) if s.start <= offset), None)
        if owner:
            footnote_section[number] = owner
            sections[owner].footnotes.append(number)
    return SourceReport(body, footnotes, sections, footnote_section, heading_spans, markers)


def read_report(path: Path, anchors: list[tuple[str, str, int]]) -> SourceReport:
    """Read (see :func:`read_text`) and parse the report file."""
    return parse_report(read_text(path), anchors)
