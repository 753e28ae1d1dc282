"""Pointed errors about knowledge files: file, entry, field and line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KbError:
    """One problem in the knowledge base, located as precisely as the loader can."""

    file: str
    message: str
    entry: str | None = None
    field: str | None = None
    line: int | None = None

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
