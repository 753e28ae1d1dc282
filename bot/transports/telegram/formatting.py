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
    tokens = _split_tokens(text, max(1, limit // 16))
    splitter = _HtmlSplitter(limit)
    while tokens:
        # a cut hands back the tokens after it: they start the next part
        tokens.extendleft(reversed(splitter.take(tokens.popleft())))
    splitter.emit(splitter.cur, splitter.stack)
    return splitter.parts


# An open tag: (tag name, opening tag as written)
_Open = tuple[str, str]
# A place a part may end: (index in the part, offset, open tags there, is a line break)
_Break = tuple[int, int, tuple[_Open, ...], bool]


def _split_tokens(text: str, piece: int) -> deque[str]:
    """Tags, entities, line breaks, spaces and text; a run of text longer than ``piece`` (no space in
    it) is cut into pieces, so a hard cut can fit anywhere."""
    tokens: deque[str] = deque()
    for tok in _TOKEN.findall(text):
        if len(tok) > piece and tok[0] not in "<&":
            tokens.extend(tok[i:i + piece] for i in range(0, len(tok), piece))
        else:
            tokens.append(tok)
    return tokens


def _stack_after(stack: list[_Open], tok: str) -> list[_Open]:
    """The open tags after ``tok``: an opening tag is pushed, a closing one pops back to its opener
    (one with no opener changes nothing); other tokens leave ``stack`` as it is (the same list)."""
    m = _TAG.fullmatch(tok)
    if not m:
        return stack
    name = m.group(2).lower()
    if m.group(1):
        idx = max((i for i, (n, _) in enumerate(stack) if n == name), default=None)
        return stack[:idx] if idx is not None else stack
    return [*stack, (name, tok)]


def _pick_break(breaks: list[_Break], limit: int) -> _Break | None:
    """Where to cut a full part: its last line break if at least a quarter into the part, else its
    last space, else its last line break; None when it has neither (a cut between tokens)."""
    newline = [b for b in breaks if b[3]]
    spaces = [b for b in breaks if not b[3]]
    if newline and newline[-1][1] >= limit // 4:
        return newline[-1]
    if spaces:
        return spaces[-1]
    return newline[-1] if newline else None


def _closers(st: list[_Open] | tuple[_Open, ...]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(st))


class _HtmlSplitter:
    """`split_html`'s part being filled: its tokens, its length and open tags, where it may be cut."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.begin([])

    def begin(self, st: list[_Open] | tuple[_Open, ...]) -> None:
        """Start a new part that reopens the tags ``st``."""
        self.stack = list(st)
        self.cur = [raw for _, raw in self.stack]
        self.cur_len = sum(utf16_len(t) for t in self.cur)
        self.prefix_len = len(self.cur)  # tokens of `cur` that only reopen tags
        self.breaks: list[_Break] = []

    def emit(self, body: list[str], st: list[_Open] | tuple[_Open, ...]) -> None:
        """Close the tags ``st`` after ``body`` and keep it as a part if it shows any text."""
        part = ("".join(body) + _closers(st)).strip()
        if visible_text(part).strip():
            self.parts.append(part)

    def take(self, tok: str) -> list[str]:
        """Add ``tok`` to the part; when it does not fit, end the part at the best break and return
        the tokens to read again (those after the break, and ``tok``)."""
        new_stack = _stack_after(self.stack, tok)
        size = utf16_len(tok)
        if self.cur_len + size + utf16_len(_closers(new_stack)) > self.limit and len(self.cur) > self.prefix_len:
            choice = _pick_break(self.breaks, self.limit)
            if choice is None:
                self.emit(self.cur, self.stack)
                rest = [tok]
                resume: list[_Open] | tuple[_Open, ...] = self.stack
            else:
                index, _, snapshot, _ = choice
                self.emit(self.cur[:index], snapshot)
                rest = self.cur[index + 1:] + [tok]
                resume = snapshot
            self.begin(resume)
            return rest
        self.cur.append(tok)
        self.cur_len += size
        self.stack = new_stack
        if tok in ("\n", " "):
            self.breaks.append((len(self.cur) - 1, self.cur_len, tuple(self.stack), tok == "\n"))
        return []


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
