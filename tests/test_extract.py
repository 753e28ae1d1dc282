"""`python -m bot extract`: headings, documents and figures drafted from a report, and the draft measured
against the curated base."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import pytest
import yaml

from bot.knowledge.base import load_base
from bot.knowledge.extract import (
    classify_heading,
    compare,
    compose_figures,
    draft_files,
    extract,
    find_code_mentions,
    find_name_mentions,
    name_score,
    parse_headings,
    render_yaml,
    run_extract,
)
from bot.knowledge.provenance import (
    _TOKEN,
    appears,
    check_coverage,
    check_provenance,
    load_source,
    source_figures,
)
from bot.knowledge.schema import Document

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared/source/000_ffa3f5d343d508a7.txt"
KNOWLEDGE = ROOT / "knowledge"


@pytest.fixture(scope="module")
def source_text() -> str:
    """The real report, or a skip (a failure on CI) when it is not there."""
    if not SOURCE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"source report not available: {SOURCE}")
        pytest.skip(f"source report not available: {SOURCE}")
    return SOURCE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def real_draft(source_text: str):
    return extract(source_text, source=str(SOURCE))


@pytest.fixture(scope="module")
def curated():
    return load_base(KNOWLEDGE)


# ------------------------------------------------------------------------------------------- headings

def _ids(text: str) -> list[tuple[str, str | None, str]]:
    headings, _title, _warnings = parse_headings(text)
    return [(h.id, h.parent, h.anchor) for h in headings]


def test_classify_heading_levels() -> None:
    assert classify_heading("Phần thứ nhất")[:3] == ("part", 1, "1")
    assert classify_heading("PHẦN THỨ HAI")[:3] == ("part", 1, "2")
    assert classify_heading("II. ĐÁNH GIÁ CHUNG")[:3] == ("roman", 2, "II")
    assert classify_heading("3. Công tác kiểm tra")[:3] == ("arabic", 3, "3")
    assert classify_heading("2.1. Tồn tại, hạn chế")[:3] == ("sub", 4, "2.1")
    assert classify_heading("2.1.3. Chi tiết")[:3] == ("sub", 5, "2.1.3")
    # not headings: a figure, a lead-in, a ratio
    assert classify_heading("3.482") is None
    assert classify_heading("Công tác cán bộ:") is None
    assert classify_heading("45/44") is None


def test_bold_headings_concatenated_on_one_line() -> None:
    text = (
        "**BÁO CÁO****tổng kết năm 2023**\n\n"
        "Năm 2023 là năm bản lề, có ý nghĩa quan trọng.\n\n"
        "**Phần thứ nhất****KẾT QUẢ THỰC HIỆN NHIỆM VỤ NĂM 2023****I. KẾT QUẢ ĐẠT ĐƯỢC****1. Công tác tư tưởng**\n\n"
        "Nội dung một.\n"
    )
    headings, title, _ = parse_headings(text)
    assert title == "BÁO CÁO tổng kết năm 2023"
    assert [(h.id, h.parent, h.anchor) for h in headings] == [
        ("mo-dau", None, "Năm 2023 là năm bản"),
        ("p1", None, "Phần thứ nhất"),
        ("p1.i", "p1", "I. KẾT QUẢ ĐẠT ĐƯỢC"),
        ("p1.i.1", "p1.i", "1. Công tác tư tưởng"),
    ]
    part = headings[1]
    assert part.title == "Phần thứ nhất" and part.subtitle == "KẾT QUẢ THỰC HIỆN NHIỆM VỤ NĂM 2023"
    assert headings[2].title == "I. Kết quả đạt được"  # all-caps headings get sentence case


def test_markdown_and_mixed_headings() -> None:
    text = (
        "## **Phần thứ hai**\n\n### **CHỈ TIÊU, NHIỆM VỤ**\n\n### **VÀ GIẢI PHÁP NĂM 2024**\n\n"
        "Mở phần.\n\n#### **I. CHỈ TIÊU**\n\n##### **1. Chỉ tiêu cụ thể**\n\n- Kết nạp 380 đảng viên.\n\n"
        "## 2. Nhiệm vụ\n\nLàm việc.\n\n### **2.1. Tồn tại, hạn chế**\n\nÍt.\n"
    )
    headings, _, _ = parse_headings(text)
    assert [(h.id, h.parent) for h in headings] == [
        ("p2", None), ("p2.i", "p2"), ("p2.i.1", "p2.i"), ("p2.i.2", "p2.i"), ("p2.i.2.1", "p2.i.2"),
    ]
    assert headings[0].subtitle == "CHỈ TIÊU, NHIỆM VỤ VÀ GIẢI PHÁP NĂM 2024"
    assert headings[3].anchor == "2. Nhiệm vụ"  # a '#' heading without bold
    assert headings[4].title == "2.1. Tồn tại, hạn chế"


def test_inline_bold_heading_and_unnumbered_lead_ins() -> None:
    text = (
        "**I. KẾT QUẢ**\n\n"
        "**Công tác cán bộ:** Tiếp tục chỉ đạo 03 việc.\n\n"        # a lead-in, not a heading
        "***Công tác bảo vệ nền tảng tư tưởng*** ngày càng tốt.\n\n"  # idem (bold italic)
        "***Tiếp tục triển khai nghiêm túc việc học tập và làm theo tư tưởng.***\n\n"
        "**8. Mặt trận Tổ quốc Việt Nam các cấp** phát huy tinh thần đoàn kết.\n\n"
        "Nơi nhận:\n- Ban Bí thư,\n\n**Người ký**\n"
    )
    assert _ids(text) == [
        ("i", None, "I. KẾT QUẢ"),
        ("i.8", "i", "8. Mặt trận Tổ quốc Việt Nam các cấp"),
        ("noi-nhan", None, "Nơi nhận:"),
    ]


def test_draft_sections_are_located_by_the_loader() -> None:
    text = "**I. KẾT QUẢ**\n\n**1. Việc một**\n\nCó 12 việc<sup>1</sup>.\n\n<sup>1</sup> Gồm 5 việc lớn.\n"
    draft = extract(text)
    assert draft.report is not None
    assert list(draft.report.sections) == ["i", "i.1"]
    assert draft.report.footnote_section == {1: "i.1"}


# ------------------------------------------------------------------------------------------- documents

def test_code_type_date_issuer_and_implements() -> None:
    text = ("Ban hành Kế hoạch số 254-KH/TU, ngày 31/5/2023 của Ban Thường vụ Thành ủy thực hiện Nghị quyết "
            "số 28-NQ/TW, ngày 17/11/2022 của Ban Chấp hành Trung ương Đảng khóa XIII về tiếp tục đổi mới.")
    kh, nq = find_code_mentions(text)
    assert (kh.doc_type, kh.code, kh.date, kh.issuer, kh.implements) == (
        "Kế hoạch", "254-KH/TU", "31/5/2023", "Ban Thường vụ Thành ủy", "28-NQ/TW")
    assert (nq.doc_type, nq.code, nq.date, nq.issuer) == (
        "Nghị quyết", "28-NQ/TW", "17/11/2022", "Ban Chấp hành Trung ương Đảng khóa XIII")


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("thực hiện Nghị quyết số 35/2021/QH15 của Quốc hội khóa XV, Nghị quyết",
         ("Nghị quyết", "35/2021/QH15", None, "Quốc hội khóa XV")),
        ("Nghị quyết số 594/NQ-UBTVQH15, ngày 12/9/2022 của Ủy ban Thường vụ Quốc hội.",
         ("Nghị quyết", "594/NQ-UBTVQH15", "12/9/2022", "Ủy ban Thường vụ Quốc hội")),
        ("(Quyết định số 1058-QĐ/TU ngày 14/7/2023 của BTV Thành ủy)",
         ("Quyết định", "1058-QĐ/TU", "14/7/2023", "Ban Thường vụ Thành ủy")),
        ("Công văn số 5609-CV/BNCTW, ngày 22/11/2023 của Ban Nội chính Trung ương về kết thúc",
         ("Công văn", "5609-CV/BNCTW", "22/11/2023", "Ban Nội chính Trung ương")),
        ("theo Quy định số 60-QĐ/TW của Ban Bí thư đối với 45 tổ chức đảng",  # the word wins over 'QĐ'
         ("Quy định", "60-QĐ/TW", None, "Ban Bí thư")),
        ("theo Hướng dẫn số 24-HD/BTCTW, ngày 20/9/2023 của Ban Tổ chức Trung ương\n\nCông tác cán bộ",
         ("Hướng dẫn", "24-HD/BTCTW", "20/9/2023", "Ban Tổ chức Trung ương")),
        ("Tổng kết 10 năm thực hiện Kết luận 100-KL/TW của Ban Bí thư khóa XI về đổi mới",
         ("Kết luận", "100-KL/TW", None, "Ban Bí thư khóa XI")),
        ("Thực hiện Nghị quyết số 08-NQ/TU, ngày 06/12/2022 về “Mục tiêu năm 2023”",
         ("Nghị quyết", "08-NQ/TU", "06/12/2022", None)),
        ("đã triển khai 12-HD/TU trong toàn Đảng bộ", ("Hướng dẫn", "12-HD/TU", None, None)),  # type from the letters
        ("Tiếp tục triển khai Kế hoạch số 199-KH/TU, ngày 28/11/2022 của Ban Thường vụ Thành uỷ thực hiện",
         ("Kế hoạch", "199-KH/TU", "28/11/2022", "Ban Thường vụ Thành ủy")),  # 'uỷ' in today's spelling
    ],
)
def test_code_mentions(snippet: str, expected: tuple) -> None:
    (m,) = find_code_mentions(snippet)
    assert (m.doc_type, m.code, m.date, m.issuer) == expected


def test_no_code_numbers_are_not_codes() -> None:
    assert find_code_mentions("kết nạp 45/44 tổ chức đảng, giám sát 10-12 lượt, nhiệm kỳ 2020-2025") == []


def _names(text: str) -> list[tuple[str, str | None, str | None]]:
    return [(m.doc_type, m.name, m.issuer) for m in find_name_mentions(text, find_code_mentions(text))]


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("thực hiện nghiêm Luật Thực hiện dân chủ ở cơ sở, phát huy dân chủ trực tiếp.",
         [("Luật", "Luật Thực hiện dân chủ ở cơ sở", None)]),
        ("phê duyệt Đề án và Quyết định thành lập Đảng bộ Tổng Công ty Bảo đảm An toàn Hàng hải miền Bắc; ban hành",
         [("Đề án", "Đề án thành lập Đảng bộ Tổng Công ty Bảo đảm An toàn Hàng hải miền Bắc", None),
          ("Quyết định", "Quyết định thành lập Đảng bộ Tổng Công ty Bảo đảm An toàn Hàng hải miền Bắc", None)]),
        ("Chỉ đạo thực hiện tốt Kết luận của Ban Thường vụ Thành uỷ về Đề án “Nâng cao chất lượng đảng viên”.",
         [("Kết luận", "Kết luận về Đề án “Nâng cao chất lượng đảng viên”", "Ban Thường vụ Thành ủy"),
          ("Đề án", "Đề án “Nâng cao chất lượng đảng viên”", None)]),
        ("Ban hành Chương trình kiểm tra giám sát năm 2023 của Thành ủy; đồng thời có rà soát.",
         [("Chương trình", "Chương trình kiểm tra giám sát năm 2023", "Thành ủy")]),
        ("Ban Thường vụ Thành ủy đã ban hành Quy chế phối hợp giữa Ban Tuyên giáo Thành ủy với các cơ quan khoa "
         "giáo, góp phần nâng cao chất lượng.",
         [("Quy chế", "Quy chế phối hợp giữa Ban Tuyên giáo Thành ủy với các cơ quan khoa giáo",
           "Ban Thường vụ Thành ủy")]),
        ("gắn với thực hiện Nghị quyết Trung ương 4 khóa XI, XII, Kết luận số 21-KL/TW về chỉnh đốn Đảng.",
         [("Nghị quyết", "Nghị quyết Trung ương 4 khóa XI, XII", None)]),
        ("Quy định về những điều đảng viên không được làm và các quy định về nêu gương của cán bộ, đảng viên.",
         [("Quy định", "Quy định về những điều đảng viên không được làm", None),
          ("Quy định", "Quy định về nêu gương của cán bộ, đảng viên", None)]),
        # generic mentions in lower case are not documents
        ("triển khai các nghị quyết, chỉ thị, kết luận của Trung ương, Thành ủy.", []),
    ],
)
def test_name_mentions(snippet: str, expected: list) -> None:
    assert _names(snippet) == expected


def test_list_of_documents_after_ve() -> None:
    text = ("Ban hành các quy định của Ban Thường vụ Thành ủy về: Bố trí công tác đối với cán bộ sau khi bị kỷ "
            "luật; phân cấp quản lý cán bộ; luân chuyển cán bộ. Chỉ đạo sửa đổi.")
    assert _names(text) == [
        ("Quy định", "Quy định về bố trí công tác đối với cán bộ sau khi bị kỷ luật", "Ban Thường vụ Thành ủy"),
        ("Quy định", "Quy định về phân cấp quản lý cán bộ", "Ban Thường vụ Thành ủy"),
        ("Quy định", "Quy định về luân chuyển cán bộ", "Ban Thường vụ Thành ủy"),
    ]


def test_elliptic_list_and_bare_congress() -> None:
    text = ("Phê duyệt Đề án nhân sự Đại hội Công đoàn thành phố nhiệm kỳ 2023 - 2028; Đại hội Hội Nông dân "
            "thành phố nhiệm kỳ 2023 - 2028; phương hướng công tác nhân sự.")
    assert [n for _, n, _ in _names(text)] == [
        "Đề án nhân sự Đại hội Công đoàn thành phố nhiệm kỳ 2023 - 2028",
        "Đề án nhân sự Đại hội Hội Nông dân thành phố nhiệm kỳ 2023 - 2028",
    ]
    text = ("Lãnh đạo Đại hội đại biểu Mặt trận Tổ quốc thành phố nhiệm kỳ 2024 - 2029 bảo đảm yêu cầu. "
            "Quán triệt, triển khai Nghị quyết Đại hội kịp thời.")
    assert [n for _, n, _ in _names(text)] == [
        "Nghị quyết Đại hội đại biểu Mặt trận Tổ quốc thành phố nhiệm kỳ 2024 - 2029"]


def test_name_score() -> None:
    assert name_score("Luật Thực hiện dân chủ ở cơ sở", "Luật thực hiện dân chủ ở cơ sở") == 100
    assert name_score("Chương trình công tác năm 2023", "Chương trình công tác") >= 85  # most of it
    assert name_score("Quy chế làm việc của Ban Chấp hành Đảng bộ thành phố", "Quy chế làm việc") < 85


# ------------------------------------------------------------------------------------------- figures

def _figs(text: str) -> list[tuple[str, str]]:
    from bot.knowledge.extract.figures import _tokens

    return [(f.text, f.kind) for f in compose_figures(text, _tokens(text, [], 0))]


def test_compose_figures() -> None:
    assert _figs("từ 4000 - 4100 đảng viên, được 45/44 tổ chức (đạt 102%)") == [
        ("4000 - 4100", "range"), ("45/44", "ratio"), ("102%", "percent")]
    assert _figs("gần 15.000m ngõ; là 1 trong 10 địa phương; 10-12 lượt") == [
        ("15.000m", "num"), ("1 trong 10", "of"), ("10-12", "range")]
    # a bare year is context, a term is kept, a code and the date after it belong to the document
    assert _figs("năm 2023, nhiệm kỳ 2020 - 2025, Kết luận số 09-KL/TU, ngày 04/3/2021 về, ngày 30/3/2023") == [
        ("2020 - 2025", "yearrange"), ("30/3/2023", "date")]
    assert _figs("(1) Đồng chí A; (2) Đồng chí B") == []


TINY = """**BÁO CÁO****tổng kết năm 2023**

-----

Năm 2023 là năm bản lề, triển khai Nghị quyết số 45-NQ/TW, ngày 24/01/2019 của Bộ Chính trị.

**Phần thứ nhất****KẾT QUẢ NĂM 2023****I. KẾT QUẢ ĐẠT ĐƯỢC****1. Công tác tổ chức**

Tính đến ngày 31/10/2023, kết nạp được **3.482** đảng viên mới (đạt 85% kế hoạch)<sup>1</sup>, xét tặng Huy hiệu \
Đảng cho 7.061 đảng viên. Phấn đấu đến hết năm 2023, kết nạp khoảng 4.050 đảng viên mới (bằng 122% so với \
cùng kỳ); thành lập được 45/44 tổ chức đảng (đạt 102% kế hoạch).

<sup>1</sup> Học sinh: 167; nữ: 2.171.

## **Phần thứ hai**

### **NHIỆM VỤ NĂM 2024**

#### **I. CHỈ TIÊU CỤ THỂ**

- Kết nạp mới từ 3.800 - 3.900 đảng viên; thực hiện Luật Thực hiện dân chủ ở cơ sở.

Nơi nhận:
- Lưu.
"""


def test_tiny_report_draft() -> None:
    draft = extract(TINY, source="tiny.md")
    assert [s.id for s in draft.sections] == ["mo-dau", "p1", "p1.i", "p1.i.1", "p2", "p2.i", "noi-nhan"]
    (nq,) = [d for d in draft.documents if d.code]
    assert (nq.id, nq.doc_type, nq.date, nq.issuer, nq.cited_in) == (
        "nq-45-nq-tw", "Nghị quyết", "24/01/2019", "Bộ Chính trị", [("mo-dau", None)])
    assert [d.name for d in draft.documents if not d.code] == ["Luật Thực hiện dân chủ ở cơ sở"]
    facts = {(f.section, f.footnote, x.text): (x, f) for f in draft.facts for x in f.figures}
    fig, fact = facts[("p1.i.1", None, "3.482")]
    assert fig.unit == "đảng viên mới" and fact.period == "tính đến 31/10/2023"
    assert facts[("p1.i.1", None, "85%")][0].role == "percent_of_plan"
    assert facts[("p1.i.1", None, "4.050")][0].role == "expected"
    assert (facts[("p1.i.1", None, "122%")][0].role, facts[("p1.i.1", None, "122%")][0].label) == ("compare", "bằng")
    assert facts[("p1.i.1", None, "44")][0].role == "plan"  # 45/44 (đạt 102% kế hoạch): 44 is the plan
    assert facts[("p1.i.1", 1, "2.171")][0].label == "nữ"
    target = facts[("p2.i", None, "3.800 - 3.900")][1]
    assert (target.kind, target.year) == ("target", 2024)
    # the clause is kept for the reviewer, and the figures of one clause stay together
    assert "(đạt 85% kế hoạch)" in fact.clause and "7.061" not in fact.clause


def test_tiny_report_yaml_is_valid_and_loads(tmp_path: Path) -> None:
    draft = extract(TINY, source="tiny.md")
    text = render_yaml(draft)
    assert text.startswith("# DRAFT")
    data = yaml.safe_load(text)
    assert data == draft.to_data()
    files = draft_files(data)
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    kb = load_base(tmp_path)
    assert set(kb.sections) == {s.id for s in draft.sections}
    assert len(kb.entries) == len(draft.documents) + len(draft.facts)
    report = tmp_path / "tiny.md"
    report.write_text(TINY, encoding="utf-8")
    source = load_source(kb, report)
    assert check_provenance(kb, source) == []
    coverage = check_coverage(kb, source)
    assert coverage.covered == coverage.total


def test_cli_writes_the_draft_and_compares(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "tiny.md"
    report.write_text(TINY, encoding="utf-8")
    out = tmp_path / "out" / "draft.yaml"
    args = argparse.Namespace(file=str(report), out=str(out), compare=True, knowledge=str(KNOWLEDGE))
    assert run_extract(args) == 0
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["sections"]
    printed = capsys.readouterr().out
    assert re.search(r"^documents: 1/\d+ with a code", printed, re.M)  # 45-NQ/TW
    assert re.search(r"^figures: \d+/\d+ ", printed, re.M)
    args = argparse.Namespace(file=str(report), out=None, compare=False, knowledge=None)
    assert run_extract(args) == 0
    assert capsys.readouterr().out.startswith("# DRAFT")
    args = argparse.Namespace(file=str(tmp_path / "missing.md"), out=None, compare=False, knowledge=None)
    assert run_extract(args) == 1


# ------------------------------------------------------------------------------------------- the real report

def test_real_report_sections(real_draft) -> None:
    ids = [s.id for s in real_draft.sections]
    assert len(ids) == 31
    assert ids[:4] == ["mo-dau", "p1", "p1.i", "p1.i.1"] and ids[-1] == "noi-nhan"
    assert {f"p1.i.{n}" for n in range(1, 9)} <= set(ids)
    assert {"p1.ii.2.1", "p1.ii.2.2", "p2.i.1", "p2.i.2"} <= set(ids)
    assert {f"p2.ii.{n}" for n in range(1, 10)} <= set(ids)
    titles = {s.id: s.title for s in real_draft.sections}
    assert titles["p1.i"] == "I. Kết quả đạt được"
    assert titles["p1.i.8"] == "8. Mặt trận Tổ quốc Việt Nam và tổ chức chính trị - xã hội các cấp"
    assert titles["p2"] == "Phần thứ hai"
    assert all(len(t) < 260 and not t.endswith((":", ".")) for t in titles.values())
    assert real_draft.warnings == []
    # the draft's sections start where the curated ones do
    assert set(real_draft.report.sections) == set(ids)


def test_real_report_against_the_curated_sections(real_draft, curated) -> None:
    from bot.knowledge.provenance import load_source as curated_source

    base = curated_source(curated, SOURCE)
    ours = real_draft.report
    common = set(curated.sections) & set(ours.sections)
    assert len(common) >= 0.95 * len(curated.sections), sorted(set(curated.sections) - common)
    for sid in common:  # same ids, same places: the heading parser rebuilds the curated table
        assert ours.sections[sid].start == base.sections[sid].start, sid
    assert ours.footnote_section == base.footnote_section


def test_real_report_documents_with_a_code(real_draft, curated) -> None:
    base_codes = {e.code for e in curated.entries.values() if isinstance(e, Document) and e.code}
    found = base_codes & {d.code for d in real_draft.documents}
    assert len(found) / len(base_codes) >= 0.95, sorted(base_codes - found)
    by_code = {d.code: d for d in real_draft.documents if d.code}
    assert (by_code["45-NQ/TW"].date, by_code["45-NQ/TW"].issuer) == ("24/01/2019", "Bộ Chính trị")
    assert by_code["5609-CV/BNCTW"].cited_in == [("p1.i.4", 19)]
    assert by_code["254-KH/TU"].implements == ["nq-28-nq-tw"]
    assert by_code["01-KL/TW"].implements == ["ct-05-ct-tw"]


def test_real_report_meets_the_thresholds(real_draft, curated) -> None:
    result = compare(real_draft, curated)
    assert result.coded_found / result.coded_total >= 0.95, result.missing_documents
    assert result.docs_found / result.docs_total >= 0.95, result.missing_documents
    assert result.figures_found / result.figures_total >= 0.90, result.missing_figures


def test_real_report_every_source_figure_is_in_the_draft(real_draft) -> None:
    held: dict[tuple[str, int | None], list[str]] = {}
    for f in real_draft.facts:
        held.setdefault((f.section, f.footnote), []).extend(x.text for x in f.figures)
    for d in real_draft.documents:
        for place in d.cited_in:
            held.setdefault(place, []).extend(filter(None, [d.code, d.date]))
    missing = [f"{sf.where}: {sf.text}" for sf in source_figures(real_draft.report)
               if not any(appears(sf.text, h) for h in held.get((sf.section, sf.footnote), []))]
    assert missing == []
    # and nothing in the draft that is not a figure token of the report
    for f in real_draft.facts:
        for x in f.figures:
            assert _TOKEN.search(x.text), x.text
