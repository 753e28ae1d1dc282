"""Progress of 2024 targets: status against a straight line from 1 January to 31 December,
input validation for recorded values, and the chart. One place for these rules."""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import date

from bot.knowledge.schema import Target
from bot.normalize import format_value, parse_number
from bot.services.storage import ProgressRecord

AHEAD, ON_TRACK, BEHIND, NO_DATA = "ahead", "on_track", "behind", "no_data"
VERDICT_VI = {AHEAD: "vượt tiến độ", ON_TRACK: "đúng tiến độ", BEHIND: "chậm tiến độ", NO_DATA: "chưa có số liệu"}
TOLERANCE = 0.05  # within ±5% of the straight line counts as on track


class ProgressInputError(ValueError):
    """A bad /capnhat input; the message is for the admin, in Vietnamese."""


@dataclass(frozen=True)
class ProgressStatus:
    """Where a target stands at its latest record."""

    target: Target
    goal: float
    unit: str
    latest: ProgressRecord | None
    percent_of_goal: float | None
    expected_value: float | None  # where the straight line says it should be at latest.as_of
    verdict: str


def year_fraction(day: date) -> float:
    """Share of the year elapsed at the end of `day` (31 Dec → 1.0)."""
    start, end = date(day.year, 1, 1), date(day.year, 12, 31)
    return ((day - start).days + 1) / ((end - start).days + 1)


def goal_of(target: Target) -> float:
    """The value to reach: the low end of a range ('3.800 - 3.900' → 3800)."""
    g = target.goal
    if g is None or g[0] <= 0:
        raise ProgressInputError(f"Chỉ tiêu {target.id} không có giá trị số để theo dõi.")
    return g[0]


def compute_status(target: Target, records: list[ProgressRecord]) -> ProgressStatus:
    """Status at the latest record (records ordered by as_of, corrections last)."""
    goal = goal_of(target)
    unit = target.unit
    latest = max(records, key=lambda r: (r.as_of, r.id)) if records else None
    if latest is None:
        return ProgressStatus(target, goal, unit, None, None, None, NO_DATA)
    expected = goal * year_fraction(latest.as_of)
    ratio = latest.value / expected if expected else 0.0
    verdict = AHEAD if ratio > 1 + TOLERANCE else ON_TRACK if ratio >= 1 - TOLERANCE else BEHIND
    return ProgressStatus(target, goal, unit, latest, 100 * latest.value / goal, expected, verdict)


def bar(percent: float, width: int = 10) -> str:
    """'▓▓▓▓▓░░░░░ 48%' (capped at the full bar)."""
    # Half up (not round()'s half-to-even): 45% shows 5 of 10 blocks like 46%, and 35% like 36%.
    filled = max(0, min(width, math.floor(percent / 100 * width + 0.5)))
    return "▓" * filled + "░" * (width - filled) + f" {percent:.0f}%"


def status_lines(st: ProgressStatus) -> list[str]:
    """The status of one target as reply lines (plain text; escape for HTML)."""
    lines = [f"{st.target.title}", f"Chỉ tiêu: {format_value(st.goal, st.unit)}"]
    if st.latest is None:
        lines.append("Chưa có số liệu tiến độ.")
        return lines
    r = st.latest
    lines.append(f"Mới nhất: {format_value(r.value, st.unit)} (ngày {r.as_of:%d/%m/%Y})")
    lines.append(f"{bar(st.percent_of_goal or 0.0)} chỉ tiêu")
    lines.append(
        f"Theo tiến độ đều cả năm, đến ngày này cần khoảng {format_value(round(st.expected_value or 0, 1), st.unit)}: "
        f"{VERDICT_VI[st.verdict]}."
    )
    return lines


_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?$")


def parse_value(text: str, target: Target) -> float:
    """A value for the target, in its unit: '1.250', '45%', '12,5'. Rejects the wrong unit."""
    raw = text.strip()
    is_percent = raw.endswith("%")
    value = parse_number(raw)
    if value is None or not re.fullmatch(r"[\d.,]+%?", raw):
        raise ProgressInputError(f"“{text[:40]}” không phải là một số (ví dụ: 1.250 hoặc 45%).")
    if target.unit == "%":
        if not 0 <= value <= 100:
            raise ProgressInputError("Chỉ tiêu tính bằng %: giá trị phải từ 0 đến 100.")
    elif is_percent:
        raise ProgressInputError(
            f"Chỉ tiêu này tính bằng “{target.unit or 'số lượng'}”, không phải %: hãy nhập số lượng."
        )
    if value < 0:
        raise ProgressInputError("Giá trị không được âm.")
    return value


def parse_as_of(text: str | None, target: Target, today: date) -> date:
    """'15/3', '15/03/2024', '2024-03-15' or today; must be in the target's year and not future."""
    if not text:
        day = today
    else:
        t = text.strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
                day = date.fromisoformat(t)
            else:
                m = _DATE.match(t)
                if not m:
                    raise ValueError(t)
                d, mo, y = int(m.group(1)), int(m.group(2)), m.group(3)
                year = int(y) + (2000 if y and len(y) == 2 else 0) if y else target.year
                day = date(year, mo, d)
        except ValueError as exc:
            raise ProgressInputError(f"“{text[:40]}” không phải là ngày hợp lệ (ví dụ: 15/3/2024).") from exc
    if day > today:
        raise ProgressInputError(f"Ngày {day:%d/%m/%Y} ở tương lai: chỉ ghi nhận số liệu đã có.")
    if day.year != target.year:
        raise ProgressInputError(f"Ngày {day:%d/%m/%Y} nằm ngoài năm của chỉ tiêu ({target.year}).")
    return day


def render_chart(st: ProgressStatus, records: list[ProgressRecord]) -> bytes:
    """PNG: the progress records against the straight line from 1 January to 31 December."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.dates import DateFormatter

    year = st.target.year
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    try:
        ax.plot([date(year, 1, 1), date(year, 12, 31)], [0, st.goal], linestyle="--", color="#888",  # type: ignore[arg-type]  # matplotlib's stubs do not model its unit converters; dates are plotted through matplotlib.dates
                label="Tiến độ đều cả năm")
        series: dict[date, float] = {}
        for r in sorted(records, key=lambda r: (r.as_of, r.id)):
            series[r.as_of] = r.value  # a correction for the same date replaces it
        if series:
            xs = sorted(series)
            ax.plot(xs, [series[x] for x in xs], marker="o", color="#c0392b", label="Số liệu ghi nhận")  # type: ignore[arg-type]  # matplotlib's stubs do not model its unit converters; dates are plotted through matplotlib.dates
        ax.axhline(st.goal, color="#2c3e50", linewidth=0.8)
        ax.set_title(st.target.title[:70], fontsize=10)
        ax.set_ylabel(st.unit or "")
        ax.xaxis.set_major_formatter(DateFormatter("%m/%Y"))
        ax.legend(fontsize=8, loc="upper left")
        fig.autofmt_xdate()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
