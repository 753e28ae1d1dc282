"""Loading and validating `knowledge/` into an immutable KnowledgeBase."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.knowledge.errors import KbError, KnowledgeError
from bot.knowledge.schema import (
    DataFile,
    Document,
    Entry,
    Exclusion,
    ExclusionsFile,
    Indicator,
    Section,
    SectionsFile,
    Synonyms,
    Target,
)
from bot.knowledge.yamlio import YamlError, field_lines, line_of, load_yaml_file, load_yaml_text
from bot.normalize import fold

SECTIONS_FILE = "sections.yaml"
SYNONYMS_FILE = "synonyms.yaml"
EXCLUSIONS_FILE = "exclusions.yaml"
SPECIAL_FILES = {SECTIONS_FILE, SYNONYMS_FILE, EXCLUSIONS_FILE}
MODELS: dict[str, type[Indicator] | type[Target] | type[Document]] = {"indicator": Indicator, "target": Target, "document": Document}
PATH_SEP = " › "


@dataclass
class KnowledgeBase:
    """The validated base: sections, entries by id, shared synonyms, coverage exclusions."""

    sections: dict[str, Section]
    entries: dict[str, Entry]
    synonyms: Synonyms
    exclusions: list[Exclusion]
    files: dict[str, str] = field(default_factory=dict)  # entry id → file it came from
    children: dict[str, list[str]] = field(default_factory=dict)
    links: dict[str, list[str]] = field(default_factory=dict)  # indicator ↔ target, both ways
    implemented_by: dict[str, list[str]] = field(default_factory=dict)
    # entry id → {field path: line} ('' is the entry's own line); section id → line. Kept so that
    # checks run after loading (provenance against the report) can name the line to fix.
    lines: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    section_lines: dict[str, int] = field(default_factory=dict, repr=False)
    sections_file: str = SECTIONS_FILE  # as errors name it: 'knowledge/sections.yaml'

    def line_of(self, entry_id: str, field_path: str | None = None) -> int | None:
        """The line of an entry's field ('figures.0.text'), else of the entry itself, else None."""
        known = self.lines.get(entry_id, {})
        return (known.get(field_path) if field_path else None) or known.get("")

    @cached_property
    def result_year(self) -> int:
        """The year of the report's results (2023 for this report)."""
        return max((e.year for e in self.entries.values() if isinstance(e, Indicator)), default=2023)

    @cached_property
    def target_year(self) -> int:
        """The year of the report's targets (2024 for this report)."""
        return max((e.year for e in self.entries.values() if isinstance(e, Target)), default=self.result_year + 1)

    def of_kind(self, kind: str) -> list[Entry]:
        """Entries of one kind, in file order."""
        return [e for e in self.entries.values() if e.kind == kind]

    def section_path(self, section_id: str) -> str:
        """'Phần thứ nhất › I. Kết quả đạt được › 2. Công tác tổ chức, …'."""
        titles: list[str] = []
        sid: str | None = section_id
        while sid:
            sec = self.sections[sid]
            titles.append(sec.title)
            sid = sec.parent
        return PATH_SEP.join(reversed(titles))

    def entry_section(self, entry: Entry) -> str:
        """Every source path of an entry, footnote included; ' ; ' between a document's citations."""
        if isinstance(entry, Document):
            paths: list[str] = []
            for c in entry.cited_in:
                p = self.section_path(c.section) + (f"{PATH_SEP}chú thích {c.footnote}" if c.footnote else "")
                if p not in paths:
                    paths.append(p)
            return " ; ".join(paths)
        path = self.section_path(entry.section)
        return path + (f"{PATH_SEP}chú thích {entry.footnote}" if entry.footnote else "")

    def entry_sections(self, entry: Entry) -> list[str]:
        """Section ids an entry belongs to (a document: every citing section)."""
        if isinstance(entry, Document):
            return list(dict.fromkeys(c.section for c in entry.cited_in))
        return [entry.section]

    def descendants(self, section_id: str) -> set[str]:
        """The section and all its subsections."""
        out = {section_id}
        changed = True
        while changed:
            changed = False
            for s in self.sections.values():
                if s.parent in out and s.id not in out:
                    out.add(s.id)
                    changed = True
        return out

    def figure(self, entry: Entry) -> str:
        """The entry's figures as the report writes them, with units and plan or percentage."""
        if isinstance(entry, Document):
            return document_figure(entry, self)
        text = "; ".join(f.display() for f in entry.figures)
        if isinstance(entry, Indicator) and entry.names:
            names = ", ".join(entry.names)
            text = f"{text}: {names}" if text else names
        return text


def document_figure(doc: Document, kb: KnowledgeBase) -> str:
    """'Kế hoạch số 254-KH/TU ngày 31/5/2023 của Ban Thường vụ Thành ủy thực hiện … về …'."""
    text = doc.title
    if doc.code and doc.name:
        text += f" ({doc.name})"
    if doc.date:
        text += f" ngày {doc.date}"
    if doc.issuer:
        text += f" của {doc.issuer}"
    if doc.implements:
        text += " thực hiện " + ", ".join(
            kb.entries[i].title for i in doc.implements if i in kb.entries
        )
    return f"{text}: {doc.subject}"


def _validation_errors(exc: ValidationError, file: str, data: Any, entry_id: str | None, base_loc: tuple) -> list[KbError]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field_name = ".".join(str(p) for p in loc) or None
        out.append(
            KbError(file, err["msg"], entry=entry_id, field=field_name, line=line_of(data, base_loc + loc))
        )
    return out


def _parse(path: Path, rel: str, text: str | None, errors: list[KbError]) -> Any:
    try:
        return load_yaml_text(text, rel) if text is not None else load_yaml_file(path)
    except YamlError as exc:
        errors.append(KbError(rel, f"invalid YAML: {exc.message}", line=exc.line))
        return None


def data_files(directory: Path) -> list[Path]:
    """The entry files of a knowledge directory, in a stable order. Hidden files (an editor's
    lock or swap file, ``.targets.yaml``) and ``backups/`` are not part of the base."""
    # Plainly named files first: the original defines an id, the copy beside it repeats it.
    return sorted((
        p for p in directory.rglob("*.yaml")
        if p.name not in SPECIAL_FILES or p.parent != directory
        if "backups" not in p.relative_to(directory).parts
        if not any(part.startswith(".") for part in p.relative_to(directory).parts)
    ), key=lambda p: (not _plain_name(p.name), p))


def load_base(directory: Path, overrides: dict[str, str] | None = None) -> KnowledgeBase:
    """Load and validate every file of `directory`; raise KnowledgeError listing all problems.

    `overrides` maps a file name relative to the directory to replacement text (used to validate
    an uploaded file before anything is written).
    """
    overrides = overrides or {}
    errors: list[KbError] = []
    directory = Path(directory)
    if not directory.is_dir():
        raise KnowledgeError([KbError(str(directory), "knowledge directory not found")])

    def rel(p: Path) -> str:
        return str(p.relative_to(directory.parent)) if directory.parent != p else str(p)

    def read_special(name: str, model: type[BaseModel], required: bool) -> Any:
        path = directory / name
        text = overrides.get(name)
        if text is None and not path.exists():
            if required:
                errors.append(KbError(rel(path), "file is missing"))
            return None
        data = _parse(path, rel(path), text, errors)
        if data is None:
            if not errors or errors[-1].file != rel(path):
                errors.append(KbError(rel(path), "file is empty"))
            return None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors.extend(_validation_errors(exc, rel(path), data, None, ()))
            return None

    sections_file = read_special(SECTIONS_FILE, SectionsFile, required=True)
    synonyms = read_special(SYNONYMS_FILE, Synonyms, required=False) or Synonyms()
    exclusions_file = read_special(EXCLUSIONS_FILE, ExclusionsFile, required=False) or ExclusionsFile()

    sections: dict[str, Section] = {}
    section_lines: dict[str, int] = {}
    if sections_file:
        raw_sections = _raw_sections(directory / SECTIONS_FILE, overrides.get(SECTIONS_FILE))
        for i, s in enumerate(sections_file.sections):
            line = line_of(raw_sections, ("sections", i)) if raw_sections is not None else None
            if line:
                section_lines.setdefault(s.id, line)
            if s.id in sections:
                errors.append(KbError(rel(directory / SECTIONS_FILE), "duplicate section id", entry=s.id, field="id"))
            sections[s.id] = s
        for s in sections.values():
            if s.parent and s.parent not in sections:
                errors.append(
                    KbError(rel(directory / SECTIONS_FILE), f"unknown parent section {s.parent!r}", entry=s.id, field="parent")
                )

    entries: dict[str, Entry] = {}
    files: dict[str, str] = {}
    lines: dict[str, int | None] = {}
    field_line_map: dict[str, dict[str, int]] = {}
    duplicates: dict[str, list[tuple[KbError, str]]] = defaultdict(list)  # file → its duplicate ids
    file_sizes: dict[str, int] = {}
    paths = data_files(directory)
    for name in overrides:
        p = directory / name
        if name not in SPECIAL_FILES and p not in paths:
            paths.append(p)
    for path in paths:
        r = rel(path)
        name = str(path.relative_to(directory))
        data = _parse(path, r, overrides.get(name), errors)
        if data is None:
            if not errors or errors[-1].file != r:
                errors.append(KbError(r, "file is empty: expected 'kind' and 'entries'"))
            continue
        try:
            df = DataFile.model_validate(data)
        except ValidationError as exc:
            errors.extend(_validation_errors(exc, r, data, None, ()))
            continue
        model = MODELS[df.kind]
        file_sizes[r] = len(df.entries)
        for i, raw in enumerate(df.entries):
            entry_id = raw.get("id") if isinstance(raw, dict) else None
            entry_id = entry_id if isinstance(entry_id, str) else f"#{i + 1}"
            if not isinstance(raw, dict):
                errors.append(KbError(r, "an entry must be a mapping", entry=entry_id, line=line_of(data, ("entries", i))))
                continue
            raw_kind = raw.get("kind", df.kind)
            if raw_kind != df.kind:
                errors.append(KbError(r, f"entry of kind {raw_kind!r} in a file of kind {df.kind!r}", entry=entry_id, field="kind",
                                      line=line_of(data, ("entries", i, "kind"))))
                continue
            try:
                entry = model.model_validate(dict(raw))
            except ValidationError as exc:
                errors.extend(_validation_errors(exc, r, data, entry_id, ("entries", i)))
                continue
            line = line_of(data, ("entries", i))
            if entry.id in entries:
                dup = KbError(r, f"duplicate id (first defined in {files[entry.id]})", entry=entry.id, field="id", line=line)
                errors.append(dup)
                duplicates[r].append((dup, files[entry.id]))
                continue
            entries[entry.id] = entry
            files[entry.id] = r
            lines[entry.id] = line
            field_line_map[entry.id] = {"": line or 0, **field_lines(data["entries"][i])}
    errors = _collapse_stray_copies(errors, duplicates, file_sizes)

    kb = KnowledgeBase(sections, entries, synonyms, exclusions_file.exclusions, files,
                       lines=field_line_map, section_lines=section_lines,
                       sections_file=rel(directory / SECTIONS_FILE))
    errors.extend(_check_references(kb, lines))
    errors.extend(_check_alias_collisions(kb, lines))
    if errors:
        raise KnowledgeError(errors)
    _build_links(kb)
    return kb


def _raw_sections(path: Path, text: str | None) -> Any:
    """sections.yaml parsed again for its lines (it parsed once already, so this cannot fail)."""
    try:
        return load_yaml_text(text, str(path)) if text is not None else load_yaml_file(path)
    except YamlError:  # pragma: no cover - the first parse would have reported it
        return None


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


def phrases(entry: Entry) -> Iterable[str]:
    """The phrases a user may type for an entry: title, aliases, code."""
    yield entry.title
    yield from entry.aliases
    if isinstance(entry, Document) and entry.code:
        yield entry.code


def _check_alias_collisions(kb: KnowledgeBase, lines: dict[str, int | None]) -> list[KbError]:
    seen: dict[str, str] = {}
    errors: list[KbError] = []
    for e in kb.entries.values():
        for alias in e.aliases:
            key = fold(alias)
            other = seen.get(key)
            if other and other != e.id:
                errors.append(
                    KbError(kb.files[e.id], f"alias {alias!r} is also an alias of {other!r}", entry=e.id, field="aliases",
                            line=lines.get(e.id))
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
