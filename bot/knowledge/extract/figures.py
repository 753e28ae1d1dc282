"""Figures the report states, grouped into clauses and annotated."""

from __future__ import annotations

import re

from bot.knowledge.extract.data import DraftFact, DraftFigure, Heading
from bot.knowledge.extract.documents import _places, _unique
from bot.knowledge.extract.text import _capitalize, _protected, slug
from bot.knowledge.extract.words import _DATE_AFTER
from bot.knowledge.provenance import _TOKEN, _YEAR, squash
from bot.knowledge.source import (
    SourceReport,
)
from bot.normalize import fold


def _tokens(text: str, skip: list[tuple[int, int]], offset: int) -> list[DraftFigure]:
    """Figure tokens of `text` by provenance's rules (heading numbers and '(1)' enumerators skipped)."""
    out: list[DraftFigure] = []
    for m in _TOKEN.finditer(text):
        start = m.start() + offset
        if any(a <= start < b for a, b in skip):
            continue
        tok = m.group(0)
        before, after = text[max(0, m.start() - 1): m.start()], text[m.end(): m.end() + 1]
        if before == "(" and after == ")" and len(tok) <= 2:
            continue
        kind = "code" if m.group("code") else "date" if m.group("date") else "num"
        if kind == "num" and tok.endswith("%"):
            kind = "percent"
        out.append(DraftFigure(tok, m.start(), m.end(), kind))
    return out


def compose_figures(text: str, tokens: list[DraftFigure]) -> list[DraftFigure]:
    """Join tokens the report writes as one figure: '4000 - 4100', '45/44', '1 trong 10', '15.000m'.

    Then drop what is not a fact of its own: bare years, document codes and the date after a code.
    """
    out: list[DraftFigure] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if i + 1 < len(tokens):
            n = tokens[i + 1]
            gap = text[t.end: n.start]
            kinds = {t.kind, n.kind}
            joined = None
            if re.fullmatch(r"\s*[-–]\s*", gap) and kinds <= {"num", "percent", "date"} and "\n" not in gap:
                if kinds == {"date"}:
                    joined = "daterange"
                elif _YEAR.match(t.text) and _YEAR.match(n.text):
                    joined = "yearrange"
                elif "date" not in kinds:
                    joined = "range"
            elif gap == "/" and kinds == {"num"}:
                joined = "ratio"
            elif re.fullmatch(r"\s+trong(?: số)?\s+", gap) and kinds == {"num"} and not _YEAR.match(n.text):
                joined = "of"
            if joined:
                out.append(DraftFigure(text[t.start: n.end], t.start, n.end, joined))
                i += 2
                continue
        out.append(t)
        i += 1
    kept: list[DraftFigure] = []
    for k, f in enumerate(out):
        glued = re.match(r"[a-zđ²³]{1,3}(?![\w])", text[f.end:])
        if glued and f.kind in ("num", "range") and not _YEAR.match(f.text):
            f.text, f.end = f.text + glued.group(0), f.end + glued.end()
        if f.kind == "code":
            continue
        if f.kind == "num" and _YEAR.match(f.text):
            continue
        if f.kind == "date" and k > 0 and out[k - 1].kind == "code" and _DATE_AFTER.fullmatch(
                text[out[k - 1].end: f.end]):
            continue  # the document's date: the document draft holds it
        kept.append(f)
    return kept


def _hard_clauses(text: str, mask: list[bool]) -> list[tuple[int, int]]:
    """Spans between ';', sentence ends and line breaks (not inside (…) or “…”)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in re.finditer(r"\n|;|(?:\.{2,}|[.!?…])(?=\s|$)", text):
        if mask[m.start()] and m.group(0) != "\n":
            continue
        if m.group(0) not in "\n;" and text[m.end():].lstrip()[:1].islower():
            continue  # 'nhà Khăn quàng đỏ... với kinh phí': the sentence goes on
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _is_fact(f: DraftFigure) -> bool:
    return f.kind not in ("date", "daterange", "yearrange")


_COST = re.compile(r"(?:kinh phí|trị giá|tương ứng(?: với)?|tổng số tiền)\s+(?:gần\s+|trên\s+|khoảng\s+)?$")


def split_clauses(text: str, figures: list[DraftFigure]) -> list[tuple[int, int, list[DraftFigure]]]:
    """Clauses of `text` holding figures: split on ';' and sentence ends, then on ', ' where each side
    states a figure of its own (a piece without one joins its neighbour)."""
    mask = _protected(text)
    out: list[tuple[int, int, list[DraftFigure]]] = []
    for a, b in _hard_clauses(text, mask):
        figs = [f for f in figures if a <= f.start < b]
        if not figs:
            continue
        cuts = [m.start() for m in re.finditer(r",\s", text[a:b]) if not mask[a + m.start()]]
        bounds = [a] + [a + c for c in cuts] + [b]
        pieces = [(bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]
        groups: list[list[tuple[int, int]]] = []
        pending: list[tuple[int, int]] = []
        for s, e in pieces:
            # a fact of its own: not an aside in (…), not the cost of the previous one ('với kinh phí …')
            own = [f for f in figs if _is_fact(f) and s <= f.start < e and not mask[f.start]]
            has_fact = bool(own) and not (groups and _COST.search(text[s:own[0].start]))
            if has_fact:
                groups.append(pending + [(s, e)])
                pending = []
            elif groups:
                groups[-1].append((s, e))
            else:
                pending.append((s, e))
        if pending:
            if groups:
                groups[-1].extend(pending)
            else:
                groups.append(pending)
        for g in groups:
            s, e = g[0][0], g[-1][1]
            gf = [f for f in figs if s <= f.start < e]
            if gf:
                out.append((s, e, gf))
    return out


_UNIT_STOP = {"và", "với", "theo", "đạt", "bằng", "so", "tại", "để", "nhằm", "trong", "của", "từ", "cho",
              "được", "đã", "thuộc", "gồm", "là", "có", "ở", "trên", "đến", "khi", "về", "hoặc", "nhưng"}
_APPROX = re.compile(r"(gần|trên|hơn|khoảng|tối thiểu|ít nhất|tối đa|bằng|đạt|từ)\s*$", re.IGNORECASE)


def _unit_after(text: str, pos: int, end: int) -> str:
    words: list[str] = []
    for m in re.finditer(r"\S+", text[pos:end]):
        w = m.group(0)
        if m.start() > 0 and not text[pos:pos + m.start()].strip() == "" and not words:
            break
        if w[:1] in "(“\"[" or re.search(r"\d", w):
            break
        core = w.rstrip(",;:.)”\"]…")
        if core.lower() in _UNIT_STOP or not core:
            break
        words.append(core)
        if core != w or len(words) >= 5:
            break
    return " ".join(words)


def annotate(text: str, clause: tuple[int, int], figures: list[DraftFigure], mask: list[bool]) -> None:
    """Guess unit, label and role of each figure of a clause."""
    a, b = clause
    clause_text = text[a:b]
    expected = re.search(r"\b(?:dự kiến|ước|phấn đấu đến hết)\b", clause_text, re.IGNORECASE)
    seen_value_outside = False
    prev: DraftFigure | None = None
    for f in figures:
        before = text[max(a, f.start - 40): f.start]
        after = text[f.end: b]
        f.unit = _unit_after(text, f.end, b)
        approx = _APPROX.search(before)
        if f.kind in ("date", "daterange"):
            f.role = "detail"
            f.label = "ngày" if re.search(r"ngày\s*$", before) else ""
            f.unit = ""
        elif f.kind == "yearrange":
            f.role = "detail"
            lab = re.search(r"(nhiệm kỳ|giai đoạn|khóa|khoá)\s*$", before)
            f.label, f.unit = (lab.group(1) if lab else ""), ""
        elif f.kind == "percent":
            if re.match(r"\s*(?:so với\s+)?kế hoạch", after):
                f.role, f.unit = "percent_of_plan", ""
            elif re.search(r"bằng\s*$", before) or re.match(r"\s*so với", after):
                f.role, f.label = "compare", "bằng" if re.search(r"bằng\s*$", before) else ""
                versus = re.match(r"\s*(so với[^,;:.()]*)", after)
                f.unit = squash(versus.group(1)).strip() if versus else f.unit
            elif re.search(r"đạt\s*$", before) and prev is not None and prev.kind == "ratio":
                f.role, f.unit = "percent_of_plan", ""
        else:
            plan = list(re.finditer(r"kế hoạch\s*:|giao chỉ tiêu|chỉ tiêu\s*:", text[a:f.start], re.IGNORECASE))
            if plan and ")" not in text[a + plan[-1].end(): f.start]:
                f.role = "plan"
            elif mask[f.start] and seen_value_outside:
                f.role = "detail"
            elif expected:
                f.role = "expected"
            if not mask[f.start]:
                seen_value_outside = True
        if f.role in ("value", "expected", "plan", "detail") and f.kind not in ("date", "daterange", "yearrange"):
            if approx and approx.group(1).lower() not in ("đạt", "bằng", "từ"):
                f.label = approx.group(1)
            elif not f.unit:
                lead = re.split(r"[,;(“”]", text[a:f.start])[-1]
                pieces = lead.split(":")  # 'nữ: 2.171' → 'nữ'; 'kỷ luật: Khiển trách 136' → 'Khiển trách'
                lead = pieces[-1] if pieces[-1].strip() or len(pieces) == 1 else pieces[-2]
                lead_words = [w for w in lead.split() if not re.search(r"\d", w)][-4:]
                f.label = " ".join(lead_words)
        prev = f
    # 'A/B (đạt X% kế hoạch)': B is the plan; give it as a figure of its own
    for k, f in enumerate(list(figures)):
        if f.kind == "ratio" and any(g.role == "percent_of_plan" for g in figures[k + 1:]):
            plan_text = f.text.split("/", 1)[1]
            pos = f.start + len(f.text) - len(plan_text)
            figures.insert(figures.index(f) + 1, DraftFigure(plan_text, pos, f.end, "num", unit=f.unit,
                                                             role="plan"))


def _period(clause_text: str, kind: str) -> str | None:
    if kind == "target":
        return None
    m = re.search(r"tính đến (?:ngày )?(\d{1,2}/\d{1,2}/\d{4})", clause_text, re.IGNORECASE)
    if m:
        return f"tính đến {m.group(1)}"
    m = re.search(r"(?:đến hết|cả) năm (\d{4})", clause_text, re.IGNORECASE)
    if m and re.search(r"dự kiến|phấn đấu|ước", clause_text, re.IGNORECASE):
        return f"dự kiến cả năm {m.group(1)}"
    m = re.search(r"\b[Nn]ăm (\d{4})\b", clause_text)
    if m:
        return f"năm {m.group(1)}"
    return None


def _title_of(text: str, clause: tuple[int, int], figures: list[DraftFigure], mask: list[bool],
              limit: int = 14) -> str:
    """A draft title: the clause from the phrase that leads to its first fact (lead-in 'X: ' dropped),
    cut to `limit` words."""
    s, e = clause
    first = next((f for f in figures if _is_fact(f)), figures[0])
    commas = [s + m.start() for m in re.finditer(r",\s", text[s:e]) if not mask[s + m.start()]]
    before = [c for c in commas if c < first.start]
    a = before[-1] + 2 if before else s
    if len(text[a:first.start].split()) < 2 and len(before) >= 2:
        a = before[-2] + 2  # 'hỗ trợ xây, sửa 676 …': keep the verb
    colon = text.rfind(": ", a, first.start)
    if colon >= 0 and len(text[colon + 2: e].split()) >= 3:
        a = colon + 2
    t = squash(text[a:e]).strip(" -–,;:.")
    t = re.sub(r"^(?:và|với|trong đó|đồng thời|gồm|riêng|còn)\s+", "", t, flags=re.IGNORECASE)
    words = t.split()
    if len(words) > limit:
        t = " ".join(words[:limit]).rstrip(",;:(")
        t = t + ")" * (t.count("(") - t.count(")")) + " …"
    elif t.count("(") > t.count(")"):
        t += ")"
    return _capitalize(t)


def collect_facts(report: SourceReport, flat: str, headings: list[Heading],
                  taken_ids: set[str]) -> list[DraftFact]:
    """Indicator and target drafts: one per clause that states figures, in report order."""
    by_id = {h.id: h for h in headings}

    def chain(sid: str) -> list[Heading]:
        out, cur = [], by_id.get(sid)
        while cur:
            out.append(cur)
            cur = by_id.get(cur.parent) if cur.parent else None
        return out

    facts: list[DraftFact] = []
    for section, footnote, text, offset in _places(report, flat):
        skip = report.heading_spans if footnote is None else []
        figures = compose_figures(text, _tokens(text, skip, offset))
        if not figures:
            continue
        mask = _protected(text)
        heads = chain(section)
        own = heads[0] if heads else None
        is_target = own is not None and "chi tieu" in fold(own.title)
        year = None
        for h in heads:
            y = re.search(r"\bnăm\s+(\d{4})\b", f"{h.title} {h.subtitle}", re.IGNORECASE)
            if y:
                year = int(y.group(1))
                break
        kind = "target" if is_target and year else "indicator"
        for s, e, figs in split_clauses(text, figures):
            annotate(text, (s, e), figs, mask)
            clause_text = squash(text[s:e]).strip(" -–,;")
            title = _title_of(text, (s, e), figs, mask)
            fid = _unique(slug(title) or f"{section.replace('.', '-')}-so-lieu", taken_ids)
            note = "" if any(_is_fact(f) for f in figs) else "only a date or a term: keep it only if it is a fact"
            facts.append(DraftFact(kind, fid, title, section, footnote, figs, clause_text,
                                   period=_period(clause_text, kind), year=year if kind == "target" else None,
                                   note=note))
    return facts
