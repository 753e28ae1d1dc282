"""Pointed errors about knowledge files: file, entry, field and line."""

from __future__ import annotations

from dataclasses import dataclass

MAX_MESSAGE = 300  # characters; a message may quote the input (an id, a value), never at length


def cut_text(text: str | None, limit: int) -> str | None:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks the cut)."""
    if text is None:
        return None
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class KbError:
    """One problem in the knowledge base, located as precisely as the loader can. Every part is cut
    to a bounded length (whatever the file holds, an error is at most a few hundred characters)."""

    file: str
    message: str
    entry: str | None = None
    field: str | None = None
    line: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", cut_text(self.file, 200))
        object.__setattr__(self, "message", cut_text(self.message, MAX_MESSAGE))
        object.__setattr__(self, "entry", cut_text(self.entry, 80))
        object.__setattr__(self, "field", cut_text(self.field, 120))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [where]
        if self.entry:
            parts.append(f"entry {self.entry!r}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return ": ".join([", ".join(parts), self.message])


class KnowledgeError(Exception):
    """The knowledge base did not validate; `errors` lists every problem found."""

    def __init__(self, errors: list[KbError]) -> None:
        self.errors = errors
        head = "; ".join(str(e) for e in errors[:3])
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"{len(errors)} error(s) in the knowledge base: {head}{more}")
