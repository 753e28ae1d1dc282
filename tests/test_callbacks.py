"""Callback data: every handler's prefix is declared in one registry, no two features share one,
and a button nobody handles gets the stale-button reply (the one catch-all, last)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from telegram.ext import CallbackQueryHandler

from bot.transports.telegram.callbacks import PREFIXES, pattern
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
