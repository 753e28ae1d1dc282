"""Where a document's name written out in words ends: the scanner behind `find_name_mentions`.

A name runs from its type word to the end of its clause; what ends a clause (stop words, a comma
before a new clause or document, a code, too many words) is decided here, token by token.
"""

from __future__ import annotations

import re

from bot.knowledge.extract.words import (
    _COMMA_STOP,
    _ISSUER_RE,
    _MAX_NAME_WORDS,
    _NAME_STOP,
    _TYPE_WORD,
    _TYPES_ALT,
)
from bot.knowledge.vocabulary import CODE_RE

_NAME_TOKEN = re.compile(
    r"(?P<quote>“[^”\n]{0,400}”)|(?P<paren>\([^()\n]{0,120}\))|(?P<space>\s+)|(?P<punct>[,;:!?…]|\.{2,}|\.(?!\S))"
    r"|(?P<word>(?:[^\s,;:.!?…“”()]|[.,](?=\S))+)|(?P<other>.)"
)


_AND_TYPE = re.compile(rf"và\s+(?:các\s+|những\s+)?(?:{_TYPES_ALT})(?![\w])", re.IGNORECASE)


def _scan_name(text: str, pos: int) -> tuple[int, str]:
    """Where a document's name that starts at `pos` ends, and why ('stop', 'code', 'cap')."""
    words = 0
    end = pos
    first_comma: int | None = None
    i = pos
    while i < len(text):
        m = _NAME_TOKEN.match(text, i)
        if not m:
            break
        kind = m.lastgroup
        tok = m.group(0)
        if kind == "space":
            if "\n" in tok:
                return end, "stop"
            i = m.end()
            continue
        if kind == "punct":
            if tok != ",":
                return end, "stop"
            j = m.end()
            while j < len(text) and text[j] == " ":
                j += 1
            if text.startswith("“", j):
                i = m.end()
                continue
            if _TYPE_WORD.match(text, j) or _COMMA_STOP.match(text, j) or _ISSUER_RE.match(text, j):
                return end, "stop"
            if first_comma is None:
                first_comma = end
            i = m.end()
            continue
        if kind == "paren":
            inner = tok[1:-1]
            if len(inner.split()) > 8 or re.fullmatch(r"\d{1,2}", inner):
                return end, "stop"
            end = i = m.end()
            continue
        if kind == "quote":
            end = i = m.end()
            words += len(tok.split())
            continue
        if kind == "other":
            if tok in "“\"'":  # a quote left open: part of the name
                i = m.end()
                continue
            return end, "stop"
        # a word
        if _NAME_STOP.match(text, i):
            return end, "stop"
        if tok == "và" and _AND_TYPE.match(text, i):
            return end, "stop"
        if CODE_RE.fullmatch(tok):
            return m.end(), "code"
        words += 1
        end = i = m.end()
        if words > _MAX_NAME_WORDS:
            return (first_comma if first_comma is not None else end), "cap"
    return end, "stop"


def _list_items(text: str, pos: int) -> list[tuple[int, int]]:
    """Items of a 'về: a; b; c.' list starting at `pos` (spans of a, b, c)."""
    end_m = re.compile(r"\.(?:\s|$)|\n").search(text, pos)
    end = end_m.start() if end_m else len(text)
    items = []
    i = pos
    for part in text[pos:end].split(";"):
        s = i + len(part) - len(part.lstrip(" -"))
        e = i + len(part.rstrip())
        if e > s:
            items.append((s, e))
        i += len(part) + 1
    return items
