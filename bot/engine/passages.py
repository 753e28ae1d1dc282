"""Retrieval over the report's sentences: which sentence states what a question asks.

A sentence is scored by the share of the question's informative words it holds (weighted by how
rare each word is among the report's sentences), its own words counting fully and the words of
its setting (section headings, the sentence a footnote hangs from) partly; shared word pairs
break ties. The words of the question it does not hold are returned with it, so that the
decision can refuse a sentence about something else.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from bot.engine.accounting import answer_type, held_word, informative, is_function
from bot.engine.index import years_in
from bot.engine.text import Lexicon
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.passages import Passage

CONTEXT_CREDIT = 0.7  # a word found only in the sentence's setting counts for this much
W_COVER = 0.8  # weight of word coverage in a sentence's score
W_PAIRS = 0.2  # weight of shared word pairs (word order) in a sentence's score
CANDIDATES = 40  # sentences given the full scoring
_WORD = re.compile(r"[\w][\w/.\-%]*")


def _only_glue(between: str) -> bool:
    return not between.strip(" ,“”\"'()-–")


@dataclass
class PassageEntry:
    """What the retriever knows of one sentence."""

    passage: Passage
    own: frozenset[str]
    context: frozenset[str]
    bigrams: frozenset[str]
    years: frozenset[int]
    path: str
    folded: str  # the sentence's expanded, folded words, space-joined


@dataclass
class PassageHit:
    """A sentence with its score, coverage and the question words it does not hold."""

    entry: PassageEntry
    score: float
    cover: float
    leftover: list[str] = field(default_factory=list)

    marks: list[tuple[int, int]] = field(default_factory=list)

    @property
    def passage(self) -> Passage:
        """The sentence."""
        return self.entry.passage


class PassageIndex:
    """Inverted index over the report's sentences."""

    def __init__(self, kb: KnowledgeBase, lexicon: Lexicon, passages: list[Passage]) -> None:
        self.kb = kb
        self.lexicon = lexicon
        self.entries: list[PassageEntry] = []
        referring: dict[int, list[Passage]] = {}
        for p in passages:
            for n in p.markers:
                referring.setdefault(n, []).append(p)
        part_year = _part_years(kb)
        for p in passages:
            own_toks = lexicon.expand(p.text).split()
            ctx_text = [kb.sections[s].title for s in _lineage(kb, p.section)]
            if p.footnote is not None:
                ctx_text += [r.text for r in referring.get(p.footnote, [])]
            ctx = set(lexicon.expand(" ".join(ctx_text)).split())
            years = years_in(p.text) | {part_year.get(p.section, kb.result_year)}
            path = kb.section_path(p.section) + (f" › chú thích {p.footnote}" if p.footnote else "")
            self.entries.append(PassageEntry(
                p, frozenset(own_toks), frozenset(ctx - set(own_toks)),
                frozenset(f"{a} {b}" for a, b in zip(own_toks, own_toks[1:], strict=False)),
                frozenset(years), path, " ".join(own_toks),
            ))
        df: dict[str, int] = {}
        self.postings: dict[str, list[int]] = {}
        for i, pe in enumerate(self.entries):
            for t in pe.own | pe.context:
                self.postings.setdefault(t, []).append(i)
            for t in pe.own:
                df[t] = df.get(t, 0) + 1
        n = max(len(self.entries), 1)
        self.size = n
        self.df = df
        self.idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}
        self.max_idf = math.log((n + 1) / 0.5)
        self.vocab = frozenset(self.postings)
        self.bigram_vocab = frozenset().union(*(pe.bigrams for pe in self.entries)) if self.entries else frozenset()

    def weight(self, token: str) -> float:
        """How much a word says about which sentence is meant (rare words more)."""
        return self.idf.get(token, self.max_idf)

    def search(self, tokens: list[str], years: set[int], limit: int = 5,
               typos: dict[str, str] | None = None) -> list[PassageHit]:
        """The best sentences for a question's (corrected) tokens; `years` the years it names."""
        words = informative(tokens)
        kind = answer_type(tokens)
        typos = typos or {}
        if not words:
            return []
        weights = {t: self.weight(t) for t in words}
        total = sum(weights.values()) or 1.0
        acc: dict[int, float] = {}
        for t in words:
            for i in self.postings.get(t, ()):
                pe = self.entries[i]
                acc[i] = acc.get(i, 0.0) + weights[t] * (1.0 if t in pe.own else CONTEXT_CREDIT)
        top = sorted(acc, key=lambda i: -acc[i])[:CANDIDATES]
        qpairs = {f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)
                  if a in words or b in words}
        hits: list[PassageHit] = []
        for i in top:
            pe = self.entries[i]
            cover = acc[i] / total
            pairs = len(qpairs & pe.bigrams) / max(len(qpairs), 1)
            held = pe.own | pe.context
            left = [t for t in words if t not in kind and not held_word(t, held, self.df, self.size, typos)]
            left += [str(y) for y in sorted(years - pe.years)]
            hits.append(PassageHit(pe, W_COVER * cover + W_PAIRS * min(1.0, pairs * 1.5), cover, left))
        hits.sort(key=lambda h: (-h.score, h.passage.id))
        hits = hits[:limit]
        asked = set(tokens)
        for h in hits:
            h.marks = self.answer_marks(h.passage.text, asked)
        return hits

    def answer_marks(self, text: str, asked: set[str]) -> list[tuple[int, int]]:
        """Spans of the sentence that answer: runs of its content words the question did not use."""
        runs: list[tuple[int, int]] = []
        for m in _WORD.finditer(text):
            toks = self.lexicon.expand(m.group(0)).split()
            new = bool(toks) and not (set(toks) & asked)
            if not new:
                continue
            if runs and _only_glue(text[runs[-1][1]:m.start()]):
                runs[-1] = (runs[-1][0], m.end())
            else:
                runs.append((m.start(), m.end()))
        # A lone function word is not an answer.
        return [(a, b) for a, b in runs if any(not is_function(t) for t in self.lexicon.expand(text[a:b]).split())]


def _lineage(kb: KnowledgeBase, section: str) -> list[str]:
    out: list[str] = []
    sid: str | None = section
    while sid:
        out.append(sid)
        sid = kb.sections[sid].parent
    return out


def _part_years(kb: KnowledgeBase) -> dict[str, int]:
    """Section → the year its text is about: the part holding the targets of the target year is
    about that year, every other part about the result year."""
    from bot.knowledge.schema import Target

    target_parts = {
        _lineage(kb, e.section)[-1] for e in kb.entries.values()
        if isinstance(e, Target) and e.year == kb.target_year
    }
    return {sid: (kb.target_year if _lineage(kb, sid)[-1] in target_parts else kb.result_year)
            for sid in kb.sections}
