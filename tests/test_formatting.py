"""Unit tests: Telegram HTML escaping, length, splitting and list pages."""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.compose import Reply
from bot.transports.telegram.formatting import (
    TELEGRAM_LIMIT,
    button_label,
    escape,
    page_html,
    split_html,
    truncate,
    utf16_len,
    visible_text,
)
from tests.emulator import parse_html


def check_parts(parts: list[str], limit: int) -> None:
    """Every part fits, is valid Telegram HTML (the emulator's parser) and has visible text."""
    for part in parts:
        assert utf16_len(part) <= limit, part
        text, _ = parse_html(part)
        assert text.strip()


def words(text: str) -> list[str]:
    return visible_text(text).split()


def test_escape_and_reply_html_escape_every_base_string() -> None:
    assert escape('<b>&"\'') == "&lt;b&gt;&amp;&quot;&#x27;"
    reply = Reply(heading="A <b> & B", lines=['x < 3 "ok"'], source="Phần › 1 & 2")
    out = reply.html()
    assert out == '<b>A &lt;b&gt; &amp; B</b>\nx &lt; 3 &quot;ok&quot;\n<i>Nguồn: Phần › 1 &amp; 2</i>'
    text, entities = parse_html(out)
    assert text == reply.plain()
    assert [e["type"] for e in entities] == ["bold", "italic"]


def test_utf16_len_counts_like_telegram() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("Đảng") == 4  # precomposed Vietnamese letters: one unit each
    assert utf16_len("🎯") == 2  # astral: a surrogate pair


def test_short_text_is_one_part_unchanged() -> None:
    assert split_html("  <b>Hi</b>\nthere  ") == ["<b>Hi</b>\nthere"]
    assert split_html("") == [] and split_html("  \n ") == [] and split_html("<b> </b>") == []


def test_long_reply_is_cut_at_line_breaks() -> None:
    lines = [f"• Văn bản số {i}: nội dung &amp; chi tiết {'x' * 60}" for i in range(300)]
    text = "<b>Danh sách</b>\n" + "\n".join(lines)
    parts = split_html(text)
    assert len(parts) > 3
    check_parts(parts, TELEGRAM_LIMIT)
    assert "\n".join(parts) == text  # every cut fell on a line break
    assert all(p.startswith(("<b>", "•")) for p in parts)


def test_tags_open_at_a_cut_are_closed_and_reopened() -> None:
    text = "<i>" + "\n".join(f"dòng {i} " + "y" * 40 for i in range(400)) + "</i>"
    parts = split_html(text, 1000)
    check_parts(parts, 1000)
    assert all(p.startswith("<i>") and p.endswith("</i>") for p in parts)
    assert words("".join(f"{p}\n" for p in parts)) == words(text)


def test_a_single_long_line_is_cut_at_spaces_and_entities_survive() -> None:
    text = "<b>" + " ".join(["Đảng&amp;bộ"] * 1500) + "</b>"
    parts = split_html(text, 700)
    check_parts(parts, 700)
    assert all("&amp;" in p and "&am\n" not in p for p in parts)
    assert words(" ".join(parts)) == words(text)


def test_a_word_longer_than_the_limit_is_cut_anyway() -> None:
    text = "<a href=\"https://example.com/x\">" + "z" * 3000 + "</a> end"
    parts = split_html(text, 500)
    check_parts(parts, 500)
    assert "".join(visible_text(p) for p in parts).replace(" ", "") == visible_text(text).replace(" ", "")
    assert all(p.startswith('<a href="https://example.com/x">') for p in parts[:-1])


def test_emoji_count_double() -> None:
    text = "\n".join(["🎯" * 30] * 100)  # 60 units per line
    parts = split_html(text, 1000)
    check_parts(parts, 1000)
    assert max(utf16_len(p) for p in parts) > 900


# One text draw per element (escaped, so "&", "<" and '"' become entities that must not be cut):
# the same documents as a list of pieces, for far fewer draws (generation was ~2/3 of the test;
# 300 examples now cost a fifth of 150 before).
_chars = "aăâđêôơư bcd🎯\n&<\""
_body = st.one_of(st.text(alphabet=_chars, min_size=1, max_size=6),
                  st.text(alphabet=_chars, min_size=30, max_size=200)).map(html.escape)
_element = st.tuples(st.sampled_from([None, "b", "i", "code", "u"]), _body)


@st.composite
def html_docs(draw: st.DrawFn) -> str:
    elements = draw(st.lists(_element, min_size=1, max_size=60))
    return "".join(f"<{tag}>{body}</{tag}>" if tag else body for tag, body in elements)


@settings(max_examples=300, deadline=None)
@given(doc=html_docs(), limit=st.integers(60, 400))
def test_split_property(doc: str, limit: int) -> None:
    parts = split_html(doc, limit)
    for part in parts:
        assert utf16_len(part) <= limit
        parse_html(part)  # valid on its own
    squeeze = "".join  # hard cuts may split a word: compare the text without whitespace
    assert squeeze(words(" ".join(parts))) == squeeze(words(doc))


def test_truncate_and_labels() -> None:
    assert truncate("ngắn", 10) == "ngắn"
    cut = truncate("Công tác kiểm tra, giám sát, kỷ luật Đảng năm 2023", 25)
    assert len(cut) <= 25 and cut.endswith("…") and not cut.endswith(",…")
    assert truncate("x" * 50, 10) == "x" * 9 + "…"
    assert button_label("   ") == "…"


def test_page_html_escapes_items_and_fits() -> None:
    lines = ["<script> & " + "dài " * 200] * 8
    out = page_html("Tiêu đề <x>", lines, page=0, pages=3, total=20, first_number=1)
    text, _ = parse_html(out)
    assert text.startswith("Tiêu đề <x>\n1. <script> & dài")
    assert "Trang 1/3 · 20 mục" in text
    assert utf16_len(out) < TELEGRAM_LIMIT


@pytest.mark.parametrize("limit", [50, 4096])
def test_visible_text_roundtrip(limit: int) -> None:
    doc = "<b>a &amp; b</b>\n<i>c</i>"
    assert "".join(visible_text(p) for p in split_html(doc, limit)).replace("\n", "") == "a & bc"
