"""The draft measured against the curated base."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

from bot.knowledge.extract.data import Draft
from bot.knowledge.provenance import _TOKEN, squash
from bot.normalize import fold, nfc

if TYPE_CHECKING:
    from bot.knowledge.base import KnowledgeBase

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
