"""Paginated lists (/chitieu, /ketqua, /vanban): one page = one message text plus its keyboard."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.engine.compose import label
from bot.knowledge.schema import Entry
from bot.services.answers import AnswerService
from bot.transports.telegram import texts
from bot.transports.telegram.callbacks import ListPage
from bot.transports.telegram.formatting import escape, page_html
from bot.transports.telegram.keyboards import button, entry_button, nav_row

PAGE_SIZE = 8


@dataclass(frozen=True)
class Page:
    """A rendered list page."""

    text: str
    markup: InlineKeyboardMarkup | None
    ref: ListPage
    pages: int = 1


def _sections_markup(service: AnswerService) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(s.title, ListPage("s", 0, s.id).pack())] for s in service.result_sections()]
    )


def _paged(service: AnswerService, ref: ListPage, title: str, items: list[Entry],
           extra: list[list[InlineKeyboardButton]] | None = None) -> Page:
    kb = service.kb
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(max(ref.page, 0), pages - 1)  # a stale page number (the list shrank) shows the last page
    ref = ref.at(page)
    start = page * PAGE_SIZE
    chunk = items[start:start + PAGE_SIZE]
    lines = [kb.line(e) for e in chunk]
    text = page_html(title, lines, page=page, pages=pages, total=len(items), first_number=start + 1)
    rows = [[entry_button(service, e, f"{start + i}. {label(kb, e)}")] for i, e in enumerate(chunk, 1)]
    nav = nav_row(ref, pages)
    if nav:
        rows.append(nav)
    rows += extra or []
    return Page(text, InlineKeyboardMarkup(rows), ref, pages)


def render(service: AnswerService, ref: ListPage) -> Page | None:
    """The page a ListPage names, or None when it names nothing (a stale or forged button)."""
    yrs = texts.years(service)
    results_title = texts.RESULTS_TITLE.format(**yrs)
    if ref.kind == "t":
        return _paged(service, ref, texts.TARGETS_TITLE.format(**yrs), list(service.targets()))
    if ref.kind == "S":
        return Page(texts.RESULTS_SECTIONS.format(**yrs), _sections_markup(service), ListPage("S"))
    if ref.kind == "s":
        section = service.kb.sections.get(ref.arg)
        results = service.section_results(ref.arg) if section else []
        if not results or section is None:
            return None
        back = [[button(texts.BTN_SECTIONS, ListPage("S").pack())]]
        return _paged(service, ref, f"{results_title} – {section.title}", list(results), back)
    if ref.kind == "r":
        results = service.results_about(ref.arg)
        if not results:
            return Page(texts.RESULTS_NONE.format(topic=escape(ref.arg), **yrs), _sections_markup(service), ref)
        back = [[button(texts.BTN_SECTIONS, ListPage("S").pack())]]
        return _paged(service, ref, f"{results_title} – từ khóa: {ref.arg}", list(results), back)
    if ref.kind == "d":
        docs = service.documents(ref.arg)
        if not docs:
            markup = InlineKeyboardMarkup([[button(texts.BTN_ALL_DOCUMENTS, ListPage("d").pack())]])
            return Page(texts.DOCUMENTS_NONE.format(keyword=escape(ref.arg)), markup, ref)
        title = texts.DOCUMENTS_TITLE + (f" – từ khóa: {ref.arg}" if ref.arg else "")
        return _paged(service, ref, title, list(docs))
    return None
