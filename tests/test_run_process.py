"""`python -m bot run` as a process, as a service manager starts it: long polling, and the webhook mode
(WEBHOOK_URL, PTB's run_webhook) behind a reverse proxy; both answer against the emulator and stop
cleanly (exit 0, no traceback) on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.emulator import Emulator
from tests.test_cli_operations import REPORT, ROOT, SETTINGS_VARS

QUESTION = "Năm 2023 kết nạp bao nhiêu đảng viên mới?"
SECRET = "s3cret-Token_1"
WEBHOOK_URL = "https://bot.example.org/tg/hook"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_bot(emulator: Emulator, tmp_path: Path, **extra: str) -> tuple[asyncio.subprocess.Process, Path]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    env.update({
        "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": emulator.token or "", "ADMIN_IDS": "1",
        "TELEGRAM_API_BASE_URL": emulator.bot_base_url, "TELEGRAM_FILE_BASE_URL": emulator.file_base_url,
        "KNOWLEDGE_DIR": str(ROOT / "knowledge"), "REPORT_PATH": str(REPORT), "ENGINE_WORKERS": "0",
        "DATABASE_PATH": str(tmp_path / "data" / "bot.sqlite3"), "RATE_LIMITER": "false", **extra,
    })
    log = tmp_path / "bot.log"
    with log.open("w") as out:  # a file, not a pipe: nothing to drain while the test waits
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                                                    stdout=out, stderr=out)
    return proc, log


async def stop_bot(proc: asyncio.subprocess.Process, log: Path) -> str:
    proc.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(proc.wait(), 30)
    text = log.read_text(encoding="utf-8")
    assert code == 0, text
    assert "Traceback" not in text, text
    return text


async def alive(proc: asyncio.subprocess.Process, log: Path, waiting: asyncio.Future | asyncio.Task) -> None:
    """Wait for `waiting`, failing at once (with the bot's log) if the bot exits first."""
    exited = asyncio.ensure_future(proc.wait())
    done, _ = await asyncio.wait({exited, waiting}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if waiting not in done:
        exited.cancel()
        waiting.cancel()
        pytest.fail(f"the bot stopped or hung (exit {proc.returncode}):\n{log.read_text(encoding='utf-8')}")
    exited.cancel()
    waiting.result()


async def test_polling_process_answers_and_stops_on_sigterm(emulator: Emulator, tmp_path: Path) -> None:
    proc, log = await start_bot(emulator, tmp_path)
    try:
        emulator.inject_message(555, QUESTION)
        await alive(proc, log, asyncio.ensure_future(emulator.wait_for_messages(555, 1, timeout=60)))
        [reply] = emulator.sent_messages(555)
        assert "3.482 đảng viên mới" in reply["text"]
    finally:
        if proc.returncode is None:
            text = await stop_bot(proc, log)
    assert "starting long polling" in text


def post(url: str, update: dict, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, data=json.dumps(update).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


async def deliver(url: str, update: dict, secret: str | None, proc: asyncio.subprocess.Process) -> int:
    """POST an update as Telegram would; until the server listens, connecting is refused: retry
    (waiting on the server's state, bounded by the bot staying alive and a deadline)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        try:
            return await asyncio.to_thread(post, url, update, secret)
        except urllib.error.URLError:
            if proc.returncode is not None or loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)


async def test_webhook_process_answers_updates_posted_to_it(emulator: Emulator, tmp_path: Path) -> None:
    port = free_port()
    proc, log = await start_bot(emulator, tmp_path, WEBHOOK_URL=WEBHOOK_URL, WEBHOOK_LISTEN="127.0.0.1",
                                WEBHOOK_PORT=str(port), WEBHOOK_SECRET=SECRET)
    local = f"http://127.0.0.1:{port}/tg/hook"
    try:
        await alive(proc, log, asyncio.ensure_future(emulator.wait_for_requests("setWebhook", 1, timeout=60)))
        [(_, params)] = [(m, p) for m, p in emulator.requests if m == "setWebhook"]
        assert params["url"] == WEBHOOK_URL and params["secret_token"] == SECRET
        assert emulator.calls("getUpdates") == []  # no polling in webhook mode
        # Telegram's post without the secret (someone else's) is refused; with it, answered.
        stranger = emulator.inject_message(556, "/start")
        assert await deliver(local, stranger, "wrong-secret", proc) == 403
        assert await deliver(local, emulator.inject_message(555, QUESTION), SECRET, proc) == 200
        await alive(proc, log, asyncio.ensure_future(emulator.wait_for_messages(555, 1, timeout=60)))
        assert "3.482 đảng viên mới" in emulator.sent_messages(555)[0]["text"]
        assert emulator.sent_messages(556) == []
    finally:
        if proc.returncode is None:
            text = await stop_bot(proc, log)
    assert f"starting the webhook server on 127.0.0.1:{port}/tg/hook" in text
    assert SECRET not in text  # redacted from the log like the token
