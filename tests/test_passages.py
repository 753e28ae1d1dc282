"""The report's sentences: read verbatim at load time, tied to sections and footnotes; qualifier
accounting; small talk."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bot.engine.accounting import answer_type, contrasts, informative, leftover
from bot.engine.smalltalk import small_talk
from tests.conftest import REPORT, build_full_engine

ROOT = Path(__file__).resolve().parents[1]
DEV2 = ROOT.parent / "shared" / "eval" / "dev2.jsonl"


@pytest.fixture(scope="module")
def engine():
    if not REPORT.exists():
        if __import__("os").environ.get("CI"):
            pytest.fail(f"report missing at {REPORT}")
        pytest.skip("report not available")
    return build_full_engine()


def test_passages_are_verbatim_with_section_and_footnote(engine) -> None:
    text = REPORT.read_text(encoding="utf-8").replace("*", "")
    flat = " ".join(text.split())
    assert engine.passages is not None and engine.passages.size > 200
    for pe in engine.passages.entries:
        # Every passage stands in the report as written (markers and emphasis aside).
        probe = pe.passage.text[:15]
        assert probe in flat or pe.passage.markers or pe.passage.footnote, probe
        assert pe.passage.section in engine.kb.sections
    footnoted = [pe for pe in engine.passages.entries if pe.passage.footnote]
    assert footnoted and all("chú thích" in pe.path for pe in footnoted)


def test_every_entry_is_tied_to_its_sentence(engine) -> None:
    assert set(engine.quotes) == set(engine.kb.entries)
    q = engine.quotes["bo-may-thanh-lap-chi-bo-quan-su-cap-xa"]
    assert "217" in q.text


def test_statement_answered_with_the_reports_sentence(engine) -> None:
    a = engine.ask("Hạn chế trong công tác vận động nhân dân là ở khâu nào?")
    if a.status == "answer" and a.results[0].kind == "passage":
        assert a.results[0].quote == a.results[0].figure
    a = engine.ask("Hội đồng nhân dân các cấp đổi mới hoạt động giám sát theo luật nào?")
    assert a.status == "answer" and "2015" in a.results[0].figure and a.results[0].quote
    assert "Báo cáo viết" in a.text


def test_a_qualifier_left_over_is_not_answered(engine) -> None:
    for q in ["quận lê chân kết nạp dc bn đảng viên mới năm 2023",
              "Huyện Thủy Nguyên xây dựng đươc bao nhiêu mô hình Dân vận khéo?",
              "Chỉ tiêu kết nạp đảng viên nữ 2024?"]:
        a = engine.ask(q)
        assert a.status == "not_found", (q, a.text)
        assert a.results == [] or a.results[0].kind != "passage"


def test_accounting_rules() -> None:
    assert informative(["bao", "nhieu", "dang", "vien", "nu"]) == ["dang", "vien", "nu"]
    assert answer_type(["o", "khau", "nao"]) == {"khau"}
    df = {"dang": 50, "vien": 50, "nu": 2}
    assert leftover(["dang", "vien", "nu"], {"dang", "vien"}, "dang vien", df, 100, []) == ["nu"]
    assert leftover(["uy", "ban", "kiem", "tra"], {"uy", "ban", "kiem", "tra"}, "thanh uy ban thuong vu kiem tra",
                    {}, 100, ["uy ban kiem tra"]) == ["uy ban kiem tra"]
    assert contrasts(["doanh", "nghiep", "quoc", "doanh"], "doanh nghiep ngoai quoc doanh") == ["quoc doanh"]
    assert contrasts(["ngoai", "quoc", "doanh"], "doanh nghiep ngoai quoc doanh") == []


@pytest.mark.parametrize("text", ["xin chào", "cảm ơn bạn", "How many party members were admitted?", "bạn là ai"])
def test_small_talk(text: str) -> None:
    reply = small_talk(text)
    assert reply and "Báo cáo không" not in reply


def test_small_talk_leaves_questions_alone() -> None:
    assert small_talk("kết nạp bao nhiêu đảng viên") is None
    assert small_talk("the nao la dan van kheo") is None


def test_dev2_regression_guard(engine) -> None:
    """Not the issue's floors (≥ 90% / ≤ 2% / ≥ 90%, not reached yet): a guard that the figures
    measured (72.2% / 12.2% / 93.3%) do not slip back."""
    if not DEV2.exists():
        pytest.skip("dev2 not available")
    sys.path.insert(0, str(DEV2.parent))
    from score import judge  # type: ignore[import-not-found]

    rows = [json.loads(x) for x in DEV2.read_text(encoding="utf-8").splitlines() if x.strip()]
    verdicts = [(r, judge(r, engine.ask(r["q"]).to_json())) for r in rows]
    ins = [v for r, v in verdicts if r["expect"] is not None]
    oos = [v for r, v in verdicts if r["expect"] is None]
    assert ins.count("correct") / len(ins) >= 0.72
    assert ins.count("wrong") / len(ins) <= 0.123
    assert oos.count("abstained") / len(oos) >= 0.93
