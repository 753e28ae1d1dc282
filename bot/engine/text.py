"""Question and phrase analysis: folding, abbreviations, synonyms, number words, tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.knowledge.schema import Synonyms
from bot.normalize import fold, nfc, nfc_lower, strip_diacritics

_WORD = re.compile(r"[\w%/.\-]+", re.UNICODE)
_DIGITS = {
    "không": 0, "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "lăm": 5, "sáu": 6,
    "bảy": 7, "bẩy": 7, "tám": 8, "chín": 9, "mười": 10,
}
_MULT = {"trăm": 100, "nghìn": 1000, "ngàn": 1000, "triệu": 1_000_000}


def number_words(text: str) -> str:
    """Turn spelled numbers into digits where a multiplier makes them unambiguous ('ba nghìn' → '3000')."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        j, total, current, used_mult = i, 0, 0, False
        while j < len(words):
            w = words[j]
            if w in _DIGITS:
                next_place = current and current < 10 and w != "mười"  # a digit after a digit: the next place
                current = current * 10 + _DIGITS[w] if next_place else current + _DIGITS[w]
            elif w in _MULT and (current or total):
                total += (current or 1) * _MULT[w]
                current, used_mult = 0, True
            elif w == "mươi" and current:
                current *= 10
            elif w in ("linh", "lẻ") and used_mult:
                pass
            else:
                break
            j += 1
        if used_mult and j > i + 1:
            out.append(str(total + current))
            i = j
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)


@lru_cache(maxsize=262144)
def _fold_word(word: str) -> str:
    return fold(word)


class Lexicon:
    """Abbreviations, acronyms and synonym groups from `knowledge/synonyms.yaml`, in folded form."""

    def __init__(self, synonyms: Synonyms) -> None:
        # A key with diacritics ("đu", "đv") matches only as typed: folded, "đu" would be "du" (dự).
        self.abbr_exact = {nfc_lower(k): fold(v) for k, v in synonyms.abbreviations.items()}
        self.abbr_ascii = {k: v for k, v in self.abbr_exact.items() if k.isascii()}
        self.acronyms = {nfc(k): fold(v) for k, v in synonyms.acronyms.items()}
        # Longest phrases first so "phát triển đảng viên mới" wins over "đảng viên mới".
        pairs: list[tuple[str, str]] = []
        for group in synonyms.synonyms:
            canon = fold(group[0])
            pairs.extend((fold(p), canon) for p in group[1:] if fold(p) != canon)
        pairs.sort(key=lambda p: -len(p[0]))
        self.synonym_pairs = pairs
        self._syn_re = (
            re.compile(r"(?<!\S)(" + "|".join(re.escape(p) for p, _ in pairs) + r")(?!\S)") if pairs else None
        )
        self._syn_map = dict(pairs)
        self.places = [(nfc_lower(p), fold(p)) for p in synonyms.places]

    def places_in(self, q: Query) -> list[str]:
        """Other places a question names (folded). Typed with diacritics, a place must match them
        (with one slip allowed: "Đà Nẵg"), so "đã nâng cao" is not Đà Nẵng; without diacritics the
        folded name must stand as such, and not before "cao" (da nang cao = đã nâng cao)."""
        from rapidfuzz import fuzz

        raw = nfc_lower(q.raw)
        found = []
        for accented, folded in self.places:
            if q.accented:
                hit = accented in raw or fuzz.partial_ratio(accented, raw, score_cutoff=88) > 0
            else:
                hit = bool(re.search(rf"(?<!\S){re.escape(folded)}(?!\S)(?! cao\b)", q.text))
            if hit:
                found.append(folded)
        return found

    def expand(self, raw: str) -> str:
        """Folded text with acronyms (as typed in capitals), abbreviations and synonyms applied."""
        words: list[str] = []
        for w in _WORD.findall(nfc(raw)):
            bare = w.strip(".-/")
            if bare in self.acronyms:
                words.append(self.acronyms[bare])
                continue
            words.append(w)
        out: list[str] = []
        for w in number_words(nfc_lower(" ".join(words))).split():
            key = w.strip("?.,!:;()\"'“”")
            hit = self.abbr_exact.get(key) or self.abbr_ascii.get(_fold_word(key))
            out.append(hit if hit else w)
        text = fold(" ".join(out))
        if self._syn_re:
            text = self._syn_re.sub(lambda m: self._canonical(m, text), text)
        return text

    def _canonical(self, m: re.Match[str], text: str) -> str:
        """The canonical form of a matched variant, unless the variant stands inside the canonical
        form already ("thường vụ thành ủy" within "ban thường vụ thành ủy")."""
        variant = m.group(1)
        canon = self._syn_map[variant]
        at = canon.find(variant)
        if at >= 0:
            start = m.start() - at
            if start >= 0 and text[start:start + len(canon)] == canon:
                return variant
        return canon


@dataclass
class Query:
    """A question analysed: raw, folded-and-expanded text, tokens, accented words typed."""

    raw: str
    text: str
    tokens: list[str]
    accented: set[str] = field(default_factory=set)
    typos: dict[str, str] = field(default_factory=dict)  # corrected word → the word as typed
    # Words from the conversation's last question that place a follow-up but need not be held
    # by its answer (see bot.engine.followup).
    soft: frozenset[str] = frozenset()
    shown: int | None = None  # the report sentence the conversation's last answer quoted
    part_pairs: set[str] | None = None  # word pairs within its comma-separated parts (computed once)
    # The engine's search of the report's sentences for it, done once: (searched, best hit).
    passage_search: tuple[bool, Any] = (False, None)

    @property
    def bigrams(self) -> set[str]:
        """Adjacent token pairs."""
        return {f"{a} {b}" for a, b in zip(self.tokens, self.tokens[1:], strict=False)}


def analyse(raw: str, lexicon: Lexicon) -> Query:
    """Analyse a question (any text; never raises)."""
    raw = raw[:4096]
    text = lexicon.expand(raw)
    accented = {w for w in nfc_lower(raw).split() if strip_diacritics(w) != w}
    return Query(raw=raw, text=text, tokens=text.split(), accented=accented)
