"""Shared pytest fixtures."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

# Make ``tests.emulator`` importable also when pytest is started as ``.venv/bin/pytest``
# (``python -m pytest`` already puts the project root on sys.path).
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.emulator import Emulator  # noqa: E402

# -- xdist: `-n auto` and the scheduling ---------------------------------------------------------


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than the CPUs. Many tests spend part of their time waiting (on a
    `python -m bot` child, the emulator, a reminder tick), so a spare worker keeps the cores busy
    (on 2 cores: ~41-48 s with 3 workers, ~45-49 s with 2). PYTEST_XDIST_AUTO_NUM_WORKERS wins."""
    env = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if env and env.isdigit():
        return int(env)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cpus + 1


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """With -n and no --dist: `worksteal`, so a worker that ends its share early takes tests from
    the other's queue instead of idling behind one long test (the kill -9 test takes ~8 s)."""
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", None) == "no":
        config.option.dist = "worksteal"


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """A started Telegram Bot API emulator; fails the test at teardown on API violations.

    Set ``emulator.expect_violations = True`` in tests that provoke violations on purpose.
    """
    emu = Emulator()
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()
    if emu.violations and not emu.expect_violations:
        pytest.fail(
            f"{len(emu.violations)} Telegram Bot API violation(s):\n{emu.format_violations()}",
            pytrace=False,
        )


# --------------------------------------------------------------------------------------
# Telegram application harness (for tests/test_telegram_*.py)
# --------------------------------------------------------------------------------------

from collections.abc import Callable  # noqa: E402
from contextlib import AbstractAsyncContextManager, asynccontextmanager  # noqa: E402
from typing import Any  # noqa: E402

REPORT = Path(_ROOT).parent / "shared" / "source" / "000_ffa3f5d343d508a7.txt"


def build_full_engine() -> Any:
    """The engine over the real `knowledge/` with the report's sentences (as the bot runs)."""
    from bot.knowledge.base import load_base
    from bot.services.loading import build_engine

    engine, _ = build_engine(load_base(Path(_ROOT) / "knowledge"), REPORT)
    return engine


@pytest.fixture(scope="session")
def kb() -> Any:
    """The real `knowledge/` base, loaded once per session (immutable: do not mutate)."""
    from bot.knowledge.base import load_base

    return load_base(Path(_ROOT) / "knowledge")


@pytest_asyncio.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Any]:
    """A fresh SQLite storage in the test's own folder."""
    from bot.services.storage import Storage

    async with Storage(tmp_path / "bot.sqlite3") as st:
        yield st


@pytest.fixture(scope="session")
def kb_engine() -> Any:
    """The matching engine over the real `knowledge/` and the report (loaded once per session; do
    not mutate)."""
    return build_full_engine()


class BotHarness:
    """A running Application wired to the emulator, with helpers to talk to it."""

    def __init__(self, emulator: Emulator, application: Any, answers: Any) -> None:
        self.emu = emulator
        self.app = application
        self.answers = answers

    async def say(self, chat_id: int, text: str, n: int = 1, timeout: float = 15.0, **kwargs: Any) -> list[dict]:
        """Inject a message and return the next ``n`` messages the bot delivers to ``chat_id``."""
        before = len(self.emu.sent_messages(chat_id))
        self.emu.inject_message(chat_id, text, **kwargs)
        sent = await self.emu.wait_for_messages(chat_id, before + n, timeout)
        return sent[before:]

    async def press(self, chat_id: int, message_id: int, data: str, n: int = 1, timeout: float = 15.0,
                    **kwargs: Any) -> list[dict]:
        """Press a button; wait for the callback answer and ``n`` new messages (0: none expected)."""
        before = len(self.emu.sent_messages(chat_id))
        answered = len(self.emu.callback_answers)
        self.emu.inject_callback(chat_id, message_id, data, **kwargs)
        await self.emu.wait_for(lambda: len(self.emu.callback_answers) > answered, timeout)
        sent = await self.emu.wait_for_messages(chat_id, before + n, timeout)
        return sent[before:]

    async def quiet(self, chat_id: int, text: str | None = None, timeout: float = 15.0,
                    probe_user: int | None = None, **kwargs: Any) -> list[dict]:
        """Inject a message (if any), then a /help probe (a chat's updates are handled in order) by
        ``probe_user`` (default: the same sender); return what the bot delivered in between, the
        probe's reply excluded (expected: nothing)."""
        before = len(self.emu.sent_messages(chat_id))
        if text is not None:
            self.emu.inject_message(chat_id, text, **kwargs)
        probe_kwargs = {k: v for k, v in kwargs.items() if k in ("user_id", "chat_type")}
        if probe_user is not None:
            probe_kwargs["user_id"] = probe_user
        self.emu.inject_command(chat_id, "/help", **probe_kwargs)

        def probe_answered() -> bool:
            return any(m.get("text", "").startswith(HELP_MARK) for m in self.emu.sent_messages(chat_id)[before:])

        await self.emu.wait_for(probe_answered, timeout)
        new = self.emu.sent_messages(chat_id)[before:]
        return [m for m in new if not m.get("text", "").startswith(HELP_MARK)]


HELP_MARK = "Tôi có thể giúp gì?"


@pytest.fixture
def telegram_bot(emulator: Emulator, kb_engine: Any,
                 tmp_path: Path) -> Callable[..., AbstractAsyncContextManager[BotHarness]]:
    """Factory: ``async with telegram_bot(**settings) as bot:`` runs the real Application against
    the emulator (temp SQLite, real knowledge base, rate limiter off and the engine in-process
    unless asked, fast retries). ``extra_handlers`` goes to ``build_application`` (e.g. the
    reminders/progress/admin ``install``); ``engine`` replaces the session's engine (a base the
    test edited). Successive apps in one test share the SQLite file."""
    from bot.services.answers import AnswerService
    from bot.settings import load_settings
    from bot.transports.telegram.app import build_application, running

    @asynccontextmanager
    async def start(*, extra_handlers: Callable[[Any], None] | None = None, engine: Any = None,
                    **overrides: Any) -> Any:
        values: dict[str, Any] = {
            "telegram_bot_token": emulator.token,
            "telegram_api_base_url": emulator.bot_base_url,
            "telegram_file_base_url": emulator.file_base_url,
            "database_path": tmp_path / "bot.sqlite3",
            "knowledge_dir": Path(_ROOT) / "knowledge",
            "access_policy": "open",
            "allowed_ids": "",
            "admin_ids": "",
            "rate_limiter": False,
            "engine_workers": 0,
            # Tests press buttons faster than any person: the per-user limit has its own tests.
            "user_rate_burst": 1000,
        }
        values.update(overrides)
        settings = load_settings(env_file=None, **values)
        answers = AnswerService(engine or kb_engine, workers=settings.engine_workers)
        application = build_application(settings, answers, retry_backoff=0.05, retry_max_backoff=0.2,
                                        extra_handlers=extra_handlers)
        async with running(application, poll_interval=0.0, timeout=5):
            yield BotHarness(emulator, application, answers)

    return start


# -- the reliability table (docs/benchmarks.md) ------------------------------------------------------

RELIABILITY_OUT = "RELIABILITY_OUT"  # a JSON-lines file: each fault test adds its figures (make reliability)


@pytest.fixture
def reliability() -> Callable[..., None]:
    """``reliability(fault, sent=…, delivered=…, lost=…, duplicated=…)``: the figures a fault test
    measured, appended to $RELIABILITY_OUT when set (``make reliability`` prints them as a table).
    The test asserts on the same figures, so the table shows what the suite enforces."""
    def record(fault: str, *, sent: int, delivered: int, lost: int, duplicated: int, note: str = "") -> None:
        out = os.environ.get(RELIABILITY_OUT)
        if out:
            with open(out, "a", encoding="utf-8") as f:
                f.write(json.dumps({"fault": fault, "sent": sent, "delivered": delivered, "lost": lost,
                                    "duplicated": duplicated, "note": note}, ensure_ascii=False) + "\n")

    return record
