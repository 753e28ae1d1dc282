"""Qualifier accounting: every informative word of a question must be held by the answer.

Rule: a word of the question that is neither a question or function word, nor common in the
report, nor held by the chosen entry (its words, aliases, synonyms, section, the sentence it comes
from) is a qualifier the answer does not cover: "quận Lê Chân", "nữ", "công an", "2022". An answer
with such a word left over answers a different question, so the decision refuses it and names
the word. Multi-word names of bodies ("ủy ban kiểm tra") count as one qualifier: their words
scattered over an entry ("ủy" in "thành ủy", "ban" in "ban thường vụ") do not hold them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz, process

from bot.engine.index import STOPWORDS, years_in

# Question words, pronouns, particles and chat fillers (folded): they ask, they do not qualify.
# "thi" (thì), "la" (là) and "gi" (gì) are here so that typo correction never makes them content.
FUNCTION_WORDS = frozenset(
    """bao nhieu may gi nao la ai dau sao the thi vay nhi ha a oi nhe day kia j v z k ko khong co
    duoc da se cac cua cho voi ve tu den trong tai o ra vao len nhu nhung mot hay hoac roi boi vi
    nen bay gio hien nay xin toi minh hoi biet cu vs con them nua ma thoi ok uhm ntn khi luc
    nam ngay thang dc dk bn cho biet phai ca hien bang so tram phan ty le tong nhat qua bi suat ben sang
    toan cuoc luot mang nhac toi gom sau bon bay chin muoi coi""".split()
)
# A word found in more than this share of the report's sentences says little about which fact
# is meant ("công tác", "thành phố"); it is not held against an answer that lacks it.
COMMON_SHARE = 0.08
TYPO_MIN_LEN = 4  # shorter words differ by one letter from too many others ("nu", "nam")
TYPO_SIMILARITY = 80  # rapidfuzz ratio at which a left-over word is taken as a slip of a held one
TYPO_TYPED_SIMILARITY = 66  # the same for the word as typed, before correction ("xát" ~ "sát")
MIN_TERM_WORDS = 3  # names of bodies this long or longer are matched whole
BODY_HEADS = frozenset({"ban", "uy", "hoi", "mat"})  # ban…, ủy ban…, hội đồng…, mặt trận…
LOOSE_WORD_SHARE = 0.2  # a phrase is held against an answer only if its missing word is this rare
ANSWER_WORDS = frozenset({"nao", "gi", "j", "ai", "dau"})
ANSWER_TYPE_WORDS = 2  # words before "nào/gì" that name the kind of answer
# A follow-up's background words (the last question's subject) keep this share of their weight
# in retrieval: they place the question, its own words say what it asks.
SOFT_WEIGHT = 0.3
_NUMBER = re.compile(r"^\d+([.,/-]\d+)*%?$")


def is_function(token: str) -> bool:
    """A question or function word (never content, never corrected)."""
    return token in FUNCTION_WORDS or token in STOPWORDS


# Chat particles that are function words at the end of a question only: "… nha" (nhé), but
# "nhà nước", "nhà văn hóa" inside it.
FINAL_PARTICLES = frozenset({"nha"})
# Word pairs that count or ask, whose words alone are content: "bao nhiêu trường hợp" (cases, not
# a school), "cụ thể là", "như thế nào".
FUNCTION_PAIRS = frozenset({"truong hop", "cu the", "the nao", "ra sao"})


def informative(tokens: Iterable[str]) -> list[str]:
    """The question's words that say what is asked about, in order, once each."""
    tokens = list(tokens)
    if tokens and tokens[-1] in FINAL_PARTICLES:
        tokens = tokens[:-1]
    for i in range(len(tokens) - 1):
        if f"{tokens[i]} {tokens[i + 1]}" in FUNCTION_PAIRS:
            tokens[i] = tokens[i + 1] = ""
    out = []
    for t in dict.fromkeys(tokens):
        if is_function(t) or years_in(t) and len(t) == 4:
            continue
        if not any(c.isalnum() for c in t):
            continue
        out.append(t)
    return out


def significant(token: str, df: int, size: int) -> bool:
    """True when a word left over is a qualifier: rare in the report (or absent from it)."""
    if _NUMBER.match(token):
        return True
    return df < COMMON_SHARE * size


def terms_of(lexicon_values: Iterable[str]) -> list[str]:
    """Names of bodies: the long expansions of the base's abbreviations that name a committee, a
    council or a front ("uy ban kiem tra", "ban thuong vu", "hoi dong nhan dan")."""
    out = {v for v in lexicon_values if len(v.split()) >= MIN_TERM_WORDS and v.split()[0] in BODY_HEADS}
    return sorted(out, key=lambda t: -len(t))


def missing_terms(question: str, held_text: str, terms: list[str]) -> list[str]:
    """Terms the question names that the held text does not contain as a whole."""
    q, h = f" {question} ", f" {held_text} "
    missing: list[str] = []
    for t in terms:
        if f" {t} " in q and f" {t} " not in h and not any(t in m for m in missing):
            missing.append(t)
    return missing


def near_held(token: str, held: Iterable[str]) -> bool:
    """A word typed with a slip ("thàn" for "thành", "chín" for "chính") still counts as held."""
    if len(token) < TYPO_MIN_LEN or token.isdigit():
        return False
    return process.extractOne(token, held, scorer=fuzz.ratio, score_cutoff=TYPO_SIMILARITY) is not None


def answer_type(tokens: list[str]) -> set[str]:
    """The words naming the kind of answer wanted ("khâu nào", "lĩnh vực gì", "đơn vị nào"): the
    answer states it without naming its kind, so they are not qualifiers."""
    out: set[str] = set()
    for i, t in enumerate(tokens):
        if t in ANSWER_WORDS:
            out.update(w for w in tokens[max(0, i - ANSWER_TYPE_WORDS): i] if not is_function(w))
    return out


def held_word(
    token: str, held: frozenset[str] | set[str], df: dict[str, int], size: int, typos: dict[str, str]
) -> bool:
    """True when a question word is held by an answer, or does not need to be."""
    if token in held or not significant(token, df.get(token, 0), size):
        return True
    typed = typos.get(token)
    if typed is not None:
        # Corrected from a slip: the word as typed may be closer to the answer's own word.
        return process.extractOne(typed, held, scorer=fuzz.ratio, score_cutoff=TYPO_TYPED_SIMILARITY) is not None \
            or near_held(token, held)
    if token not in df and len(token) <= TYPO_MIN_LEN - 1 and not token.isdigit():
        return True  # an unknown short word is a slip nothing could correct ("tê", "mớy")
    return near_held(token, held)


def loose_pairs(tokens: list[str], held: frozenset[str] | set[str], held_pairs: frozenset[str] | set[str],
                pair_df: dict[str, int], size: int, typos: dict[str, str], df: dict[str, int]) -> list[str]:
    """Phrases of the report the question names ("chức danh", "công an") that the answer does not
    hold, one of their words missing from it: single syllables are too ambiguous once folded
    ("an" of "an ninh", "Hải An") to be checked alone."""
    out = []
    for i, (a, b) in enumerate(zip(tokens, tokens[1:], strict=False)):
        pair = f"{a} {b}"
        if is_function(a) or is_function(b) or pair in held_pairs or a in typos or b in typos:
            continue
        if pair in FUNCTION_PAIRS or _straddles(tokens, i, pair_df) or _NUMBER.match(a) or _NUMBER.match(b):
            continue  # a number or a year is no part of a phrase ("2023 giao")
        if a in held and b in held:
            continue  # both words held: a reordering
        missing = [w for w in (a, b) if w not in held]
        if all(df.get(w, 0) >= LOOSE_WORD_SHARE * size for w in missing):
            continue  # the missing word is everywhere ("ban", "đề"): the pair may cross two phrases
        if 0 < pair_df.get(pair, 0) < COMMON_SHARE * size:
            out.append(pair)
    return out


def _straddles(tokens: list[str], i: int, pair_df: dict[str, int]) -> bool:
    """The pair at i crosses two phrases of the report, each more common than it ("thi hành |
    kỷ luật": "hành kỷ" is no phrase)."""
    here = pair_df.get(f"{tokens[i]} {tokens[i + 1]}", 0)
    before = pair_df.get(f"{tokens[i - 1]} {tokens[i]}", 0) if i > 0 else 0
    after = pair_df.get(f"{tokens[i + 1]} {tokens[i + 2]}", 0) if i + 2 < len(tokens) else 0
    return before > here and after > here


def leftover(tokens: list[str], held: set[str], held_text: str, df: dict[str, int], size: int,
             terms: list[str], typos: dict[str, str] | None = None,
             pair_df: dict[str, int] | None = None, term_text: str = "") -> list[str]:
    """The question's qualifiers an answer does not hold (words, phrases, then whole terms)."""
    typos = typos or {}
    kind = answer_type(tokens)
    left = [t for t in informative(tokens) if t not in kind and not held_word(t, held, df, size, typos)]
    if pair_df:
        toks = held_text.split()
        held_pairs = {f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)}
        for pair in loose_pairs([t for t in tokens if t not in kind], held, held_pairs, pair_df, size, typos, df):
            if not any(w in left for w in pair.split()):
                left.append(pair)
    for t in missing_terms(" ".join(tokens), f"{held_text} {term_text}", terms):
        if t not in left:
            left.append(t)
    return left


# "ngoài nhà nước" (non-state) is the opposite of "nhà nước": a question naming the plain words
# does not ask about what the entry holds only with the negating prefix.
NEGATING = ("ngoai", "phi", "khong")


def contrasts(tokens: list[str], held_folded: str) -> list[str]:
    """Word pairs the question names plainly that the entry holds only negated."""
    q = f" {' '.join(tokens)} "
    out = []
    for a, b in zip(tokens, tokens[1:], strict=False):
        pair = f"{a} {b}"
        if is_function(a) or is_function(b):
            continue
        for neg in NEGATING:
            if f" {neg} {pair} " in f" {held_folded} " and f" {neg} {pair} " not in q \
                    and f" {pair} " not in f" {held_folded.replace(f'{neg} {pair}', '')} ":
                out.append(pair)
    return out
