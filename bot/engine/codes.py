"""Document references in a question: '45-NQ/TW', 'NQ 45', 'nghị quyết số 45', 'kế hoạch 254', 'KL 01'."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.schema import Document
from bot.knowledge.vocabulary import FOLDED_CODE_RE, NUMBERED_TYPES, code_parts, folded_letters
from bot.normalize import fold

# Folded type words → the letters a code uses for that type.
TYPE_LETTERS = folded_letters(NUMBERED_TYPES)
_TYPED = re.compile(
    r"(?<![\w])(" + "|".join([*TYPE_LETTERS, *dict.fromkeys(TYPE_LETTERS.values())]) + r")(?: so)? (\d{1,5})(?![\d/-])"
)


@dataclass(frozen=True)
class CodeRef:
    """A reference found in a question: number, type letters and the issuer letters when written."""

    number: int
    letters: str | None
    issuer: str | None
    span: tuple[int, int]
    full: bool


def find_refs(folded: str) -> list[CodeRef]:
    """Every document reference in a folded question."""
    refs: list[CodeRef] = []
    taken: list[tuple[int, int]] = []
    for m in FOLDED_CODE_RE.finditer(folded):
        if re.fullmatch(r"\d{1,2}", m.group(3) or "") or m.group(3) in ("m",):
            continue
        parts = code_parts(m.group(0))
        if parts:
            refs.append(CodeRef(parts[0], parts[1], parts[2] or None, m.span(), True))
            taken.append(m.span())
    for m in _TYPED.finditer(folded):
        if any(a <= m.start(2) < b for a, b in taken):
            continue
        if re.fullmatch(r"(19|20)\d\d", m.group(2)):
            continue  # "kế hoạch 2023" is the plan of a year, not Kế hoạch số 2023
        word = m.group(1)
        letters = TYPE_LETTERS.get(word, word)
        refs.append(CodeRef(int(m.group(2)), letters, None, m.span(), False))
    return refs


@dataclass(frozen=True)
class CodedDocument:
    """A document with its code parsed once: number, type letters, issuer letters."""

    doc: Document
    number: int
    letters: frozenset[str]
    issuer: str


def index_codes(documents: list[Document]) -> dict[int, list[CodedDocument]]:
    """Documents with a code, by number (parsed once per base, not per question)."""
    out: dict[int, list[CodedDocument]] = {}
    for d in documents:
        parts = code_parts(d.code) if d.code else None
        if parts:
            letters = frozenset({parts[1], TYPE_LETTERS.get(fold(d.doc_type), parts[1])})
            out.setdefault(parts[0], []).append(CodedDocument(d, parts[0], letters, parts[2]))
    return out


def resolve(ref: CodeRef, by_number: dict[int, list[CodedDocument]], folded_question: str) -> list[Document]:
    """Documents a reference may mean; narrowed by issuer letters or issuer words in the question."""
    out = [
        c for c in by_number.get(ref.number, [])
        if (not ref.letters or ref.letters in c.letters) and (not ref.issuer or ref.issuer == c.issuer)
    ]
    if len(out) > 1:
        wants_tw = re.search(r"\btw\b|trung uong|bo chinh tri|ban bi thu", folded_question)
        wants_tu = re.search(r"\btu\b|thanh uy", folded_question)
        if wants_tw and not wants_tu:
            out = [c for c in out if c.issuer.endswith("tw")] or out
        elif wants_tu and not wants_tw:
            out = [c for c in out if c.issuer == "tu"] or out
    return [c.doc for c in out]
