"""The search index built once per knowledge base: token weights, phrases and facts per entry."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from bot.engine.text import Lexicon
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.schema import Document, Entry, Indicator, Target
from bot.normalize import fold, nfc_lower, strip_diacritics, years_in

# Words that carry no subject: question words and function words. IDF takes care of the rest
# ("đảng" appears everywhere and so weighs little).
STOPWORDS = frozenset(
    """bao nhieu may gi nao la cua duoc da the nhu ma o voi va cac nhung mot nay do ve trong khong a ha
    nhe oi hay hoac roi se boi vi nen sao ai bay gio xin toi""".split()
)
_MONEY_UNIT = re.compile(r"\b(ty|trieu|nghin)? ?dong\b(?! chi)")

FIELD_WEIGHTS = {"title": 1.0, "alias": 1.0, "keyword": 0.9, "name": 0.8, "meta": 0.6, "subject": 0.55, "section": 0.3}


@dataclass
class EntryIndex:
    """What the matcher knows of one entry."""

    entry: Entry
    weights: dict[str, float]
    phrases: list[list[str]]
    phrase_texts: list[str]
    bigrams: set[str]
    years: set[int]
    units: set[str]
    accented: set[str]
    has_percent: bool
    has_plan_percent: bool
    expected: bool
    as_of: bool
    has_date: bool
    text: str  # all folded words, for place checks
    unit_list: list[list[str]] = field(default_factory=list)  # units of the figures, main one first
    children_of: set[str] = field(default_factory=set)
    doc_type: str = ""
    has_money: bool = False
    # (informative tokens, their idf weights, total) per phrase: precomputed for phrase recall.
    phrase_data: list[tuple[tuple[str, ...], tuple[float, ...], float]] = field(default_factory=list)


@dataclass
class Index:
    """Inverted index over the knowledge base."""

    kb: KnowledgeBase
    lexicon: Lexicon
    entries: dict[str, EntryIndex]
    idf: dict[str, float]
    postings: dict[str, list[str]]
    vocab: list[str]
    unit_vocab: set[str]
    max_idf: float
    ids: list[str] = field(default_factory=list)
    bigram_vocab: frozenset[str] = frozenset()
    post_idx: dict[str, np.ndarray] = field(default_factory=dict)
    post_w: dict[str, np.ndarray] = field(default_factory=dict)
    known: frozenset[str] = frozenset()  # every word typo correction leaves alone (base and report)


def _meta_texts(e: Entry) -> list[str]:
    if isinstance(e, Document):
        return [e.doc_type, e.issuer or "", e.date or "", e.code or "", e.name or ""]
    out = [f.unit for f in e.figures] + [f.label for f in e.figures] + [f.text for f in e.figures]
    if isinstance(e, Indicator):
        out.append(e.period)
    if isinstance(e, Target):
        out.append(e.counts)
        out.append(f"chỉ tiêu năm {e.year}")
    return out


def build_index(kb: KnowledgeBase, lexicon: Lexicon) -> Index:
    """Index every entry of the base."""
    entries: dict[str, EntryIndex] = {}
    for e in kb.entries.values():
        weights: dict[str, float] = {}
        bigrams: set[str] = set()

        def add(text: str, kind: str, weights: dict[str, float] = weights, bigrams: set[str] = bigrams) -> list[str]:
            toks = lexicon.expand(text).split()
            w = FIELD_WEIGHTS[kind]
            for t in toks:
                if t not in STOPWORDS and weights.get(t, 0) < w:
                    weights[t] = w
            bigrams.update(f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False))
            return toks

        phrases = [add(e.title, "title")] + [add(a, "alias") for a in e.aliases]
        for k in e.keywords:
            add(k, "keyword")
        if isinstance(e, Indicator):
            for n in e.names:
                add(n, "name")
        for m in _meta_texts(e):
            if m:
                add(m, "meta")
        add(e.subject, "subject")
        for sid in kb.entry_sections(e):
            add(kb.sections[sid].title, "section")
        if isinstance(e, Document) and e.code:
            phrases.append(lexicon.expand(e.code).split())

        year_src = " ".join([e.title, *e.aliases, *e.keywords, *_meta_texts(e)])
        years = years_in(year_src)
        units: set[str] = set()
        unit_list: list[list[str]] = []
        has_percent = has_plan_percent = expected = as_of = has_date = False
        if isinstance(e, Indicator | Target):
            for f in e.figures:
                utoks = [t for t in lexicon.expand(f.unit).split() if t not in STOPWORDS]
                units.update(utoks)
                unit_list.append(utoks)
                if f.is_percent:
                    has_percent = True
                    units.add("%")
                if f.role == "percent_of_plan":
                    has_plan_percent = True
                if f.role == "expected":
                    expected = True
                if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", f.text.strip()):
                    has_date = True
        if isinstance(e, Indicator):
            p = fold(e.period)
            expected = expected or bool(re.search(r"du kien|uoc|ca nam|het nam", p))
            as_of = "31/10" in p or "tinh den" in p
            years.add(e.year)
        if isinstance(e, Target):
            years.add(e.year)
        if isinstance(e, Document):
            has_date = e.date is not None
        accented = {
            w for src in [e.title, *e.aliases, e.subject] for w in nfc_lower(src).split()
            if strip_diacritics(w) != w
        }
        text = " ".join([*(" ".join(p) for p in phrases), " ".join(weights)])
        entries[e.id] = EntryIndex(
            entry=e, weights=weights, phrases=[p for p in phrases if p],
            phrase_texts=[" ".join(p) for p in phrases if p], bigrams=bigrams, years=years, units=units,
            accented=accented, has_percent=has_percent, has_plan_percent=has_plan_percent, expected=expected,
            as_of=as_of, has_date=has_date, text=f" {text} ", unit_list=unit_list,
            children_of={e.id} if e.id in kb.children else set(),
            doc_type=fold(e.doc_type) if isinstance(e, Document) else "",
            has_money=any(_MONEY_UNIT.search(" ".join(u)) for u in unit_list),
        )

    df: dict[str, int] = defaultdict(int)
    postings: dict[str, list[str]] = defaultdict(list)
    for eid, ei in entries.items():
        for t in ei.weights:
            df[t] += 1
            postings[t].append(eid)
    n_entries = max(len(entries), 1)
    idf = {t: math.log((n_entries + 1) / (c + 0.5)) for t, c in df.items()}
    max_idf = math.log((n_entries + 1) / 0.5)
    unit_vocab = set().union(*(ei.units for ei in entries.values())) if entries else set()
    ids = list(entries)
    position = {eid: i for i, eid in enumerate(ids)}
    post_idx = {t: np.array([position[e] for e in es], dtype=np.int32) for t, es in postings.items()}
    post_w = {t: np.array([entries[e].weights[t] for e in es], dtype=np.float32) for t, es in postings.items()}
    for ei in entries.values():
        for phrase in ei.phrases:
            toks = tuple(t for t in phrase if t not in STOPWORDS)
            if toks:
                w = tuple(idf.get(t, max_idf) for t in toks)
                ei.phrase_data.append((toks, w, sum(w)))
    bigram_vocab = frozenset().union(*(ei.bigrams for ei in entries.values())) if entries else frozenset()
    return Index(kb, lexicon, entries, idf, dict(postings), sorted(idf), unit_vocab, max_idf, ids=ids,
                 post_idx=post_idx, post_w=post_w, bigram_vocab=bigram_vocab, known=frozenset(idf))
