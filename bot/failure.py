"""Failures a user or an operator causes and can fix, reported as ONE line that names the cause and
the fix, with a non-zero exit code and no traceback (``--debug`` or ``LOG_LEVEL=DEBUG`` shows it).

Commands raise :class:`OperatorError`; ``bot.cli.main`` prints ``error: <message>`` and returns
the code. Anything else that escapes a command is a bug: ``main`` still prints one line (and
the traceback only when debugging).
"""

from __future__ import annotations

from pathlib import Path

from bot.knowledge.errors import KnowledgeError


class OperatorError(Exception):
    """One line (cause and fix) and the exit code: 1 a failure, 2 a configuration to correct."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(" ".join(message.split()))  # one line, whatever the cause's text held
        self.code = code

    @property
    def message(self) -> str:
        """The line to print."""
        return str(self)


def invalid_base(directory: Path, exc: KnowledgeError, check: str = "python -m bot check") -> OperatorError:
    """The base at `directory` did not load: how many errors, the first (file, entry, field, line),
    and the command that lists them all (with the same settings)."""
    first = exc.errors[0] if exc.errors else exc
    return OperatorError(
        f"KNOWLEDGE_DIR={directory}: cơ sở tri thức không hợp lệ ({len(exc.errors)} lỗi, đầu tiên: {first}); "
        f"chạy `{check}` để xem tất cả.", 1)
