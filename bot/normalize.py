"""Text normalisation shared by the knowledge base and the engine: the one place for these rules.

Vietnamese text is compared in two forms: `fold` (lower case, diacritics and đ folded, punctuation
to spaces, number forms unified) for matching, and `nfc_lower` when the accented form matters.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\ufeff]")
# 3.482 / 3,482 / 2.171 (thousands) vs 21,05 / 117,2 (decimals): Vietnamese writes "." for
# thousands and "," for decimals; a group of exactly three digits after "." is a thousands group.
_THOUSANDS = re.compile(r"(?<![\d.,])(\d{1,3})((?:\.\d{3})+)(?![\d]|[.,]\d)")
_DECIMAL_COMMA = re.compile(r"(\d),(\d)")
_LEADING_ZERO = re.compile(r"(?<![\d.])0+(\d)")
_RANGE = re.compile(r"(\d)\s*[-–—]\s*(\d)")
_PUNCT = re.compile(r"[^\w%/.\-]+", re.UNICODE)
_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    """Unicode NFC with control and zero-width characters removed."""
    return _CONTROL.sub(" ", unicodedata.normalize("NFC", text))


def nfc_lower(text: str) -> str:
    """NFC, lower case, collapsed whitespace; keeps diacritics."""
    return _SPACES.sub(" ", nfc(text).lower()).strip()


@lru_cache(maxsize=65536)
def strip_diacritics(text: str) -> str:
    """Drop Vietnamese diacritics and fold đ → d (input is expected lower case)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def fold_numbers(text: str) -> str:
    """Unify number forms: 3.482 → 3482, 21,05 → 21.05, 05 → 5, '25 - 30' → '25-30'."""
    text = _THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(".", ""), text)
    text = _DECIMAL_COMMA.sub(r"\1.\2", text)
    text = _LEADING_ZERO.sub(r"\1", text)
    text = re.sub(r"(\d)\s+%", r"\1%", text)
    return _RANGE.sub(r"\1-\2", text)


def fold(text: str) -> str:
    """Matching form: NFC, lower case, no diacritics, numbers unified, punctuation → spaces."""
    text = fold_numbers(strip_diacritics(nfc_lower(text)))
    text = _PUNCT.sub(" ", text)
    # "." and "-" only matter inside numbers and codes; elsewhere they separate words.
    text = re.sub(r"(?<![\w])[.\-/]+|[.\-/]+(?![\w])", " ", text)
    return _SPACES.sub(" ", text).strip()


def parse_number(text: str) -> float | None:
    """Parse one number as the report writes it: '3.482' → 3482, '21,05%' → 21.05, '05' → 5."""
    t = fold_numbers(nfc(text).strip()).rstrip("%").strip()
    try:
        return float(t)
    except ValueError:
        return None


_NUM = re.compile(r"\d+(?:[.,]\d+)*")


def numbers_in(text: str) -> list[float]:
    """Every number in a figure string, in order ('3.800 - 3.900' → [3800, 3900])."""
    out: list[float] = []
    for m in _NUM.finditer(nfc(text)):
        value = parse_number(m.group(0))
        if value is not None:
            out.append(value)
    return out


def format_number(value: float) -> str:
    """A number the Vietnamese way, as the report writes it: 3.482 (thousands), 21,05 (decimals)."""
    if abs(value - round(value)) < 1e-9:
        return f"{int(round(value)):,}".replace(",", ".")
    return f"{value:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".").rstrip("0").rstrip(",")


def format_value(value: float, unit: str) -> str:
    """A number with its unit: '1.250 đảng viên', '45%', '12' (no unit)."""
    suffix = "%" if unit == "%" else (f" {unit}" if unit else "")
    return f"{format_number(value)}{suffix}"


_YEAR = re.compile(r"(?<![\d/])((?:19|20)\d{2})(?![\d])")


def years_in(text: str) -> set[int]:
    """Years written in a text (bare or inside dates)."""
    return {int(y) for y in _YEAR.findall(text)}
