"""Unit tests of the engine's pure parts: normalisation, codes, intent, decisions, lists, robustness."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.codes import code_parts, find_refs
from bot.engine.engine import Engine
from bot.engine.text import Lexicon, analyse, number_words
from bot.normalize import fold, format_number, format_value, numbers_in, parse_number

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


@pytest.fixture(scope="module")
def engine(kb_engine: Engine) -> Engine:
    return kb_engine  # the session's engine (conftest): built once per worker


# -- normalisation -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Kết nạp Đảng viên", "ket nap dang vien"),
        ("ket nap dang vien", "ket nap dang vien"),
        ("3.482 đảng viên", "3482 dang vien"),
        ("3482", "3482"),
        ("21,05%", "21.05%"),
        ("21,05 %", "21.05%"),
        ("25 - 30", "25-30"),
        ("05 cán bộ", "5 can bo"),
        ("45-NQ/TW", "45-nq/tw"),
        ("Ủy ban  kiểm tra!!", "uy ban kiem tra"),
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_nfd_input_equals_nfc() -> None:
    import unicodedata

    text = "Đảng viên mới kết nạp"
    assert fold(unicodedata.normalize("NFD", text)) == fold(text)


@pytest.mark.parametrize(("text", "value"), [("3.482", 3482), ("117,2%", 117.2), ("05", 5), ("1.129", 1129)])
def test_parse_number(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(("value", "unit", "text"), [
    (3482, "đảng viên", "3.482 đảng viên"), (1234567, "", "1.234.567"), (85, "%", "85%"),
    (21.05, "", "21,05"), (117.2, "%", "117,2%"), (0.5, "tỷ đồng", "0,5 tỷ đồng"),
])
def test_format_value_writes_numbers_the_way_the_report_does(value: float, unit: str, text: str) -> None:
    assert format_value(value, unit) == text
    assert parse_number(format_number(value)) == value  # the form reads back as the same number


def test_numbers_in_range() -> None:
    assert numbers_in("3.800 - 3.900") == [3800, 3900]


def test_number_words() -> None:
    assert number_words("kết nạp ba nghìn đảng viên") == "kết nạp 3000 đảng viên"
    assert number_words("hai trăm mười bảy chi bộ") == "217 chi bộ"
    # A lone digit word is not a number ("năm" is also "year").
    assert number_words("năm 2023") == "năm 2023"


def test_abbreviations_expand(engine: Engine) -> None:
    lx: Lexicon = engine.lexicon
    assert "dang vien moi" in lx.expand("kết nạp ĐVM")
    assert "dang vien" in lx.expand("bn dv")
    assert "thuong vu thanh uy" in lx.expand("BTV TU")
    # "TU" expands only typed in capitals; "tu" is an ordinary word (từ, tư, tự).
    assert "thanh uy" not in lx.expand("tu khi co ket luan")
    # A key with diacritics matches only as typed: "dự" must not become "đảng ủy" (đu).
    assert "dang uy" not in lx.expand("dự định")


def test_accented_words_recorded(engine: Engine) -> None:
    q = analyse("Kết nạp đảng viên", engine.lexicon)
    assert "kết" in q.accented and q.tokens == ["ket", "nap", "dang", "vien"]


# -- document codes ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("code", "parts"),
    [
        ("45-NQ/TW", (45, "nq", "tw")),
        ("35/2021/QH15", (35, "qh", "qh15")),
        ("594/NQ-UBTVQH15", (594, "nq", "ubtvqh15")),
        ("1058-QĐ/TU", (1058, "qd", "tu")),
    ],
)
def test_code_parts(code: str, parts: tuple) -> None:
    assert code_parts(code) == parts


@pytest.mark.parametrize(
    ("question", "number", "letters"),
    [
        ("NQ 45", 45, "nq"),
        ("nghị quyết số 45", 45, "nq"),
        ("45-NQ/TW ban hành ngày nào", 45, "nq"),
        ("kế hoạch 254", 254, "kh"),
        ("KL 01", 1, "kl"),
    ],
)
def test_find_refs(question: str, number: int, letters: str) -> None:
    refs = find_refs(fold(question))
    assert refs and refs[0].number == number and refs[0].letters == letters


def test_no_ref_in_dates_or_names() -> None:
    assert find_refs(fold("đến 31/10/2023")) == []
    assert find_refs(fold("Ban Chỉ đạo 35 của Thành ủy")) == []


@pytest.mark.parametrize(
    ("question", "code"),
    [("NQ 45", "45-NQ/TW"), ("nghị quyết số 45 ban hành ngày nào", "45-NQ/TW"),
     ("kế hoạch 254", "254-KH/TU"), ("KL 01", "01-KL/TW"), ("nghi quyet 35/2021/QH15", "35/2021/QH15")],
)
def test_code_goes_to_document(engine: Engine, question: str, code: str) -> None:
    a = engine.ask(question)
    assert a.status == "answer" and code in a.results[0].figure


def test_unknown_code_not_found(engine: Engine) -> None:
    a = engine.ask("Nghị quyết 57-NQ/TW ban hành ngày nào?")
    assert a.status == "not_found" and "57" in a.text


# -- year / plan / target disambiguation ---------------------------------------------------------

def test_result_plan_target_of_one_subject(engine: Engine) -> None:
    result = engine.ask("đến 31/10/2023 kết nạp bao nhiêu đảng viên mới")
    plan = engine.ask("kế hoạch năm 2023 giao kết nạp bao nhiêu đảng viên")
    target = engine.ask("chỉ tiêu kết nạp đảng viên năm 2024")
    assert result.status == plan.status == target.status == "answer"
    assert "3.482" in result.results[0].figure
    assert "4000 - 4100" in plan.results[0].figure
    assert target.results[0].kind == "target" and "3.800 - 3.900" in target.results[0].figure


def test_expected_full_year_vs_to_date(engine: Engine) -> None:
    a = engine.ask("dự kiến cả năm 2023 kết nạp bao nhiêu đảng viên")
    assert a.status == "answer" and "4.050" in a.results[0].figure


@pytest.mark.parametrize(
    "question",
    [
        "Năm 2022 Hải Phòng kết nạp được bao nhiêu đảng viên mới?",
        "Quảng Ninh kết nạp bao nhiêu đảng viên năm 2023?",
        "Chỉ tiêu kết nạp đảng viên năm 2026 là bao nhiêu?",
        "giá vàng hôm nay",
        "bạn tên là gì",
    ],
)
def test_out_of_scope_not_found(engine: Engine, question: str) -> None:
    assert engine.ask(question).status == "not_found"


# -- clarification and lists ------------------------------------------------------------------------

def test_clarify_offers_at_most_three(engine: Engine) -> None:
    statuses = {}
    for q in ("kiểm tra", "đối thoại", "kỷ luật", "giám sát", "tổ chức đảng"):
        a = engine.ask(q)
        statuses[q] = a.status
        if a.status == "clarify":
            assert 2 <= len(a.results) <= 3
            assert len({r.id for r in a.results}) == len(a.results)
    assert "clarify" in statuses.values() or "list" in statuses.values(), statuses


def test_list_targets_2024(engine: Engine) -> None:
    a = engine.ask("các chỉ tiêu năm 2024")
    assert a.status == "list"
    assert len(a.results) >= 12 and all(r.kind == "target" for r in a.results)


def test_list_documents(engine: Engine) -> None:
    a = engine.ask("những nghị quyết nào được nhắc đến")
    assert a.status == "list" and all(r.kind == "document" for r in a.results)
    assert any("45-NQ/TW" in r.figure for r in a.results)


def test_list_section_results(engine: Engine) -> None:
    a = engine.ask("kết quả công tác kiểm tra")
    assert a.status == "list"
    assert all("kiểm tra, giám sát" in r.section for r in a.results)


def test_answer_names_source_and_link(engine: Engine) -> None:
    a = engine.ask("Tính đến 31/10/2023 kết nạp được bao nhiêu đảng viên mới?")
    assert a.status == "answer"
    assert "Nguồn: Phần thứ nhất › I. Kết quả đạt được › 2." in a.text
    assert "Chỉ tiêu năm 2024" in a.text  # the linked 2024 target


def test_footnote_in_section(engine: Engine) -> None:
    a = engine.ask("trong số đảng viên mới kết nạp có bao nhiêu nữ")
    assert a.status == "answer" and "2.171" in a.results[0].figure
    assert "chú thích 5" in a.results[0].section


def test_reply_fits_a_phone_screen(engine: Engine) -> None:
    for q in ("kết nạp đảng viên 2023", "chỉ tiêu giám sát 2024", "NQ 45", "số mô hình dân vận khéo"):
        a = engine.ask(q)
        if a.status == "answer":
            assert len(a.text) < 900, (q, len(a.text))


# -- robustness -------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=4096))
def test_any_text_gives_a_valid_answer(engine: Engine, text: str) -> None:
    a = engine.ask(text)
    assert a.status in {"answer", "clarify", "list", "not_found"}
    assert isinstance(a.text, str) and a.text
    json.dumps(a.to_json(), ensure_ascii=False)
    if a.status == "clarify":
        assert 2 <= len(a.results) <= 3


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["đảng", "viên", "🙂", "\x00", "\u200b", "2024", "%", "NQ", "45-", "/", "\n", "đv",
                                 "x" * 50]),
                max_size=200))
def test_adversarial_tokens(engine: Engine, parts: list[str]) -> None:
    a = engine.ask(" ".join(parts))
    assert a.status in {"answer", "clarify", "list", "not_found"}


def test_long_input_is_bounded(engine: Engine) -> None:
    a = engine.ask("kết nạp " * 3000)
    assert a.status in {"answer", "clarify", "list", "not_found"}


# -- the dev set floors (deterministic, so not a timed test) -----------------------------------------

def test_dev_set_floors(engine: Engine) -> None:
    if not DEV.exists():
        if __import__("os").environ.get("CI"):
            pytest.fail(f"dev set missing at {DEV}")
        pytest.skip(f"dev set not available at {DEV}")
    sys.path.insert(0, str(DEV.parent))
    from score import judge  # type: ignore[import-not-found]

    rows = [json.loads(x) for x in DEV.read_text(encoding="utf-8").splitlines() if x.strip()]
    verdicts = [(r, judge(r, engine.ask(r["q"]).to_json())) for r in rows]
    ins = [v for r, v in verdicts if r["expect"] is not None]
    oos = [v for r, v in verdicts if r["expect"] is None]
    correct = ins.count("correct") / len(ins)
    wrong = ins.count("wrong") / len(ins)
    abstained = oos.count("abstained") / len(oos)
    by_style: dict[str, list[bool]] = {}
    for r, v in verdicts:
        by_style.setdefault(r["style"], []).append(v in ("correct", "abstained"))
    assert correct >= 0.95, correct
    assert wrong <= 0.02, wrong
    assert abstained >= 0.95, abstained
    for style, oks in by_style.items():
        assert sum(oks) / len(oks) >= 0.90, (style, sum(oks) / len(oks))


# -- asking what the report does not give --------------------------------------------------------

def test_document_date_not_given(engine: Engine) -> None:
    # 28-NQ/TU is cited without a date: say so, naming it, instead of answering something else.
    a = engine.ask("nghị quyết 28-NQ/TU ban hành ngày nào")
    assert a.status == "not_found" and "28-NQ/TU" in a.text and "ngày" in a.text
    b = engine.ask("nghị quyết 45-NQ/TW ban hành ngày nào")
    assert b.status == "answer" and "24/01/2019" in b.results[0].figure


def test_money_asked_needs_money(engine: Engine) -> None:
    assert engine.ask("cử cán bộ đi học nước ngoài năm 2023 hết bao nhiêu tiền").status == "not_found"
    # "đồng chí" is people, not money (đồng).
    a = engine.ask("năm 2023 cử bao nhiêu đồng chí đi bồi dưỡng ở nước ngoài")
    assert a.status == "answer" and "10" in a.results[0].figure


def test_plan_of_a_year_is_not_a_document_code(engine: Engine) -> None:
    a = engine.ask("kế hoạch 2023 kết nạp đảng viên trong doanh nghiệp tư nhân")
    assert a.status == "answer" and "350" in a.results[0].figure


def test_a_single_other_year_for_a_result(engine: Engine) -> None:
    a = engine.ask("Năm 2024 HĐND thành phố tổ chức bao nhiêu kỳ họp?")
    assert a.status == "not_found" and "2024" in a.text


def test_two_part_question_answers_both(engine: Engine) -> None:
    a = engine.ask("HĐND thành phố tổ chức mấy kỳ họp và thông qua bao nhiêu nghị quyết năm 2023?")
    assert a.status == "answer"
    assert "04" in a.results[0].figure and "39" in a.results[0].figure


def test_named_part_of_a_breakdown(engine: Engine) -> None:
    a = engine.ask("cấp huyện tổ chức bao nhiêu cuộc đối thoại với nhân dân năm 2023")
    assert a.status == "answer" and "220" in a.results[0].figure


def test_several_named_parts_answered_together(engine: Engine) -> None:
    a = engine.ask("Số cuộc đối thoại với dân chia theo từng cấp thành phố, huyện, xã là bao nhiêu?")
    assert a.status == "answer"
    assert all(x in a.results[0].figure for x in ("06", "220", "506"))
    assert a.text.count("Nguồn:") == 1


def test_count_in_a_cited_documents_section(engine: Engine) -> None:
    # The code names the context; the figure lives in the section citing it.
    a = engine.ask("ke hoach 254 thuc hien dong bo bao nhieu nhiem vu trong tam")
    assert a.status == "answer" and "04" in a.results[0].figure


def test_short_question_inside_one_entry_is_answered(engine: Engine) -> None:
    # Every word of the question belongs to one entry: not an incidental overlap.
    a = engine.ask("tỷ lệ cán bộ trẻ được đề bạt")
    assert a.status == "answer" and "21,05%" in a.results[0].figure


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        ("ban thuong vu thanh uy khai tru bao nhie dang vien theo quyet dinh khoi to bi can", "02"),
        ("3 chỉ tiu dân vận năm 2023 là gì", "40%"),
        ("Cả năm 2023 toàn Đng bộ thi hành kỷ luật bao nhiêu đảng viên", "170"),
    ],
)
def test_typos_in_question_words_and_short_words(engine: Engine, question: str, figure: str) -> None:
    a = engine.ask(question)
    assert a.status in ("answer", "list")
    assert figure in a.text


def test_places_match_their_diacritics(engine: Engine) -> None:
    assert engine.ask("Đà Nẵg kết nạp bao nhiêu đảng viên trong năm 2023?").status == "not_found"
    # "đã nâng cao" folds to "da nang cao": not the city of Đà Nẵng.
    lx = engine.lexicon
    assert lx.places_in(analyse("đã nâng cao chất lượng đảng viên", lx)) == []
    assert lx.places_in(analyse("da nang cao chat luong dang vien", lx)) == []
    assert lx.places_in(analyse("da nang ket nap bao nhieu dang vien", lx)) == ["da nang"]


def test_yes_no_and_comparison_answered_in_words(engine: Engine) -> None:
    a = engine.ask("Năm 2023 kết nạp đảng viên mới có đạt kế hoạch không?")
    assert a.text.startswith("Chưa đạt kế hoạch: 3.482 / kế hoạch 4000 - 4100 (85%)")
    b = engine.ask("kết nạp đảng viên trong doanh nghiệp tư nhân có vượt kế hoạch ko")
    assert b.text.startswith("Vượt kế hoạch: 410/350") and "117,2%" in b.text.splitlines()[0]
    c = engine.ask("Năm 2023 kết nạp đảng viên mới tăng hay giảm so với cùng kỳ?")
    assert c.text.startswith("Tăng: bằng 122% so với cùng kỳ")
    # A plain question gets no verdict line.
    assert not engine.ask("Năm 2023 kết nạp bao nhiêu đảng viên mới?").text.startswith(("Đạt", "Chưa", "Vượt"))


def test_reply_parts_are_labelled_once(engine: Engine) -> None:
    a = engine.ask("Năm 2023 thành phố kết nạp được bao nhiêu đảng viên mới?")
    lines = a.reply.lines
    assert lines[:3] == ["Kết quả (tính đến 31/10/2023): 3.482 đảng viên mới", "Kế hoạch: 4000 - 4100 đảng viên mới",
                         "Đạt: 85% kế hoạch"]
    # The plan is said once: the linked 2023 plan adds nothing and is not repeated.
    assert sum("4000 - 4100" in line for line in lines) == 1
    b = engine.ask("BTV Thành ủy giám sát bao nhiêu tổ chức đảng năm 2023?")
    assert b.reply.lines[0] == "Kết quả (năm 2023): 47 tổ chức đảng" and "Đạt: 391% kế hoạch" in b.reply.lines


def test_a_part_is_named_by_most_of_its_own_words(engine: Engine) -> None:
    # "xây dựng" is one common word of "xây dựng nông thôn mới kiểu mẫu": the total is asked.
    a = engine.ask("Số mô hình Dân vận khéo đã xây dựng trong năm 2023 là bao nhiêu?")
    assert a.status == "answer" and "2.051" in a.results[0].figure
    # "cấp xã" names its part, however far behind the total it scores.
    b = engine.ask("bao nhiêu cuộc đối thoại trực tiếp cấp xã")
    assert b.status == "answer" and "506" in b.results[0].figure


def test_a_date_asked_before_the_linked_document_is_the_found_ones(engine: Engine) -> None:
    a = engine.ask("KH 254 của Thành ủy ngày nào ban hành và thực hiện NQ nào?")
    assert a.status == "answer" and a.results[0].figure.startswith("Kế hoạch số 254-KH/TU ngày 31/5/2023")
    b = engine.ask("Kế hoạch 254 thực hiện nghị quyết nào, nghị quyết đó ban hành ngày nào?")
    assert b.status == "answer" and b.results[0].figure.startswith("Nghị quyết số 28-NQ/TW")
