"""Callback data and inline keyboards.

Callback data (Telegram allows 1-64 bytes) is stateless and restart-proof; it is packed and parsed
by the classes of :mod:`bot.transports.telegram.callbacks` (here: :class:`OpenEntry` ``a:<ref>``,
:class:`FollowTarget` ``sub:<ref>``, :class:`Example` ``q:<n>``, :class:`ListPage`
``l:<kind>:<page>:<arg>``). Topics and keywords travel folded (no diacritics, ASCII for Vietnamese),
cut to fit, so paging needs no server-side state.

Anything that does not parse, or names an entry/section that no longer exists, is "stale".
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.engine.compose import label
from bot.engine.engine import Answer
from bot.knowledge.schema import Entry
from bot.normalize import fold
from bot.services.answers import AnswerService
from bot.transports.telegram import texts
from bot.transports.telegram.callbacks import MAX_DATA, Example, FollowTarget, ListPage, OpenEntry
from bot.transports.telegram.formatting import button_label

ARG_BUDGET = MAX_DATA - len("l:x:9999:")
MAX_ITEM_BUTTONS = 12  # an engine list longer than this is read as text, without item buttons


def fit_arg(text: str) -> str:
    """A topic/keyword as it travels in callback data: folded, at most ARG_BUDGET bytes, cut at a word."""
    folded = fold(text)
    raw = folded.encode()
    if len(raw) <= ARG_BUDGET:
        return folded
    cut = raw[:ARG_BUDGET].decode("utf-8", errors="ignore")
    if not folded.startswith(cut + " ") and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.strip()


def answer_data(service: AnswerService, entry_id: str) -> str:
    """``a:<ref>``."""
    return OpenEntry(service.refs.ref(entry_id)).pack()


def follow_data(service: AnswerService, entry_id: str) -> str:
    """``sub:<ref>``."""
    return FollowTarget(service.refs.ref(entry_id)).pack()


def button(text: str, data: str) -> InlineKeyboardButton:
    """A callback button with a truncated label (data checked against the 64-byte limit)."""
    if not 1 <= len(data.encode()) <= MAX_DATA:
        raise ValueError(f"callback data must be 1-{MAX_DATA} bytes: {data!r}")
    return InlineKeyboardButton(button_label(text), callback_data=data)


def entry_button(service: AnswerService, e: Entry, text: str | None = None) -> InlineKeyboardButton:
    """A button that opens an entry's answer."""
    return button(text or label(service.kb, e), answer_data(service, e.id))


def related_label(service: AnswerService, e: Entry) -> str:
    """'🎯 Chỉ tiêu 2024: …', '📋 Kế hoạch 2023: …' (an earlier year's plan) or '📊 Kết quả 2023: …'."""
    target, result = service.kb.target(e.id), service.kb.indicator(e.id)
    if target is not None:
        template = texts.BTN_TARGET if target.is_target_for(service.target_year) else texts.BTN_PLAN
        return template.format(year=target.year, title=e.title)
    if result is not None:
        return texts.BTN_RESULT.format(year=result.year, title=e.title)
    return e.title


def entry_markup(service: AnswerService, entry_id: str) -> InlineKeyboardMarkup | None:
    """Buttons under one entry's answer: linked result/target entries, and "Theo dõi" for a target
    of the report's target year."""
    e = service.get(entry_id)
    if e is None:
        return None
    rows = [[entry_button(service, other, related_label(service, other))] for other in service.related(entry_id)[:4]]
    if e.is_target_for(service.target_year):
        rows.append([button(texts.BTN_FOLLOW, follow_data(service, e.id))])
    return InlineKeyboardMarkup(rows) if rows else None


def answer_markup(service: AnswerService, answer: Answer) -> InlineKeyboardMarkup | None:
    """Buttons for an engine answer, by status (see module docs)."""
    if answer.status == "answer" and answer.results:
        return entry_markup(service, answer.results[0].id)
    if answer.status in ("clarify", "list"):
        if answer.status == "list" and len(answer.results) > MAX_ITEM_BUTTONS:
            return None
        rows = []
        for i, r in enumerate(answer.results, 1):
            e = service.get(r.id)
            if e is not None:
                rows.append([entry_button(service, e, f"{i}. {label(service.kb, e)}")])
        return InlineKeyboardMarkup(rows) if rows else None
    if answer.status == "not_found":
        # The nearest facts the report does give (a subject known, a qualifier not), then where to look.
        rows = [[entry_button(service, e, label(service.kb, e))]
                for e in (service.get(r.id) for r in answer.results[:NEAREST_BUTTONS]) if e is not None]
        return InlineKeyboardMarkup([*rows, *not_found_markup(service).inline_keyboard])
    return None


NEAREST_BUTTONS = 3


def not_found_markup(service: AnswerService) -> InlineKeyboardMarkup:
    """Where to look instead: the targets, the results, the documents."""
    yrs = texts.years(service)
    return InlineKeyboardMarkup([[
        button(texts.BTN_TARGETS.format(**yrs), ListPage("t").pack()),
        button(texts.BTN_RESULTS.format(**yrs), ListPage("S").pack()),
        button(texts.BTN_DOCUMENTS, ListPage("d").pack()),
    ]])


def examples_markup(service: AnswerService) -> InlineKeyboardMarkup:
    """/start's example questions, one per row."""
    yrs = texts.years(service)
    return InlineKeyboardMarkup([[button(q.format(**yrs), Example(i).pack())] for i, q in enumerate(texts.EXAMPLES)])


def nav_row(ref: ListPage, pages: int) -> list[InlineKeyboardButton]:
    """Previous/next buttons for a paginated list (empty on a single page)."""
    row = []
    if ref.page > 0:
        row.append(button(texts.BTN_PREV, ref.at(ref.page - 1).pack()))
    if ref.page < pages - 1:
        row.append(button(texts.BTN_NEXT, ref.at(ref.page + 1).pack()))
    return row
