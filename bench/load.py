"""Telegram load benchmark: simulated users ask questions through the Bot API emulator; the real
Application answers them.

Run: .venv/bin/python -m bench.load [--rate 300] [--duration 15] [--users 1000] [--quick]

The emulator runs in a child process (multiprocessing, spawn) so the CPU split between the bot and
the emulator is honest; the child also generates the load and timestamps it. Latency is measured
in the emulator process from the moment an update is queued for getUpdates to the moment the
bot's sendMessage for that chat arrives (every question here gets exactly one message; each chat's
answers come in order, so the n-th answer to a chat belongs to its n-th question). It therefore
includes the long-poll pickup, PTB's dispatch, the engine, the SQLite query log and the HTTP reply.

Phases (about 70 s in all; --quick halves the durations), the bot as `python -m bot run` builds it
(ENGINE_WORKERS=1: the engine in a worker process) unless said otherwise:
  1. open loop at --rate questions/s, rate limiter off;
  2. open loop at 1.5× that rate, rate limiter off (headroom);
  3. closed loop, 64 users each asking again as soon as answered (maximum throughput);
  4. the same open loop at --rate with ENGINE_WORKERS=0 (engine on the event loop), for comparison;
  5. rate limiter on (Telegram's 30 msg/s): open loop at 25/s, then a burst of --rate questions in 1 s.

The bot process's CPU includes its engine worker (children's CPU time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEV_SET = ROOT.parent / "shared" / "eval" / "dev.jsonl"
FALLBACK_QUESTIONS = [
    "Năm 2023 kết nạp bao nhiêu đảng viên mới?",
    "nam 2023 ket nap bao nhieu dang vien moi",
    "Chỉ tiêu kết nạp đảng viên năm 2024 là bao nhiêu?",
    "Có bao nhiêu tổ chức đảng bị kỷ luật?",
    "Nghị quyết 45-NQ/TW nói về gì?",
    "kiểm tra",
    "thời tiết hôm nay thế nào",
]
FIRST_CHAT = 1_000_000


# ---------------------------------------------------------------------------- emulator process


def _emulator_process(conn: Connection) -> None:
    """Child: an emulator that also generates the load and measures update-to-reply latency."""
    sys.path.insert(0, str(ROOT))
    from tests.emulator import Emulator

    class LoadEmulator(Emulator):
        def __init__(self) -> None:
            super().__init__(record=False)
            self.pending: defaultdict[int, deque[float]] = defaultdict(deque)
            self.latencies: list[float] = []
            self.unexpected = 0
            self.last_reply = 0.0
            self.closed_until = 0.0
            self.questions: list[str] = []
            self.asked = 0

        def ask(self, chat_id: int) -> None:
            self.pending[chat_id].append(time.perf_counter())
            self.inject_message(chat_id, self.questions[self.asked % len(self.questions)])
            self.asked += 1

        def _h_send_message(self, params: dict[str, Any]) -> dict[str, Any]:
            msg = super()._h_send_message(params)
            now = time.perf_counter()
            queue = self.pending.get(msg["chat"]["id"])
            if queue:
                self.latencies.append(now - queue.popleft())
                self.last_reply = now
                if now < self.closed_until:
                    self.ask(msg["chat"]["id"])
            else:
                self.unexpected += 1
            return msg

        def reset(self, questions: list[str]) -> None:
            self.pending.clear()
            self.latencies = []
            self.unexpected = 0
            self.asked = 0
            self.questions = questions
            self.closed_until = 0.0

        def outstanding(self) -> int:
            return sum(len(q) for q in self.pending.values())

        async def drain(self, seconds: float) -> None:
            deadline = time.perf_counter() + seconds
            while self.outstanding() and time.perf_counter() < deadline:
                await asyncio.sleep(0.01)

        def result(self, t0: float, cpu0: float) -> dict[str, Any]:
            return {
                "asked": self.asked, "answered": len(self.latencies), "dropped": self.outstanding(),
                "unexpected": self.unexpected, "span": (self.last_reply or time.perf_counter()) - t0,
                "latencies": self.latencies, "cpu": time.process_time() - cpu0,
            }

        async def open_loop(self, questions: list[str], users: int, rate: float, seconds: float,
                            drain: float) -> dict[str, Any]:
            self.reset(questions)
            total = max(1, int(rate * seconds))
            cpu0, t0 = time.process_time(), time.perf_counter()
            chat = 0
            while self.asked < total:
                due = min(total, int((time.perf_counter() - t0) * rate) + 1)
                while self.asked < due:
                    self.ask(FIRST_CHAT + chat % users)
                    chat += 1
                await asyncio.sleep(0.002)
            await self.drain(drain)
            return self.result(t0, cpu0)

        async def closed_loop(self, questions: list[str], users: int, seconds: float,
                              drain: float) -> dict[str, Any]:
            self.reset(questions)
            cpu0, t0 = time.process_time(), time.perf_counter()
            self.closed_until = t0 + seconds
            for i in range(users):
                self.ask(FIRST_CHAT + i)
            await asyncio.sleep(seconds)
            await self.drain(drain)
            return self.result(t0, cpu0)

    async def main() -> None:
        emu = LoadEmulator()
        await emu.start()
        conn.send((emu.port, emu.token))
        loop = asyncio.get_running_loop()
        while True:
            command, kwargs = await loop.run_in_executor(None, conn.recv)
            if command == "stop":
                break
            conn.send(await getattr(emu, command)(**kwargs))
        await emu.stop()

    asyncio.run(main())


# ---------------------------------------------------------------------------- bot process


def machine() -> str:
    """CPU model, cores, Python."""
    cpuinfo = Path("/proc/cpuinfo")
    model = platform.processor() or "unknown CPU"
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), model)
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def question_pool(engine: Any) -> list[str]:
    """Dev-set questions whose answer fits one message (so one question = one reply)."""
    questions = FALLBACK_QUESTIONS
    if DEV_SET.exists():
        questions = [json.loads(line)["q"] for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    from bot.transports.telegram.formatting import split_html

    return [q for q in questions if len(split_html(engine.ask(q).reply.html())) == 1]


def summarize(name: str, offered: str, res: dict[str, Any], bot_cpu: float) -> dict[str, Any]:
    """One row of the report."""
    lat = sorted(res["latencies"])
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else [lat[0] if lat else 0.0] * 99
    span = max(res["span"], 1e-9)
    return {
        "phase": name, "offered": offered, "asked": res["asked"], "answered": res["answered"],
        "dropped": res["dropped"] + res["unexpected"], "per_s": res["answered"] / span,
        "p50": q[49] * 1000, "p99": q[98] * 1000, "max": (lat[-1] if lat else 0.0) * 1000,
        "bot_cpu": bot_cpu / span * 100, "emu_cpu": res["cpu"] / span * 100,
    }


async def run_phases(conn: Connection, port: int, token: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run every phase against a fresh Application per limiter setting."""
    from bot.engine.engine import Engine
    from bot.knowledge.base import load_base
    from bot.services.answers import AnswerService
    from bot.settings import load_settings
    from bot.transports.telegram.app import POLL_INTERVAL, build_application, running

    engine = Engine(load_base(ROOT / "knowledge"))
    questions = question_pool(engine)
    loop = asyncio.get_running_loop()
    scale = 0.5 if args.quick else 1.0
    rows = []

    async def remote(command: str, **kwargs: Any) -> dict[str, Any]:
        def roundtrip() -> dict[str, Any]:
            conn.send((command, kwargs))
            return conn.recv()

        return await loop.run_in_executor(None, roundtrip)

    def cpu() -> float:
        # This process (incl. its SQLite thread) plus its engine worker processes.
        return time.process_time() + sum(worker_cpu(p) for p in mp.active_children() if p.name != "emulator")

    async def phase(name: str, offered: str, command: str, **kwargs: Any) -> None:
        if args.only and args.only not in name:
            return
        cpu0 = cpu()
        res = await remote(command, questions=questions, **kwargs)
        row = summarize(name, offered, res, cpu() - cpu0)
        rows.append(row)
        print(format_row(row), flush=True)

    base = f"http://127.0.0.1:{port}"
    poll = POLL_INTERVAL if args.poll_interval is None else args.poll_interval
    print(f"machine: {machine()}; {len(questions)} distinct questions; {args.users} users; "
          f"poll interval {poll:g} s\n{HEADER}", flush=True)
    for config in ("worker", "in-process", "limiter"):
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                env_file=None, telegram_bot_token=token, telegram_api_base_url=f"{base}/bot",
                telegram_file_base_url=f"{base}/file/bot", database_path=Path(tmp) / "bench.sqlite3",
                access_policy="open", allowed_ids="", admin_ids="", rate_limiter=config == "limiter",
                engine_workers=0 if config == "in-process" else 1, log_level="WARNING",
            )
            app = build_application(settings, AnswerService(engine, workers=settings.engine_workers))
            async with running(app, poll_interval=poll, timeout=10):
                await remote("open_loop", questions=questions, users=args.users, rate=50, seconds=1, drain=5)
                if config == "worker":
                    await phase("open loop", f"{args.rate:g}/s", "open_loop", users=args.users, rate=args.rate,
                                seconds=args.duration * scale, drain=15)
                    await phase("open loop", f"{1.5 * args.rate:g}/s", "open_loop", users=args.users,
                                rate=1.5 * args.rate, seconds=10 * scale, drain=15)
                    await phase("closed loop", "64 users", "closed_loop", users=64, seconds=10 * scale, drain=15)
                elif config == "in-process":
                    await phase("engine in-process", f"{args.rate:g}/s", "open_loop", users=args.users,
                                rate=args.rate, seconds=10 * scale, drain=15)
                else:
                    await phase("limiter on, open loop", "25/s", "open_loop", users=args.users, rate=25,
                                seconds=8 * scale, drain=15)
                    await phase("limiter on, burst", f"{args.rate:g} in 1 s", "open_loop", users=args.users,
                                rate=args.rate, seconds=1, drain=30)
    return rows


def worker_cpu(process: Any) -> float:
    """User+system CPU seconds of a live child process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


HEADER = (f"{'phase':<22} {'offered':>12} {'asked':>6} {'answered':>8} {'dropped':>7} {'answered/s':>10} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'bot CPU':>8} {'emu CPU':>8}")


def format_row(r: dict[str, Any]) -> str:
    """A line of the printed table."""
    return (f"{r['phase']:<22} {r['offered']:>12} {r['asked']:>6} {r['answered']:>8} {r['dropped']:>7} "
            f"{r['per_s']:>10.1f} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['max']:>8.1f} "
            f"{r['bot_cpu']:>7.0f}% {r['emu_cpu']:>7.0f}%")


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table for docs/benchmarks.md."""
    out = ["| phase | offered | asked | answered | dropped | answered/s | p50 ms | p99 ms | max ms | bot CPU"
           " | emulator CPU |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['phase']} | {r['offered']} | {r['asked']} | {r['answered']} | {r['dropped']} | "
                   f"{r['per_s']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | "
                   f"{r['bot_cpu']:.0f}% | {r['emu_cpu']:.0f}% |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Start the emulator process, run the phases, print the table (and markdown with --markdown)."""
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=300, help="offered questions per second (default 300)")
    p.add_argument("--duration", type=float, default=15, help="seconds of the main phase (default 15)")
    p.add_argument("--users", type=int, default=1000, help="distinct simulated users (default 1000)")
    p.add_argument("--quick", action="store_true", help="halve the phase durations")
    p.add_argument("--poll-interval", type=float, default=None,
                   help="seconds between getUpdates calls (default: the bot's POLL_INTERVAL, 0.01)")
    p.add_argument("--only", help="run only phases whose name contains this")
    p.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    args = p.parse_args(argv)

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_emulator_process, args=(child,), daemon=True, name="emulator")
    proc.start()
    try:
        port, token = parent.recv()
        rows = asyncio.run(run_phases(parent, port, token, args))
    finally:
        parent.send(("stop", {}))
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
    print("\nCPU: share of one core during the phase (bot = this process incl. its SQLite thread and "
          "its engine worker; emulator = the child, incl. load generation).")
    if args.markdown:
        print("\n" + markdown(rows))
    lost = sum(r["dropped"] for r in rows)
    print(f"dropped or unmatched: {lost}")
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
