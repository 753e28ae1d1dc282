"""Telegram HTML helpers: escaping, length in Telegram's units, clean splitting, list pages.

Telegram counts message length in UTF-16 code units after parsing entities; this module counts the
raw HTML instead, which is never shorter, so a part that fits here always fits there.
"""

from __future__ import annotations

import html
import re
from collections import deque

from bot.transports.telegram import texts

TELEGRAM_LIMIT = 4096
ITEM_LIMIT = 320  # characters of one list line (plain), so a page of 8 always fits one message
BUTTON_LIMIT = 60  # characters of a button label

_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);|\n| |[^<&\n ]{1,200}|[<&]")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*>")
_STRIP_TAGS = re.compile(r"<[^<>]*>")


def escape(text: str) -> str:
    """Escape text for Telegram HTML (<, >, & and quotes)."""
    return html.escape(text, quote=True)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le")) // 2


def visible_text(fragment: str) -> str:
    """The text a reader sees: tags removed, entities decoded."""
    return html.unescape(_STRIP_TAGS.sub("", fragment))


def truncate(text: str, limit: int) -> str:
    """Plain text cut to at most ``limit`` characters, at a word boundary when possible, with '…'."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.–-") + "…"


def split_html(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split Telegram HTML into parts of at most ``limit`` UTF-16 units.

    Cuts at a line break when one is reasonably far into the part, else at a space, else between
    tokens; never inside a tag or an entity. Tags open at a cut are closed at the end of the part
    and reopened at the start of the next, so every part is valid HTML on its own. Parts with no
    visible text are dropped. Text that fits is returned unchanged (stripped) as one part.
    """
    text = text.strip()
    if utf16_len(text) <= limit:
        return [text] if visible_text(text).strip() else []
    piece = max(1, limit // 16)  # longest run of text without a space, so a hard cut can fit anywhere
    tokens: deque[str] = deque()
    for tok in _TOKEN.findall(text):
        if len(tok) > piece and tok[0] not in "<&":
            tokens.extend(tok[i:i + piece] for i in range(0, len(tok), piece))
        else:
            tokens.append(tok)
    parts: list[str] = []
    stack: list[tuple[str, str]] = []  # (tag name, opening tag as written)
    cur: list[str] = []
    cur_len = 0
    prefix_len = 0  # tokens of `cur` that only reopen tags
    breaks: list[tuple[int, int, tuple[tuple[str, str], ...], bool]] = []  # (index, offset, stack, newline)

    def closers(st: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
        return "".join(f"</{name}>" for name, _ in reversed(st))

    def emit(body: list[str], st: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> None:
        part = ("".join(body) + closers(st)).strip()
        if visible_text(part).strip():
            parts.append(part)

    def begin(st: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> None:
        nonlocal stack, cur, cur_len, prefix_len, breaks
        stack = list(st)
        cur = [raw for _, raw in stack]
        cur_len = sum(utf16_len(t) for t in cur)
        prefix_len = len(cur)
        breaks = []

    begin([])
    while tokens:
        tok = tokens.popleft()
        new_stack = stack
        m = _TAG.fullmatch(tok)
        if m:
            name = m.group(2).lower()
            if m.group(1):  # closing tag: pop back to the matching opener
                idx = max((i for i, (n, _) in enumerate(stack) if n == name), default=None)
                new_stack = stack[:idx] if idx is not None else stack
            else:
                new_stack = [*stack, (name, tok)]
        size = utf16_len(tok)
        if cur_len + size + utf16_len(closers(new_stack)) > limit and len(cur) > prefix_len:
            newline = [b for b in breaks if b[3]]
            spaces = [b for b in breaks if not b[3]]
            choice = None
            if newline and newline[-1][1] >= limit // 4:
                choice = newline[-1]
            elif spaces:
                choice = spaces[-1]
            elif newline:
                choice = newline[-1]
            if choice is None:
                emit(cur, stack)
                rest = [tok]
                resume: tuple[tuple[str, str], ...] | list[tuple[str, str]] = stack
            else:
                index, _, snapshot, _ = choice
                emit(cur[:index], snapshot)
                rest = cur[index + 1:] + [tok]
                resume = snapshot
            tokens.extendleft(reversed(rest))
            begin(resume)
            continue
        cur.append(tok)
        cur_len += size
        stack = new_stack
        if tok in ("\n", " "):
            breaks.append((len(cur) - 1, cur_len, tuple(stack), tok == "\n"))
    emit(cur, stack)
    return parts


def page_html(title: str, lines: list[str], *, page: int, pages: int, total: int, first_number: int,
              footer: str = "") -> str:
    """A list page: bold title, numbered items (plain text, escaped and truncated here), page line."""
    out = [f"<b>{escape(title)}</b>"]
    out += [f"{first_number + i}. {escape(truncate(line, ITEM_LIMIT))}" for i, line in enumerate(lines)]
    out.append(f"<i>{texts.PAGE.format(page=page + 1, pages=pages, total=total)}</i>")
    if footer:
        out.append(footer)
    return "\n".join(out)


def button_label(text: str, limit: int = BUTTON_LIMIT) -> str:
    """A button label: plain text (buttons are never parsed as HTML), truncated."""
    return truncate(text, limit) or "…"
