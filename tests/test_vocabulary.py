"""One vocabulary of documents: the schema, `extract`, provenance and the engine agree on it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.engine import codes, rules
from bot.knowledge import extract, provenance, schema
from bot.knowledge.extract import DraftDocument, find_code_mentions, find_name_mentions
from bot.knowledge.extract.data import _document_data
from bot.knowledge.schema import Document
from bot.knowledge.vocabulary import (
    ASKED_TYPES,
    CODE_LETTERS,
    CODE_RE,
    DOC_TYPES,
    FOLDED_CODE_RE,
    ID_LETTER_TYPES,
    NUMBERED_TYPES,
    TYPE_LETTERS,
    code_parts,
    type_id_prefix,
)
from bot.normalize import fold

ROOT = Path(__file__).resolve().parents[1]


def _documents() -> list[Document]:
    """The documents of knowledge/documents.yaml, as the schema loads them."""
    data = yaml.safe_load((ROOT / "knowledge" / "documents.yaml").read_text(encoding="utf-8"))
    docs = [Document.model_validate({"kind": data["kind"], **e}) for e in data["entries"]]
    assert docs, "knowledge/documents.yaml holds no documents"
    return docs


def test_one_list_of_types() -> None:
    """The schema and `extract` use the vocabulary's list, not copies of it."""
    assert schema.DOC_TYPES is DOC_TYPES
    assert extract.DOC_TYPES is DOC_TYPES
    assert extract.CODE_LETTERS is CODE_LETTERS
    assert extract.CODE_RE is CODE_RE
    assert len(set(DOC_TYPES)) == len(DOC_TYPES)


@pytest.mark.parametrize("doc_type", DOC_TYPES)
def test_every_type_extract_can_emit_validates(doc_type: str) -> None:
    """A draft document of any type `extract` knows loads in the schema (Nghị định, Thông tư too)."""
    draft = DraftDocument("tai-lieu-1", doc_type, "12-AB/TU", None, "Thành ủy", None, None, [("i", None)])
    data = _document_data(draft)
    doc = Document.model_validate({k: v for k, v in data.items() if k in Document.model_fields})
    assert doc.doc_type == doc_type


@pytest.mark.parametrize("doc_type", DOC_TYPES)
def test_extract_finds_every_type_by_name(doc_type: str) -> None:
    """The types `extract` emits are exactly the vocabulary's, whichever is named in the text."""
    text = f"Thành ủy ban hành {doc_type} số 12-AB/TU ngày 01/02/2023 về công tác cán bộ."
    found = find_code_mentions(text)
    assert [m.doc_type for m in found] == [doc_type]


def test_extract_types_come_from_the_vocabulary() -> None:
    """Code letters with no type word before them give a type of the vocabulary."""
    for letters, doc_type in CODE_LETTERS.items():
        assert doc_type in DOC_TYPES, letters
        found = find_code_mentions(f"theo văn bản 12-{letters}/TU ngày 01/02/2023")
        assert {m.doc_type for m in found} <= set(DOC_TYPES)
    for men in find_name_mentions("Đề án “Nâng cao chất lượng đảng viên” và Quy chế làm việc của Thành ủy"):
        assert men.doc_type in DOC_TYPES


def test_every_type_has_code_letters() -> None:
    assert set(TYPE_LETTERS) == set(DOC_TYPES)
    assert all(TYPE_LETTERS[t] for t in DOC_TYPES)
    # Letters → type reads back the type's own letters (QĐ is shared: Quyết định; QD, QH are aliases).
    for t in DOC_TYPES:
        back = CODE_LETTERS.get(TYPE_LETTERS[t])
        assert back is None or back == t or TYPE_LETTERS[back] == TYPE_LETTERS[t] or t == "Luật", t
    for subset in (ID_LETTER_TYPES, ASKED_TYPES, NUMBERED_TYPES):
        assert set(subset) <= set(DOC_TYPES)
    assert type_id_prefix("Nghị quyết") == "nq" and type_id_prefix("Quy định") == "qd"
    assert type_id_prefix("Quy chế") is None


def test_engine_uses_the_vocabulary() -> None:
    assert codes.TYPE_LETTERS == {fold(t): fold(TYPE_LETTERS[t]) for t in NUMBERED_TYPES}
    assert rules.DOC_TYPE_WORDS == {fold(t): t for t in ASKED_TYPES}
    assert codes.code_parts is code_parts


def test_code_regexes_parse_every_document_code() -> None:
    coded = [d for d in _documents() if d.code]
    assert coded
    for d in coded:
        code = d.code
        assert CODE_RE.fullmatch(code), code
        assert [m.group(0) for m in CODE_RE.finditer(f"{d.doc_type} số {code}, ngày 01/02/2023")] == [code]
        token = provenance._TOKEN.match(code)
        assert token and token.group("code") == code, code
        assert FOLDED_CODE_RE.fullmatch(fold(code)), code
        parts = code_parts(code)
        assert parts is not None, code
        number, letters, _issuer = parts
        assert str(number) == code.split("/")[0].split("-")[0].lstrip("0") or number == 0, code
        assert letters, code
        assert d.doc_type in DOC_TYPES


def test_codes_of_the_base_are_read_in_questions() -> None:
    docs = _documents()
    by_number = codes.index_codes([d for d in docs if d.code])
    for d in docs:
        if not d.code:
            continue
        refs = codes.find_refs(fold(f"{d.code} nói về gì"))
        assert refs and refs[0].full, d.code
        assert d in codes.resolve(refs[0], by_number, fold(d.code)), d.code
