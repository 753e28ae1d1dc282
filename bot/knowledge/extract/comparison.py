"""The draft measured against the curated base."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

from bot.knowledge.extract.data import Draft, DraftDocument
from bot.knowledge.provenance import _TOKEN, squash
from bot.normalize import fold, nfc

if TYPE_CHECKING:
    from bot.knowledge.base import KnowledgeBase
    from bot.knowledge.schema import Document

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
    docs = _compare_documents(draft, kb)
    figs = _compare_figures(draft, kb)
    return Comparison(docs.coded_found, docs.coded_total, docs.docs_found, docs.docs_total, figs.found,
                      figs.total, figs.found_tokens, docs.missing, figs.missing, docs.citations_found,
                      docs.citations_total)


@dataclass
class _DocumentTally:
    """The documents half of a Comparison."""

    coded_found: int = 0
    coded_total: int = 0
    docs_found: int = 0
    docs_total: int = 0
    citations_found: int = 0
    citations_total: int = 0
    missing: list[str] = field(default_factory=list)


@dataclass
class _FigureTally:
    """The figures half of a Comparison."""

    found: int = 0
    total: int = 0
    found_tokens: int = 0
    missing: list[str] = field(default_factory=list)


def _compare_documents(draft: Draft, kb: KnowledgeBase) -> _DocumentTally:
    """Base documents found in the draft: by code, else by name (see `_match_uncoded`); and the base's
    (section, footnote) citations of documents that the draft also has."""
    from bot.knowledge.schema import Document

    tally = _DocumentTally()
    codes = {d.code for d in draft.documents if d.code}
    draft_cites = {(s, fn) for d in draft.documents for s, fn in d.cited_in}
    base_docs = [e for e in kb.entries.values() if isinstance(e, Document)]
    tally.docs_total = len(base_docs)
    nocode: list[Document] = []
    for doc in base_docs:
        for c in doc.cited_in:
            tally.citations_total += 1
            tally.citations_found += (c.section, c.footnote) in draft_cites
        if doc.code:
            tally.coded_total += 1
            if doc.code in codes:
                tally.coded_found += 1
                tally.docs_found += 1
            else:
                tally.missing.append(f"document {doc.id} ({doc.code})")
            continue
        nocode.append(doc)
    matched = _match_uncoded(nocode, draft.documents)
    tally.docs_found += len(matched)
    tally.missing += [_unmatched_note(doc, draft.documents) for bi, doc in enumerate(nocode) if bi not in matched]
    return tally


def _match_uncoded(nocode: list[Document], drafted: list[DraftDocument]) -> dict[int, int]:
    """Base documents without a code paired with draft ones (index in `nocode` -> index in `drafted`).

    A pair needs the same type, a shared citing section and a name score ≥ NAME_THRESHOLD; one draft
    document answers for at most one base document, best pairs first (ties broken by plain ratio).
    """
    pairs: list[tuple[float, float, int, int]] = []
    for bi, doc in enumerate(nocode):
        sections = {c.section for c in doc.cited_in}
        for di, d in enumerate(drafted):
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
    return matched


def _unmatched_note(doc: Document, drafted: list[DraftDocument]) -> str:
    """'not found' line of a base document without a code, with the closest draft name in its sections."""
    sections = {c.section for c in doc.cited_in}
    cands = [(name_score(doc.name or "", d.name), d.name) for d in drafted
             if not d.code and d.name and sections & {s for s, _ in d.cited_in}]
    best, best_name = max(cands, default=(0.0, ""))
    hint = (f"best draft name in its sections: {best_name!r}, score {best:.0f}" if best_name
            else "no draft document without a code in its sections")
    return f"document {doc.id} ({doc.name!r}) — {hint}"


def _figures_held(draft: Draft) -> dict[tuple[str, int | None], set[str]]:
    """The draft's figure texts (squashed) by (section, footnote); a figure also counts for every
    ancestor of its section, since the base may file it under a coarser heading."""
    parents = {h.id: h.parent for h in draft.sections}
    held: dict[tuple[str, int | None], set[str]] = {}
    for f in draft.facts:
        cur: str | None = f.section
        while cur:
            held.setdefault((cur, f.footnote), set()).update(squash(x.text) for x in f.figures)
            cur = parents.get(cur)
    return held


def _compare_figures(draft: Draft, kb: KnowledgeBase) -> _FigureTally:
    """Base figures found in the draft: by exact text in the same section and footnote, or (counted
    apart) with every number of the figure somewhere in the draft's figures there."""
    from bot.knowledge.schema import Document

    held = _figures_held(draft)
    base_figs: dict[tuple[str, int | None, str], None] = {}
    for e in kb.entries.values():
        if isinstance(e, Document):
            continue
        for fig in e.figures:
            base_figs[(e.section, e.footnote, squash(nfc(fig.text)))] = None
    tally = _FigureTally(total=len(base_figs))
    for section, footnote, text in base_figs:
        texts = held.get((section, footnote), set())
        if text in texts:
            tally.found += 1
            tally.found_tokens += 1
            continue
        want = {m.group(0) for m in _TOKEN.finditer(text)}
        have = {m.group(0) for t in texts for m in _TOKEN.finditer(t)}
        where = f"{section} fn{footnote}" if footnote else section
        if want and want <= have:
            tally.found_tokens += 1
            tally.missing.append(f"figure {where}: {text!r} (its numbers are in the draft, written apart)")
        else:
            tally.missing.append(f"figure {where}: {text!r}")
    return tally
