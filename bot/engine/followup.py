"""Follow-up questions: reading an elliptical question in the light of the last answer.

Officials chat: "còn năm 2024?", "trong đó cấp xã?", "nó ban hành ngày nào?", "còn đảng viên?".
Such a question is completed from the conversation context into the question it stands for,
which the engine then answers as if it had been typed in full; the completed reading is shown
to the user, so that a wrong reading is visible at once. The rules, each over the question's
own words (never over phrases of this report):

- A pronoun for a document ("nó", "văn bản đó", "nghị quyết đó") is the document of the last
  answer, or the document of the named type that it implements or that implements it.
- A question that asks only what a document is (date, issuer, subject, what it implements) and
  names none is about the last answer's document.
- A year, a kind of figure (plan, target, result, expected), a level ("cấp xã"), a phrase that
  starts with a preposition ("trong doanh nghiệp nhà nước") replaces its counterpart in the last
  question; a bare noun phrase ("còn đảng viên?") replaces what was counted.
- Anything else the follow-up says is added to the last question's subject.

Pure and synchronous: the context is a small frozen value the transports keep per chat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.vocabulary import ASKED_TYPES, folded_words
from bot.normalize import fold, nfc

# Words that mark a follow-up: they point back to the last answer (folded, matched on word
# boundaries).
_LEAD = re.compile(r"^(?:(?:the|vay|va|nhung|con|thi|rieng|trong do|trong so do|ngoai ra)\b[\s,]*)+")
_TRAIL = re.compile(r"[\s,]*\b(?:thi sao|the nao roi|the thi sao|sao|nhi|vay|nua|a|ha|nhe)\s*[?.!]*\s*$")
# A question that starts with a preposition continues the last one ("đối với bao nhiêu…?").
_LEAD_PREPOSITION = re.compile(r"^(?:doi voi|voi|con voi)\b")
_DOC_TYPES = r"(?:" + "|".join(folded_words(ASKED_TYPES + ("Đề án", "Chương trình"))) + r"|van ban)"
_DOC_PRONOUN = re.compile(rf"\b(?:({_DOC_TYPES}) (?:do|nay|ay|tren|vua neu|noi tren)|no)\b")
_YEAR_PRONOUN = re.compile(r"\bnam (?:do|nay|ay)\b")
_RELATIVE_YEAR = {"nam ngoai": -1, "nam truoc": -1, "nam sau": 1, "nam toi": 1, "nam ke tiep": 1}
_RELATIVE = re.compile(r"\b(" + "|".join(_RELATIVE_YEAR) + r")\b")
_YEAR = re.compile(r"\b(?:nam )?((?:19|20)\d\d)\b")
# The kind of figure asked: a plan or target, the result, the expected result.
_KIND = re.compile(
    r"\b(?:ke hoach(?! so)|chi tieu|muc tieu|thuc te|ket qua|du kien|uoc (?:tinh|dat)|(?:den )?het nam|ca nam)\b"
)
_LEVEL = re.compile(r"\bcap (?!uy\b)(?:thon|xa|huyen|tinh|thanh pho|co so|phuong|trung uong|quan|to)\b"
                    r"(?:(?:,| va| hoac) (?:to dan pho|thon|xa|phuong|thi tran))*")
_PREPOSITION = re.compile(r"^(trong|tai|o|doi voi|cho|thuoc|cua)\b")
# What a question asks: question words and the number asked for.
_ASK = re.compile(
    r"\b(?:(?:la )?bao nhieu|may|(?:la )?gi|nao|ai|(?:o )?dau|ra sao|(?:nhu )?the nao|khi nao|bao gio)\b"
)
_UNIT_STOP = frozenset("nam theo trong tai den la cua duoc co da va voi ve o cho so dat".split())
# Asking only about a document: when, who, what about, what it carries out.
_DOC_ASK = re.compile(
    r"\b(?:ban hanh|ngay nao|ngay may|khi nao|cua ai|co quan nao|ai ban hanh|noi dung|ve viec|van de|"
    r"thuc hien (?:" + _DOC_TYPES + r")|giai doan|ap dung|hieu luc|ky hieu|so hieu|do ai)\b"
)
_DOC_FILLER = frozenset("ban hanh ngay nao may khi cua ai co quan ve noi dung gi viec van de thuc hien giai doan "
                        "ap dung cho hieu luc ky so hieu do la va tu nam bao gio".split())


@dataclass(frozen=True)
class Context:
    """What the last answer of a chat was about (no persistence; a few hundred bytes)."""

    question: str  # the question as understood: the user's words, completed when it was a follow-up
    entry_ids: tuple[str, ...] = ()  # the entries answered, offered or listed
    passage_id: int | None = None  # the report sentence that answered, if any
    document_id: str | None = None  # the document the answer is about, if any
    status: str = "answer"


@dataclass(frozen=True)
class Reading:
    """A follow-up read against the context: the completed question, and whether the question
    needs the context (it cannot stand alone)."""

    question: str
    elliptical: bool  # marked as a follow-up ("còn …", "thì sao", a pronoun) or without a subject
    document: bool = False  # completed with the last answer's document
    # Words taken from the last question as background to a follow-up that asks its own thing
    # ("còn đưa bao nhiêu vụ án vào diện theo dõi?"): they place the question, but an answer need
    # not hold them all (the last question's predicate is not this one's).
    background: str = ""


def has_marker(question: str) -> bool:
    """The question points back to the last answer ("còn…", "…thì sao", "nó", "năm đó", "trong đó")."""
    f = _folded(question)
    return bool(_LEAD.match(f) or _LEAD_PREPOSITION.match(f) or _TRAIL.search(f) or _DOC_PRONOUN.search(f)
                or _YEAR_PRONOUN.search(f))


def _folded(text: str) -> str:
    return re.sub(r"\s+", " ", fold(nfc(text)).replace("?", " ? ")).strip()


def _words(text: str) -> list[str]:
    return re.findall(r"[^\s,?!.;:]+(?:[.,/-][^\s,?!.;:]+)*|[,]", nfc(text))


def _span_words(raw_words: list[str], folded_pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Word spans (start, end) of the raw words whose folded form matches the pattern."""
    folded = [fold(w) for w in raw_words]
    joined, starts = "", []
    for w in folded:
        starts.append(len(joined) + (1 if joined else 0))
        joined = f"{joined} {w}" if joined else w
    spans = []
    for m in folded_pattern.finditer(joined):
        a = next(i for i, s in enumerate(starts) if s + len(folded[i]) > m.start())
        b = next((i for i, s in enumerate(starts) if s >= m.end()), len(raw_words))
        spans.append((a, b))
    return spans


def _drop(raw_words: list[str], spans: list[tuple[int, int]]) -> list[str]:
    gone = {i for a, b in spans for i in range(a, b)}
    return [w for i, w in enumerate(raw_words) if i not in gone]


def _join(words: list[str]) -> str:
    text = " ".join(words).replace(" ,", ",")
    text = re.sub(r"(,\s*)+", ", ", text).strip(" ,")
    return text


def strip_markers(question: str) -> list[str]:
    """The follow-up's own words, without the words that only point back ("còn", "thì sao")."""
    words = [w for w in _words(question.strip().rstrip("?!. "))]
    while words:
        f = fold(" ".join(words))
        m = _LEAD.match(f)
        if not m or not m.group(0).strip(" ,"):
            break
        n = len(m.group(0).strip(" ,").split())
        words = [w for w in words[n:] if True]
        while words and words[0] == ",":
            words = words[1:]
    f = fold(" ".join(words))
    m = _TRAIL.search(f)
    if m and words:
        n = len(m.group(0).strip(" ,?.!").split())
        words = words[: len(words) - n]
    return [w for w in words if w]


def _ask_spans(words: list[str]) -> list[tuple[int, int]]:
    return _span_words(words, _ASK)


def _unit_span(words: list[str]) -> tuple[int, int] | None:
    """The words counted after "bao nhiêu / mấy" (up to 3, stopping at a function word or year)."""
    folded = [fold(w) for w in words]
    for i, w in enumerate(folded):
        asks_bao_nhieu = w == "bao" and i + 1 < len(folded) and folded[i + 1] == "nhieu"
        start = i + 1 if w == "may" else i + 2 if asks_bao_nhieu else None
        if start is None:
            continue
        end = start
        while end < len(folded) and end - start < 3 and folded[end] not in _UNIT_STOP \
                and folded[end] != "," and not _YEAR.fullmatch(folded[end]):
            end += 1
        return (start, end) if end > start else None
    return None


def complete(question: str, ctx: Context, *, doc_label: str | None, linked_label: dict[str, str],
             result_year: int) -> Reading:
    """The question a follow-up stands for, given the last answer's context.

    ``doc_label``: "Hướng dẫn 24-HD/BTCTW" for the last answer's document (None: not a document);
    ``linked_label``: document type (folded, e.g. "nghi quyet") → label of the linked document of
    that type (what the last document implements, or what implements it).
    """
    folded = _folded(question)
    marked = has_marker(question)
    own = strip_markers(question)
    own_folded = fold(" ".join(own))

    # 1. Documents: a pronoun, or a question about a document that names none.
    if doc_label:
        reading = _document_reading(own, own_folded, doc_label, linked_label)
        if reading is not None:
            return reading

    # 2. Everything else: the last question, with what the follow-up replaces taken out.
    base = _words(ctx.question.strip().rstrip("?!. "))
    extra = list(own)
    years = _years_of(folded, ctx, result_year)
    if years is not None:
        base = _drop(base, _span_words(base, _YEAR) + _span_words(base, _YEAR_PRONOUN))
        extra = _drop(
            extra, _span_words(extra, _YEAR) + _span_words(extra, _RELATIVE) + _span_words(extra, _YEAR_PRONOUN)
        )
        extra += [f"năm {y}" for y in years]
    elif _YEAR_PRONOUN.search(own_folded):
        extra = _drop(extra, _span_words(extra, _YEAR_PRONOUN))  # "năm đó": the last question's year
    if _KIND.search(own_folded):
        base = _drop(base, _span_words(base, _KIND))
    if _LEVEL.search(own_folded):
        base = _drop(base, _span_words(base, _LEVEL))
    own_ask = bool(_ASK.search(fold(" ".join(extra))))
    prep = _PREPOSITION.match(fold(" ".join(extra)))
    if prep:
        base = _drop(base, _phrase_spans(base, prep.group(1)))
    if own_ask:
        # The follow-up asks its own question: the last one gives only its subject.
        base = _drop(base, _ask_spans(base))
        text = _join(base) + ", " + _join(extra) if base else _join(extra)
        return Reading(text + "?", marked or not _stands_alone(extra), background=_join(base))
    content = [w for w in extra if fold(w) not in ("", ",")]
    unit = _unit_span(base)
    if unit and not prep and _names_something(content):
        # "còn đảng viên?" after "giám sát bao nhiêu tổ chức đảng": what is counted changes.
        a, b = unit
        return Reading(_join(base[:a] + content + base[b:]) + "?", True)
    return Reading(_join(base + extra) + "?", True)


def _document_reading(own: list[str], own_folded: str, doc_label: str,
                      linked_label: dict[str, str]) -> Reading | None:
    """A follow-up about the last document: its pronoun ("nghị quyết đó") replaced by the document's
    label, or the label put first when the question names no document; None when it is not one."""
    pron = _DOC_PRONOUN.search(own_folded)
    if not pron and not _asks_only_document(own_folded):
        return None
    label = doc_label
    named = pron.group(1) if pron else None
    if named and named != "van ban" and not fold(doc_label).startswith(named):
        label = linked_label.get(named, doc_label)  # "nghị quyết đó" after a guide: the resolution it implements
    if pron:
        a, b = _span_words(own, _DOC_PRONOUN)[0]
        words = own[:a] + [label] + own[b:]
    else:
        words = [label, *own]
    return Reading(_join(words) + "?", True, document=True)


def _names_something(words: list[str]) -> bool:
    """Words that name a thing (not only a year, a kind of figure, a level or a time)."""
    from bot.engine.accounting import informative

    f = fold(" ".join(words))
    for rx in (_KIND, _LEVEL, _YEAR, _RELATIVE, _YEAR_PRONOUN):
        f = rx.sub(" ", f)
    return bool(informative(f.split()))


def _years_of(folded: str, ctx: Context, result_year: int) -> list[int] | None:
    """The years a follow-up names: written, or relative to the last question's year."""
    written = [int(y) for y in _YEAR.findall(folded)]
    if written:
        return written
    rel = _RELATIVE.search(folded)
    if rel:
        last = [int(y) for y in _YEAR.findall(_folded(ctx.question))]
        return [(last[0] if last else result_year) + _RELATIVE_YEAR[rel.group(1)]]
    return None


def _phrase_spans(words: list[str], prep: str) -> list[tuple[int, int]]:
    """The phrase of the last question that starts with the same preposition, up to a comma, a
    question word or a year."""
    folded = [fold(w) for w in words]
    plen = len(prep.split())
    for i in range(len(folded)):
        if " ".join(folded[i:i + plen]) != prep:
            continue
        end = i + plen
        while end < len(folded) and folded[end] != "," and not _ASK.fullmatch(folded[end]) \
                and not _YEAR.fullmatch(folded[end]) and folded[end] not in ("nam", "bao"):
            end += 1
        return [(i, end)]
    return []


def _asks_only_document(folded: str) -> bool:
    """"ban hành ngày nào?", "của ai, ngày nào?", "về nội dung gì?": a document's attribute asked,
    nothing else named."""
    if not _DOC_ASK.search(folded) and not re.search(rf"\b{_DOC_TYPES} nao\b", folded):
        return False
    rest = [w for w in re.findall(r"[a-z0-9]+", re.sub(_DOC_TYPES, " ", folded)) if w not in _DOC_FILLER]
    return not rest


def _stands_alone(words: list[str]) -> bool:
    """A question with a subject of its own (three or more content words besides what it asks)."""
    from bot.engine.accounting import informative

    f = _ASK.sub(" ", fold(" ".join(words)))
    f = _KIND.sub(" ", f)
    return len(informative(f.split())) >= 3
