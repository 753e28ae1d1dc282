"""End to end: long replies, forged buttons, 429/5xx/4xx/403 from the API, the error handler."""

from __future__ import annotations

import logging
import time

import pytest

from bot.transports.telegram import texts
from bot.transports.telegram.formatting import TELEGRAM_LIMIT, utf16_len
from tests.emulator import Emulator
from tests.storage_helpers import get_chat
from tests.test_telegram_flows import buttons
from tests.test_telegram_reminders import until

CHAT = 9001
QUESTION = "Năm 2023 kết nạp bao nhiêu đảng viên mới?"


async def test_over_long_reply_is_split_cleanly(telegram_bot, kb_engine) -> None:
    answer = kb_engine.ask("liệt kê các văn bản")
    assert answer.status == "list" and utf16_len(answer.reply.html()) > 3 * TELEGRAM_LIMIT
    async with telegram_bot() as bot:
        parts = await bot.say(CHAT, "liệt kê các văn bản", n=4)
        parts += await bot.quiet(CHAT)  # any further parts
        assert len(parts) >= 4
        assert all(utf16_len(p["text"]) <= TELEGRAM_LIMIT for p in parts)  # the emulator checked HTML too
        assert parts[0]["text"].startswith(f"Các văn bản được báo cáo trích dẫn ({len(bot.answers.documents())})")
        joined = "\n".join(p["text"] for p in parts)
        assert joined == answer.reply.plain()  # cut only at line breaks: nothing lost or altered
        assert parts[0]["entities"][0]["type"] == "bold"


async def test_forged_and_stale_callbacks_get_a_polite_reply(telegram_bot, emulator: Emulator) -> None:
    async with telegram_bot() as bot:
        [page] = await bot.say(CHAT, "/chitieu")
        forged = ["a:khong-ton-tai", "zzz", "l:t:abc:", "l:s:0:khong-co", "q:99",
                  "sub:ket-nap-dang-vien-den-31-10-2023", "sub:", "a:" + "x" * 40]
        for data in forged:
            [reply] = await bot.press(CHAT, page["message_id"], data, check_button=False)
            assert reply["text"] == texts.STALE_BUTTON_MESSAGE
            assert emulator.callback_answers[-1]["text"] == texts.STALE_BUTTON
        assert not any(m["text"] == texts.ERROR for m in emulator.sent_messages(CHAT))


@pytest.mark.parametrize("rate_limiter", [False, True], ids=["no-throttle", "throttle"])
async def test_429_is_waited_out_and_nothing_is_lost(telegram_bot, emulator: Emulator, rate_limiter: bool) -> None:
    async with telegram_bot(rate_limiter=rate_limiter) as bot:
        emulator.fail_next("sendMessage", 429, retry_after=1)
        start = time.monotonic()
        [reply] = await bot.say(CHAT, QUESTION, timeout=5)
        assert time.monotonic() - start >= 1.0  # waited retry_after before resending
        assert "3.482" in reply["text"]
        assert [(e.method, e.status) for e in emulator.errors] == [("sendMessage", 429)]
        assert await bot.quiet(CHAT) == []  # exactly one answer


async def test_answers_keep_their_order_while_a_429_is_waited_out(telegram_bot, emulator: Emulator) -> None:
    async with telegram_bot():
        emulator.fail_next("sendMessage", 429, retry_after=1)
        emulator.inject_message(CHAT, QUESTION)
        emulator.inject_message(CHAT, "Chỉ tiêu kết nạp đảng viên năm 2024 là bao nhiêu?")
        first, second = await emulator.wait_for_messages(CHAT, 2, timeout=5)
        assert "3.482" in first["text"] and second["text"].startswith("Chỉ tiêu kết nạp đảng viên mới năm 2024")


async def test_5xx_is_retried_and_nothing_is_lost(telegram_bot, emulator: Emulator) -> None:
    async with telegram_bot() as bot:
        emulator.fail_next("sendMessage", 500, retry_after=None, count=1)
        emulator.fail_next("sendMessage", 502, retry_after=None, count=1)
        [reply] = await bot.say(CHAT, QUESTION)
        assert "3.482" in reply["text"]
        assert [(e.method, e.status) for e in emulator.errors] == [("sendMessage", 500), ("sendMessage", 502)]
        # Edits and callback answers go through the same retrying limiter.
        [page] = await bot.say(CHAT, "/chitieu")
        emulator.fail_next("editMessageText", 503, retry_after=None)
        emulator.fail_next("answerCallbackQuery", 500, retry_after=None)
        next_data = next(d for label, d in buttons(page) if label.startswith("Trang sau"))
        await bot.press(CHAT, page["message_id"], next_data, n=0)
        await emulator.wait_for(lambda: "Trang 2/" in emulator.get_message(CHAT, page["message_id"])["text"])
        assert await bot.quiet(CHAT) == []


async def test_a_4xx_is_not_retried_and_the_user_is_told(telegram_bot, emulator: Emulator, caplog) -> None:
    async with telegram_bot() as bot:
        emulator.fail_next("sendMessage", 400, retry_after=None)
        with caplog.at_level(logging.ERROR):
            [reply] = await bot.say(CHAT, QUESTION)
        assert reply["text"] == texts.ERROR
        assert emulator.request_counts["sendMessage"] == 2  # the failed answer, then the apology
        assert "exception while handling an update" in caplog.text and "BadRequest" in caplog.text


async def test_error_handler_logs_with_the_update_and_hides_internals(telegram_bot, kb_engine, monkeypatch,
                                                                      caplog) -> None:
    def boom(question: str, context: object = None):
        raise RuntimeError("internal detail: /secret/path")

    monkeypatch.setattr(kb_engine, "ask", boom)
    async with telegram_bot() as bot:
        with caplog.at_level(logging.DEBUG):
            [reply] = await bot.say(CHAT, QUESTION)
        assert reply["text"] == "Đã có lỗi xảy ra, vui lòng thử lại sau."
        record = next(r for r in caplog.records if r.getMessage().startswith("exception while handling an update"))
        assert f"message from user {CHAT} in chat {CHAT}" in record.getMessage()  # the update is in the log …
        # … and not what the user wrote (PTB's and aiosqlite's DEBUG lines would: configure_logging keeps
        # them at INFO whatever LOG_LEVEL says, see test_settings).
        leaks = [r.name for r in caplog.records if QUESTION in r.getMessage()]
        assert [n for n in leaks if not n.startswith(("telegram", "aiosqlite"))] == []
        assert record.exc_info and "internal detail" in str(record.exc_info[1])
    caplog.clear()
    async with telegram_bot(log_user_text=True):  # unless a setting asks for it
        with caplog.at_level(logging.ERROR):
            await bot.say(CHAT, QUESTION)
        assert any(QUESTION in r.getMessage() for r in caplog.records)
    async with telegram_bot() as bot:
        # A button whose handler fails: the query is answered, the user told.
        [clarify] = await bot.say(CHAT, "/start")
        [reply] = await bot.press(CHAT, clarify["message_id"], "q:0")
        assert reply["text"] == texts.ERROR


async def test_blocked_user_is_not_retried_and_chat_is_deactivated(telegram_bot, emulator: Emulator) -> None:
    async with telegram_bot() as bot:
        await bot.say(CHAT, "/start")
        emulator.block_chat(CHAT)
        emulator.inject_message(CHAT, QUESTION)
        await emulator.wait_for(lambda: emulator.status_counts[("sendMessage", 403)] >= 1)
        emulator.inject_my_chat_member(CHAT, new_status="kicked")
        storage = bot.answers.storage

        async def inactive() -> bool:
            chat = await get_chat(storage, CHAT)
            return chat is not None and not chat.active

        await until(inactive)  # the chat is deactivated
        assert emulator.status_counts[("sendMessage", 403)] == 1  # no retry, no apology attempt
        emulator.inject_my_chat_member(CHAT, new_status="member")
        [reply] = await bot.say(CHAT, QUESTION)
        assert "3.482" in reply["text"]
        assert (await get_chat(storage, CHAT)).active


# -- the limiter on its own ------------------------------------------------------------------


async def test_limiter_retries_server_errors_not_bad_requests_and_fanout_bypasses() -> None:
    from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

    from bot.transports.telegram.resilience import ResilientRateLimiter

    clock = [0.0]

    async def sleep(seconds: float) -> None:  # virtual time: the deadline is reached without waiting
        clock[0] += seconds

    limiter = ResilientRateLimiter(throttle=False, backoff=0.5, max_backoff=8.0, deadline=60.0, sleep=sleep,
                                   clock=lambda: clock[0])
    calls: list[str] = []

    def failing(errors: list[Exception]):
        async def call(*args: object, **kwargs: object) -> bool:
            calls.append("x")
            if errors:
                raise errors.pop(0)
            return True

        return call

    async def run(errors: list[Exception], rl_args: object = None) -> object:
        calls.clear()
        return await limiter.process_request(failing(errors), (), {}, "sendMessage", {"chat_id": 1}, rl_args)

    assert await run([NetworkError("Internal Server Error"), NetworkError("Bad Gateway")]) is True
    assert len(calls) == 3
    with pytest.raises(BadRequest):
        await run([BadRequest("Bad Request: chat not found")])
    assert len(calls) == 1
    with pytest.raises(NetworkError):
        await run([NetworkError("down")] * 100)
    # Retried for the deadline (60 s): 0.5, 1, 2, 4, 8, 8, … seconds apart.
    assert len(calls) == 11 and 52 <= clock[0] <= 60
    with pytest.raises(TimedOut):
        await run([TimedOut("Timed out")])  # a read timeout: it may have been sent, not retried
    assert len(calls) == 1
    # The reminder fan-out: one attempt whatever happens, no waiting (the virtual clock stands still).
    before = clock[0]
    for error in (RetryAfter(5), NetworkError("Internal Server Error")):
        with pytest.raises(type(error)):
            await run([error], {"fanout": True})
        assert len(calls) == 1
    assert clock[0] == before
    assert await run([], {"fanout": True}) is True
