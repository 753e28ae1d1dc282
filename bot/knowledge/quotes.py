"""Each structured entry tied to the report sentence it comes from, found automatically.

The sentence is the one, in the entry's section (or footnote), that holds the entry's figures as
written (a document: its code or name); among several, the one sharing most words with the
entry's title, aliases and keywords. Provenance reports an entry with no such sentence.
"""

from __future__ import annotations

from functools import lru_cache

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.passages import Passage
from bot.knowledge.provenance import appears
from bot.knowledge.schema import Document, Entry
from bot.normalize import fold

NAME_SHARE = 0.6  # share of a code-less document's name words its sentence must hold


def figure_needles(e: Entry) -> list[str]:
    """What an entry states in the report's own writing: its figures and names; a document's code
    and name."""
    return e.needles()


def _places(kb: KnowledgeBase, e: Entry) -> list[tuple[str, int | None]]:
    if isinstance(e, Document):
        return [(c.section, c.footnote) for c in e.cited_in]
    return [(e.section, e.footnote)]


@lru_cache(maxsize=8192)
def _words(text: str) -> frozenset[str]:
    """The folded words of a text (memoised: every entry of a section is compared with the same
    report sentences, at each engine build)."""
    return frozenset(fold(text).split())


def find_quote(kb: KnowledgeBase, e: Entry, by_place: dict[tuple[str, int | None], list[Passage]]) -> Passage | None:
    """The report sentence an entry comes from, or None when no sentence holds its figures."""
    # A document's name is the base's wording: only its code is sure to stand in the sentence.
    needles = ([e.code] if e.code else []) if isinstance(e, Document) else figure_needles(e)
    own = _words(" ".join([e.title, *e.aliases, *e.keywords, getattr(e, "subject", "")]))
    # A document cited without a code is found by its name's words (the name is the report's).
    named = _words(e.name) if isinstance(e, Document) and e.name and not needles else set()
    best: tuple[float, int, Passage] | None = None
    for place in _places(kb, e):
        for p in by_place.get(place, []):
            held = sum(1 for n in needles if appears(n, p.text)) if needles else 0
            if needles and not held:
                continue
            if named and len(named & _words(p.text)) < NAME_SHARE * len(named):
                continue
            overlap = len(own & _words(p.text)) / max(len(own), 1)
            key = (held + overlap, -p.id, p)
            if best is None or key[:2] > best[:2]:
                best = key
        if best is not None:
            break  # a document's first citation is where it is introduced
    return best[2] if best else None


def link_quotes(kb: KnowledgeBase, passages: list[Passage]) -> dict[str, Passage]:
    """Entry id → the passage it comes from, for every entry whose sentence is found."""
    by_place: dict[tuple[str, int | None], list[Passage]] = {}
    for p in passages:
        by_place.setdefault((p.section, p.footnote), []).append(p)
    out: dict[str, Passage] = {}
    for e in kb.entries.values():
        q = find_quote(kb, e, by_place)
        if q is not None:
            out[e.id] = q
    return out
