"""Reminder scheduling rules, in one place: periods, fire times, what is due.

A subscription fires once per period (ISO week for weekly, calendar month for monthly) at its
local hour. Whatever fired-but-unsent time lies in the *current* period is due, so a reminder
missed while the bot was down goes out once when it comes back, and never for a past period.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services.storage import Subscription


def period_of(sub: Subscription, local: datetime) -> str:
    """The ledger period containing `local`: '2024-W07' (weekly) or '2024-03' (monthly)."""
    if sub.cadence == "weekly":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{local.year}-{local.month:02d}"


def fire_time_in_period(sub: Subscription, local: datetime) -> datetime:
    """The subscription's fire time within the period that contains `local` (same tz)."""
    tz = local.tzinfo
    if sub.cadence == "weekly":
        monday = local.date() - timedelta(days=local.weekday())
        day = monday + timedelta(days=sub.weekday or 0)
    else:
        day = date(local.year, local.month, sub.day_of_month or 1)
    return datetime.combine(day, time(sub.hour), tzinfo=tz)


def due_period(sub: Subscription, now: datetime, tz: ZoneInfo) -> str | None:
    """The current period if the subscription's fire time in it has passed, else None."""
    local = now.astimezone(tz)
    if fire_time_in_period(sub, local) <= local:
        return period_of(sub, local)
    return None


def next_fire(sub: Subscription, now: datetime, tz: ZoneInfo) -> datetime:
    """The next fire time strictly after `now` (for telling the user when to expect it)."""
    local = now.astimezone(tz)
    t = fire_time_in_period(sub, local)
    if t > local:
        return t
    if sub.cadence == "weekly":
        return fire_time_in_period(sub, local + timedelta(days=7))
    first_next = (local.replace(day=1) + timedelta(days=32)).replace(day=1)
    return fire_time_in_period(sub, first_next)


WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def describe(sub: Subscription) -> str:
    """'hằng tuần, Thứ Hai lúc 08:00' / 'hằng tháng, ngày 5 lúc 08:00'."""
    if sub.cadence == "weekly":
        return f"hằng tuần, {WEEKDAYS_VI[sub.weekday or 0]} lúc {sub.hour:02d}:00"
    return f"hằng tháng, ngày {sub.day_of_month} lúc {sub.hour:02d}:00"
