"""Shared pytest fixtures."""

from __future__ import annotations

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
