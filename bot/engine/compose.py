"""Composing replies: the one place that decides what a reply says. Renderers turn it into plain
text (terminal, JSON) or Telegram HTML; both escape nothing of their own."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.schema import Document, Entry, Indicator, Target

NOT_FOUND = "Báo cáo không có thông tin để trả lời câu hỏi này."
NOT_FOUND_HINT = "Bạn có thể xem /chitieu (các chỉ tiêu), /ketqua (các kết quả) hoặc /vanban (văn bản được trích dẫn)."
CLARIFY = "Có vài mục gần với câu hỏi. Bạn muốn hỏi về:"


@dataclass
class Reply:
    """A reply as blocks: an optional heading, body lines, and the source line."""

    heading: str = ""
    lines: list[str] = field(default_factory=list)
    source: str = ""

    def plain(self) -> str:
        """Plain text (terminal chat, ask --json)."""
        parts = [self.heading] if self.heading else []
        parts += self.lines
        if self.source:
            parts.append(f"Nguồn: {self.source}")
        return "\n".join(parts)

    def html(self) -> str:
        """Telegram HTML: every knowledge-base string escaped; the heading in bold."""
        parts = [f"<b>{html.escape(self.heading)}</b>"] if self.heading else []
        parts += [html.escape(line) for line in self.lines]
        if self.source:
            parts.append(f"<i>Nguồn: {html.escape(self.source)}</i>")
        return "\n".join(parts)


def _period(kb: KnowledgeBase, e: Entry) -> str:
    if isinstance(e, Indicator):
        return e.period
    if isinstance(e, Target):
        return f"chỉ tiêu năm {e.year}" if e.year == kb.target_year else f"kế hoạch năm {e.year}"
    return ""


def answer_reply(kb: KnowledgeBase, e: Entry) -> Reply:
    """The reply for one entry: subject, figure with unit, period and plan, the linked entry, source."""
    figure = kb.figure(e)
    if isinstance(e, Document):
        return Reply(heading=e.title, lines=[figure], source=kb.entry_section(e))
    lines = [f"{figure} ({_period(kb, e)})"]
    for other_id in kb.links.get(e.id, [])[:2]:
        other = kb.entries[other_id]
        if isinstance(other, Target) and isinstance(e, Indicator):
            word = "Chỉ tiêu" if other.year == kb.target_year else "Kế hoạch"
            lines.append(f"{word} năm {other.year}: {kb.figure(other)}")
        elif isinstance(other, Indicator) and isinstance(e, Target):
            lines.append(f"Kết quả năm {other.year}: {kb.figure(other)} ({other.period})")
        else:
            lines.append(f"Liên quan: {other.title}: {kb.figure(other)}")
    kids = kb.children.get(e.id, []) if isinstance(e, Indicator) else []
    if kids and len(kids) <= 4:
        lines.append("Chi tiết: " + "; ".join(f"{kb.entries[c].title}: {kb.figure(kb.entries[c])}" for c in kids))
    return Reply(heading=e.title, lines=lines, source=kb.entry_section(e))


def multi_reply(kb: KnowledgeBase, entries: list[Entry]) -> Reply:
    """Several facts asked at once ("… và …"): one line each, one source when they share it."""
    lines = [f"{e.title}: {kb.figure(e)}" + (f" ({_period(kb, e)})" if _period(kb, e) else "") for e in entries]
    sources = list(dict.fromkeys(kb.entry_section(e) for e in entries))
    return Reply(heading="", lines=lines, source=" ; ".join(sources))


def list_reply(kb: KnowledgeBase, heading: str, entries: list[Entry]) -> Reply:
    """A list of entries, one line each with its figure."""
    lines = []
    for e in entries:
        fig = kb.figure(e)
        lines.append(f"• {e.title}: {fig}" if not isinstance(e, Document) else f"• {fig}")
    return Reply(heading=f"{heading} ({len(entries)})", lines=lines)


def clarify_reply(kb: KnowledgeBase, entries: list[Entry]) -> Reply:
    """'Did you mean…': numbered candidates."""
    return Reply(heading=CLARIFY, lines=[f"{i}. {label(kb, e)}" for i, e in enumerate(entries, 1)])


def label(kb: KnowledgeBase, e: Entry) -> str:
    """A short label for a button or a numbered choice."""
    if isinstance(e, Target):
        return f"{e.title} ({'chỉ tiêu' if e.year == kb.target_year else 'kế hoạch'} {e.year})"
    if isinstance(e, Indicator):
        return f"{e.title} ({e.period})"
    return e.title if not e.name or not e.code else f"{e.title} – {e.name}"


def not_found_reply(reason: str | None = None) -> Reply:
    """An honest 'not in the report', with where to look instead."""
    return Reply(heading=reason or NOT_FOUND, lines=[NOT_FOUND_HINT])
