"""The entry kinds answer for themselves (label, period, figure, the words the report writes them
with, the target-year test), and the base hands out entries of one kind, typed."""

from __future__ import annotations

from typing import Any

import pytest

from bot.knowledge.base import KnowledgeBase, document_figure, phrases
from bot.knowledge.schema import Citation, Document, Figure, Indicator, Synonyms, Target

RESULT = Indicator(
    id="ket-nap", title="Kết nạp đảng viên mới", section="s1", subject="kết nạp", period="tính đến 31/10/2023",
    figures=[Figure(text="3.482", unit="đảng viên mới"), Figure(text="4000 - 4100", unit="đảng viên mới", role="plan"),
             Figure(text="85%", role="percent_of_plan"), Figure(text="15/12/2023", label="ngày")],
    names=["Đảng bộ A"], related=["chi-tieu-2024"],
)
PART = Indicator(id="ket-nap-dn", title="Kết nạp trong doanh nghiệp", section="s1", subject="kết nạp",
                 figures=[Figure(text="120", unit="đảng viên")], parent="ket-nap")
TARGET = Target(id="chi-tieu-2024", title="Kết nạp đảng viên mới", section="s2", subject="kết nạp", year=2024,
                counts="đảng viên mới", figures=[Figure(text="3.800 - 3.900", unit="đảng viên mới")])
PLAN = Target(id="ke-hoach-2023", title="Kết nạp đảng viên mới", section="s2", subject="kết nạp", year=2023,
              counts="đảng viên mới", figures=[Figure(text="4000 - 4100", unit="đảng viên mới")])
RESOLUTION = Document(id="nq-45", doc_type="Nghị quyết", code="45-NQ/TW", name="Nghị quyết về công nhân",
                      date="24/11/2023", subject="về xây dựng giai cấp công nhân",
                      cited_in=[Citation(section="s1"), Citation(section="s2", footnote=3), Citation(section="s1")])
PLAN_DOC = Document(id="kh-254", doc_type="Kế hoạch", code="254-KH/TU", issuer="Ban Thường vụ Thành ủy",
                    subject="thực hiện Nghị quyết 45", implements=["nq-45"], cited_in=[Citation(section="s1")])
NAMED_DOC = Document(id="de-an", doc_type="Đề án", name="Đề án 1 năm 2019", subject="về bồi dưỡng",
                     cited_in=[Citation(section="s1")])


@pytest.fixture
def small() -> KnowledgeBase:
    entries: dict[str, Any] = {e.id: e for e in (RESULT, PART, TARGET, PLAN, RESOLUTION, PLAN_DOC, NAMED_DOC)}
    return KnowledgeBase({}, entries, Synonyms(), [], children={"ket-nap": ["ket-nap-dn"]})


def test_the_target_year_test_is_true_only_for_a_target_of_that_year() -> None:
    assert TARGET.is_target_for(2024) and not TARGET.is_target_for(2023)
    assert PLAN.is_target_for(2023)
    assert not RESULT.is_target_for(RESULT.year) and not RESULT.is_target_for(2024)
    assert not RESOLUTION.is_target_for(2024)


def test_period_and_label_per_kind() -> None:
    assert RESULT.period_label(2024) == "tính đến 31/10/2023"
    assert TARGET.period_label(2024) == "chỉ tiêu năm 2024"
    assert PLAN.period_label(2024) == "kế hoạch năm 2023"
    assert RESOLUTION.period_label(2024) == ""
    assert RESULT.label(2024) == "Kết nạp đảng viên mới (tính đến 31/10/2023)"
    assert TARGET.label(2024) == "Kết nạp đảng viên mới (chỉ tiêu 2024)"
    assert PLAN.label(2024) == "Kết nạp đảng viên mới (kế hoạch 2023)"
    assert RESOLUTION.label(2024) == "Nghị quyết số 45-NQ/TW – Nghị quyết về công nhân"
    assert PLAN_DOC.label(2024) == "Kế hoạch số 254-KH/TU"  # no name: the title alone
    assert NAMED_DOC.label(2024) == "Đề án 1 năm 2019"  # no code: the name is the title


def test_figure_text_and_the_list_line(small: KnowledgeBase) -> None:
    assert small.figure(RESULT) == ("3.482 đảng viên mới; kế hoạch 4000 - 4100 đảng viên mới; đạt 85% kế hoạch; "
                                    "ngày 15/12/2023: Đảng bộ A")
    assert small.figure(TARGET) == "3.800 - 3.900 đảng viên mới"
    plan_doc = ("Kế hoạch số 254-KH/TU của Ban Thường vụ Thành ủy thực hiện Nghị quyết số 45-NQ/TW: "
                "thực hiện Nghị quyết 45")
    assert small.figure(PLAN_DOC) == document_figure(PLAN_DOC, small) == plan_doc
    assert small.line(TARGET) == "Kết nạp đảng viên mới: 3.800 - 3.900 đảng viên mới"
    assert small.line(PLAN_DOC) == plan_doc  # a document's figure already starts with its title
    assert small.period(PLAN) == "kế hoạch năm 2023" and small.label(TARGET).endswith("(chỉ tiêu 2024)")


def test_figure_lines_label_each_part() -> None:
    assert RESULT.figure_lines(2024) == [
        "Kết quả (tính đến 31/10/2023): 3.482 đảng viên mới; ngày 15/12/2023",
        "Kế hoạch: 4000 - 4100 đảng viên mới",
        "Đạt: 85% kế hoạch",
        "Gồm: Đảng bộ A",
    ]
    assert TARGET.figure_lines(2024) == ["Chỉ tiêu năm 2024: 3.800 - 3.900 đảng viên mới"]
    assert PLAN.figure_lines(2024) == ["Kế hoạch năm 2023: 4000 - 4100 đảng viên mới"]


def test_the_words_the_report_writes_an_entry_with() -> None:
    assert RESULT.figure_texts() == ["3.482", "4000 - 4100", "85%", "15/12/2023"]
    assert RESOLUTION.figure_texts() == ["45-NQ/TW"] and NAMED_DOC.figure_texts() == ["Đề án 1 năm 2019"]
    assert RESULT.needles() == ["3.482", "4000 - 4100", "85%", "15/12/2023", "Đảng bộ A"]
    assert TARGET.needles() == ["3.800 - 3.900"]
    assert RESOLUTION.needles() == ["45-NQ/TW", "Nghị quyết về công nhân"]
    assert RESULT.stated() == {"3.482", "4000 - 4100", "85%", "15/12/2023", "Đảng bộ A"}
    assert RESOLUTION.stated() == {"45-NQ/TW", "24/11/2023"} and PLAN_DOC.stated() == {"254-KH/TU"}
    assert RESOLUTION.codes() == ["45-NQ/TW"] and NAMED_DOC.codes() == [] and RESULT.codes() == []
    assert list(phrases(PLAN_DOC)) == ["Kế hoạch số 254-KH/TU", "254-KH/TU"]


def test_search_and_meta_texts_per_kind() -> None:
    assert RESULT.listed_names() == ["Đảng bộ A"] == RESULT.search_texts()
    assert TARGET.listed_names() == [] == TARGET.search_texts() and RESOLUTION.listed_names() == []
    assert RESOLUTION.search_texts() == ["Nghị quyết", "45-NQ/TW", "Nghị quyết về công nhân", "", "24/11/2023"]
    assert TARGET.meta_texts() == ["đảng viên mới", "", "3.800 - 3.900", "đảng viên mới", "chỉ tiêu năm 2024"]
    assert RESULT.meta_texts()[-1] == "tính đến 31/10/2023"


def test_sections_and_years() -> None:
    assert RESULT.section_ids() == ["s1"]
    assert RESOLUTION.section_ids() == ["s1", "s2"]  # each citing section once, in citation order
    assert RESULT.years() == {2023} and PART.years() == {2023} and TARGET.years() == {2024}
    spanning = TARGET.model_copy(update={"figures": [Figure(text="2025 - 2030", unit="nhiệm kỳ")]})
    assert spanning.years() == {2024, 2025, 2030}  # its year, and the years its figures name
    # A document: the years its words name (not the year of a d/m/yyyy date).
    assert RESOLUTION.years() == set() and NAMED_DOC.years() == {2019}


def test_which_report_year_a_question_may_name() -> None:
    ry, ty = 2023, 2024
    assert RESULT.fits_report_year(ry, ry, ty, {ry}) and not RESULT.fits_report_year(ty, ry, ty, {ty})
    # A target of the target year, asked with the result year only beside the target year.
    assert TARGET.fits_report_year(ry, ry, ty, {ry, ty}) and not TARGET.fits_report_year(ry, ry, ty, {ry})
    assert not PLAN.fits_report_year(ry, ry, ty, {ry, ty})
    assert RESOLUTION.fits_report_year(ry, ry, ty, {ry}) and RESOLUTION.fits_report_year(ty, ry, ty, {ty})
    assert not RESOLUTION.fits_report_year(2022, ry, ty, {2022})


def test_linked_entries_in_a_reply() -> None:
    said = {"3.482", "4000 - 4100"}
    assert PLAN.repeats(said) and not TARGET.repeats(said) and not RESOLUTION.repeats(said)
    assert TARGET.fresh_figures(said) == "3.800 - 3.900 đảng viên mới" and PLAN.fresh_figures(said) == ""
    assert RESULT.fresh_figures(said) == "đạt 85% kế hoạch; ngày 15/12/2023"
    assert (TARGET.link_heading(RESULT, 2024) == "Chỉ tiêu năm 2024"
            and PLAN.link_heading(RESULT, 2024) == "Kế hoạch năm 2023")
    assert RESULT.link_heading(TARGET, 2024) == "Kết quả năm 2023 (tính đến 31/10/2023)"
    assert TARGET.link_heading(PLAN, 2024) == "" and RESULT.link_heading(PART, 2024) == ""
    assert RESOLUTION.link_heading(RESULT, 2024) == ""


def test_typed_accessors(small: KnowledgeBase) -> None:
    assert small.target_year == 2024 and small.result_year == 2023
    assert small.indicators() == [RESULT, PART]
    assert small.targets() == [TARGET, PLAN] and small.targets(2023) == [PLAN]
    assert small.current_targets() == [TARGET]
    assert small.documents() == [RESOLUTION, PLAN_DOC, NAMED_DOC]
    assert small.target("chi-tieu-2024") is TARGET and small.target("ket-nap") is None and small.target(None) is None
    assert small.current_target("chi-tieu-2024") is TARGET and small.current_target("ke-hoach-2023") is None
    assert small.current_target("nq-45") is None and small.current_target("missing") is None
    assert small.document("kh-254") is PLAN_DOC and small.document("ket-nap") is None
    assert small.indicator("ket-nap") is RESULT and small.indicator("chi-tieu-2024") is None
    assert small.fact("ket-nap") is RESULT and small.fact("chi-tieu-2024") is TARGET and small.fact("nq-45") is None
    assert small.entry_sections(RESOLUTION) == ["s1", "s2"]


def test_the_accessors_split_the_real_base_by_kind(kb: KnowledgeBase) -> None:
    kinds = {"indicator": kb.indicators(), "target": kb.targets(), "document": kb.documents()}
    for kind, entries in kinds.items():
        assert entries == kb.of_kind(kind) and entries
    assert sum(len(v) for v in kinds.values()) == len(kb.entries)
    current = kb.current_targets()
    assert current and all(t.is_target_for(kb.target_year) for t in current)
    assert current == [t for t in kb.targets() if t.year == kb.target_year]
    assert all(kb.current_target(t.id) is t for t in current)
    assert all(kb.current_target(t.id) is None for t in kb.targets() if t not in current)
