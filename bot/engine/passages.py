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

from bot.engine.accounting import SOFT_WEIGHT, answer_type, held_word, informative, is_function, loose_pairs
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
    words: tuple[tuple[int, int, frozenset[str]], ...] = ()  # each word's span and its folded tokens


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
        word_tokens: dict[str, frozenset[str]] = {}  # a word's expansion, computed once per distinct word

        def tokens_of(word: str) -> frozenset[str]:
            if word not in word_tokens:
                word_tokens[word] = frozenset(lexicon.expand(word).split())
            return word_tokens[word]

        for p in passages:
            own_toks = lexicon.expand(p.text).split()
            ctx_text = [kb.sections[s].title for s in _lineage(kb, p.section)]
            if p.footnote is not None:
                ctx_text += [r.text for r in referring.get(p.footnote, [])]
            if p.lead is not None:
                ctx_text.append(passages[p.lead].text)  # the sentence it continues
            ctx = set(lexicon.expand(" ".join(ctx_text)).split())
            years = years_in(p.text) | {part_year.get(p.section, kb.result_year)}
            path = kb.section_path(p.section) + (f" › chú thích {p.footnote}" if p.footnote else "")
            self.entries.append(PassageEntry(
                p, frozenset(own_toks), frozenset(ctx - set(own_toks)),
                frozenset(f"{a} {b}" for a, b in zip(own_toks, own_toks[1:], strict=False)),
                frozenset(years), path, " ".join(own_toks),
                tuple((m.start(), m.end(), tokens_of(m.group(0))) for m in _WORD.finditer(p.text)),
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
        self.pair_df: dict[str, int] = {}
        for pe in self.entries:
            for b in pe.bigrams:
                self.pair_df[b] = self.pair_df.get(b, 0) + 1

    def weight(self, token: str) -> float:
        """How much a word says about which sentence is meant (rare words more)."""
        return self.idf.get(token, self.max_idf)

    def search(self, tokens: list[str], years: set[int], limit: int = 5,
               typos: dict[str, str] | None = None, soft: frozenset[str] = frozenset()) -> list[PassageHit]:
        """The best sentences for a question's (corrected) tokens; `years` the years it names;
        `soft` words that place the question but need not be held (a follow-up's background)."""
        words = informative(tokens)
        kind = answer_type(tokens)
        typos = typos or {}
        if not words:
            return []
        weights = {t: self.weight(t) * (SOFT_WEIGHT if t in soft else 1.0) for t in words}
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
            hits.append(PassageHit(pe, W_COVER * cover + W_PAIRS * min(1.0, pairs * 1.5), cover))
        hits.sort(key=lambda h: (-h.score, h.passage.id))
        hits = hits[:limit]
        content = [t for t in tokens if t not in kind]
        for h in hits:  # what each of the best sentences leaves out of the question
            pe = h.entry
            held = pe.own | pe.context
            left = [t for t in words if t not in kind and not held_word(t, held, self.df, self.size, typos)]
            left += [p for p in loose_pairs(content, held, pe.bigrams, self.pair_df, self.size, typos, self.df)
                     if not any(w in left for w in p.split())]
            left += [str(y) for y in sorted(years - pe.years)]
            h.leftover = [t for t in left if not set(t.split()) <= soft]
        return hits[:limit]

    def answer_marks(self, hit: PassageHit, tokens: list[str]) -> list[tuple[int, int]]:
        """Spans of the sentence that answer: runs of its words the question did not use, each run
        holding at least one content word."""
        asked = set(tokens)
        text = hit.passage.text
        runs: list[tuple[int, int, bool]] = []
        for a, b, toks in hit.entry.words:
            if not toks or toks & asked:
                continue
            content = any(not is_function(t) for t in toks)
            if runs and _only_glue(text[runs[-1][1]:a]):
                runs[-1] = (runs[-1][0], b, runs[-1][2] or content)
            else:
                runs.append((a, b, content))
        return [(a, b) for a, b, content in runs if content]


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
    target_parts = {_lineage(kb, e.section)[-1] for e in kb.current_targets()}
    return {sid: (kb.target_year if _lineage(kb, sid)[-1] in target_parts else kb.result_year)
            for sid in kb.sections}
