"""TEMPORARY: the conftest telegram_bot factory with extra_handlers (until conftest can be edited)."""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _ROOT, BotHarness


@pytest.fixture
def telegram_bot(emulator, kb_engine, tmp_path: Path):
    from bot.services.answers import AnswerService
    from bot.settings import load_settings
    from bot.transports.telegram.app import build_application, running

    @asynccontextmanager
    async def start(*, extra_handlers: Any = None, **overrides: Any) -> Any:
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
        }
        values.update(overrides)
        settings = load_settings(env_file=None, **values)
        answers = AnswerService(kb_engine, workers=settings.engine_workers)
        application = build_application(settings, answers, retry_backoff=0.05, extra_handlers=extra_handlers)
        async with running(application, poll_interval=0.0, timeout=5):
            yield BotHarness(emulator, application, answers)

    return start
