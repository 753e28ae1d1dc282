"""Fan-out benchmark: N subscribers through the Bot API emulator, with injected 429s and 403s.

Run: .venv/bin/python -m bench.fanout [--subscribers 10000] [--rate 200] [--p429 0.05] [--p403 0.01]

It prints the duration, messages per second against the configured rate, and the ledger's counts:
sent + deactivated + failed must equal the subscribers, and no chat may receive two reminders.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.knowledge.base import load_base
from bot.services.reminders import ReminderService
from bot.services.storage import Storage
from bot.transports.telegram.sender import make_sender
from tests.emulator import Emulator
from tests.storage_helpers import ledger_counts

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


async def run(n: int, rate: float, p429: float, p403: float, seed: int) -> int:
    kb = load_base(Path("knowledge"))
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        async with Emulator(record=False) as emu, Storage(Path(tmp) / "bench.sqlite3") as storage:
            chats = list(range(1_000_001, 1_000_001 + n))
            blocked = set(rng.sample(chats, int(n * p403)))
            for chat in chats:
                emu.add_chat(chat, "private")
                if chat in blocked:
                    emu.block_chat(chat)
            emu.set_fault_rate("sendMessage", 429, p429, retry_after=1, seed=seed)
            t0 = time.perf_counter()
            for chat in chats:
                await storage.add_subscription(chat, "all", "", "weekly", weekday=0, hour=8)
            setup = time.perf_counter() - t0
            bot = Bot(emu.token, base_url=emu.bot_base_url,
                      request=HTTPXRequest(connection_pool_size=64, read_timeout=30, write_timeout=30))
            svc = ReminderService(storage, lambda: kb, TZ, rate=rate, per_chat_interval=1.0, concurrency=128)
            async with bot:
                result = await svc.run_due(make_sender(bot), datetime(2024, 2, 12, 9, 0, tzinfo=TZ))
            counts = await ledger_counts(storage, "2024-W07")
            per_chat = Counter(m["chat"]["id"] for m in emu.sent_messages())
            duplicates = sum(c - 1 for c in per_chat.values() if c > 1)
            total = counts["sent"] + counts["deactivated"] + counts["failed"]
            print(f"machine: {machine()}")
            print(f"subscribers: {n}  injected: {p429:.0%} of sends answered 429 (retry_after 1 s), "
                  f"{len(blocked)} chats blocked (403)")
            print(f"setup (subscriptions written): {setup:.1f} s")
            print(f"fan-out duration: {result.duration_s:.1f} s")
            print(f"messages delivered: {len(per_chat)}  rate: {len(per_chat) / result.duration_s:.1f} msg/s "
                  f"(configured limit {rate:g} msg/s; {len(per_chat) / result.duration_s / rate:.0%} of it)")
            print(f"429s waited out: {result.flood_waits} (global pauses: {result.global_pauses}), "
                  f"transient retries: {result.retries}")
            print(f"ledger: sent {counts['sent']} + deactivated {counts['deactivated']} + failed {counts['failed']} "
                  f"= {total} (sending left: {counts['sending']})")
            print(f"duplicates: {duplicates}")
            ok = total == n and duplicates == 0 and counts["sending"] == 0 and counts["deactivated"] == len(blocked)
            print("OK" if ok else "MISMATCH")
            return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=200.0, help="configured fan-out rate, messages/s")
    ap.add_argument("--p429", type=float, default=0.05)
    ap.add_argument("--p403", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    return asyncio.run(run(a.subscribers, a.rate, a.p429, a.p403, a.seed))


if __name__ == "__main__":
    raise SystemExit(main())
