"""Tests for the loopback Telegram Bot API emulator, driven by the real PTB ``telegram.Bot``."""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
import pytest_asyncio
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from tests.emulator import Emulator, HtmlError, parse_html, utf16_len

CHAT = 4242


def _png(width: int = 4, height: int = 3) -> bytes:
    """A tiny valid PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def _keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d[:10] or "x", callback_data=d) for d in data]])


@pytest_asyncio.fixture
async def bot(emulator: Emulator) -> AsyncIterator[Bot]:
    """An initialized PTB Bot talking to the emulator."""
    async with emulator.make_bot() as b:
        yield b


# --- basics -------------------------------------------------------------------------------


async def test_get_me_and_urls(emulator: Emulator, bot: Bot) -> None:
    assert emulator.base_url.startswith("http://127.0.0.1:")
    assert emulator.bot_base_url == emulator.base_url + "/bot"
    assert emulator.file_base_url == emulator.base_url + "/file/bot"
    me = await bot.get_me()
    assert me.is_bot and me.username == emulator.bot_username == bot.username
    assert emulator.requests[0][0] == "getMe"


async def test_send_message_with_inline_keyboard(emulator: Emulator, bot: Bot) -> None:
    m1 = await bot.send_message(CHAT, "first", reply_markup=_keyboard("a", "b"))
    m2 = await bot.send_message(CHAT, "second")
    assert m2.message_id == m1.message_id + 1
    assert m1.from_user.id == bot.id and m1.chat.id == CHAT
    assert m1.reply_markup == _keyboard("a", "b")
    method, params = emulator.requests[-2]
    assert method == "sendMessage"
    # Form strings are coerced and nested JSON decoded.
    assert params["chat_id"] == CHAT
    assert params["reply_markup"]["inline_keyboard"][0][1] == {"text": "b", "callback_data": "b"}
    assert [m["text"] for m in emulator.sent_messages(CHAT)] == ["first", "second"]
    assert emulator.sent_messages() == emulator.sent_messages(CHAT)


async def test_html_is_parsed_into_entities(bot: Bot) -> None:
    msg = await bot.send_message(
        CHAT, '<b>Bold</b> &amp; <a href="https://x.org/?a=1&amp;b=2">link</a> &#128512;', parse_mode="HTML"
    )
    assert msg.text == "Bold & link \U0001f600"
    kinds = [(e.type, e.offset, e.length) for e in msg.entities]
    assert kinds == [("bold", 0, 4), ("text_link", 7, 4)]
    assert msg.entities[1].url == "https://x.org/?a=1&b=2"


def test_parse_html_unit() -> None:
    text, ents = parse_html('<pre><code class="language-py">x = 1</code></pre><tg-spoiler>s</tg-spoiler>')
    assert text == "x = 1s"
    assert ents == [
        {"type": "pre", "language": "py", "offset": 0, "length": 5},
        {"type": "spoiler", "offset": 5, "length": 1},
    ]
    assert utf16_len("\U0001f600a") == 3
    for bad in ("<b>x</i>", "</b>", "a & b", "a > b", "&nbsp;", '<span class="x">s</span>', "<br/>"):
        with pytest.raises(HtmlError):
            parse_html(bad)


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"text": "<b>unclosed", "parse_mode": ParseMode.HTML}, "can't find end tag"),
        ({"text": "<foo>bar</foo>", "parse_mode": ParseMode.HTML}, 'unsupported start tag "foo"'),
        ({"text": "1 < 2", "parse_mode": ParseMode.HTML}, 'unescaped "<"'),
        ({"text": "x" * 4097}, "message is too long"),
        ({"text": "<b>" + "x" * 4097 + "</b>", "parse_mode": ParseMode.HTML}, "message is too long"),
        ({"text": "   "}, "message text is empty"),
        ({"text": "k", "reply_markup": _keyboard("d" * 65)}, "BUTTON_DATA_INVALID"),
        ({"text": "k", "reply_markup": _keyboard("é" * 33)}, "BUTTON_DATA_INVALID"),
        ({"text": "k", "api_kwargs": {"bogus": 1}}, 'unknown parameter "bogus"'),
        ({"text": "k", "parse_mode": "Html5"}, "unsupported parse_mode"),
    ],
)
async def test_invalid_requests_are_rejected(emulator: Emulator, bot: Bot, kwargs: dict, reason: str) -> None:
    emulator.expect_violations = True
    with pytest.raises(BadRequest) as exc_info:
        await bot.send_message(CHAT, **kwargs)
    assert reason.lower() in str(exc_info.value).lower()
    [violation] = emulator.violations
    assert violation.method == "sendMessage" and reason.lower() in violation.reason.lower()
    assert emulator.sent_messages(CHAT) == []
    with pytest.raises(AssertionError, match="(?i)violation"):
        emulator.expect_violations = False
        emulator.assert_no_violations()
    emulator.expect_violations = True


async def test_limits_are_inclusive(emulator: Emulator, bot: Bot) -> None:
    await bot.send_message(CHAT, "x" * 4096)
    await bot.send_message(CHAT, "<b>" + "я" * 4096 + "</b>", parse_mode="HTML")
    await bot.send_message(CHAT, "k", reply_markup=_keyboard("é" * 32, "d" * 64))
    assert emulator.delivered_count == 3 and not emulator.violations


async def test_keyboard_without_action_and_bad_json(emulator: Emulator, bot: Bot) -> None:
    emulator.expect_violations = True
    with pytest.raises(BadRequest, match="(?i)text buttons are unallowed"):
        await bot.send_message(
            CHAT, "k", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("no action")]])
        )
    async with aiohttp.ClientSession() as session:
        url = f"{emulator.bot_base_url}{emulator.token}/sendMessage"
        async with session.post(url, data={"chat_id": "1", "text": "t", "reply_markup": "{oops"}) as resp:
            body = await resp.json()
    assert resp.status == 400 and body["ok"] is False and body["error_code"] == 400
    assert body["description"].startswith("Bad Request: ")
    assert len(emulator.violations) == 2


async def test_raw_json_get_unknown_method_and_token(emulator: Emulator, bot: Bot) -> None:
    async with aiohttp.ClientSession() as session:
        base = f"{emulator.bot_base_url}{emulator.token}"
        async with session.post(f"{base}/sendMessage", json={"chat_id": 5, "text": "json body"}) as resp:
            assert (await resp.json())["result"]["text"] == "json body"
        async with session.get(f"{base}/getMe") as resp:
            assert (await resp.json())["result"]["id"] == bot.id
        async with session.post(f"{base}/sendmessage", data={"chat_id": "5", "text": "lowercase"}) as resp:
            assert resp.status == 200
        async with session.post(f"{base}/fooBar") as resp:
            body = await resp.json()
            assert resp.status == 404
            assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        async with session.post(f"{emulator.bot_base_url}1:wrong/getMe") as resp:
            assert resp.status == 401
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("fooBar")
    emulator.expect_violations = True
    assert [v.method for v in emulator.violations] == ["fooBar", "fooBar"]
    with pytest.raises(InvalidToken):
        async with Bot("1:wrong", base_url=emulator.bot_base_url):
            pass


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")
async def test_missing_required_and_type_errors(emulator: Emulator, bot: Bot) -> None:
    emulator.expect_violations = True
    with pytest.raises(BadRequest, match="(?i)chat_id is empty"):
        await bot.do_api_request("sendMessage", {"text": "no chat"})
    with pytest.raises(BadRequest, match="(?i)expected integer"):
        await bot.do_api_request("sendMessage", {"chat_id": 1, "text": "t", "message_thread_id": "abc"})
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start", "Capitalised is invalid")])
    assert len(emulator.violations) == 3


# --- faults -------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after(emulator: Emulator, bot: Bot) -> None:
    emulator.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as exc_info:
        await bot.send_message(CHAT, "limited")
    assert exc_info.value.retry_after in (7, timedelta(seconds=7))
    assert "Too Many Requests: retry after 7" in emulator.errors[-1].description
    await bot.send_message(CHAT, "second try")
    assert [m["text"] for m in emulator.sent_messages(CHAT)] == ["second try"]
    assert emulator.request_counts["sendMessage"] == 2


async def test_blocked_chat_forbidden(emulator: Emulator, bot: Bot) -> None:
    emulator.block_chat(CHAT)
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(CHAT, "hello?")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(CHAT, "typing")
    await bot.send_message(CHAT + 1, "other chat works")
    emulator.reset_faults()
    await bot.send_message(CHAT, "unblocked")
    assert [m["text"] for m in emulator.sent_messages(CHAT)] == ["unblocked"]


@pytest.mark.parametrize(("status", "text"), [(500, "Internal Server Error"), (502, "Bad Gateway")])
async def test_server_errors_are_network_errors(emulator: Emulator, bot: Bot, status: int, text: str) -> None:
    emulator.fail_next("*", status=status, count=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match=text) as exc_info:
            await bot.send_message(CHAT, "x")
        assert not isinstance(exc_info.value, BadRequest)
    await bot.send_message(CHAT, "recovered")
    assert emulator.delivered_count == 1


async def test_fault_rate_is_deterministic_and_delay(emulator: Emulator, bot: Bot) -> None:
    async def run(seed: int) -> list[bool]:
        emulator.set_fault_rate("sendChatAction", 500, 0.5, seed=seed)
        outcome = []
        for _ in range(12):
            try:
                await bot.send_chat_action(CHAT, "typing")
                outcome.append(True)
            except NetworkError:
                outcome.append(False)
        return outcome

    first, second = await run(3), await run(3)
    assert first == second and 0 < sum(first) < 12
    emulator.reset_faults()
    emulator.set_delay("getMe", 0.3)
    start = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - start >= 0.29


async def test_hold_keeps_the_answer_until_released(emulator: Emulator, bot: Bot) -> None:
    emulator.hold("getMe")
    before = emulator.request_counts["getMe"]
    task = asyncio.create_task(bot.get_me())
    await emulator.wait_for(lambda: emulator.request_counts["getMe"] > before)
    for _ in range(20):  # the request has arrived; its answer does not come while held
        await asyncio.sleep(0)
    assert not task.done()
    emulator.release("getMe")
    assert (await asyncio.wait_for(task, 5)).username == emulator.bot_username
    await asyncio.wait_for(bot.get_me(), 5)  # released: answered at once
    emulator.hold("getMe")
    emulator.reset_faults()  # releases holds too
    await asyncio.wait_for(bot.get_me(), 5)


# --- updates ------------------------------------------------------------------------------


async def test_long_polling_returns_injected_update_quickly(emulator: Emulator, bot: Bot) -> None:
    task = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.1)
    start = time.monotonic()
    sent = emulator.inject_message(CHAT, "hi there")
    [update] = await task
    assert time.monotonic() - start < 15  # answered by the update, not by the poll's 30 s timeout
    assert update.update_id == sent["update_id"] and update.message.text == "hi there"
    assert update.message.from_user.id == CHAT and update.message.chat.type == "private"


async def test_long_polling_blocks_until_timeout(bot: Bot) -> None:
    start = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - start < 10  # held for its timeout, then released


async def test_offset_confirms_updates(emulator: Emulator, bot: Bot) -> None:
    emulator.inject_message(CHAT, "one")
    emulator.inject_command(CHAT, "/start deep-link")
    updates = await bot.get_updates()
    assert [u.message.text for u in updates] == ["one", "/start deep-link"]
    assert updates[1].message.entities[0].type == "bot_command"
    assert len(await bot.get_updates(limit=1)) == 1  # still unconfirmed
    assert await bot.get_updates(offset=updates[-1].update_id + 1) == ()
    assert emulator.pending_updates == 0


async def test_concurrent_get_updates_conflict(emulator: Emulator, bot: Bot) -> None:
    task = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.1)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emulator.bot_base_url}{emulator.token}/getUpdates") as resp:
            assert (await resp.json())["result"] == []
    with pytest.raises(Conflict):
        await task


async def test_group_mention_and_reply(emulator: Emulator, bot: Bot) -> None:
    group = -1001234567890
    await bot.send_message(group, "question?")
    emulator.inject_message(group, "what about this", user_id=77, mention_bot=True)
    emulator.inject_message(group, "answer", user_id=78, reply_to_bot=True)
    first, second = await bot.get_updates()
    assert first.message.chat.type == "supergroup" and first.message.from_user.id == 77
    assert first.message.text == f"@{emulator.bot_username} what about this"
    assert first.message.parse_entities(["mention"]) == {first.message.entities[0]: "@emulator_test_bot"}
    assert second.message.reply_to_message.from_user.id == bot.id
    assert second.message.reply_to_message.text == "question?"


async def test_my_chat_member_blocks(emulator: Emulator, bot: Bot) -> None:
    emulator.inject_my_chat_member(CHAT, new_status="kicked")
    [update] = await bot.get_updates()
    assert update.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden):
        await bot.send_message(CHAT, "are you there?")


async def test_injected_updates_match_spec(emulator: Emulator) -> None:
    emulator.add_user(9, "Ann", "ann_user", language_code="vi")
    updates = [
        emulator.inject_message(9, "hello @someone /help"),
        emulator.inject_document(9, "report.pdf", b"%PDF-1.4", caption="see attached"),
        emulator.inject_my_chat_member(9, new_status="member"),
        emulator.inject_message(-55, "group text", user_id=9),
    ]
    for update in updates:
        emulator.validate_object(update, "Update")


# --- files, edits, callbacks ---------------------------------------------------------------


async def test_get_file_and_download_injected_document(emulator: Emulator, bot: Bot) -> None:
    content = bytes(range(256)) * 10
    emulator.inject_document(CHAT, "data.bin", content, mime_type="application/octet-stream")
    [update] = await bot.get_updates()
    doc = update.message.document
    assert doc.file_name == "data.bin" and doc.file_size == len(content)
    tg_file = await bot.get_file(doc.file_id)
    assert tg_file.file_path.startswith(emulator.file_base_url)
    assert bytes(await tg_file.download_as_bytearray()) == content


async def test_send_photo_and_document(emulator: Emulator, bot: Bot) -> None:
    photo_msg = await bot.send_photo(CHAT, _png(40, 30), caption="<b>chart</b>", parse_mode="HTML")
    assert (photo_msg.photo[-1].width, photo_msg.photo[-1].height) == (40, 30)
    assert photo_msg.caption == "chart" and photo_msg.caption_entities[0].type == "bold"
    doc_msg = await bot.send_document(CHAT, b"a,b\n1,2\n", filename="table.csv")
    assert doc_msg.document.file_name == "table.csv"
    assert emulator.get_file_content(doc_msg.document.file_id) == b"a,b\n1,2\n"
    resent = await bot.send_document(CHAT, doc_msg.document.file_id)
    assert resent.document.file_id == doc_msg.document.file_id
    assert [("photo" in m, "document" in m) for m in emulator.sent_messages(CHAT)] == [
        (True, False),
        (False, True),
        (False, True),
    ]
    emulator.expect_violations = True
    with pytest.raises(BadRequest, match="(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(CHAT, b"not an image")
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_photo(CHAT, _png(), caption="c" * 1025)


async def test_send_media_group(emulator: Emulator, bot: Bot) -> None:
    album = [InputMediaPhoto(_png(8, 6), caption="<b>one</b>", parse_mode="HTML"), InputMediaPhoto(_png())]
    first, second = await bot.send_media_group(CHAT, album)
    assert first.media_group_id == second.media_group_id and first.caption == "one"
    assert (first.photo[0].width, first.photo[0].height) == (8, 6)
    assert second.message_id == first.message_id + 1 and emulator.delivered_count == 2


async def test_edit_message_text(emulator: Emulator, bot: Bot) -> None:
    msg = await bot.send_message(CHAT, "draft", reply_markup=_keyboard("go"))
    edited = await bot.edit_message_text("<i>final</i>", CHAT, msg.message_id, parse_mode="HTML")
    assert edited.text == "final" and edited.edit_date is not None
    stored = emulator.sent_messages(CHAT)[0]
    assert stored["text"] == "final" and stored["entities"][0]["type"] == "italic"
    assert "reply_markup" not in stored  # editing without reply_markup removes the keyboard
    with pytest.raises(BadRequest, match="(?i)not modified"):
        await bot.edit_message_text("<i>final</i>", CHAT, msg.message_id, parse_mode="HTML")
    assert not emulator.violations  # "not modified" is a normal Telegram error, not a violation
    await bot.edit_message_reply_markup(CHAT, msg.message_id, reply_markup=_keyboard("again"))
    assert stored["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "again"
    emulator.expect_violations = True
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", CHAT, 999)


async def test_callback_query_roundtrip(emulator: Emulator, bot: Bot) -> None:
    msg = await bot.send_message(CHAT, "pick", reply_markup=_keyboard("yes", "no"))
    emulator.inject_callback(CHAT, msg.message_id, "no")
    with pytest.raises(LookupError):
        emulator.inject_callback(CHAT, msg.message_id, "maybe")
    [update] = await bot.get_updates()
    query = update.callback_query
    assert query.data == "no" and query.message.message_id == msg.message_id
    assert query.message.reply_markup == _keyboard("yes", "no")
    await bot.answer_callback_query(query.id, text="noted")
    assert emulator.callback_answers == [{"callback_query_id": query.id, "text": "noted"}]
    emulator.expect_violations = True
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(query.id)


async def test_commands_roundtrip(bot: Bot) -> None:
    await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_wait_for_timeout_message(emulator: Emulator) -> None:
    with pytest.raises(TimeoutError, match="(?i)condition not met"):
        await emulator.wait_for(lambda: False, timeout=0.05)


# --- full application -----------------------------------------------------------------------


async def test_application_polling_end_to_end(emulator: Emulator) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(
            f"Hello, <b>{' '.join(context.args)}</b>", parse_mode="HTML", reply_markup=_keyboard("more")
        )

    async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("More details")

    app = emulator.application_builder().build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(more))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        emulator.inject_command(CHAT, "/start world")
        [reply] = await emulator.wait_for_messages(CHAT, 1)
        assert reply["text"] == "Hello, world" and reply["entities"][0]["type"] == "bold"
        emulator.inject_callback(CHAT, reply["message_id"], "more")
        await emulator.wait_for(lambda: reply["text"] == "More details")
        assert len(emulator.callback_answers) == 1
        await app.updater.stop()
        await app.stop()
    assert emulator.pending_updates == 0  # PTB confirmed the processed updates on shutdown
    methods = {m for m, _ in emulator.requests}
    assert {"getMe", "deleteWebhook", "getUpdates", "sendMessage", "answerCallbackQuery"} <= methods
