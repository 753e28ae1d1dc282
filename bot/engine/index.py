"""The search index built once per knowledge base: token weights, phrases and facts per entry."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from bot.engine.text import Lexicon
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.schema import Entry, Figure
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
    max_idf: float
    ids: list[str] = field(default_factory=list)
    bigram_vocab: frozenset[str] = frozenset()
    post_idx: dict[str, np.ndarray] = field(default_factory=dict)
    post_w: dict[str, np.ndarray] = field(default_factory=dict)
    known: frozenset[str] = frozenset()  # every word typo correction leaves alone (base and report)


def _add(lexicon: Lexicon, weights: dict[str, float], bigrams: set[str], text: str, kind: str) -> list[str]:
    """Index one text of an entry under a field's weight; its tokens (a phrase)."""
    toks = lexicon.expand(text).split()
    w = FIELD_WEIGHTS[kind]
    for t in toks:
        if t not in STOPWORDS and weights.get(t, 0) < w:
            weights[t] = w
    bigrams.update(f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False))
    return toks


def _entry_words(kb: KnowledgeBase, lexicon: Lexicon, e: Entry) -> tuple[dict[str, float], set[str], list[list[str]]]:
    """Token weights, bigrams and phrases (title, aliases, code) of one entry."""
    weights: dict[str, float] = {}
    bigrams: set[str] = set()
    phrases = [_add(lexicon, weights, bigrams, e.title, "title")]
    phrases += [_add(lexicon, weights, bigrams, a, "alias") for a in e.aliases]
    fields = [(k, "keyword") for k in e.keywords] + [(n, "name") for n in e.listed_names()]
    fields += [(m, "meta") for m in e.meta_texts() if m] + [(e.subject, "subject")]
    fields += [(kb.sections[sid].title, "section") for sid in kb.entry_sections(e)]
    for text, kind in fields:
        _add(lexicon, weights, bigrams, text, kind)
    phrases += [lexicon.expand(code).split() for code in e.codes()]
    return weights, bigrams, phrases


@dataclass
class _FigureFacts:
    """What an entry's figures tell the matcher: units (main one first) and the kinds of figure."""

    unit_list: list[list[str]] = field(default_factory=list)
    has_percent: bool = False
    has_plan_percent: bool = False
    expected: bool = False
    has_date: bool = False


def _figure_facts(lexicon: Lexicon, figures: list[Figure]) -> _FigureFacts:
    out = _FigureFacts()
    for f in figures:
        utoks = [t for t in lexicon.expand(f.unit).split() if t not in STOPWORDS]
        out.unit_list.append(utoks)
        if f.is_percent:
            out.has_percent = True
        if f.role == "percent_of_plan":
            out.has_plan_percent = True
        if f.role == "expected":
            out.expected = True
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", f.text.strip()):
            out.has_date = True
    return out


def _entry_index(kb: KnowledgeBase, lexicon: Lexicon, e: Entry) -> EntryIndex:
    """What the matcher knows of one entry."""
    weights, bigrams, phrases = _entry_words(kb, lexicon, e)
    fact, result, doc = kb.fact(e.id), kb.indicator(e.id), kb.document(e.id)
    figs = _figure_facts(lexicon, fact.figures if fact else [])
    years = years_in(" ".join([e.title, *e.aliases, *e.keywords, *e.meta_texts()])) | e.years()
    expected, as_of, has_date = figs.expected, False, figs.has_date
    if result is not None:
        p = fold(result.period)
        expected = expected or bool(re.search(r"du kien|uoc|ca nam|het nam", p))
        as_of = "31/10" in p or "tinh den" in p
    if doc is not None:
        has_date = doc.date is not None
    accented = {
        w for src in [e.title, *e.aliases, e.subject] for w in nfc_lower(src).split()
        if strip_diacritics(w) != w
    }
    text = " ".join([*(" ".join(p) for p in phrases), " ".join(weights)])
    return EntryIndex(
        entry=e, weights=weights, phrases=[p for p in phrases if p],
        phrase_texts=[" ".join(p) for p in phrases if p], bigrams=bigrams, years=years,
        accented=accented, has_percent=figs.has_percent, has_plan_percent=figs.has_plan_percent,
        expected=expected, as_of=as_of, has_date=has_date, text=f" {text} ", unit_list=figs.unit_list,
        children_of={e.id} if e.id in kb.children else set(),
        doc_type=fold(doc.doc_type) if doc is not None else "",
        has_money=any(_MONEY_UNIT.search(" ".join(u)) for u in figs.unit_list),
    )


def build_index(kb: KnowledgeBase, lexicon: Lexicon) -> Index:
    """Index every entry of the base."""
    entries = {e.id: _entry_index(kb, lexicon, e) for e in kb.entries.values()}
    df: dict[str, int] = defaultdict(int)
    postings: dict[str, list[str]] = defaultdict(list)
    for eid, ei in entries.items():
        for t in ei.weights:
            df[t] += 1
            postings[t].append(eid)
    n_entries = max(len(entries), 1)
    idf = {t: math.log((n_entries + 1) / (c + 0.5)) for t, c in df.items()}
    max_idf = math.log((n_entries + 1) / 0.5)
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
    return Index(kb, lexicon, entries, idf, dict(postings), sorted(idf), max_idf, ids=ids,
                 post_idx=post_idx, post_w=post_w, bigram_vocab=bigram_vocab, known=frozenset(idf))
