"""End to end: subscriptions and reminders — the real Application, JobQueue and SQLite against the
Bot API emulator, with a controllable clock (``bot_data.clock``) and a 0.05 s reminder tick.

The fan-out runs beside the test: a reminder reaches the emulator before its ledger row says
'sent', so tests wait on the ledger (:func:`ledger_written`), never on time."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.transports.telegram import texts
from bot.transports.telegram.features import install
from bot.transports.telegram.reminder_job import runtime_of
from tests.emulator import Emulator
from tests.storage_helpers import delivered_periods, get_chat, ledger_counts
from tests.test_telegram_flows import buttons, data_of

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CHAT = 5101
REMINDER = "Nhắc tiến độ chỉ tiêu năm 2024:"
TARGET_QUESTION = "Chỉ tiêu kết nạp đảng viên năm 2024 là bao nhiêu?"
TARGET_ID = "chi-tieu-2024-ket-nap-dang-vien"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        """Jump to ``when``."""
        self.now = when


class FastSleep:
    """The fan-out's ``sleep`` (pacing, flood waits, backoff): records each wait and only yields."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def features(clock: FakeClock, **options: Any) -> Callable[[Any], None]:
    """``extra_handlers`` for the harness: reminders, progress and admin with a fast tick."""
    opts: dict[str, Any] = {"max_flood_waits": 50, "backoff": 0.01}
    opts.update(options)
    return lambda app: install(app, clock=clock, tick_seconds=0.05, reminder_options=opts)


async def until(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.01) -> Any:
    """Poll ``predicate`` (sync or async) until it is truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def settle(bot: Any, runs: int = 2, timeout: float = 15.0) -> None:
    """Wait until ``runs`` more fan-outs finished (the last one started after the clock moved)."""
    runtime = runtime_of(bot.app)
    goal = runtime.runs + runs
    await until(lambda: runtime.runs >= goal, timeout)


async def ledger_written(storage: Any, timeout: float = 15.0) -> None:
    """Wait until no ledger row is 'sending'. A reminder is claimed ('sending') before it is sent,
    so once the emulator has it, this is the moment its outcome is in the ledger."""

    async def none_sending() -> bool:
        return (await ledger_counts(storage))["sending"] == 0

    await until(none_sending, timeout)


def reminders(emulator: Emulator, chat: int) -> list[dict]:
    """The reminder messages a chat received."""
    return [m for m in emulator.sent_messages(chat) if m.get("text", "").startswith(REMINDER)]


async def press_edit(bot: Any, chat: int, message_id: int, data: str, **kwargs: Any) -> dict:
    """Press a button that edits its own message; return the message after the edit."""
    emu = bot.emu
    answered = len(emu.callback_answers)
    emu.inject_callback(chat, message_id, data, **kwargs)
    await emu.wait_for(lambda: len(emu.callback_answers) > answered)
    return emu.get_message(chat, message_id)


async def subscribe(bot: Any, chat: int, first: dict, *, weekday: int | None = None, day: int | None = None,
                    hour: int = 8) -> dict:
    """From a cadence question (``first``), choose weekly/monthly, the day and the hour."""
    mid = first["message_id"]
    prefix = data_of(first, "Hằng tuần").rsplit(":", 1)[0]
    if weekday is not None:
        msg = await press_edit(bot, chat, mid, f"{prefix}:w")
        assert "vào ngày nào" in msg["text"] and len(buttons(msg)) == 7
        msg = await press_edit(bot, chat, mid, f"{prefix}:w{weekday}")
        code = f"w{weekday}"
    else:
        msg = await press_edit(bot, chat, mid, f"{prefix}:m")
        assert [label for label, _ in buttons(msg)] == [str(d) for d in range(1, 29)]
        msg = await press_edit(bot, chat, mid, f"{prefix}:m{day}")
        code = f"m{day}"
    assert "lúc mấy giờ (giờ Asia/Ho_Chi_Minh)" in msg["text"] and len(buttons(msg)) == 24
    return await press_edit(bot, chat, mid, f"{prefix}:{code}:{hour}")


async def subscribe_all(bot: Any, chat: int, **schedule: Any) -> dict:
    """/theodoi tất cả, then the schedule."""
    [first] = await bot.say(chat, "/theodoi tất cả")
    return await subscribe(bot, chat, first, **schedule)


async def add_subscribers(bot: Any, chats: list[int], clock: FakeClock) -> dict[int, int]:
    """Many subscribers to every target, Mondays 08:00 (straight into storage; the UI is tested
    elsewhere); returns {chat: subscription id}."""
    storage = bot.answers.storage
    ids = {}
    for chat in chats:
        await storage.upsert_chat(chat, "private")
        sub = await storage.add_subscription(chat, "all", "", "weekly", weekday=0, hour=8, now=clock())
        ids[chat] = sub.id
    return ids


# -- subscribing --------------------------------------------------------------------------------


async def test_subscribe_by_command_change_and_cancel(telegram_bot, emulator: Emulator) -> None:
    clock = FakeClock(datetime(2024, 2, 12, 0, 0, tzinfo=UTC))  # Monday 07:00 in Hai Phong
    async with telegram_bot(extra_handlers=features(clock)) as bot:
        storage = bot.answers.storage
        [menu] = await bot.say(CHAT, "/theodoi")
        assert menu["text"].startswith("🔔 Theo dõi tiến độ chỉ tiêu năm 2024")
        assert [d for _, d in buttons(menu)] == ["f:T", "f:S", "f:a:"]
        targets = await press_edit(bot, CHAT, menu["message_id"], "f:T")
        assert len(buttons(targets)) == 14  # 13 targets and "back"
        assert all(len(d.encode()) <= 64 for _, d in buttons(targets))
        first = await press_edit(bot, CHAT, menu["message_id"], data_of(targets, "1. "))
        assert first["text"] == "🔔 Theo dõi: Chỉ tiêu kết nạp đảng viên mới năm 2024\nNhắc hằng tuần hay hằng tháng?"
        done = await subscribe(bot, CHAT, first, weekday=0, hour=8)
        assert done["text"].startswith("✅ Đã đăng ký theo dõi Chỉ tiêu kết nạp đảng viên mới năm 2024: "
                                       "nhắc hằng tuần, Thứ Hai lúc 08:00 (giờ Asia/Ho_Chi_Minh).")
        assert "Lần nhắc tới: Thứ Hai 12/02/2024 lúc 08:00." in done["text"]
        assert buttons(done) == []
        [sub] = await storage.list_subscriptions(CHAT)
        assert (sub.scope, sub.ref, sub.cadence, sub.weekday, sub.hour) == ("target", TARGET_ID, "weekly", 0, 8)
        assert (await get_chat(storage, CHAT)).type == "private"

        # A section's targets.
        [menu2] = await bot.say(CHAT, "/theodoi")
        sections = await press_edit(bot, CHAT, menu2["message_id"], "f:S")
        assert [label for label, _ in buttons(sections)][0] == "1. Chỉ tiêu cụ thể"
        first = await press_edit(bot, CHAT, menu2["message_id"], data_of(sections, "1. Chỉ tiêu cụ thể"))
        done = await subscribe(bot, CHAT, first, day=28, hour=23)
        assert "các chỉ tiêu của mục 1. Chỉ tiêu cụ thể: nhắc hằng tháng, ngày 28 lúc 23:00" in done["text"]

        # The list, with a change and a cancel button for each.
        [listing] = await bot.say(CHAT, "/dangtheodoi")
        assert listing["text"].splitlines()[1:] == [
            "1. Chỉ tiêu kết nạp đảng viên mới năm 2024 — hằng tuần, Thứ Hai lúc 08:00",
            "2. các chỉ tiêu của mục 1. Chỉ tiêu cụ thể — hằng tháng, ngày 28 lúc 23:00",
        ]
        assert [label for label, _ in buttons(listing)] == ["✏️ Đổi lịch 1", "❌ Hủy 1", "✏️ Đổi lịch 2", "❌ Hủy 2",
                                                            "➕ Theo dõi thêm"]
        # Change the first to monthly, day 5 at 09:00.
        [change] = await bot.press(CHAT, listing["message_id"], data_of(listing, "✏️ Đổi lịch 1"))
        done = await subscribe(bot, CHAT, change, day=5, hour=9)
        assert done["text"].startswith("✅ Đã đổi lịch nhắc Chỉ tiêu kết nạp đảng viên mới năm 2024: "
                                       "hằng tháng, ngày 5 lúc 09:00")
        subs = await storage.list_subscriptions(CHAT)
        assert [(s.cadence, s.weekday, s.day_of_month, s.hour) for s in subs] == [
            ("monthly", None, 5, 9), ("monthly", None, 28, 23)]
        # 5 February 09:00 has passed (the clock says the 12th): this period's reminder comes due at
        # once. Wait for it and its ledger row, so it cannot be taken for the reply to a command below.
        [reminder] = await until(lambda: reminders(emulator, CHAT))
        assert "Chỉ tiêu kết nạp đảng viên mới năm 2024: chưa có số liệu" in reminder["text"]
        await ledger_written(storage)
        assert (await storage.delivery_status(subs[0].id, "2024-02")).status == "sent"
        # Subscribing again to the same target changes its schedule instead of adding one.
        [again] = await bot.say(CHAT, "/theodoi 1")
        done = await subscribe(bot, CHAT, again, weekday=4, hour=17)
        assert done["text"].startswith("✅ Đã đổi lịch nhắc")
        assert len(await storage.list_subscriptions(CHAT)) == 2

        # Cancel one from the list (the list is redrawn), then by /huytheodoi <n>.
        after = await press_edit(bot, CHAT, listing["message_id"], data_of(listing, "❌ Hủy 2"))
        assert after["text"].startswith("Đã hủy theo dõi: các chỉ tiêu của mục 1. Chỉ tiêu cụ thể.")
        assert len(buttons(after)) == 3
        [bad] = await bot.say(CHAT, "/huytheodoi 7")
        assert "Không hiểu «7»" in bad["text"] and "(1–1)" in bad["text"]
        [cancelled] = await bot.say(CHAT, "/huytheodoi 1")
        assert cancelled["text"] == "Đã hủy theo dõi: Chỉ tiêu kết nạp đảng viên mới năm 2024."
        assert await storage.list_subscriptions(CHAT) == []
        [empty] = await bot.say(CHAT, "/dangtheodoi")
        assert empty["text"].startswith("Bạn chưa theo dõi chỉ tiêu nào.")

        # All targets, then cancel everything with the button of /huytheodoi.
        await subscribe_all(bot, CHAT, weekday=2, hour=6)
        await subscribe_all(bot, CHAT + 1, weekday=2, hour=6)
        [choose] = await bot.say(CHAT, "/huytheodoi")
        assert [label for label, _ in buttons(choose)] == ["❌ 1. tất cả chỉ tiêu năm 2024", "❌ Hủy tất cả"]
        after = await press_edit(bot, CHAT, choose["message_id"], "x:all")
        assert after["text"].startswith("Đã hủy 1 mục theo dõi.")
        assert await storage.list_subscriptions(CHAT) == []
        assert len(await storage.list_subscriptions(CHAT + 1)) == 1  # another chat is untouched
        [none] = await bot.say(CHAT, "/huytheodoi tất cả")
        assert none["text"] == "Bạn không có mục theo dõi nào để hủy."


async def test_subscribe_by_the_follow_button_on_a_target(telegram_bot) -> None:
    clock = FakeClock(datetime(2024, 3, 1, 1, 0, tzinfo=UTC))
    async with telegram_bot(extra_handlers=features(clock)) as bot:
        [answer] = await bot.say(CHAT, TARGET_QUESTION)
        follow = data_of(answer, "🔔 Theo dõi")
        [first] = await bot.press(CHAT, answer["message_id"], follow)
        assert first["text"].startswith("🔔 Theo dõi: Chỉ tiêu kết nạp đảng viên mới năm 2024")
        assert bot.emu.get_message(CHAT, answer["message_id"])["text"] == answer["text"]  # the answer stays
        done = await subscribe(bot, CHAT, first, day=1, hour=7)
        # 1 March 07:00 local has passed and nothing went out this month: the first one goes now.
        assert "Bản nhắc kỳ này sẽ được gửi ngay." in done["text"]
        [sub] = await bot.answers.storage.list_subscriptions(CHAT)
        assert (sub.ref, sub.cadence, sub.day_of_month, sub.hour) == (TARGET_ID, "monthly", 1, 7)
        [reminder] = await until(lambda: reminders(bot.emu, CHAT))
        assert "Chỉ tiêu kết nạp đảng viên mới năm 2024: chưa có số liệu" in reminder["text"]


async def test_forged_and_stale_subscription_buttons(telegram_bot, emulator: Emulator) -> None:
    clock = FakeClock(datetime(2024, 2, 12, 0, 0, tzinfo=UTC))
    async with telegram_bot(extra_handlers=features(clock)) as bot:
        await subscribe_all(bot, CHAT + 7, weekday=0, hour=9)  # someone else's subscription
        [other] = await bot.answers.storage.list_subscriptions(CHAT + 7)
        [menu] = await bot.say(CHAT, "/theodoi")
        forged = ["f:t:khong-co", "f:t:ket-nap-dang-vien-den-31-10-2023", "f:a::w7", "f:a::m29", "f:a::m0",
                  "f:a::w1:24", "f:a:x", "f:s:p1.i.1", "f:a::x1", "f:Z", "e:999999", f"e:{other.id}:w1:8",
                  f"x:{other.id}", "x:abc", "e:", "f:a::w:8"]
        for data in forged:
            [reply] = await bot.press(CHAT, menu["message_id"], data, check_button=False)
            assert reply["text"] in (texts.STALE_BUTTON_MESSAGE,
                                     "Mục theo dõi này đã được hủy hoặc không còn. Gõ /dangtheodoi để xem "
                                     "danh sách hiện tại."), data
        assert len(await bot.answers.storage.list_subscriptions(CHAT + 7)) == 1
        assert await bot.answers.storage.list_subscriptions(CHAT) == []
        [unknown] = await bot.say(CHAT, "/theodoi 99")
        assert unknown["text"].startswith("Không có chỉ tiêu «99». Hãy dùng số thứ tự trong /chitieu (1–13)")


# -- firing -------------------------------------------------------------------------------------


async def test_weekly_reminder_fires_at_the_local_hour(telegram_bot, emulator: Emulator) -> None:
    clock = FakeClock(datetime(2024, 2, 12, 0, 0, tzinfo=UTC))  # Monday 12/02 07:00 local (UTC+7)
    async with telegram_bot(extra_handlers=features(clock)) as bot:
        await bot.answers.storage.add_progress(TARGET_ID, 400, datetime(2024, 2, 1).date(), 1)
        await subscribe_all(bot, CHAT, weekday=0, hour=8)
        await settle(bot)
        assert reminders(emulator, CHAT) == []
        clock.set(datetime(2024, 2, 12, 0, 59, 59, tzinfo=UTC))  # 07:59:59 local: not yet
        await settle(bot)
        assert reminders(emulator, CHAT) == []
        clock.set(datetime(2024, 2, 12, 1, 0, 30, tzinfo=UTC))  # 08:00:30 local
        [reminder] = await until(lambda: reminders(emulator, CHAT))
        lines = reminder["text"].splitlines()
        assert lines[0] == REMINDER and len(lines) == 15  # 13 targets, the footer
        assert "• Chỉ tiêu kết nạp đảng viên mới năm 2024: 400 đảng viên ngày 01/02 — ▓░░░░░░░░░ 11%" in lines
        assert lines[-1] == "Xem chi tiết: /tiendo; đổi lịch nhắc: /dangtheodoi"
        [call] = [p for p in emulator.calls("sendMessage") if p["text"].startswith(REMINDER)]
        assert "parse_mode" not in call  # plain text, whatever the titles contain
        clock.set(datetime(2024, 2, 14, 5, 0, tzinfo=UTC))  # later the same week: nothing more
        await settle(bot, 3)
        assert len(reminders(emulator, CHAT)) == 1
        clock.set(datetime(2024, 2, 19, 1, 0, 30, tzinfo=UTC))  # next Monday 08:00:30
        await until(lambda: len(reminders(emulator, CHAT)) == 2)
        await ledger_written(bot.answers.storage)  # the message is out; now its 'sent' is written too
        [sub] = await bot.answers.storage.list_subscriptions(CHAT)
        assert await delivered_periods(bot.answers.storage, sub.id) == ["2024-W07", "2024-W08"]


async def test_monthly_reminder_fires_at_the_local_hour(telegram_bot, emulator: Emulator) -> None:
    clock = FakeClock(datetime(2024, 3, 1, 12, 0, tzinfo=TZ))
    async with telegram_bot(extra_handlers=features(clock)) as bot:
        done = await subscribe_all(bot, CHAT, day=5, hour=20)
        assert "Lần nhắc tới: Thứ Ba 05/03/2024 lúc 20:00." in done["text"]
        clock.set(datetime(2024, 3, 5, 19, 59, 30, tzinfo=TZ))
        await settle(bot)
        assert reminders(emulator, CHAT) == []
        clock.set(datetime(2024, 3, 5, 20, 0, 5, tzinfo=TZ))
        await until(lambda: reminders(emulator, CHAT))
        clock.set(datetime(2024, 3, 28, 9, 0, tzinfo=TZ))
        await settle(bot, 3)
        assert len(reminders(emulator, CHAT)) == 1
        [sub] = await bot.answers.storage.list_subscriptions(CHAT)
        assert (await bot.answers.storage.delivery_status(sub.id, "2024-03")).status == "sent"


async def test_restart_between_schedule_and_fire_time(telegram_bot, emulator: Emulator) -> None:
    clock = FakeClock(datetime(2024, 2, 12, 7, 0, tzinfo=TZ))
    async with telegram_bot(extra_handlers=features(clock)) as bot:
        await subscribe_all(bot, CHAT, weekday=0, hour=8)
        await settle(bot)
    clock.set(datetime(2024, 2, 12, 9, 30, tzinfo=TZ))  # the bot was down at 08:00
    async with telegram_bot(extra_handlers=features(clock)) as bot:
        await until(lambda: reminders(emulator, CHAT))
        await settle(bot, 3)
    async with telegram_bot(extra_handlers=features(clock)) as bot:  # and once more: still once
        await settle(bot, 3)
        assert len(reminders(emulator, CHAT)) == 1
        counts = await ledger_counts(bot.answers.storage)
        assert counts == {"sending": 0, "sent": 1, "failed": 0, "deactivated": 0, "retry": 0, "uncertain": 0}


async def test_crash_mid_fanout_sends_only_the_missing_ones(telegram_bot, emulator: Emulator) -> None:
    clock = FakeClock(datetime(2024, 2, 12, 7, 0, tzinfo=TZ))
    chats = [6001, 6002, 6003, 6004]
    slow = {"reminder_rate": 2, "reminder_per_chat_interval": 0}  # one send every 0.5 s
    async with telegram_bot(extra_handlers=features(clock), **slow) as bot:
        subs = await add_subscribers(bot, chats, clock)
        await settle(bot)
        emulator.set_delay("sendMessage", 0.3)
        base = emulator.request_counts["sendMessage"]
        clock.set(datetime(2024, 2, 12, 8, 1, tzinfo=TZ))
        storage = bot.answers.storage

        async def second_in_flight() -> bool:
            # The second request is at the emulator (0.3 s to answer) and the first one's 'sent' is
            # written (one query: a consistent snapshot of the ledger).
            return (emulator.request_counts["sendMessage"] >= base + 2
                    and await ledger_counts(storage, "2024-W07") == {"sending": 1, "sent": 1, "failed": 0,
                                                                    "deactivated": 0, "retry": 0, "uncertain": 0})

        # The first reminder delivered and the second in flight: the process dies.
        await until(second_in_flight, timeout=15, interval=0.005)
        for job in bot.app.job_queue.get_jobs_by_name("reminders"):
            job.schedule_removal()
        runtime_of(bot.app).task.cancel()
        ledger = {c: await storage.delivery_status(subs[c], "2024-W07") for c in chats}
        assert [d.status if d else None for d in ledger.values()] == ["sent", "sending", None, None]
    emulator.set_delay("sendMessage", 0)
    async with telegram_bot(extra_handlers=features(clock)) as bot:
        storage = bot.answers.storage
        await until(lambda: all(reminders(emulator, c) for c in (6001, 6003, 6004)))
        await settle(bot, 3)
        statuses = [(await storage.delivery_status(subs[c], "2024-W07")) for c in chats]
        assert [d.status for d in statuses] == ["sent", "uncertain", "sent", "sent"]
        assert statuses[1].last_error.startswith("interrupted")
        # Nobody got two; the one in flight may or may not have arrived, it is never sent again.
        assert [len(reminders(emulator, c)) for c in chats] in ([1, 0, 1, 1], [1, 1, 1, 1])
        assert sum(p["chat_id"] == 6002 for p in emulator.calls("sendMessage")) == 1


async def test_429_storm_everything_sent_once(telegram_bot, emulator: Emulator) -> None:
    clock = FakeClock(datetime(2024, 2, 12, 7, 0, tzinfo=TZ))
    chats = list(range(7001, 7007))
    sleep = FastSleep()  # retry_after=1 is honoured by the service, not by the test's wall clock
    async with telegram_bot(extra_handlers=features(clock, sleep=sleep), reminder_per_chat_interval=0) as bot:
        await add_subscribers(bot, chats, clock)
        await settle(bot)
        emulator.set_fault_rate("sendMessage", 429, 0.5, retry_after=1, seed=7)
        clock.set(datetime(2024, 2, 12, 8, 0, 1, tzinfo=TZ))
        storage = bot.answers.storage

        async def all_sent() -> bool:
            return (await ledger_counts(storage, "2024-W07"))["sent"] == len(chats)

        await until(all_sent, timeout=30, interval=0.05)
        emulator.set_fault_rate("sendMessage", 429, 0)
        await settle(bot, 3)
        assert [len(reminders(emulator, c)) for c in chats] == [1] * len(chats)
        floods = [e for e in emulator.errors if e.method == "sendMessage" and e.status == 429]
        assert floods  # there was a storm, and it was waited out:
        assert sleep.waits.count(1.0) >= len(floods)  # each 429's retry_after, by the injected sleep
        assert runtime_of(bot.app).last is not None


async def test_blocked_user_is_deactivated(telegram_bot, emulator: Emulator) -> None:
    clock = FakeClock(datetime(2024, 2, 12, 7, 0, tzinfo=TZ))
    blocked, fine, kicked = 8001, 8002, 8003
    async with telegram_bot(extra_handlers=features(clock)) as bot:
        storage = bot.answers.storage
        await add_subscribers(bot, [blocked, fine, kicked], clock)
        # "kicked" in a my_chat_member update deactivates at once.
        emulator.inject_my_chat_member(kicked, new_status="kicked")

        async def kicked_inactive() -> bool:
            return not (await get_chat(storage, kicked)).active

        await until(kicked_inactive)
        assert await storage.list_subscriptions(kicked) == []
        emulator.block_chat(blocked)
        clock.set(datetime(2024, 2, 12, 8, 0, 1, tzinfo=TZ))

        async def both_done() -> bool:
            counts = await ledger_counts(storage, "2024-W07")
            return counts["sent"] == 1 and counts["deactivated"] == 1

        await until(both_done)
        assert len(reminders(emulator, fine)) == 1
        chat = await get_chat(storage, blocked)
        assert not chat.active and "blocked" in chat.inactive_reason
        assert await storage.list_subscriptions(blocked) == []
        [sub] = await storage.list_subscriptions(blocked, active_only=False)
        assert (await storage.delivery_status(sub.id, "2024-W07")).status == "deactivated"
        [sub] = await storage.list_subscriptions(kicked, active_only=False)
        assert await storage.delivery_status(sub.id, "2024-W07") is None  # never tried
        # Coming back (/start) reactivates the chat; the user subscribes again explicitly.
        emulator.unblock_chat(blocked)
        await bot.say(blocked, "/start")
        assert (await get_chat(storage, blocked)).active


async def test_answers_keep_flowing_while_a_fanout_runs(telegram_bot, emulator: Emulator) -> None:
    clock = FakeClock(datetime(2024, 2, 12, 7, 0, tzinfo=TZ))
    chats = list(range(9001, 9007))
    async with telegram_bot(extra_handlers=features(clock), reminder_rate=2, rate_limiter=True) as bot:
        await add_subscribers(bot, chats, clock)
        await settle(bot)
        clock.set(datetime(2024, 2, 12, 8, 0, 1, tzinfo=TZ))
        await until(lambda: reminders(emulator, chats[0]))  # the fan-out is under way (one every 0.5 s)
        started = asyncio.get_running_loop().time()
        [answer] = await bot.say(CHAT, TARGET_QUESTION)
        assert asyncio.get_running_loop().time() - started < 0.4
        assert answer["text"].startswith("Chỉ tiêu kết nạp đảng viên mới năm 2024")
        assert not runtime_of(bot.app).task.done()
        await until(lambda: all(reminders(emulator, c) for c in chats), timeout=20)
