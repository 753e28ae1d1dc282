"""Checks of a loaded base across its entries (stray copies, references, aliases), and the links
built once it passes them."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from bot.knowledge.errors import KbError
from bot.knowledge.schema import Document, Entry, Indicator, Target
from bot.normalize import fold

if TYPE_CHECKING:
    from bot.knowledge.base import KnowledgeBase


def _plain_name(name: str) -> bool:
    """A file name as the base's own files are named: no spaces, brackets or '~' ("targets
    (copy).yaml", "targets~.yaml" are copies an editor or a file manager left behind)."""
    return re.fullmatch(r"[\w.-]+\.ya?ml", name) is not None


def _collapse_stray_copies(errors: list[KbError], duplicates: dict[str, list[tuple[KbError, str]]],
                           sizes: dict[str, int]) -> list[KbError]:
    """A file whose entries all repeat the ids of another file is a stray copy: one error that says
    so (on the copy, when its name tells which one it is), instead of one per entry."""
    for file, dups in duplicates.items():
        for other in sorted({orig for _, orig in dups}):
            pair = [err for err, orig in dups if orig == other]
            if len(pair) < 2 or len(pair) not in (sizes.get(file), sizes.get(other)):
                continue
            stray, kept = (other, file) if _plain_name(Path(file).name) and not _plain_name(Path(other).name) \
                else (file, other)
            drop = {id(err) for err in pair}
            errors = [e for e in errors if id(e) not in drop]
            errors.append(KbError(
                stray, f"all {len(pair)} entries repeat ids of {kept}: a stray copy? keep one of the two and "
                       "move the other out of the knowledge folder (old versions belong in backups/)"))
    return errors


def _check_references(kb: KnowledgeBase, lines: dict[str, int | None]) -> list[KbError]:
    errors: list[KbError] = []

    def err(e: Entry, fld: str, msg: str) -> None:
        errors.append(KbError(kb.files[e.id], msg, entry=e.id, field=fld, line=lines.get(e.id)))

    for e in kb.entries.values():
        if isinstance(e, Document):
            for i, c in enumerate(e.cited_in):
                if c.section not in kb.sections:
                    err(e, f"cited_in.{i}.section", f"unknown section {c.section!r}")
            for i, ref in enumerate(e.implements):
                target = kb.entries.get(ref)
                if target is None or not isinstance(target, Document):
                    err(e, f"implements.{i}", f"dangling link: no document {ref!r}")
            continue
        if e.section not in kb.sections:
            err(e, "section", f"unknown section {e.section!r}")
        for i, ref in enumerate(e.related):
            if ref not in kb.entries or ref == e.id:
                err(e, f"related.{i}", f"dangling link: no entry {ref!r}")
        if isinstance(e, Indicator) and e.parent is not None:
            parent = kb.entries.get(e.parent)
            if parent is None or not isinstance(parent, Indicator) or e.parent == e.id:
                err(e, "parent", f"dangling link: no indicator {e.parent!r}")
    return errors


def _check_alias_collisions(kb: KnowledgeBase, lines: dict[str, int | None]) -> list[KbError]:
    seen: dict[str, str] = {}
    errors: list[KbError] = []
    for e in kb.entries.values():
        for alias in e.aliases:
            key = fold(alias)
            other = seen.get(key)
            if other and other != e.id:
                errors.append(
                    KbError(kb.files[e.id], f"alias {alias!r} is also an alias of {other!r}", entry=e.id,
                            field="aliases", line=lines.get(e.id))
                )
            else:
                seen[key] = e.id
    return errors


def _build_links(kb: KnowledgeBase) -> None:
    children: dict[str, list[str]] = defaultdict(list)
    links: dict[str, list[str]] = defaultdict(list)
    implemented_by: dict[str, list[str]] = defaultdict(list)
    for e in kb.entries.values():
        if isinstance(e, Indicator) and e.parent:
            children[e.parent].append(e.id)
        if isinstance(e, Indicator | Target):
            for ref in e.related:
                if ref not in links[e.id]:
                    links[e.id].append(ref)
                if e.id not in links[ref]:
                    links[ref].append(e.id)
        if isinstance(e, Document):
            for ref in e.implements:
                implemented_by[ref].append(e.id)
    kb.children, kb.links, kb.implemented_by = dict(children), dict(links), dict(implemented_by)
