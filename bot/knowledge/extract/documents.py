"""Documents the report cites, by code and by name."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from bot.knowledge.extract.data import DocMention, DraftDocument
from bot.knowledge.extract.names import _list_items, _scan_name
from bot.knowledge.extract.text import _capitalize, _expand, code_slug, slug
from bot.knowledge.extract.words import (
    _DATE_AFTER,
    _FOLLOWED_BY_CODE,
    _ISSUER_RE,
    _KHOA,
    _TYPE_BEFORE,
    _TYPE_BY_LOWER,
    _TYPE_WORD,
    _TYPES_ALT,
)
from bot.knowledge.provenance import squash
from bot.knowledge.source import (
    SourceReport,
)
from bot.knowledge.vocabulary import CODE, CODE_LETTERS, CODE_RE, type_id_prefix
from bot.normalize import fold


def _issuer_at(text: str, pos: int) -> tuple[str, int] | None:
    """An issuer starting at `pos` (a known one, or 'Ban Chỉ đạo …'), with a 'khóa XIII' suffix."""
    m = _ISSUER_RE.match(text, pos)
    if not m:
        return None
    end = m.end()
    k = _KHOA.match(text, end)
    if k:
        end = k.end()
    return _expand(text[pos:end]), end


def _issuer_after(text: str, pos: int) -> tuple[str, int] | None:
    """'của <issuer>' (or 'do <issuer>') right at `pos`; an unknown issuer is taken up to a stop word."""
    m = re.compile(r"\s*,?\s*(?:của|do)\s+").match(text, pos)
    if not m:
        return None
    known = _issuer_at(text, m.end())
    if known:
        return known
    words = re.compile(r"((?:[A-ZĐÀ-Ỹ][^\s,;.:()“”]*)(?:\s+(?!về\b|thực hiện\b|tại\b|trong\b|đối với\b|theo\b|"
                       r"nhằm\b|để\b|gắn\b)[^\s,;.:()“”]+){0,6})").match(text, m.end())
    if words and words.group(1)[:1].isupper():
        return _expand(words.group(1)), words.end()
    return None


def _type_of(word: str) -> str:
    return _TYPE_BY_LOWER.get(word.lower(), _capitalize(word.lower()))


def _type_from_code(code: str) -> str | None:
    for letters in re.findall(r"[A-ZĐ][A-ZĐa-z]*", code):
        if letters in CODE_LETTERS:
            return CODE_LETTERS[letters]
        for k in (letters[:3], letters[:2]):
            if k in CODE_LETTERS:
                return CODE_LETTERS[k]
    return None


def _context(text: str, start: int, end: int, width: int = 90) -> str:
    a = max(0, start - width)
    b = min(len(text), end + width)
    return squash(("…" if a else "") + text[a:b] + ("…" if b < len(text) else "")).strip()


def find_code_mentions(text: str) -> list[DocMention]:
    """Every document code in `text` with its type, date, issuer and what it implements.

    'Kế hoạch số 254-KH/TU, ngày 31/5/2023 của Ban Thường vụ Thành ủy thực hiện Nghị quyết số 28-NQ/TW'
    gives Kế hoạch 254-KH/TU 31/5/2023 Ban Thường vụ Thành ủy implements 28-NQ/TW (and a mention of it).
    """
    out: list[DocMention] = []
    for m in CODE_RE.finditer(text):
        code = m.group(0)
        if "/" not in code:
            continue
        before = _TYPE_BEFORE.search(text[max(0, m.start() - 40): m.start()])
        doc_type = _type_of(before.group("type")) if before else _type_from_code(code)
        if doc_type is None:
            continue
        start = m.start() - (len(before.group(0)) if before else 0)
        pos = m.end()
        date = None
        d = _DATE_AFTER.match(text, pos)
        if d:
            date, pos = d.group(1), d.end()
        issuer = None
        iss = _issuer_after(text, pos)
        if iss:
            issuer, pos = iss
        implements = None
        seg_end = re.compile(r"[;\n]|\.(?:\s|$)").search(text, pos)
        seg = text[pos: seg_end.start() if seg_end else len(text)]
        imp = re.search(rf"thực hiện\s+(?:{_TYPES_ALT})?\s*(?:số\s+)?({CODE})", seg, re.IGNORECASE)
        if imp and not CODE_RE.search(seg[: imp.start()]):
            implements = imp.group(1)
        out.append(DocMention(doc_type, code=code, date=date, issuer=issuer, implements=implements,
                              start=start, end=pos, context=_context(text, start, pos)))
    return out


def find_name_mentions(text: str, code_mentions: Iterable[DocMention] = ()) -> list[DocMention]:
    """Documents named without a code ('Luật …', 'Đề án “…”', 'Quy chế …', 'Nghị quyết Đại hội …').

    Best effort: a capitalised type word starts a name, which runs to the end of the clause (stop words,
    a comma before a new clause, ';', '.'); a lower-case type word counts when it continues a list of
    documents, heads a 'về: a; b; c' list, or its name holds a year or a quoted title. 'Đề án và Quyết
    định X' gives two documents named X; 'Chỉ thị của <issuer> về X' takes the issuer out of the name.
    """
    out, starts = _name_starts(text, [(c.start, c.end) for c in code_mentions])
    ends: list[int] = []  # where the names taken so far end (a lower-case type word may continue them)
    for idx in range(len(starts)):
        found = _named_at(text, starts, idx, ends)
        if found:
            ends.append(found[0].end)
            out.extend(found)
    _issuers_before(text, out)
    _complete_bare_congress(text, out)
    return out


# A type word where a name may start: (match, name start, why the name ends, issuer, name end)
_NameStart = tuple[re.Match[str], int, str, str | None, int]


def _name_starts(text: str, code_spans: list[tuple[int, int]]) -> tuple[list[DocMention], list[_NameStart]]:
    """Every type word not part of a coded mention: the items of a 'về:' list it heads (mentions
    already), else where its name starts and ends (judged by `_named_at`, which needs its neighbours)."""
    out: list[DocMention] = []
    starts: list[_NameStart] = []
    for m in _TYPE_WORD.finditer(text):
        if _FOLLOWED_BY_CODE.match(text, m.end()):
            continue
        if any(a <= m.start() < b for a, b in code_spans):
            continue
        pos = m.end()
        issuer = None
        iss = re.compile(r"\s+của\s+").match(text, pos)
        if iss:
            known = _issuer_at(text, iss.end())
            if known:
                issuer, pos = known
        lst = re.compile(r"\s+về\s*:\s*").match(text, pos)
        if lst:
            doc_type = _type_of(m.group(0))
            for s, e in _list_items(text, lst.end()):
                item = squash(text[s:e]).strip(" .")
                if not item:
                    continue
                name = f"{doc_type} về {item[:1].lower()}{item[1:]}"
                out.append(DocMention(doc_type, name=name, issuer=issuer, start=s, end=e,
                                      context=_context(text, s, e), note="item of a 'về:' list"))
            continue
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        end, why = _scan_name(text, pos)
        starts.append((m, pos, why, issuer, end))
    return out, starts


def _named_at(text: str, starts: list[_NameStart], idx: int, ends: list[int]) -> list[DocMention]:
    """The document named at ``starts[idx]`` and the ';'-items that complete its name after it; none
    if it has no name, or is a lower-case type word that neither continues a list of documents
    (one ending at ``ends``) nor names something specific."""
    m, pos, why, issuer, end = starts[idx]
    word = m.group(0)
    doc_type = _type_of(word)
    note = ""
    name_rest = squash(text[pos:end]).strip(" ,")
    # "Đề án và Quyết định X", "Chương trình, Kế hoạch X": the first shares the second's name
    if not name_rest and idx + 1 < len(starts):
        nm, npos, _nwhy, nissuer, nend = starts[idx + 1]
        if re.fullmatch(r"\s*(?:và|,)\s*", text[m.end(): nm.start()]):
            name_rest = squash(text[npos:nend]).strip(" ,")
            issuer = issuer or nissuer
            end = nend
            note = f"shares its name with the {_type_of(nm.group(0))} named next to it"
    if not name_rest or not re.search(r"\w", name_rest):
        return []
    if word[:1].islower():
        prev_end = re.search(r"(?:,|\s+và)\s+(?:các\s+|những\s+)?$", text[max(0, m.start() - 30): m.start()])
        continues_list = prev_end is not None and (m.start() - len(prev_end.group(0))) in ends
        specific = re.search(r"\b(?:19|20)\d{2}\b|“", name_rest) and not re.match(r"\s+của\s", text[m.end():])
        if not (continues_list or specific):
            return []
    # a trailing 'của <issuer>' belongs to the document (unless the name ends in another's code)
    if why != "code":
        trail = re.search(r"\s+của\s+(.+)$", name_rest)
        if trail:
            known = _issuer_at(trail.group(1), 0)
            if known and known[1] == len(trail.group(1)):
                issuer = issuer or known[0]
                name_rest = name_rest[: trail.start()]
    name = f"{doc_type} {name_rest}".strip()
    date = None
    d = _DATE_AFTER.match(text, end)
    if d:
        date = d.group(1)
    men = DocMention(doc_type, name=name, issuer=issuer, date=date, start=m.start(), end=end,
                     context=_context(text, m.start(), end), note=note)
    return [men, *_elliptic_items(text, end, doc_type, name_rest, issuer)]


def _issuers_before(text: str, mentions: list[DocMention]) -> None:
    """'<issuer> (đã) ban hành (các) <documents>': the issuer of the mentions that have none (the
    items of a 'về:' list excepted)."""
    for men in mentions:
        if not men.issuer:
            back = re.search(r"(" + _ISSUER_RE.pattern + r")\s+(?:đã\s+|tiếp tục\s+)?ban hành\s+(?:các\s+)?$",
                             text[max(0, men.start - 90): men.start])
            if back and men.note != "item of a 'về:' list":
                men.issuer = _expand(back.group(1))


def _elliptic_items(text: str, end: int, doc_type: str, name_rest: str, issuer: str | None) -> list[DocMention]:
    """'Đề án nhân sự Đại hội Công đoàn …; Đại hội Hội Nông dân …': a ';'-item that repeats the head of
    the name just read (its first two words stand in that name) names another document of the kind."""
    out: list[DocMention] = []
    pos = end
    while True:
        semi = re.compile(r"\s*;\s*").match(text, pos)
        if not semi:
            return out
        stop = re.compile(r";|\n|\.(?:\s|$)").search(text, semi.end())
        item_end = stop.start() if stop else len(text)
        item = squash(text[semi.end(): item_end]).strip()
        head = " ".join(item.split()[:2])
        idx = name_rest.find(head) if len(item.split()) >= 3 and head[:1].isupper() else -1
        if idx <= 0:
            return out
        name = f"{doc_type} {name_rest[:idx]}{item}"
        out.append(DocMention(doc_type, name=name, issuer=issuer, start=semi.end(), end=item_end,
                              context=_context(text, semi.end(), item_end),
                              note="name completed from the list item before it (the report leaves the head out)"))
        pos = item_end


def _complete_bare_congress(text: str, mentions: list[DocMention]) -> None:
    """A bare 'Nghị quyết Đại hội' names the congress the text just spoke of: complete it from there."""
    for men in mentions:
        if not men.name or not re.fullmatch(r"\S+(?: \S+)? Đại hội", men.name):
            continue
        lo = max(0, men.start - 600)
        found = []
        for c in re.finditer(r"Đại hội\s+", text[lo: men.start]):
            end, _ = _scan_name(text, lo + c.end())
            end = min(end, men.start)
            if len(text[lo + c.end(): end].split()) >= 3:
                found.append(squash(text[lo + c.end(): end]))
        if found:
            men.name = f"{men.name} {found[-1]}"
            men.note = "name completed from the congress named just before ('Nghị quyết Đại hội' alone)"


def _places(report: SourceReport, flat: str) -> Iterator[tuple[str, int | None, str, int]]:
    """(section, footnote, text, offset) of every place of the report: section texts, then footnotes."""
    order = sorted(report.sections.values(), key=lambda s: s.start)
    for s in order:
        yield s.id, None, flat[s.start: s.end], s.start
    for number in sorted(report.footnotes):
        owner = report.footnote_section.get(number)
        if owner:
            yield owner, number, report.footnotes[number], 0


def collect_documents(report: SourceReport, flat: str, taken_ids: set[str]) -> list[DraftDocument]:
    """Every document the report cites, merged by code (or by folded name) with all its citations."""
    mentions: list[DocMention] = []
    for section, footnote, text, _ in _places(report, flat):
        codes = find_code_mentions(text)
        names = find_name_mentions(text, codes)
        for men in codes + names:
            men.section, men.footnote = section, footnote
        mentions.extend(sorted(codes + names, key=lambda x: x.start))

    docs: dict[str, DraftDocument] = {}
    for men in mentions:
        key = f"code:{men.code}" if men.code else f"name:{men.doc_type}:{fold(men.name or '')}"
        doc = docs.get(key)
        n = 2
        while doc is not None and not men.code and men.issuer and doc.issuer and \
                fold(men.issuer) != fold(doc.issuer):
            # same name, another issuer ('Chương trình công tác năm 2023' of two committees): another document
            key = f"{key.split('#')[0]}#{n}"
            doc, n = docs.get(key), n + 1
        if doc is None:
            if men.code:
                did = f"{type_id_prefix(men.doc_type) or slug(men.doc_type)}-{code_slug(men.code)}"
            else:
                did = slug(men.name or men.doc_type) or "tai-lieu"
            did = _unique(did, taken_ids)
            doc = DraftDocument(did, men.doc_type, men.code, None if men.code else men.name, men.issuer,
                                men.date, mention=men.context, note=men.note)
            docs[key] = doc
        doc.issuer = doc.issuer or men.issuer
        doc.date = doc.date or men.date
        if men.implements and men.implements not in doc.implements:
            doc.implements.append(men.implements)
        place = (men.section or "", men.footnote)
        if men.section and place not in doc.cited_in:
            doc.cited_in.append(place)
    by_code = {d.code: d.id for d in docs.values() if d.code}
    for d in docs.values():
        d.implements = [by_code[c] for c in d.implements if c in by_code and by_code[c] != d.id]
    return [d for d in docs.values() if d.cited_in]


def _unique(base: str, taken: set[str]) -> str:
    base = base[:70].strip("-") or "muc"
    if len(base) < 2:
        base = f"muc-{base}"
    out, n = base, 2
    while out in taken:
        out = f"{base}-{n}"
        n += 1
    taken.add(out)
    return out
