"""The decision's vocabulary, shared by its stages: thresholds (each named with what it encodes),
the patterns that read a question's kind, the Decision record and small helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.engine.codes import find_refs
from bot.engine.compose import (
    Reply,
    not_found_reply,
)
from bot.engine.matcher import (
    KIND_PATTERNS,
    Intent,
)
from bot.engine.passages import PassageHit
from bot.engine.text import Lexicon
from bot.knowledge.schema import Entry
from bot.knowledge.vocabulary import ASKED_TYPES, folded_words

# Tuned on ../shared/eval/dev.jsonl only (see docs/benchmarks.md for the figures).
ANSWER_MIN = 0.50


CLARIFY_MIN = 0.50


MARGIN = 0.035


LIST_RELATIVE = 0.72


RECALL_MIN = 0.5


FULL_COVER = 0.95  # every word of a short question is the entry's: not an incidental overlap


CITED_BONUS = 0.1


# A report sentence answers when it holds every qualifier of the question and scores this well
# (share of the question's weighted words it holds, with word order); tuned on dev2.jsonl.
PASSAGE_MIN = 0.55


PASSAGE_OVER_ENTRY = 0.1  # how much more of the question a sentence must hold to replace an entry


PASSAGE_COUNT_MIN = 0.7  # a number asked is answered by a sentence only on a close match


# The words that say which kind of figure is asked: the matcher's own patterns, plus the words
# of a result ("kết quả", "đạt được", "so với").
INTENT_WORDS = re.compile("|".join(
    [p.pattern for p in KIND_PATTERNS] + [r"\b(ket qua|dat duoc|so voi|uoc tinh|uoc dat)\b"]
))


DATE_IN = re.compile(r"\b\d{1,2}/\d{1,2}(/\d{4})?\b|\bnam (19|20)\d\d\b|\bthang \d")


LIST = re.compile(
    r"\b(liet ke|danh sach|ke ten|gom nhung|nhung .{0,40} nao|cac chi tieu|nhung chi tieu|cac muc tieu|"
    r"cac nghi quyet|cac van ban|nhung van ban|cac ket luan|cac chi thi|cac ke hoach|"
    r"\d+ chi tieu .{0,40}la gi|ket qua cong tac)\b"
)


KIND_WORDS = {
    "target": re.compile(r"\b(chi tieu|muc tieu)\b"),
    "document": re.compile(r"\b(nghi quyet|van ban|ket luan|chi thi|ke hoach so|quy dinh|huong dan|tai lieu)\b"),
}


DOC_TYPE_WORDS = folded_words(ASKED_TYPES)


# "Thông báo phân công nhiệm vụ …?": a question that opens with a document type and asks no
# number asks for that document.
STARTS_WITH_DOC = re.compile(r"^(" + "|".join(k for k in DOC_TYPE_WORDS if k != "ke hoach") + r")\b")


ASKS_ATTRIBUTE = re.compile(
    r"\b(ngay nao|ngay ban hanh|ban hanh ngay|ngay may|khi nao|cua ai|co quan nao|ai ban hanh)\b"
)


NAMES_DOCUMENT = re.compile(
    r"\b(" + "|".join(folded_words(ASKED_TYPES + ("Đề án", "Chương trình", "Quy chế", "Công văn"))) + r"|van ban)\b"
)


# "theo hướng dẫn nào", "thực hiện kết luận nào": which document (None type: "văn bản nào").
WHICH_DOC = re.compile(r"\b(" + "|".join(DOC_TYPE_WORDS) + r"|van ban) (?:nao|gi|so may)\b")


# A follow-up ("còn năm 2024?") with no earlier answer to refer to: ask, never guess.
NO_CONTEXT = "Bạn hỏi về chỉ tiêu hay nội dung nào? Hãy nêu rõ, ví dụ: “chỉ tiêu kết nạp đảng viên năm {ty}”."


RANK = {"answer": 2, "list": 2, "clarify": 1, "not_found": 0}  # how much a decision says


OFF_TOPIC = "Chưa tìm thấy nội dung này trong phần báo cáo bạn đang hỏi. Bạn có thể hỏi đầy đủ hơn."


# What, which, who, where: asked in words, answered in words.
ASKS_WHAT = re.compile(r"\b(gi|nao|ai|dau|the nao|ra sao|nhu the nao)\b")


TIME_WORDS = frozenset("nam thang ngay den tinh ca".split())


ASKS_NUMBER = re.compile(r"\b(bao nhieu|may)\b")


TWO_PART = re.compile(r" va (?=(?:\S+ ){0,8}(?:bao nhieu|may)\b)")


GENERIC_TOPIC = re.compile(
    r"\b(chi tieu cu the|cong tac xay dung dang|xay dung dang|he thong chinh tri|van dong nhan dan|cu the)\b"
)


@dataclass(frozen=True)
class Held:
    """The words an entry holds, for qualifier accounting."""

    words: set[str]  # every folded word
    text: str  # its phrases, clause and headings in order (for word pairs and bodies)
    raw: str  # folded, before synonyms (for negations: "ngoài nhà nước")
    whole: str  # its whole report sentence, expanded (bodies are the sentence's subject)


@dataclass
class Decision:
    """What the engine decided, before it is turned into an Answer."""

    status: str
    entries: list[Entry]
    scores: dict[str, float]
    reply: Reply
    generic: bool = False  # a not-found with no specific reason: a report sentence may still answer
    passage: PassageHit | None = None  # a statement answered by the report's own sentence


def no_answer(reason: str | None = None) -> Decision:
    return Decision("not_found", [], {}, not_found_reply(reason), generic=reason is None)


def strip_refs(text: str) -> str:
    for ref in find_refs(text):
        text = text[: ref.span[0]] + " " * (ref.span[1] - ref.span[0]) + text[ref.span[1]:]
    return text


def word_pairs(tokens: list[str]) -> set[str]:
    return {f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)}


def states_count(folded: str, intent: Intent) -> bool:
    """The sentence gives a number for what is counted ("10 dia phuong", "lan thu xvii", "85%")."""
    if intent.percent:
        return "%" in folded
    unit = " ".join(w for w in intent.asked_units[:2])
    if not unit:
        return False  # "bao nhiêu?" with nothing counted: only the base's figures answer it
    # The number stands right before the thing counted ("10 địa phương"), or an ordinal right
    # after it ("lần thứ XVII").
    if unit.endswith(" thu"):  # "lần thứ bao nhiêu": the ordinal itself ("lần thứ XVII")
        return bool(re.search(rf"\b{re.escape(unit)} (\d+|[ivxl]+)\b", folded))
    return bool(re.search(rf"(?<![\w/-])(\d[\d.,]*|[ivxl]+) {re.escape(unit)}\b", folded)
                or re.search(rf"\b{re.escape(unit)} thu (\d+|[ivxl]+)\b", folded))


def raw_words(raw: str, tokens: list[str], lexicon: Lexicon) -> list[str]:
    """The words as the user typed them for folded tokens (or terms) of the question."""
    wanted = set(" ".join(tokens).split())
    shown: list[str] = []
    for word in raw.split():
        bare = word.strip("?.,!:;()\"'“”")
        if bare and set(lexicon.expand(bare).split()) & wanted and bare not in shown:
            shown.append(bare)
    return shown or tokens


def parent_and_child(a: Entry, b: Entry) -> bool:
    """Parent and child (a total and its breakdown): the better-scored one is the answer."""
    return getattr(a, "parent", None) == b.id or getattr(b, "parent", None) == a.id


def figures_of(e: Entry) -> set[str]:
    return e.stated()


def agree(a: Entry, b: Entry) -> bool:
    """True when one entry's figures are all stated by the other (both answers carry the figure)."""
    fa, fb = figures_of(a), figures_of(b)
    return bool(fa and fb) and (fa <= fb or fb <= fa)


LIST_NOISE = frozenset(
    """liet ke danh sach ke ten gom nhung cac chi tieu muc tieu nghi quyet van ban ket luan ket qua cong tac nam
    nhac den de cap trich dan neu duoc bao cao tat ca toan bo""".split()
)
