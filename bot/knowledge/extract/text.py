"""Text helpers: flattening, protected spans, slugs."""

from __future__ import annotations

import re

from bot.knowledge.extract.words import _ABBREVIATIONS
from bot.knowledge.provenance import squash
from bot.normalize import fold, strip_diacritics


def flatten(text: str) -> str:
    """The text with page breaks inside sentences joined; same length, so offsets stay valid.

    A line break is joined (turned into spaces) when the next line starts in lower case, or when it is
    a page break (footnote lines were removed there: three or more newlines, or a '---' rule) that
    does not follow the end of a sentence.
    """
    chars = list(text)
    for m in re.finditer(r"[ \t]*\n(?:[ \t\-_*]*\n)*[ \t]*", text):
        run = m.group(0)
        i = m.start() - 1
        while i >= 0 and text[i] in " \t":
            i -= 1
        prev = text[i] if i >= 0 else ""
        nxt = text[m.end(): m.end() + 1]
        page_break = run.count("\n") >= 3 or "-" in run
        if nxt and (nxt.islower() or (page_break and prev and prev not in ".:;!?…”\")")):
            for k in range(m.start(), m.end()):
                chars[k] = " "
    return "".join(chars)


def _protected(text: str) -> list[bool]:
    """Positions inside a closed (…) or “…” on the same line: clause splitting does not cut there."""
    mask = [False] * len(text)
    for open_, close in (("(", ")"), ("“", "”")):
        i = 0
        while True:
            i = text.find(open_, i)
            if i < 0:
                break
            j = text.find(close, i + 1)
            nl = text.find("\n", i + 1)
            if j > 0 and (nl < 0 or j < nl) and j - i < 500:
                for k in range(i + 1, j):
                    mask[k] = True
                i = j + 1
            else:
                i += 1
    return mask


def slug(text: str, limit: int = 60) -> str:
    """Lower-case ascii slug ('Kết nạp 3.482 đảng viên' → 'ket-nap-3482-dang-vien')."""
    s = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    if len(s) > limit:
        s = s[:limit].rsplit("-", 1)[0]
    return s


def code_slug(code: str) -> str:
    """'1058-QĐ/TU' → '1058-qd-tu' (leading zeros kept: '05-CT/TW' → '05-ct-tw')."""
    return re.sub(r"[^a-z0-9]+", "-", strip_diacritics(code.lower())).strip("-")


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _expand(issuer: str) -> str:
    """An issuer as the base writes it: abbreviations spelled out, 'uỷ'/'hoá' in today's spelling."""
    for short, long in _ABBREVIATIONS.items():
        issuer = re.sub(rf"(?<!\w){short}(?!\w)", long, issuer)
    for old, new in (("uỷ", "ủy"), ("Uỷ", "Ủy"), ("hoá", "hóa"), ("khoá", "khóa")):
        issuer = issuer.replace(old, new)
    return squash(issuer).strip()
