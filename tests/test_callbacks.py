"""Callback data: every handler's prefix is declared in one registry, no two features share one,
and a button nobody handles gets the stale-button reply (the one catch-all, last)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from telegram.ext import CallbackQueryHandler

from bot.transports.telegram.callbacks import (
    KINDS,
    MAX_DATA,
    PREFIXES,
    CallbackData,
    CancelSubscription,
    CancelValue,
    Chart,
    ConfirmValue,
    EditSubscription,
    Example,
    FollowTarget,
    ListPage,
    OpenEntry,
    PickTarget,
    ReloadChoice,
    SubscribeMenu,
    SubscribeStep,
    parse_any,
    pattern,
)
from tests.test_telegram_reminders import FakeClock, features


def callback_handlers(application) -> list[CallbackQueryHandler]:
    return [h for group in sorted(application.handlers) for h in application.handlers[group]
            if isinstance(h, CallbackQueryHandler)]


async def test_every_callback_handler_uses_a_declared_prefix_and_none_collide(telegram_bot) -> None:
    clock = FakeClock(datetime(2024, 3, 20, 9, 0, tzinfo=UTC))
    async with telegram_bot(admin_ids="1", extra_handlers=features(clock)) as bot:
        handlers = callback_handlers(bot.app)
    with_pattern = [h for h in handlers if h.pattern is not None]
    catch_all = [h for h in handlers if h.pattern is None]
    assert len(catch_all) == 1 and handlers[-1] is catch_all[0]  # stale buttons, after all the others
    def prefixes(h: CallbackQueryHandler) -> list[str]:
        return re.findall(r"\^(\w+)", h.pattern.pattern)

    assert {p for h in with_pattern for p in prefixes(h)} == set(PREFIXES)  # declared = handled
    # Data of one prefix is taken only by that prefix's handlers.
    for prefix in PREFIXES:
        data = {"cn": "cn", "rl": "rl:ok:0123abcd"}.get(prefix, f"{prefix}:R")
        takers = [h for h in with_pattern if re.match(h.pattern, data)]
        assert takers and all(prefix in prefixes(h) for h in takers), (prefix, [prefixes(h) for h in takers])


def test_an_undeclared_prefix_is_refused() -> None:
    assert pattern("a") == "^a:"
    with pytest.raises(KeyError, match="not declared"):
        pattern("zz")


# -- the classes: pack/parse round trip, no collisions, the 64-byte limit, malformed data ------------

REF40 = "r" * 40
EXAMPLES: list[CallbackData] = [
    OpenEntry("x"), OpenEntry(REF40), OpenEntry("muc-tieu~0123abcd"),
    ListPage("t"), ListPage("S"), ListPage("s", 0, "sec-1"), ListPage("r", 12, "ket nap"),
    ListPage("d", 9999, "a" * 46),
    Example(0), Example(999),
    FollowTarget("x"), FollowTarget(REF40),
    Chart("t-1"), Chart(REF40),
    PickTarget("t-1"), PickTarget(REF40),
    ConfirmValue("t-1", "0", 1), ConfirmValue(REF40, "12.5", 366), ConfirmValue("t", "1000000", 60),
    CancelValue(),
    ReloadChoice(True, "0123abcd"), ReloadChoice(False, "ffffffff"),
    SubscribeMenu("R"), SubscribeMenu("T"), SubscribeMenu("S"),
    SubscribeStep("a"), SubscribeStep("t", REF40), SubscribeStep("t", REF40, "m", 28, 23),
    SubscribeStep("s", "sec", "w"), SubscribeStep("s", "sec", "w", 0), SubscribeStep("t", "x", "w", 6, 0),
    EditSubscription(1), EditSubscription(999_999_999_999, "m", 1, 23), EditSubscription(7, "w"),
    CancelSubscription(1), CancelSubscription(None), CancelSubscription(999_999_999_999),
]
WIRE = {  # today's strings: buttons already in chats keep working
    OpenEntry("x"): "a:x", ListPage("t"): "l:t:0:", ListPage("r", 12, "ket nap"): "l:r:12:ket nap",
    Example(3): "q:3", FollowTarget("x"): "sub:x", Chart("t-1"): "g:t-1", PickTarget("t-1"): "cp:t-1",
    ConfirmValue("t-1", "12.5", 60): "cy:t-1:12.5:60", CancelValue(): "cn",
    ReloadChoice(True, "0123abcd"): "rl:ok:0123abcd", ReloadChoice(False, "0123abcd"): "rl:no:0123abcd",
    SubscribeMenu("R"): "f:R", SubscribeStep("a"): "f:a:", SubscribeStep("t", "x"): "f:t:x",
    SubscribeStep("t", "x", "w"): "f:t:x:w", SubscribeStep("s", "x", "m", 28, 23): "f:s:x:m28:23",
    EditSubscription(5): "e:5", EditSubscription(5, "w", 0, 7): "e:5:w0:7",
    CancelSubscription(5): "x:5", CancelSubscription(None): "x:all",
}


def test_every_kind_has_examples() -> None:
    assert {type(e) for e in EXAMPLES} == set(KINDS)
    assert set(PREFIXES) == {k.prefix for k in KINDS}


@pytest.mark.parametrize("data", EXAMPLES, ids=repr)
def test_pack_then_parse_gives_it_back_under_its_own_class_only(data: CallbackData) -> None:
    packed = data.pack()
    assert 1 <= len(packed.encode()) <= MAX_DATA
    assert type(data).parse(packed) == data
    assert re.match(type(data).pattern(), packed)
    others = [k for k in KINDS if k is not type(data)]
    assert [k for k in others if k.parse(packed) is not None] == []
    assert [k for k in others if re.match(k.pattern(), packed)] == []
    assert parse_any(packed) == data


@pytest.mark.parametrize(("data", "wire"), WIRE.items(), ids=repr)
def test_the_wire_format_is_unchanged(data: CallbackData, wire: str) -> None:
    assert data.pack() == wire
    assert type(data).parse(wire) == data


@pytest.mark.parametrize("data", [
    OpenEntry("r" * 63), ListPage("d", 1, "a" * 60), ConfirmValue(REF40, "1" * 30, 1),
    SubscribeStep("t", "é" * 31), FollowTarget("x" * 61),
], ids=repr)
def test_over_64_bytes_is_refused(data: CallbackData) -> None:
    assert not data.fits()
    with pytest.raises(ValueError, match="1-64 bytes"):
        data.pack()


@pytest.mark.parametrize("data", [
    Example(-1), ListPage("x"), ListPage("t", 10_000), ConfirmValue("a:b", "1", 1), ConfirmValue("t", "1e5", 1),
    ReloadChoice(True, "XYZ"), SubscribeMenu("Q"), SubscribeStep("z"), SubscribeStep("t", "a:b"),
    SubscribeStep("t", "x", "", 3), EditSubscription(-1), CancelSubscription(-2), OpenEntry(""),
], ids=repr)
def test_what_would_not_parse_back_is_refused(data: CallbackData) -> None:
    with pytest.raises(ValueError, match="parse back"):
        data.pack()


@pytest.mark.parametrize(("kind", "data"), [
    (OpenEntry, "a:"), (OpenEntry, "sub:x"), (OpenEntry, ""), (OpenEntry, None),
    (ListPage, "l:t:abc:"), (ListPage, "l:x:0:"), (ListPage, "l:t:12345:"), (ListPage, "l:t"), (ListPage, "garbage"),
    (Example, "q:"), (Example, "q:x"), (Example, "q:1:2"), (Example, "q:1234"), (Example, "q:²"), (Example, "q:-1"),
    (FollowTarget, "sub:"), (Chart, "g:"), (Chart, "cp:x"), (PickTarget, "cp:"),
    (ConfirmValue, "cy:t:1"), (ConfirmValue, "cy:t:x:1"), (ConfirmValue, "cy:t:1:1:1"), (ConfirmValue, "cy::1:1"),
    (ConfirmValue, "cy:t:1.:1"), (ConfirmValue, "cy:t:1:1234"), (CancelValue, "cn:"), (CancelValue, "cny"),
    (ReloadChoice, "rl:ok:0123abc"), (ReloadChoice, "rl:yes:0123abcd"), (ReloadChoice, "rl:ok:0123abcd:x"),
    (SubscribeMenu, "f:X"), (SubscribeMenu, "f:RT"), (SubscribeMenu, "f:R:"),
    (SubscribeStep, "f:R"), (SubscribeStep, "f:t"), (SubscribeStep, "f:t:x:y"), (SubscribeStep, "f:t:x:w1:2:3"),
    (SubscribeStep, "f:t:x:w123"), (SubscribeStep, "f:t:x:w1:123"), (SubscribeStep, "f:t:x:m1:h"),
    (EditSubscription, "e:"), (EditSubscription, "e:x"), (EditSubscription, "e:1234567890123"),
    (EditSubscription, "e:1:w1:2:3"), (CancelSubscription, "x:"), (CancelSubscription, "x:al"),
    (CancelSubscription, "x:1:2"), (CancelSubscription, "x:1234567890123"),
])
def test_malformed_data_parses_to_none(kind: type[CallbackData], data: str | None) -> None:
    assert kind.parse(data) is None
