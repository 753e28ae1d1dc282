"""Building an Engine from files: the knowledge base and, when it can be read, the report itself."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bot.engine.engine import Engine
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.passages import read_passages
from bot.knowledge.source import DEFAULT_REPORT, SourceError

log = logging.getLogger(__name__)

NO_REPORT = "không có REPORT_PATH: tắt trả lời trích nguyên văn"
STATEMENTS_OFF = "không đọc được báo cáo ({reason}): chỉ trả lời từ cơ sở tri thức, tắt trả lời trích nguyên văn"


def report_path(value: str | os.PathLike[str] | None = None) -> Path:
    """The report file: the given value, else $REPORT_PATH, else the shared copy."""
    return Path(value or os.environ.get("REPORT_PATH") or DEFAULT_REPORT)


def build_engine(kb: KnowledgeBase, report: Path | None) -> tuple[Engine, str | None]:
    """The engine over `kb` with the report's sentences; (engine, warning) where the warning says,
    in one line, why statements are off (report missing or unreadable), else None."""
    if report is None:
        return Engine(kb), NO_REPORT
    try:
        passages = read_passages(report, kb)
    except SourceError as exc:
        return Engine(kb), STATEMENTS_OFF.format(reason=str(exc))
    return Engine(kb, passages), None
