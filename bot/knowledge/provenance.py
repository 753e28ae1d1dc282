"""Provenance and coverage: the knowledge base checked against the source report's own text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.errors import KbError
from bot.knowledge.schema import Document, Entry, Indicator
from bot.knowledge.source import ReportUnreadable, SourceError, SourceReport, clean, read_report
from bot.knowledge.vocabulary import CODE_TOKEN
from bot.normalize import nfc

_WS = re.compile(r"\s+")
# Order matters: a document code or a date is one figure, not several numbers.
_TOKEN = re.compile(
    rf"(?P<code>{CODE_TOKEN})"
    r"|(?P<date>\d{1,2}/\d{1,2}/\d{4})"
    r"|(?P<num>\d+(?:[.,]\d+)*%?)"
)
_YEAR = re.compile(r"^(19|20)\d{2}$")


def squash(text: str) -> str:
    """Collapse whitespace for searching."""
    return _WS.sub(" ", text)


def appears(needle: str, haystack: str) -> bool:
    """True when `needle` stands in `haystack` as written, not as part of a longer number."""
    needle = squash(clean(needle)).strip()
    pattern = r"(?<![\d])" + re.escape(needle) + r"(?![\d]|[.,]\d)"
    # A number inside a document code or a date ("28" in 28-NQ/TU, "10" in 31/10/2023) is not
    # that figure; the whole code or date is.
    atoms = [m.span() for m in _TOKEN.finditer(haystack) if m.group("code") or m.group("date")]
    for m in re.finditer(pattern, haystack):
        inside = any(a <= m.start() and m.end() <= b and (m.start(), m.end()) != (a, b) for a, b in atoms)
        if not inside:
            return True
    return False


def anchors_of(kb: KnowledgeBase) -> list[tuple[str, str, int]]:
    """(id, anchor, depth) of every section, in the order of the sections file."""
    def depth(sid: str) -> int:
        d, s = 0, kb.sections[sid]
        while s.parent:
            d, s = d + 1, kb.sections[s.parent]
        return d

    return [(s.id, s.anchor, depth(s.id)) for s in kb.sections.values()]


def load_source(kb: KnowledgeBase, path: Path) -> SourceReport:
    """Read the source report with the base's section table."""
    return read_report(path, anchors_of(kb))


def _entry_texts(entry: Entry) -> list[tuple[str, str]]:
    """(field, text) pairs that must stand in the cited text."""
    out: list[tuple[str, str]] = []
    if isinstance(entry, Document):
        if entry.code:
            out.append(("code", entry.code))
        return out
    out.extend((f"figures.{i}.text", f.text) for i, f in enumerate(entry.figures))
    if isinstance(entry, Indicator):
        out.extend((f"names.{i}", n) for i, n in enumerate(entry.names))
    return out


def check_provenance(kb: KnowledgeBase, report: SourceReport) -> list[KbError]:
    """Every figure of every entry appears, as written, in the section or footnote it cites."""
    texts: dict[tuple[str, int | None], str | None] = {}

    def cited_text(section: str, footnote: int | None) -> str | None:
        key = (section, footnote)
        if key not in texts:
            raw = report.section_text(section) if footnote is None else report.footnote_text(footnote)
            texts[key] = squash(raw) if raw is not None else None
        return texts[key]

    errors: list[KbError] = []
    for e in kb.entries.values():
        for idx, (section, footnote) in enumerate(_citations(e)):
            errors += _citation_errors(kb, report, e, idx, (section, footnote), cited_text)
    return errors


def _citations(e: Entry) -> list[tuple[str, int | None]]:
    """(section, footnote) of each place an entry cites: every citation of a document, else its one."""
    if isinstance(e, Document):
        return [(c.section, c.footnote) for c in e.cited_in]
    return [(e.section, e.footnote)]


def _citation_errors(kb: KnowledgeBase, report: SourceReport, e: Entry, idx: int, place: tuple[str, int | None],
                     cited_text: Callable[[str, int | None], str | None]) -> list[KbError]:
    """What of entry `e` its `idx`-th citation `place` does not hold (or why the place is wrong)."""
    section, footnote = place
    fld = f"cited_in.{idx}" if isinstance(e, Document) else "footnote"

    def err(message: str, field: str) -> KbError:
        return KbError(kb.files[e.id], message, entry=e.id, field=field, line=kb.line_of(e.id, field))

    if section not in report.sections:
        return [err(f"section {section!r} is not located in the source", "section")]
    if footnote is not None:
        owner = report.footnote_section.get(footnote)
        if owner is None:
            return [err(f"footnote {footnote} does not exist in the source", fld)]
        if owner != section:
            return [err(f"footnote {footnote} is marked in section {owner!r}, not {section!r}", fld)]
    text = cited_text(section, footnote)
    where = f"footnote {footnote}" if footnote else f"section {section}"
    errors = [err(f"{needle!r} does not appear in the text of {where}", name)
              for name, needle in _entry_texts(e) if text is None or not appears(needle, text)]
    if isinstance(e, Document) and e.date and idx == 0 and not appears(e.date, text or ""):
        errors.append(err(f"{e.date!r} does not appear in the text of {where}", "date"))
    return errors


@dataclass
class Verified:
    """A base checked against the report: the parsed report (None when it could not be read),
    the provenance errors, and why the report could not be read (None when it could)."""

    report: SourceReport | None
    errors: list[KbError]
    unreadable: str | None = None


def verify_against_report(kb: KnowledgeBase, path: Path) -> Verified:
    """Check every figure of `kb` against the report at `path` (provenance).

    A report that cannot be read is not an error of the base (``unreadable`` says why; the caller
    decides); a section whose anchor is not in the report is, on its line of sections.yaml.
    """
    try:
        report = load_source(kb, path)
    except ReportUnreadable as exc:
        return Verified(None, [], str(exc))
    except SourceError as exc:
        where = KbError(kb.sections_file, f"{exc}; the heading text ('anchor') must be the report's own words",
                        entry=exc.section, field="anchor", line=kb.section_lines.get(exc.section or ""))
        return Verified(None, [where])
    return Verified(report, check_provenance(kb, report))


@dataclass(frozen=True)
class SourceFigure:
    """A figure token of the source at a place: a section's own text or a footnote."""

    section: str
    footnote: int | None
    text: str
    context: str

    @property
    def where(self) -> str:
        """'p1.i.2' or 'p1.i.2 fn5'."""
        return f"{self.section} fn{self.footnote}" if self.footnote else self.section


def source_figures(report: SourceReport) -> Iterator[SourceFigure]:
    """Every figure of the source not excluded by rule (heading numbers, bare years, (1) enumerators)."""
    def tokens(text: str, section: str, footnote: int | None, skip: list[tuple[int, int]], offset: int):
        for m in _TOKEN.finditer(text):
            start = m.start() + offset
            if any(a <= start < b for a, b in skip):
                continue  # a heading's own numbering
            tok = m.group(0)
            if m.group("num") and _YEAR.match(tok):
                continue  # a bare year is context (năm 2023, nhiệm kỳ 2020 - 2025), not a fact
            before, after = text[max(0, m.start() - 1) : m.start()], text[m.end() : m.end() + 1]
            if before == "(" and after == ")" and len(tok) <= 2:
                continue  # an enumerator "(1)"
            ctx = squash(text[max(0, m.start() - 40) : m.end() + 40])
            yield SourceFigure(section, footnote, tok, ctx)

    for sid, sec in report.sections.items():
        own = report.body[sec.start : sec.end]
        yield from tokens(own, sid, None, report.heading_spans, sec.start)
        for n in sec.footnotes:
            yield from tokens(report.footnotes.get(n, ""), sid, n, [], 0)


@dataclass
class Coverage:
    """Result of the coverage check."""

    covered: int
    total: int
    excluded: int
    uncovered: list[SourceFigure]
    unused_exclusions: list[str]

    @property
    def ratio(self) -> float:
        """covered / total (1.0 when there is nothing to cover)."""
        return self.covered / self.total if self.total else 1.0


def check_coverage(kb: KnowledgeBase, report: SourceReport) -> Coverage:
    """Which figures of the source no entry holds; listed exclusions are taken out with their reason."""
    held: dict[tuple[str, int | None], list[str]] = {}

    def hold(section: str, footnote: int | None, text: str) -> None:
        held.setdefault((section, footnote), []).append(squash(nfc(text)))

    for e in kb.entries.values():
        if isinstance(e, Document):
            for c in e.cited_in:
                for t in filter(None, [e.code, e.date, e.name]):
                    hold(c.section, c.footnote, t)
            continue
        for _, t in _entry_texts(e):
            hold(e.section, e.footnote, t)
        if isinstance(e, Indicator):
            hold(e.section, e.footnote, e.period)

    used: set[int] = set()
    seen: set[tuple[str, int | None, str]] = set()
    covered = total = excluded = 0
    uncovered: list[SourceFigure] = []
    for fig in source_figures(report):
        key = (fig.section, fig.footnote, fig.text)
        if key in seen:
            continue
        seen.add(key)
        ex = next(
            (i for i, x in enumerate(kb.exclusions)
             if appears(fig.text, squash(nfc(x.figure)))
             and (x.section is None or x.section == fig.section)
             and (x.footnote is None or x.footnote == fig.footnote)),
            None,
        )
        if ex is not None:
            used.add(ex)
            excluded += 1
            continue
        total += 1
        if any(appears(fig.text, h) for h in held.get((fig.section, fig.footnote), [])):
            covered += 1
        else:
            uncovered.append(fig)
    unused = [f"{x.figure} ({x.section or ''} fn{x.footnote or ''})"
              for i, x in enumerate(kb.exclusions) if i not in used]
    return Coverage(covered, total, excluded, uncovered, unused)
