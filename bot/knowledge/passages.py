"""The report's own sentences, read from the report file at load time: every sentence of the body
and of every footnote becomes a passage with its section and footnote.

Nothing of the report is stored in the project: the passages exist only in memory, built from the
file the operator points `REPORT_PATH` at. Text is kept verbatim (only the markdown emphasis and the
footnote markers, which are not words, are removed; runs of spaces collapse to one).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.provenance import anchors_of
from bot.knowledge.source import SourceReport, read_report

# A sentence ends at . ! ? or … followed by a space and an upper-case letter (after an optional
# quote or bracket).
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"“(]?(\w))")
# A paragraph broken by a page's footnotes continues on the next line in lower case.
_BROKEN = re.compile(r"(?<=[^\s.:;!?…\"”])(\n\s*)+(?=[^\W\d_])")
# Headings are numbered ("2.1.", "IV.", "Phần thứ hai") or in capitals; an anchor that is the
# start of a sentence (the opening paragraph) is not cut out.
_NUMBERED = re.compile(r"^(\d+(\.\d+)*\.|[IVX]+\.|Phần thứ|Nơi nhận)")
_WS = re.compile(r"\s+")
MIN_WORDS = 4  # shorter fragments are headings or signatures, not statements


@dataclass(frozen=True)
class Passage:
    """One sentence of the report, verbatim, with where it stands."""

    id: int
    text: str
    section: str  # section id
    footnote: int | None = None  # the footnote this sentence is part of
    markers: tuple[int, ...] = ()  # footnotes the sentence points to
    lead: int | None = None  # the sentence before it in the same paragraph (its subject often stands there)


def _sentences(text: str, start: int) -> list[tuple[str, int, int]]:
    """(sentence, start, end) in the coordinates of the text's source."""
    out: list[tuple[str, int, int]] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        if not m.group(1).isupper():
            continue
        out.append((text[pos:m.start()], start + pos, start + m.start()))
        pos = m.end()
    out.append((text[pos:], start + pos, start + len(text)))
    return [(s, a, b) for s, a, b in out if s.strip()]


def _join_broken(m: re.Match[str]) -> str:
    following = m.string[m.end()] if m.end() < len(m.string) else ""
    line = m.string[m.string.rfind("\n", 0, m.start()) + 1 : m.start()]
    # A paragraph (it has sentences) that stops mid-sentence goes on after the page's footnotes.
    paragraph = following.islower() or ". " in _NUMBERED.sub("", line.strip())
    return " " * len(m.group(0)) if paragraph else m.group(0)


def _tidy(text: str) -> str:
    text = _WS.sub(" ", text).strip()
    return re.sub(r"\s+([,;:.])", r"\1", text).strip(" -–")


def _is_heading(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(text.split()) < MIN_WORDS or (bool(letters) and all(c.isupper() for c in letters))


def build_passages(report: SourceReport) -> list[Passage]:
    """Every sentence of the report's sections and footnotes, in report order."""
    order = sorted(report.sections.values(), key=lambda s: s.start)
    starts = [s.start for s in order]
    headings = sorted((a, b) for a, b in report.heading_spans
                      if _NUMBERED.match(report.body[a:b]) or report.body[a:b].isupper())

    def section_at(offset: int) -> str | None:
        i = bisect_right(starts, offset)
        return order[i - 1].id if i else None

    passages: list[Passage] = []
    # Same length as the body, so offsets (sections, markers) stay valid.
    body = _BROKEN.sub(_join_broken, report.body)
    line_start = 0
    for line in body.split("\n"):
        line_end = line_start + len(line)
        # Cut the section headings out of the line; what stands after a heading on its own line
        # without a full stop is the rest of that heading (long headings are anchored by their start).
        segments: list[tuple[int, int]] = []
        cursor = line_start
        heading_line = False
        for a, b in headings:
            if b <= line_start or a >= line_end:
                continue
            if a > cursor:
                segments.append((cursor, a))
            cursor = max(cursor, b)
            heading_line = heading_line or a == line_start + (len(line) - len(line.lstrip()))
        if cursor < line_end:
            segments.append((cursor, line_end))
        lead: int | None = None
        for a, b in segments:
            chunk = body[a:b]
            if heading_line and a == cursor and not chunk.rstrip().endswith((".", ":")):
                continue
            for text, s, e in _sentences(chunk, a):
                clean = _tidy(text)
                section = section_at(s)
                if section is None or _is_heading(clean):
                    continue
                marks = tuple(dict.fromkeys(n for n, off in report.markers if s <= off <= e + 1))
                passages.append(Passage(len(passages), clean, section, None, marks, lead))
                lead = len(passages) - 1
        line_start = line_end + 1
    for number in sorted(report.footnotes):
        section = report.footnote_section.get(number)
        if section is None:
            continue
        text = report.footnotes[number]
        for sentence, _, _ in _sentences(text, 0):
            clean = _tidy(sentence)
            if len(clean.split()) >= 2:
                passages.append(Passage(len(passages), clean, section, number, ()))
    return passages


def read_passages(path: Path, kb: KnowledgeBase) -> list[Passage]:
    """Read the report at `path` and split it into passages (raises SourceError)."""
    return build_passages(read_report(path, anchors_of(kb)))
