"""Scoring entries against a question: weighted token overlap, phrase recall, rapidfuzz similarity,
and the facts that decide between the 2023 result, the 2023 plan and the 2024 target of a subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process

from bot.engine.accounting import SOFT_WEIGHT, is_function
from bot.engine.index import STOPWORDS, EntryIndex, Index, years_in
from bot.engine.text import Query
from bot.knowledge.schema import Document, Indicator, Target

_RESULT = re.compile(r"\b(thuc te|da dat|dat duoc|thuc hien duoc|ket qua thuc hien)\b")
# "có đạt kế hoạch không?", "đã vượt chỉ tiêu chưa?" (no number asked before the last word).
_YES_NO = re.compile(
    r"\b(dat|vuot|hoan thanh)\b(?:(?!\b(?:bao nhieu|may)\b).){0,60}\b(khong|chua|ko|hok|khum|k)\s*\??\s*$"
)
_ACHIEVED = re.compile(r"\b(ket qua|dat duoc|da dat|thuc hien duoc|da ket nap)\b")
_COMPARE = re.compile(
    r"\b(tang hay giam|giam hay tang|so voi cung ky|so voi nam truoc|tang (?:khong|chua)|giam (?:khong|chua))\b"
)
_PLAN = re.compile(r"\b(ke hoach|chi tieu|muc tieu|dat ra|du dinh|giao chi tieu|phan dau|dat muc tieu)\b")
_PLAN_PERCENT = re.compile(
    r"(%|phan tram|ty le)[^?]{0,30}(ke hoach)|(so|so voi) ke hoach|ke hoach[^?]{0,6}(%|phan tram)"
)
_EXPECTED = re.compile(r"\b(du kien|uoc|ca nam|het nam|phan dau den het)\b")
_AS_OF = re.compile(r"\b(31/10|tinh den|den ngay|den 31|cuoi thang 10|thang 10)\b")
_PERCENT = re.compile(r"%|phan tram|\bty le\b")
_COUNT = re.compile(r"\b(bao nhieu|may)\b(?! (ngay|gio|thang))")
_DATE_Q = re.compile(
    r"\b(ngay nao|ngay may|khi nao|bao gio|thoi gian nao|ngay bao nhieu|luc nao|thang may|thang nao|vao thang|"
    r"ngay thang nam nao|ngay thang nao|thoi diem nao|hieu luc tu|ngay ban hanh)\b"
)
_WHICH = re.compile(r"\b(?<!ngay )(?<!khi )(?<!so )(?<!nam )(?<!thang )nao\b|\bgom nhung\b|\bla ai\b|\bten\b")
_DOC_Q = re.compile(
    r"\b(so may|so hieu|so nao|so bao nhieu|cua ai|ai ban hanh|co quan nao|van de gi|noi dung gi|ve gi|"
    r"ve viec gi|la nghi quyet gi|la van ban gi|ten gi|ky hieu|ban hanh ngay|nam nao den nam nao|tu nam nao)\b"
)
_MONEY_ASKED = re.compile(r"^(?:tien|ty|trieu|(?:ty |trieu )?dong(?! chi))\b")


# The words that say which kind of figure is asked (plan, expected, to date, percentage).
KIND_PATTERNS = (_PLAN, _EXPECTED, _AS_OF, _PERCENT, _RESULT, _YES_NO, _COMPARE)


def asks_money(asked: list[str]) -> bool:
    """'bao nhiêu tiền / tỷ / đồng' (not 'đồng chí')."""
    return bool(asked) and bool(_MONEY_ASKED.match(" ".join(asked)))
_CLASSIFIERS = frozenset({"cuoc", "luot", "lan", "suat"})
_GENERIC_UNITS = frozenset({"nguoi", "dong", "truong", "luot", "ca", "lan"})
_ASK_STOP = frozenset("nam dat so theo trong tai den la cua duoc co da va voi ve o cho phan tram %".split())


CONTEXT_BIGRAMS = frozenset({"hai phong", "thanh pho"})
CANDIDATES = 60  # entries (by query coverage) that get the finer, costlier scoring
W_CORE = 0.7
W_BIGRAM = 0.15
W_FUZZY = 0.15


@dataclass
class Scored:
    """An entry with its score and the parts it came from (for tuning and the JSON output)."""

    id: str
    score: float
    parts: dict[str, float] = field(default_factory=dict)


@dataclass
class Intent:
    """What the question asks for, read from its words."""

    years: set[int]
    plan: bool
    plan_percent: bool
    expected: bool
    as_of: bool
    percent: bool
    count: bool
    date: bool
    doc: bool
    asked_units: list[str]
    places: list[str]
    total: bool
    issuer: bool
    result_of_target_year: bool
    result_year: int
    target_year: int
    which: bool
    result: bool = False  # the result is asked in so many words ("thực tế", "đã đạt"), not a plan
    yes_no: bool = False  # "có đạt kế hoạch không?": answered in words first
    compare: bool = False  # "tăng hay giảm so với cùng kỳ?": answered in words first


def read_intent(q: Query, index: Index) -> Intent:
    """Read the question's intent features."""
    t = q.text
    yes_no = bool(_YES_NO.search(t))
    asked: list[str] = []
    m = re.search(r"\b(?:bao nhieu|may)\b((?: \S+){1,3})", t)
    if m:
        for w in m.group(1).split():
            if w in _ASK_STOP or years_in(w):
                break
            asked.append(w)
    ordinal = re.search(r"\b(\S+) thu (?:bao nhieu|may)\b", t)
    if not asked and ordinal:
        asked = [ordinal.group(1), "thu"]  # "lần thứ bao nhiêu": an ordinal of what stands before
    places = index.lexicon.places_in(q)
    count = (bool(_COUNT.search(t)) and not re.search(r"\bso (may|bao nhieu)\b", t)) or bool(
        re.match(r"(so|so luong|tong so) (?!hieu|may|nao)", t)
    )
    return Intent(
        years=years_in(t),
        plan=bool(_PLAN.search(t)) and not yes_no,  # "có đạt kế hoạch không": the plan is the yardstick
        plan_percent=bool(_PLAN_PERCENT.search(t)),
        expected=bool(_EXPECTED.search(t)),
        as_of=bool(_AS_OF.search(t)),
        percent=bool(_PERCENT.search(t)),
        count=count,
        date=bool(_DATE_Q.search(t)),
        doc=bool(_DOC_Q.search(t)),
        asked_units=asked,
        places=places,
        total=bool(re.search(r"\b(tong so|tong cong|toan bo|tat ca|tong)\b", t)),
        which=bool(_WHICH.search(t)),
        issuer=bool(re.search(r"\b(cua ai|ai ban hanh|co quan nao|do ai|noi nao ban hanh)\b", t)),
        result_year=index.kb.result_year,
        target_year=index.kb.target_year,
        result=bool(_RESULT.search(t)) and not _PLAN.search(t),
        yes_no=yes_no,
        compare=bool(_COMPARE.search(t)),
        result_of_target_year=(
            years_in(t) == {index.kb.target_year} and bool(_ACHIEVED.search(t)) and not _PLAN.search(t)
        ),
    )


def correct_tokens(tokens: list[str], index: Index) -> list[str]:
    """Map unknown words to the nearest indexed word (typos). A candidate that makes a known word
    pair with a neighbour wins ("chi tiu" → "chi tieu", "dng bo" → "dang bo"); otherwise only words
    of 4+ letters are corrected, and only when close. Numbers and roman numerals are left alone."""
    out = list(tokens)
    for i, t in enumerate(tokens):
        # Question and function words stay what they are ("thì" never becomes "thị").
        prev = out[i - 1] if i else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if len(t) == 2 and t.isalpha() and not is_function(t) and prev and f"{prev} {t}" not in index.bigram_vocab:
            # A two-letter slip ("xóa tê") is corrected only into a pair the report has ("xóa tên").
            grown = [c for c in index.vocab if len(c) == 3 and c.startswith(t) and f"{prev} {c}" in index.bigram_vocab]
            if len(grown) == 1:
                out[i] = grown[0]
            continue
        if (t in index.known or is_function(t) or len(t) < 3 or any(c.isdigit() for c in t)
                or re.fullmatch(r"[ivxlc]+", t)):
            continue
        candidates = process.extract(t, index.vocab, scorer=fuzz.ratio, score_cutoff=75, limit=5)
        paired = [c for c, _, _ in candidates
                  if (prev and f"{prev} {c}" in index.bigram_vocab) or (nxt and f"{c} {nxt}" in index.bigram_vocab)]
        if paired:
            out[i] = paired[0]
        elif candidates and len(t) >= 4 and candidates[0][1] >= 80:
            out[i] = candidates[0][0]
    return out


def fix_question_words(text: str, index: Index) -> str:
    """'bao nhiu', 'bao nhie', 'bao nheiu' → 'bao nhieu': the question word decides the intent, so a
    typo in it must not turn a count question into something else."""
    def repl(m: re.Match[str]) -> str:
        word = m.group(1)
        if word == "nhieu" or (word in index.idf and word != "nhiem") or fuzz.ratio(word, "nhieu") < 70:
            return m.group(0)
        return "bao nhieu"

    return re.sub(r"\bbao (\w+)", repl, text)


def score_entries(q: Query, index: Index, intent: Intent, limit: int = 12) -> list[Scored]:
    """Rank entries for a question; returns the best `limit` with their scores."""
    tokens = q.tokens  # already corrected by the engine (correct_tokens)
    informative = [t for t in dict.fromkeys(tokens) if t not in STOPWORDS and not years_in(t)]
    if not informative:
        return []
    qset = set(tokens)
    weights = {t: index.idf.get(t, index.max_idf) for t in informative}
    # The whole report is about the city: its name says little about which fact is meant.
    for i, t in enumerate(tokens[:-1]):
        if f"{t} {tokens[i + 1]}" in CONTEXT_BIGRAMS and (i == 0 or tokens[i - 1] != "cap"):
            for w in (t, tokens[i + 1]):
                if w in weights:
                    weights[w] = min(weights[w], 0.3 * index.idf.get(w, 1.0))
    # Numbers count for little unless they are dates or codes: a question rarely contains its answer.
    for t in informative:
        if re.fullmatch(r"[\d.,%]+", t):
            weights[t] *= 0.35
    # A follow-up's background (the last question's subject) places it; its own words decide.
    for t in q.soft & weights.keys():
        weights[t] *= SOFT_WEIGHT
    total = sum(weights.values()) or 1.0
    # Query coverage for every entry at once: one vectorised pass over each word's postings.
    acc = np.zeros(len(index.ids), dtype=np.float32)
    for t in informative:
        idx = index.post_idx.get(t)
        if idx is not None:
            acc[idx] += np.float32(weights[t]) * index.post_w[t]
    nonzero = int(np.count_nonzero(acc))
    if not nonzero:
        return []
    k = min(CANDIDATES, nonzero)
    top_idx = np.argpartition(-acc, k - 1)[:k] if k < len(acc) else np.nonzero(acc)[0]
    qbigrams = {b for b in _bigrams(tokens) if not all(w in STOPWORDS for w in b.split())}

    scored: list[Scored] = []
    for i in top_idx:
        if acc[i] <= 0:
            continue
        eid = index.ids[i]
        ei = index.entries[eid]
        cover = float(acc[i]) / total
        recall = max((_phrase_recall(p, qset) for p in ei.phrase_data), default=0.0)
        big = len(qbigrams & ei.bigrams) / max(len(qbigrams), 1)
        base = W_CORE * cover**0.7 * recall**0.3 + W_BIGRAM * min(1.0, big * 1.5)
        scored.append(Scored(eid, base, {"cover": cover, "recall": recall, "bigram": big}))
    scored.sort(key=lambda s: -s.score)
    top = scored[: max(limit * 3, 30)]
    qtext = " ".join(t for t in tokens if t not in STOPWORDS)
    for s in top:
        ei = index.entries[s.id]
        fz = max((fuzz.token_sort_ratio(qtext, p) for p in ei.phrase_texts), default=0) / 100
        adj = _adjust(ei, intent, q, index.idf)
        s.parts.update(fuzzy=fz, adjust=adj)
        s.score = s.score + W_FUZZY * fz + adj
    top.sort(key=lambda s: -s.score)
    return top[:limit]


def _bigrams(tokens: list[str]) -> set[str]:
    return {f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)}


def _phrase_recall(phrase: tuple[tuple[str, ...], tuple[float, ...], float], qset: set[str]) -> float:
    toks, weights, total = phrase
    return sum(w for t, w in zip(toks, weights, strict=True) if t in qset) / total


def _adjust(ei: EntryIndex, it: Intent, q: Query, idf: dict[str, float]) -> float:
    """Additive corrections from the question's intent; negative when the entry cannot be the answer."""
    e = ei.entry
    adj = 0.0
    # Years: another year than the entry's is a different fact (or one the report does not give).
    for y in it.years:
        if y in ei.years:
            if e.is_target_for(y):
                adj += 0.04
            continue
        ry, ty = it.result_year, it.target_year
        if e.fits_report_year(y, ry, ty, it.years):
            continue
        adj -= 0.4 if y in (ry, ty) else 0.6
    if isinstance(e, Target):
        if it.plan and not it.plan_percent:
            adj += 0.08
        elif not it.plan and it.target_year not in it.years:
            adj -= 0.08
        if it.plan_percent:
            adj -= 0.06
        if it.result or it.yes_no:
            adj -= 0.1  # a result asked, or judged against its plan: not the plan itself
    elif isinstance(e, Indicator):
        if it.plan and not it.plan_percent and not ei.has_plan_percent:
            adj -= 0.05
        if it.plan_percent:
            adj += 0.08 if ei.has_plan_percent else -0.05
        if it.expected and it.target_year not in it.years:
            adj += 0.08 if ei.expected else (-0.08 if ei.as_of else 0.0)
        elif it.as_of:
            adj += 0.08 if ei.as_of else (-0.08 if ei.expected else 0.0)
        elif ei.expected and not it.expected:
            adj -= 0.03
    if isinstance(e, Document):
        if (it.count or it.percent) and not it.doc:
            adj -= 0.3
        if it.doc:
            adj += 0.06
        if f" {ei.doc_type} " in f" {q.text} ":
            adj += 0.05
    else:
        if it.doc and not (it.count or it.percent) and not it.date:
            adj -= 0.12
        if it.percent:
            adj += 0.05 if ei.has_percent else -0.06
        if it.asked_units:
            adj += _unit_fit(it.asked_units, ei, idf)
        if it.total and ei.entry.id in ei.children_of:
            adj += 0.04
    if it.date:
        adj += 0.05 if ei.has_date else -0.12
    for place in it.places:
        if f" {place} " not in ei.text:
            adj -= 0.5
    return adj


def _unit_fit(asked: list[str], ei: EntryIndex, idf: dict[str, float]) -> float:
    """How well the thing counted ('bao nhiêu đảng viên') fits the entry's figures' units."""
    if len(asked) > 1 and asked[0] in _CLASSIFIERS:
        asked = asked[1:]  # "bao nhiêu cuộc giám sát": what is counted is "giám sát"
    if asked[0] in _GENERIC_UNITS:
        return 0.0  # "bao nhiêu người" fits đảng viên, sinh viên, cán bộ alike
    if asks_money(asked):
        return 0.04 if ei.has_money else -0.15
    weight = {t: idf.get(t, 1.0) for t in asked}
    total = sum(weight.values()) or 1.0
    best = 0.0
    for rank, unit in enumerate(ei.unit_list):
        if not unit:
            continue
        hit = sum(w for t, w in weight.items() if t in unit) / total
        first = asked[0] in unit
        fit = (0.5 + 0.5 * hit) if first else 0.4 * hit
        best = max(best, fit * (1.0 if rank == 0 else 0.75))
    if best > 0:
        return 0.1 * best
    phrase = " ".join(asked[:2])
    # The thing counted is nowhere in the entry ("bao nhiêu sai phạm"): most likely another fact.
    return -0.2 if phrase not in ei.text else 0.0
