"""The pure steps of split_html: where a full part is cut, and the open tags after a token."""

from __future__ import annotations

from bot.transports.telegram.formatting import _pick_break, _stack_after


def test_a_line_break_far_enough_into_the_part_wins() -> None:
    breaks = [(1, 10, (), False), (3, 30, (), True), (5, 50, (), False)]
    assert _pick_break(breaks, 100) == (3, 30, (), True)


def test_a_line_break_too_early_loses_to_the_last_space() -> None:
    breaks = [(1, 10, (), True), (5, 50, (), False), (7, 70, (), False)]
    assert _pick_break(breaks, 100) == (7, 70, (), False)


def test_an_early_line_break_is_taken_when_there_is_no_space() -> None:
    assert _pick_break([(1, 10, (), True)], 100) == (1, 10, (), True)
    assert _pick_break([], 100) is None


def test_tags_are_pushed_and_popped_back_to_their_opener() -> None:
    opened = _stack_after([("b", "<b>")], '<a href="x">')
    assert opened == [("b", "<b>"), ("a", '<a href="x">')]
    assert _stack_after(opened, "</B>") == []  # closing an outer tag closes the inner ones too
    assert _stack_after(opened, "</i>") is opened  # no opener: nothing changes
    assert _stack_after(opened, "text") is opened
