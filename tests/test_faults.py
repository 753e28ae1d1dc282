"""Fault tests (issue 10): the real Application against the Bot API emulator, on loopback, with the
network cut by a TCP proxy (:mod:`tests.netproxy`) or faults injected by the emulator. Each test is
bounded in time and waits on state (the ledger, what the emulator delivered), never on a duration.

Every test counts, per fault: sent (what the bot had to deliver), delivered (what reached the
emulator), lost and duplicated; docs/benchmarks.md's reliability table reports the same counts.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.transports.telegram.reminders import runtime_of
from tests.emulator import Emulator
from tests.netproxy import NetProxy
from tests.test_telegram_reminders import REMINDER, FakeClock, add_subscribers, features, settle, until

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY_7 = datetime(2024, 2, 12, 7, 0, tzinfo=TZ)  # Monday-08:00 reminders not yet due
MONDAY_8 = datetime(2024, 2, 12, 8, 0, 1, tzinfo=TZ)
# Fast pacing and a short breaker so a fan-out of hundreds takes a second, not minutes.
FAST = {"reminder_rate": 1000, "reminder_per_chat_interval": 0}
BREAKER = {"backoff": 0.005, "max_backoff": 0.05}


def reminder_counts(emulator: Emulator, chats: list[int]) -> Counter[int]:
    """How many reminders each chat received."""
    wanted = set(chats)
    return Counter(m["chat"]["id"] for m in emulator.sent_messages()
                   if m["chat"]["id"] in wanted and m.get("text", "").startswith(REMINDER))


def tally(emulator: Emulator, chats: list[int]) -> dict[str, int]:
    """sent / delivered / lost / duplicated for one reminder per chat."""
    got = reminder_counts(emulator, chats)
    return {"sent": len(chats), "delivered": sum(got.values()),
            "lost": sum(1 for c in chats if got[c] == 0), "duplicated": sum(n - 1 for n in got.values() if n > 1)}


async def ledger(storage: Any, period: str = "2024-W07") -> dict[str, int]:
    return await storage.ledger_counts(period)


async def test_network_outage_during_a_600_reminder_fanout(telegram_bot, emulator: Emulator) -> None:
    """The network drops a third of the way through a fan-out and stays down while the rest is
    tried; once it is back every reminder arrives exactly once."""
    proxy = await NetProxy(emulator.port).start()
    clock = FakeClock(MONDAY_7)
    chats = list(range(100_001, 100_601))
    try:
        async with telegram_bot(extra_handlers=features(clock, **BREAKER), telegram_api_base_url=proxy.bot_base_url,
                                telegram_file_base_url=proxy.file_base_url, **FAST) as bot:
            storage = bot.answers.storage
            runtime = runtime_of(bot.app)
            await add_subscribers(bot, chats, clock)
            await settle(bot)
            clock.set(MONDAY_8)
            await until(lambda: sum(reminder_counts(emulator, chats).values()) >= 200, timeout=20)
            await proxy.cut()
            # Down: sends fail (connection refused), the breaker holds the fan-out to one probe at
            # a time and what is not taken goes back to the ledger as 'retry'.
            trips = runtime.service.pacer.trips
            await until(lambda: runtime.service.pacer.trips >= trips + 12, timeout=20)

            async def some_deferred() -> bool:
                return (await ledger(storage))["retry"] > 0

            await until(some_deferred, timeout=20)
            delivered_during = sum(reminder_counts(emulator, chats).values())
            await proxy.restore()
            clock.set(datetime(2024, 2, 12, 9, 0, tzinfo=TZ))  # an hour later: every retry is due

            async def all_sent() -> bool:
                return (await ledger(storage))["sent"] == len(chats)

            await until(all_sent, timeout=30)
            counts = await ledger(storage)
            assert counts == {"sending": 0, "sent": 600, "failed": 0, "deactivated": 0, "retry": 0, "uncertain": 0}
            assert 200 <= delivered_during < 600
            assert tally(emulator, chats) == {"sent": 600, "delivered": 600, "lost": 0, "duplicated": 0}
            await settle(bot, 2)
            assert tally(emulator, chats)["delivered"] == 600  # and nothing more afterwards
    finally:
        await proxy.stop()


async def test_5xx_storm_every_reminder_arrives_once(telegram_bot, emulator: Emulator) -> None:
    """70% of sends answered 502/500 while the fan-out runs: retried until taken, none twice."""
    clock = FakeClock(MONDAY_7)
    chats = list(range(110_001, 110_201))
    async with telegram_bot(extra_handlers=features(clock, **BREAKER), **FAST) as bot:
        storage = bot.answers.storage
        await add_subscribers(bot, chats, clock)
        await settle(bot)
        emulator.set_fault_rate("sendMessage", 502, 0.7, seed=3)
        clock.set(MONDAY_8)

        def errors() -> int:
            return sum(1 for e in emulator.errors if e.status == 502)

        async def storm_hit() -> bool:
            return errors() >= 100 and (await ledger(storage))["retry"] > 0

        await until(storm_hit, timeout=20)
        emulator.set_fault_rate("sendMessage", 502, 0)
        clock.set(datetime(2024, 2, 12, 9, 0, tzinfo=TZ))

        async def all_sent() -> bool:
            return (await ledger(storage))["sent"] == len(chats)

        await until(all_sent, timeout=30)
        assert tally(emulator, chats) == {"sent": 200, "delivered": 200, "lost": 0, "duplicated": 0}
