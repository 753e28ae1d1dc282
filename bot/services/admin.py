"""Admin operations on the knowledge base: validated reload with an atomic swap, YAML upload with
a timestamped backup, and what changed. What was there before keeps serving on any error.

A new base is checked as the one at start-up is (``bot.services.loading``): schema, links, and every
figure against the report (REPORT_PATH), whose sentences the new engine quotes too.

A change that removes a whole data file, or more than ``max_removed_share`` of the entries (a file
deleted or emptied by mistake), is not applied: it is kept as a :class:`PendingChange` that an
admin confirms or cancels (buttons), and a SIGHUP alone never applies it."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.engine.engine import Engine
from bot.knowledge.base import KnowledgeBase, data_files, load_base
from bot.knowledge.errors import KbError, KnowledgeError, cut_text
from bot.knowledge.schema import Synonyms
from bot.normalize import format_number
from bot.services.loading import Loaded, load_engine

MAX_UPLOAD_BYTES = 1_000_000
MIN_MASS_REMOVAL = 3  # entries of one file removed at once before its share counts
CONFIRM_TTL = timedelta(minutes=15)  # a pending change not confirmed by then is dropped
# Only .yaml: the loader reads *.yaml, so a .yml file would be written and never loaded.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}\.yaml$")


def valid_upload_name(file_name: str) -> bool:
    """True for a plain ``name.yaml`` (letters, digits, ``-_.``; no folder): checked before
    anything is downloaded."""
    return bool(_SAFE_NAME.match(file_name or "")) and os.path.basename(file_name) == file_name


@dataclass
class Change:
    """Differences between two bases: entries, and the shared synonyms file."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    synonyms: list[str] = field(default_factory=list)  # 'viết tắt thêm: đv, tcđ', one per kind

    def summary(self) -> str:
        """'thêm 2, bỏ 1, sửa 3' with the ids, then any synonym changes (Vietnamese, for the admin)."""
        def part(label: str, ids: list[str]) -> str:
            shown = ", ".join(ids[:8]) + (f" … (+{len(ids) - 8})" if len(ids) > 8 else "")
            return f"{label} {len(ids)}" + (f": {shown}" if ids else "")
        parts = [part("thêm", self.added), part("bỏ", self.removed), part("sửa", self.changed)]
        return "; ".join(parts + self.synonyms)


def _listed(label: str, items: list[str]) -> list[str]:
    if not items:
        return []
    shown = ", ".join(cut_text(i, 40) or "" for i in items[:8]) + (f" … (+{len(items) - 8})" if len(items) > 8 else "")
    return [f"{label} {len(items)}: {shown}"]


def synonym_changes(old: Synonyms, new: Synonyms) -> list[str]:
    """What changed in synonyms.yaml, one part per kind and direction (Vietnamese)."""
    out: list[str] = []
    for label, a, b in (("viết tắt", old.abbreviations, new.abbreviations),
                        ("từ viết tắt tên riêng", old.acronyms, new.acronyms)):
        out += _listed(f"{label} thêm", [k for k in b if k not in a])
        out += _listed(f"{label} bỏ", [k for k in a if k not in b])
        out += _listed(f"{label} sửa", [k for k in b if k in a and a[k] != b[k]])
    groups_a = {frozenset(g): g for g in old.synonyms}
    groups_b = {frozenset(g): g for g in new.synonyms}
    out += _listed("nhóm đồng nghĩa thêm", [" = ".join(g) for k, g in groups_b.items() if k not in groups_a])
    out += _listed("nhóm đồng nghĩa bỏ", [" = ".join(g) for k, g in groups_a.items() if k not in groups_b])
    out += _listed("địa danh thêm", [p for p in new.places if p not in old.places])
    out += _listed("địa danh bỏ", [p for p in old.places if p not in new.places])
    return out


def diff(old: KnowledgeBase, new: KnowledgeBase) -> Change:
    """Entries added, removed and changed (any field), and synonym changes, between two bases."""
    ch = Change()
    for eid, e in new.entries.items():
        if eid not in old.entries:
            ch.added.append(eid)
        elif old.entries[eid] != e:
            ch.changed.append(eid)
    ch.removed = [eid for eid in old.entries if eid not in new.entries]
    ch.synonyms = synonym_changes(old.synonyms, new.synonyms)
    return ch


def removed_files(old: KnowledgeBase, new: KnowledgeBase) -> list[str]:
    """Data files that held entries in ``old`` and hold none in ``new`` (deleted or emptied)."""
    return sorted(set(old.files.values()) - set(new.files.values()))


@dataclass
class PendingChange:
    """A validated change that removes too much to apply without an admin's confirmation."""

    token: str
    loaded: Loaded
    change: Change
    removed_files: list[str]
    created: datetime
    write: tuple[Path, str] | None = None  # an upload: written only once confirmed

    def reason(self, total: int) -> str:
        """Why it waits (Vietnamese)."""
        parts = []
        if self.removed_files:
            parts.append("mất cả tệp " + ", ".join(self.removed_files))
        if self.change.removed:
            parts.append(f"bỏ {len(self.change.removed)}/{total} mục")
        return "; ".join(parts)


@dataclass
class ReloadReport:
    """The outcome of a reload or an upload."""

    ok: bool
    change: Change | None = None
    errors: list[KbError] = field(default_factory=list)
    removed_targets: list[str] = field(default_factory=list)
    message: str = ""
    backup: Path | None = None
    pending: PendingChange | None = None  # not applied: waits for an admin's confirmation


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
                 report: Path | None = None, max_removed_share: float = 0.2, backups_keep: int = 20) -> None:
        """``report``: the report the figures are checked against and quoted from (REPORT_PATH);
        None: neither (the base is only validated). ``max_removed_share``: a change removing more
        of the entries than this, or of one file's entries (at least 3), or a whole file, waits for
        confirmation (RELOAD_MAX_REMOVED_SHARE).
        ``backups_keep``: backups kept per uploaded file (KNOWLEDGE_BACKUPS_KEEP)."""
        self.holder = holder
        self.dir = Path(knowledge_dir)
        self.report = Path(report) if report is not None else None
        self.clock = clock
        self.max_removed_share = max_removed_share
        self.backups_keep = backups_keep
        self.pending: PendingChange | None = None
        self._lock = asyncio.Lock()

    async def reload(self, *, hold: bool = True) -> ReloadReport:
        """Read `knowledge/`, validate, build the index, then swap; on errors the old base stays.
        A change that removes too much is not applied; with ``hold`` it is kept for
        :meth:`confirm` (an admin's button), without (SIGHUP) it is only reported."""
        async with self._lock:
            try:
                loaded = await asyncio.to_thread(self._load)
            except KnowledgeError as exc:
                return ReloadReport(False, errors=exc.errors, message="Cơ sở dữ liệu mới có lỗi; vẫn dùng bản cũ.")
            change = diff(self.holder.kb, loaded.engine.kb)
            held = self._guard(loaded, change, None, hold)
            return held if held is not None else self._apply(loaded, change)

    async def confirm(self, token: str) -> ReloadReport:
        """Apply the pending change named by ``token`` (writing an upload first)."""
        async with self._lock:
            pending = self._take(token)
            if pending is None:
                return ReloadReport(False, message="Yêu cầu này đã hết hạn hoặc đã được thay thế; "
                                                   "không thay đổi gì. Hãy /reload hoặc gửi lại tệp.")
            backup = None
            if pending.write is not None:
                backup = await asyncio.to_thread(self._write_atomic, *pending.write)
            # The change is still the one shown: any swap since would have dropped the pending one.
            report = self._apply(pending.loaded, pending.change)
            report.backup = backup
            if pending.write is not None:
                report.message = self._written(pending.write[0], backup) + report.message
            return report

    async def cancel(self, token: str) -> bool:
        """Drop the pending change named by ``token``; False if there was none."""
        async with self._lock:
            return self._take(token) is not None

    def _take(self, token: str) -> PendingChange | None:
        pending = self.pending
        if pending is None or not secrets.compare_digest(pending.token, token):
            return None
        self.pending = None
        if self.clock() - pending.created > CONFIRM_TTL:
            return None
        return pending

    def _guard(self, loaded: Loaded, change: Change, write: tuple[Path, str] | None,
               hold: bool) -> ReloadReport | None:
        """None when the change may be applied; else the report of a change held for confirmation."""
        old = self.holder.kb
        files = removed_files(old, loaded.engine.kb)
        total = len(old.entries)
        if not files and not self._too_many_removed(old, change.removed):
            return None
        pending = PendingChange(secrets.token_hex(4), loaded, change, files, self.clock(), write)
        if hold:
            self.pending = pending  # replaces an older one: only the latest can be confirmed
        what = f"Thay đổi này {pending.reason(total)} ({change.summary()})"
        ask = " Xác nhận để áp dụng, hoặc huỷ." if hold else " Không áp dụng (SIGHUP không tự bỏ nhiều mục như vậy)."
        return ReloadReport(False, change, message=f"{what}; vẫn dùng bản cũ.{ask}", pending=pending)

    def _too_many_removed(self, old: KnowledgeBase, removed: list[str]) -> bool:
        """More than the share of all entries, or of one file's (at least MIN_MASS_REMOVAL of
        them: one file emptied by mistake is a small share of the whole base)."""
        if len(removed) > self.max_removed_share * len(old.entries):
            return True
        per_file = Counter(old.files.get(eid, "") for eid in removed)
        in_file = Counter(old.files.values())
        return any(n >= MIN_MASS_REMOVAL and n > self.max_removed_share * in_file[f] for f, n in per_file.items())

    def _load(self, overrides: dict[str, str] | None = None) -> Loaded:
        if self.report is None:  # no report to check against (a service made without one)
            return Loaded(Engine(load_base(self.dir, overrides)))
        return load_engine(self.dir, self.report, overrides)

    def _apply(self, loaded: Loaded, change: Change) -> ReloadReport:
        """Swap ``loaded`` in; ``change`` is its diff against the base in service."""
        engine = loaded.engine
        old = self.holder.kb
        removed_targets = [
            eid for eid in change.removed if old.target(eid) is not None
        ]
        self.holder.engine = engine
        self.pending = None  # made against the base just replaced
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

    def _written(self, path: Path, backup: Path | None) -> str:
        rel = str(path.relative_to(self.dir))
        return f"Đã ghi {rel}" + (f" (bản cũ lưu ở {backup.name})" if backup else "") + ". "

    async def upload(self, file_name: str, content: bytes) -> ReloadReport:
        """Validate an uploaded YAML file with the rest of the base; write it atomically with a
        timestamped backup of the file it replaces; reload. Nothing is written on any error, nor
        before confirmation when it removes too much."""
        name = os.path.basename(file_name or "")
        if not valid_upload_name(file_name):
            return ReloadReport(False, message="Tên tệp không hợp lệ: cần một tên .yaml đơn giản (chữ, số, - _ .).")
        if len(content) > MAX_UPLOAD_BYTES:
            return ReloadReport(False, message=f"Tệp quá lớn ({format_number(len(content))} byte); tối đa 1 MB.")
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
            change = diff(self.holder.kb, loaded.engine.kb)
            held = self._guard(loaded, change, (path, text), hold=True)
            if held is not None:
                held.message = f"Chưa ghi {rel}. " + held.message
                return held
            backup = await asyncio.to_thread(self._write_atomic, path, text)
            # The engine validated with the upload is the one swapped in: the files on disk are now
            # exactly what it was built from (other edits wait for the next /reload).
            report = self._apply(loaded, change)
            report.backup = backup
            report.message = self._written(path, backup) + report.message
            return report

    def _write_atomic(self, path: Path, text: str) -> Path | None:
        backup = None
        if path.exists():
            bdir = self.dir / "backups"
            bdir.mkdir(exist_ok=True)
            stamp = self.clock().strftime("%Y%m%dT%H%M%S")
            backup = bdir / f"{path.stem}.{stamp}{path.suffix}"
            shutil.copy2(path, backup)
            self._prune_backups(bdir, path)
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

    def _prune_backups(self, bdir: Path, path: Path) -> None:
        """Keep the newest ``backups_keep`` backups of this file (names sort by their stamp)."""
        stamp = re.compile(re.escape(path.stem) + r"\.\d{8}T\d{6}" + re.escape(path.suffix) + "$")
        mine = sorted(p for p in bdir.iterdir() if stamp.match(p.name))
        for old in mine[:-self.backups_keep]:
            old.unlink(missing_ok=True)
