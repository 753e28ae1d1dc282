"""Composing replies: the one place that decides what a reply says. Renderers turn it into plain
text (terminal, JSON) or Telegram HTML; both escape nothing of their own."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.schema import Entry, Indicator, Target

NOT_FOUND = "Chưa tìm thấy nội dung này trong báo cáo."
NOT_FOUND_HINT = "Bạn có thể xem /chitieu (các chỉ tiêu), /ketqua (các kết quả) hoặc /vanban (văn bản được trích dẫn)."
CLARIFY = "Có vài mục gần với câu hỏi. Bạn muốn hỏi về:"


QUOTE_LABEL = "Báo cáo viết"
READING_LABEL = "hiểu là"
EXCERPT_MAX = 320  # a structured answer's quote is cut to the clauses holding its figure beyond this


@dataclass
class Reply:
    """A reply as blocks: an optional heading, body lines, the report's sentence (verbatim, with
    the spans that answer marked) and the source line."""

    heading: str = ""
    lines: list[str] = field(default_factory=list)
    source: str = ""
    quote: str = ""
    marks: list[tuple[int, int]] = field(default_factory=list)
    reading: str = ""  # how a follow-up was understood, shown first so a wrong reading is seen
    verdict: str = ""  # a yes/no or comparison question answered in words ("Chưa đạt: …"), first

    def plain(self) -> str:
        """Plain text (terminal chat, ask --json)."""
        parts = [f"({READING_LABEL}: {self.reading})"] if self.reading else []
        parts += [self.verdict] if self.verdict else []
        parts += [self.heading] if self.heading else []
        parts += self.lines
        if self.quote:
            parts.append(f"{QUOTE_LABEL}: «{self.quote}»")
        if self.source:
            parts.append(f"Nguồn: {self.source}")
        return "\n".join(parts)

    def html(self) -> str:
        """Telegram HTML: every knowledge-base string escaped; the heading and the words of the
        quote that answer in bold."""
        parts = [f"<i>({READING_LABEL}: {html.escape(self.reading)})</i>"] if self.reading else []
        parts += [f"<b>{html.escape(self.verdict)}</b>"] if self.verdict else []
        parts += [f"<b>{html.escape(self.heading)}</b>"] if self.heading else []
        parts += [html.escape(line) for line in self.lines]
        if self.quote:
            parts.append(f"<i>{QUOTE_LABEL}:</i> «{_marked_html(self.quote, self.marks)}»")
        if self.source:
            parts.append(f"<i>Nguồn: {html.escape(self.source)}</i>")
        return "\n".join(parts)


def _marked_html(text: str, marks: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for a, b in sorted(marks):
        if a < pos or b <= a:
            continue
        out += [html.escape(text[pos:a]), "<b>", html.escape(text[a:b]), "</b>"]
        pos = b
    out.append(html.escape(text[pos:]))
    return "".join(out)


CLAUSE_WINDOW = 14  # words either side of a figure that a long clause is cut to


def quote_clause(sentence: str, needles: list[str], window: int | None = CLAUSE_WINDOW) -> str:
    """The part of a sentence that states the given figures or names: the clauses (between
    semicolons) holding them, a long clause cut to the words around them."""
    clauses = re.split(r";\s+|\.\s+", sentence)
    keep = [c for c in clauses if any(n and n in c for n in needles)]
    if not keep:
        return sentence
    out = []
    for c in keep:
        words = c.split()
        if window is None or len(words) <= 3 * window:
            out.append(c)
            continue
        hits = [i for i, w in enumerate(words) if any(n.split()[0] in w for n in needles if n)]
        lo, hi = max(0, min(hits) - window), min(len(words), max(hits) + window + 1)
        out.append(" ".join(words[lo:hi]))
    return " ".join(out)


def quote_excerpt(sentence: str, figure: str) -> str:
    """The report's sentence for a structured answer: whole when short, else the clauses (between
    semicolons) that hold the figure's numbers, with "…" where text was left out. Verbatim."""
    if len(sentence) <= EXCERPT_MAX:
        return sentence
    clauses = sentence.split("; ")
    numbers = set(re.findall(r"\d[\d.,/]*", figure))
    keep = [i for i, c in enumerate(clauses) if numbers & set(re.findall(r"\d[\d.,/]*", c))]
    if not keep:
        return sentence
    text = "; ".join(clauses[keep[0]: keep[-1] + 1])
    if len(text) > 2 * EXCERPT_MAX:
        return sentence
    return ("…" if keep[0] > 0 else "") + text + ("…" if keep[-1] < len(clauses) - 1 else "")


def answer_reply(kb: KnowledgeBase, e: Entry, quote: str | None = None) -> Reply:
    """The reply for one entry: subject, figure with unit, period and plan, the linked entry, the
    report's sentence, source."""
    reply = _entry_reply(kb, e)
    if quote:
        reply.quote = quote
        reply.marks = _figure_marks(quote, e)
    return reply


def _figure_marks(text: str, e: Entry) -> list[tuple[int, int]]:
    needles = e.figure_texts()
    marks = []
    for n in needles:
        i = text.find(n) if n else -1
        if i >= 0:
            marks.append((i, i + len(n)))
    return marks


def passage_reply(text: str, source: str, marks: list[tuple[int, int]]) -> Reply:
    """A statement answered by the report's own sentence, verbatim, the words that answer marked."""
    return Reply(heading="", lines=[], source=source, quote=text, marks=marks)


def not_given_reply(words: list[str], kb: KnowledgeBase, nearest: Entry) -> Reply:
    """The subject is in the report but not with this qualifier: say so, and give what it does
    say, as something different."""
    what = " ".join(words)
    line = f"{nearest.title}: {kb.figure(nearest)}"
    period = kb.period(nearest)
    if period:
        line += f" ({period})"
    return Reply(
        heading=f"Báo cáo không nêu số liệu hay nội dung riêng cho “{what}”.",
        lines=[f"Báo cáo có (nội dung khác, không phải điều bạn hỏi): {line}", NOT_FOUND_HINT],
        source=kb.entry_section(nearest),
    )


def figure_lines(kb: KnowledgeBase, e: Indicator | Target) -> list[str]:
    """Result, plan and % of plan as separate labelled parts ("Kết quả (tính đến 31/10/2023): …",
    "Kế hoạch: …", "Đạt: 85% kế hoạch"); a target as "Chỉ tiêu năm 2024: …"."""
    return e.figure_lines(kb.target_year)


def _entry_reply(kb: KnowledgeBase, e: Entry) -> Reply:
    fact = kb.fact(e.id)
    if fact is None:  # a document: its figure says it all
        return Reply(heading=e.title, lines=[kb.figure(e)], source=kb.entry_section(e))
    lines = fact.figure_lines(kb.target_year)
    said = set(fact.figure_texts())
    for other_id in kb.links.get(e.id, [])[:2]:
        other = kb.entries[other_id]
        if other.repeats(said):
            continue  # its figures are already in the reply ("kế hoạch 4000 - 4100" twice)
        # Only what the reply has not said yet ("kế hoạch 4000 - 4100" is not repeated).
        fresh = other.fresh_figures(said) or kb.figure(other)
        heading = other.link_heading(e, kb.target_year)  # a result beside its target, or the reverse
        lines.append(f"{heading}: {fresh}" if heading else f"Liên quan: {other.title}: {fresh}")
    # A result's parts (only a result has some); a part whose figures the reply already states is
    # not repeated as a detail.
    kids = [k for k in (kb.entries[c] for c in kb.children.get(e.id, [])) if not k.repeats(said)]
    if kids and len(kids) <= 4:
        lines.append("Chi tiết: " + "; ".join(f"{k.title}: {kb.figure(k)}" for k in kids))
    return Reply(heading=e.title, lines=lines, source=kb.entry_section(e))


def verdict(kb: KnowledgeBase, e: Entry, kind: str) -> str:
    """A yes/no question on meeting the plan, or a comparison with the same period last year,
    answered in words from the entry's figures ("Chưa đạt: 3.482 / kế hoạch 4000 - 4100 (85%)",
    "Tăng: bằng 122% so với cùng kỳ"); empty when the report gives no figure to judge by."""
    result = kb.indicator(e.id)
    if result is None:
        return ""
    role = {f.role: f for f in reversed(result.figures)}
    if kind == "compare" and "compare" in role:
        f = role["compare"]
        n = f.numbers[0] if f.numbers else 100.0
        word = "Tăng" if n > 100 else "Giảm" if n < 100 else "Bằng cùng kỳ"
        return f"{word}: {f.part()}"
    if kind == "yes_no" and "percent_of_plan" in role:
        p, value, plan = role["percent_of_plan"], role.get("value"), role.get("plan")
        n = p.numbers[0] if p.numbers else 0.0
        word = "Vượt kế hoạch" if n > 100 else "Đạt kế hoạch" if n == 100 else "Chưa đạt kế hoạch"
        parts = [value.text if value else "", f"kế hoạch {plan.text}" if plan else ""]
        return f"{word}: " + " / ".join(x for x in parts if x) + f" ({p.text})"
    return ""


def multi_reply(kb: KnowledgeBase, entries: list[Entry]) -> Reply:
    """Several facts asked at once ("… và …"): one line each, one source when they share it."""
    lines = [f"{e.title}: {kb.figure(e)}" + (f" ({kb.period(e)})" if kb.period(e) else "") for e in entries]
    sources = list(dict.fromkeys(kb.entry_section(e) for e in entries))
    return Reply(heading="", lines=lines, source=" ; ".join(sources))


def list_reply(kb: KnowledgeBase, heading: str, entries: list[Entry]) -> Reply:
    """A list of entries, one line each with its figure."""
    lines = [f"• {kb.line(e)}" for e in entries]
    return Reply(heading=f"{heading} ({len(entries)})", lines=lines)


def clarify_reply(kb: KnowledgeBase, entries: list[Entry]) -> Reply:
    """'Did you mean…': numbered candidates."""
    return Reply(heading=CLARIFY, lines=[f"{i}. {label(kb, e)}" for i, e in enumerate(entries, 1)])


def label(kb: KnowledgeBase, e: Entry) -> str:
    """A short label for a button or a numbered choice."""
    return kb.label(e)


def not_found_reply(reason: str | None = None) -> Reply:
    """An honest 'not in the report', with where to look instead."""
    return Reply(heading=reason or NOT_FOUND, lines=[NOT_FOUND_HINT])
