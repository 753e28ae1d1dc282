"""Loading a knowledge base for serving: validated, its figures checked against the report, indexed.

Every path that puts a base in front of users goes through :func:`load_engine`: ``run``, ``chat``
and ``ask`` at start, ``/reload``, SIGHUP and a YAML upload. So a figure the report does not hold
(a 2024 target typed wrong) is refused with its file, entry, field and line wherever it comes
from, and the base in service keeps answering.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bot.engine.engine import Engine
from bot.knowledge.base import KnowledgeBase, load_base
from bot.knowledge.errors import KnowledgeError
from bot.knowledge.passages import build_passages, read_passages
from bot.knowledge.provenance import verify_against_report
from bot.knowledge.source import DEFAULT_REPORT, SourceError

NO_REPORT = "không có REPORT_PATH: tắt trả lời trích nguyên văn"
STATEMENTS_OFF = "không đọc được báo cáo ({reason}): chỉ trả lời từ cơ sở tri thức, tắt trả lời trích nguyên văn"
UNCHECKED = "; chưa đối chiếu được số liệu với báo cáo"


@dataclass
class Loaded:
    """An engine ready to serve, and a one-line warning when the report could not be used
    (statements off, figures not checked against it), else None."""

    engine: Engine
    warning: str | None = None


def load_engine(directory: Path, report: Path | None, overrides: dict[str, str] | None = None) -> Loaded:
    """Load `directory` (with `overrides`, see :func:`load_base`), check every figure against the
    report at `report`, and build the engine with the report's sentences.

    Raises KnowledgeError listing the schema errors, or else the provenance errors. A report that
    cannot be read is not the base's fault: the engine is built without its sentences and the
    warning says why (as at start-up).
    """
    kb = load_base(Path(directory), overrides)
    if report is None:
        return Loaded(Engine(kb), NO_REPORT + UNCHECKED)
    verified = verify_against_report(kb, Path(report))
    if verified.errors:
        raise KnowledgeError(verified.errors)
    if verified.report is None:
        return Loaded(Engine(kb), STATEMENTS_OFF.format(reason=verified.unreadable) + UNCHECKED)
    return Loaded(Engine(kb, build_passages(verified.report)))


def report_path(value: str | os.PathLike[str] | None = None) -> Path:
    """The report file: the given value, else $REPORT_PATH, else the shared copy."""
    return Path(value or os.environ.get("REPORT_PATH") or DEFAULT_REPORT)


def build_engine(kb: KnowledgeBase, report: Path | None) -> tuple[Engine, str | None]:
    """The engine over an already loaded `kb` with the report's sentences, without checking its
    figures against the report (tests and benchmarks; serving goes through :func:`load_engine`).
    Returns (engine, warning): the warning says in one line why statements are off, else None."""
    if report is None:
        return Engine(kb), NO_REPORT
    try:
        passages = read_passages(report, kb)
    except SourceError as exc:
        return Engine(kb), STATEMENTS_OFF.format(reason=str(exc))
    return Engine(kb, passages), None
