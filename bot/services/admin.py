"""Admin operations on the knowledge base: validated reload with an atomic swap, YAML upload with
a timestamped backup, and what changed. What was there before keeps serving on any error.

A new base is checked as the one at start-up is (``bot.services.loading``): schema, links, and every
figure against the report (REPORT_PATH), whose sentences the new engine quotes too."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.engine.engine import Engine
from bot.knowledge.base import KnowledgeBase, data_files, load_base
from bot.knowledge.errors import KbError, KnowledgeError, cut_text
from bot.knowledge.schema import Target
from bot.services.loading import Loaded, load_engine

MAX_UPLOAD_BYTES = 1_000_000
# Only .yaml: the loader reads *.yaml, so a .yml file would be written and never loaded.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}\.yaml$")


def valid_upload_name(file_name: str) -> bool:
    """True for a plain ``name.yaml`` (letters, digits, ``-_.``; no folder): checked before
    anything is downloaded."""
    return bool(_SAFE_NAME.match(file_name or "")) and os.path.basename(file_name) == file_name


@dataclass
class Change:
    """Differences between two bases."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """'thêm 2, bỏ 1, sửa 3' with the ids (Vietnamese, for the admin)."""
        def part(label: str, ids: list[str]) -> str:
            shown = ", ".join(ids[:8]) + (f" … (+{len(ids) - 8})" if len(ids) > 8 else "")
            return f"{label} {len(ids)}" + (f": {shown}" if ids else "")
        return "; ".join([part("thêm", self.added), part("bỏ", self.removed), part("sửa", self.changed)])


def diff(old: KnowledgeBase, new: KnowledgeBase) -> Change:
    """Entries added, removed and changed (any field) between two bases."""
    ch = Change()
    for eid, e in new.entries.items():
        if eid not in old.entries:
            ch.added.append(eid)
        elif old.entries[eid] != e:
            ch.changed.append(eid)
    ch.removed = [eid for eid in old.entries if eid not in new.entries]
    return ch


@dataclass
class ReloadReport:
    """The outcome of a reload or an upload."""

    ok: bool
    change: Change | None = None
    errors: list[KbError] = field(default_factory=list)
    removed_targets: list[str] = field(default_factory=list)
    message: str = ""
    backup: Path | None = None


class EngineHolder:
    """Holds the engine in service; the swap is a single attribute assignment (atomic in asyncio)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base in service."""
        return self.engine.kb


def format_errors(errors: list[KbError], limit: int = 10) -> str:
    """The errors, one a line (file, entry, field, line), for an admin reply: at most ``limit``
    lines of at most 300 characters, so a reply about any file fits in one Telegram message."""
    lines = [f"• {cut_text(str(e), 300)}" for e in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"… và {len(errors) - limit} lỗi khác")
    return "\n".join(lines)


class AdminService:
    """Reload and upload; `holder.engine` is replaced only after full validation and indexing."""

    def __init__(self, holder: EngineHolder, knowledge_dir: Path,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), *,
                 report: Path | None = None) -> None:
        """``report``: the report the figures are checked against and quoted from (REPORT_PATH);
        None: neither (the base is only validated)."""
        self.holder = holder
        self.dir = Path(knowledge_dir)
        self.report = Path(report) if report is not None else None
        self.clock = clock
        self._lock = asyncio.Lock()

    async def reload(self) -> ReloadReport:
        """Read `knowledge/`, validate, build the index, then swap; on errors the old base stays."""
        async with self._lock:
            return await self._reload()

    def _load(self, overrides: dict[str, str] | None = None) -> Loaded:
        if self.report is None:  # no report to check against (a service made without one)
            return Loaded(Engine(load_base(self.dir, overrides)))
        return load_engine(self.dir, self.report, overrides)

    async def _reload(self, loaded: Loaded | None = None) -> ReloadReport:
        if loaded is None:
            try:
                loaded = await asyncio.to_thread(self._load)
            except KnowledgeError as exc:
                return ReloadReport(False, errors=exc.errors, message="Cơ sở dữ liệu mới có lỗi; vẫn dùng bản cũ.")
        engine = loaded.engine
        old = self.holder.kb
        change = diff(old, engine.kb)
        removed_targets = [
            eid for eid in change.removed if isinstance(old.entries[eid], Target)
        ]
        self.holder.engine = engine
        warning = f" Lưu ý: {loaded.warning}." if loaded.warning else ""
        return ReloadReport(True, change, removed_targets=removed_targets,
                            message=f"Đã nạp lại: {len(engine.kb.entries)} mục ({change.summary()}).{warning}")

    def _target_path(self, name: str) -> Path:
        """Where an uploaded file goes: the existing file of that name anywhere in the base, or the top."""
        for p in data_files(self.dir):
            if p.name == name:
                return p
        special = self.dir / name
        return special

    async def upload(self, file_name: str, content: bytes) -> ReloadReport:
        """Validate an uploaded YAML file with the rest of the base; write it atomically with a
        timestamped backup of the file it replaces; reload. Nothing is written on any error."""
        name = os.path.basename(file_name or "")
        if not valid_upload_name(file_name):
            return ReloadReport(False, message="Tên tệp không hợp lệ: cần một tên .yaml đơn giản (chữ, số, - _ .).")
        if len(content) > MAX_UPLOAD_BYTES:
            return ReloadReport(False, message=f"Tệp quá lớn ({len(content):,} byte); tối đa 1 MB.".replace(",", "."))
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return ReloadReport(False, message="Tệp không phải văn bản UTF-8.")
        async with self._lock:
            path = self._target_path(name)
            rel = str(path.relative_to(self.dir))
            try:
                loaded = await asyncio.to_thread(self._load, {rel: text})
            except KnowledgeError as exc:
                return ReloadReport(False, errors=exc.errors, message=f"Tệp {name} không hợp lệ; không ghi gì.")
            backup = await asyncio.to_thread(self._write_atomic, path, text)
            # The engine validated with the upload is the one swapped in: the files on disk are now
            # exactly what it was built from (other edits wait for the next /reload).
            report = await self._reload(loaded)
            report.backup = backup
            if report.ok:
                report.message = f"Đã ghi {rel}" + (f" (bản cũ lưu ở {backup.name})" if backup else "") + ". " + report.message
            return report

    def _write_atomic(self, path: Path, text: str) -> Path | None:
        backup = None
        if path.exists():
            bdir = self.dir / "backups"
            bdir.mkdir(exist_ok=True)
            stamp = self.clock().strftime("%Y%m%dT%H%M%S")
            backup = bdir / f"{path.stem}.{stamp}{path.suffix}"
            shutil.copy2(path, backup)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return backup
