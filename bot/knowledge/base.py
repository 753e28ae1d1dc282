"""Loading and validating `knowledge/` into an immutable KnowledgeBase."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.knowledge.checks import (
    _build_links,
    _check_alias_collisions,
    _check_references,
    _collapse_stray_copies,
    _plain_name,
)
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

SECTIONS_FILE = "sections.yaml"
SYNONYMS_FILE = "synonyms.yaml"
EXCLUSIONS_FILE = "exclusions.yaml"
SPECIAL_FILES = {SECTIONS_FILE, SYNONYMS_FILE, EXCLUSIONS_FILE}
MODELS: dict[str, type[Indicator] | type[Target] | type[Document]] = {
    "indicator": Indicator, "target": Target, "document": Document,
}
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
        return max((e.year for e in self.indicators()), default=2023)

    @cached_property
    def target_year(self) -> int:
        """The year of the report's targets (2024 for this report)."""
        return max((e.year for e in self.targets()), default=self.result_year + 1)

    def of_kind(self, kind: str) -> list[Entry]:
        """Entries of one kind, in file order."""
        return [e for e in self.entries.values() if e.kind == kind]

    # Typed accessors: the one place that tells the kinds apart by type.
    def indicators(self) -> list[Indicator]:
        """The results, in file order."""
        return [e for e in self.entries.values() if isinstance(e, Indicator)]

    def targets(self, year: int | None = None) -> list[Target]:
        """The targets (of one year when given), in file order."""
        return [e for e in self.entries.values() if isinstance(e, Target) and (year is None or e.year == year)]

    def current_targets(self) -> list[Target]:
        """The targets of the report's target year, in file order."""
        return self.targets(self.target_year)

    def documents(self) -> list[Document]:
        """The cited documents, in file order."""
        return [e for e in self.entries.values() if isinstance(e, Document)]

    def indicator(self, entry_id: str | None) -> Indicator | None:
        """The result with this id, or None (no such entry, or not a result)."""
        e = self.entries.get(entry_id) if entry_id else None
        return e if isinstance(e, Indicator) else None

    def target(self, entry_id: str | None) -> Target | None:
        """The target with this id, or None (no such entry, or not a target)."""
        e = self.entries.get(entry_id) if entry_id else None
        return e if isinstance(e, Target) else None

    def current_target(self, entry_id: str | None) -> Target | None:
        """The target of the report's target year with this id, or None."""
        target = self.target(entry_id)
        return target if target is not None and target.is_target_for(self.target_year) else None

    def fact(self, entry_id: str | None) -> Indicator | Target | None:
        """The result or target with this id, or None (no such entry, or a document)."""
        e = self.entries.get(entry_id) if entry_id else None
        return e if isinstance(e, Indicator | Target) else None

    def document(self, entry_id: str | None) -> Document | None:
        """The document with this id, or None (no such entry, or not a document)."""
        e = self.entries.get(entry_id) if entry_id else None
        return e if isinstance(e, Document) else None

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
        return entry.section_ids()

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
        return entry.figure_text(self.entries)

    def line(self, entry: Entry) -> str:
        """The entry's line in a list: 'title: figure'; a document's figure (it starts with its title)."""
        return entry.in_list(self.figure(entry))

    def period(self, entry: Entry) -> str:
        """'năm 2023' (a result), 'chỉ tiêu năm 2024' or 'kế hoạch năm 2023' (a target), '' (a document)."""
        return entry.period_label(self.target_year)

    def label(self, entry: Entry) -> str:
        """A short label for a button or a numbered choice ('title (chỉ tiêu 2024)')."""
        return entry.label(self.target_year)


def document_figure(doc: Document, kb: KnowledgeBase) -> str:
    """'Kế hoạch số 254-KH/TU ngày 31/5/2023 của Ban Thường vụ Thành ủy thực hiện … về …'."""
    return doc.figure_text(kb.entries)


def _validation_errors(exc: ValidationError, file: str, data: Any, entry_id: str | None,
                       base_loc: tuple) -> list[KbError]:
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
    directory = Path(directory)
    if not directory.is_dir():
        raise KnowledgeError([KbError(str(directory), "knowledge directory not found")])
    return _Loader(directory, overrides or {}).load()


class _Loader:
    """One load of a knowledge directory: the files read so far and every problem found."""

    def __init__(self, directory: Path, overrides: dict[str, str]) -> None:
        self.directory = directory
        self.overrides = overrides
        self.errors: list[KbError] = []
        self.entries: dict[str, Entry] = {}
        self.files: dict[str, str] = {}
        self.lines: dict[str, int | None] = {}
        self.field_lines: dict[str, dict[str, int]] = {}
        self.duplicates: dict[str, list[tuple[KbError, str]]] = defaultdict(list)  # file → its duplicate ids
        self.file_sizes: dict[str, int] = {}

    def rel(self, p: Path) -> str:
        return str(p.relative_to(self.directory.parent)) if self.directory.parent != p else str(p)

    def load(self) -> KnowledgeBase:
        errors = self.errors
        sections_file = self.read_special(SECTIONS_FILE, SectionsFile, required=True)
        synonyms = self.read_special(SYNONYMS_FILE, Synonyms, required=False) or Synonyms()
        exclusions_file = self.read_special(EXCLUSIONS_FILE, ExclusionsFile, required=False) or ExclusionsFile()
        sections, section_lines = self.read_sections(sections_file)
        for path in self.data_paths():
            self.read_data_file(path)
        self.errors = errors = _collapse_stray_copies(errors, self.duplicates, self.file_sizes)
        kb = KnowledgeBase(sections, self.entries, synonyms, exclusions_file.exclusions, self.files,
                           lines=self.field_lines, section_lines=section_lines,
                           sections_file=self.rel(self.directory / SECTIONS_FILE))
        errors.extend(_check_references(kb, self.lines))
        errors.extend(_check_alias_collisions(kb, self.lines))
        if errors:
            raise KnowledgeError(errors)
        _build_links(kb)
        return kb

    def read_special(self, name: str, model: type[BaseModel], required: bool) -> Any:
        path = self.directory / name
        text = self.overrides.get(name)
        errors, rel = self.errors, self.rel(path)
        if text is None and not path.exists():
            if required:
                errors.append(KbError(rel, "file is missing"))
            return None
        data = _parse(path, rel, text, errors)
        if data is None:
            if not errors or errors[-1].file != rel:
                errors.append(KbError(rel, "file is empty"))
            return None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors.extend(_validation_errors(exc, rel, data, None, ()))
            return None

    def read_sections(self, sections_file: SectionsFile | None) -> tuple[dict[str, Section], dict[str, int]]:
        sections: dict[str, Section] = {}
        section_lines: dict[str, int] = {}
        if not sections_file:
            return sections, section_lines
        rel = self.rel(self.directory / SECTIONS_FILE)
        raw_sections = _raw_sections(self.directory / SECTIONS_FILE, self.overrides.get(SECTIONS_FILE))
        for i, s in enumerate(sections_file.sections):
            line = line_of(raw_sections, ("sections", i)) if raw_sections is not None else None
            if line:
                section_lines.setdefault(s.id, line)
            if s.id in sections:
                self.errors.append(KbError(rel, "duplicate section id", entry=s.id, field="id"))
            sections[s.id] = s
        for s in sections.values():
            if s.parent and s.parent not in sections:
                self.errors.append(KbError(rel, f"unknown parent section {s.parent!r}", entry=s.id, field="parent"))
        return sections, section_lines

    def data_paths(self) -> list[Path]:
        """The entry files, then any override naming a file not (yet) in the directory."""
        paths = data_files(self.directory)
        for name in self.overrides:
            p = self.directory / name
            if name not in SPECIAL_FILES and p not in paths:
                paths.append(p)
        return paths

    def read_data_file(self, path: Path) -> None:
        r = self.rel(path)
        name = str(path.relative_to(self.directory))
        data = _parse(path, r, self.overrides.get(name), self.errors)
        if data is None:
            if not self.errors or self.errors[-1].file != r:
                self.errors.append(KbError(r, "file is empty: expected 'kind' and 'entries'"))
            return
        try:
            df = DataFile.model_validate(data)
        except ValidationError as exc:
            self.errors.extend(_validation_errors(exc, r, data, None, ()))
            return
        self.file_sizes[r] = len(df.entries)
        for i, raw in enumerate(df.entries):
            self.read_entry(r, data, df.kind, i, raw)

    def read_entry(self, r: str, data: Any, kind: str, i: int, raw: Any) -> None:
        errors = self.errors
        entry_id = raw.get("id") if isinstance(raw, dict) else None
        entry_id = entry_id if isinstance(entry_id, str) else f"#{i + 1}"
        if not isinstance(raw, dict):
            errors.append(KbError(r, "an entry must be a mapping", entry=entry_id, line=line_of(data, ("entries", i))))
            return
        raw_kind = raw.get("kind", kind)
        if raw_kind != kind:
            errors.append(KbError(r, f"entry of kind {raw_kind!r} in a file of kind {kind!r}", entry=entry_id,
                                  field="kind", line=line_of(data, ("entries", i, "kind"))))
            return
        try:
            entry = MODELS[kind].model_validate(dict(raw))
        except ValidationError as exc:
            errors.extend(_validation_errors(exc, r, data, entry_id, ("entries", i)))
            return
        line = line_of(data, ("entries", i))
        if entry.id in self.entries:
            first = self.files[entry.id]
            dup = KbError(r, f"duplicate id (first defined in {first})", entry=entry.id, field="id", line=line)
            errors.append(dup)
            self.duplicates[r].append((dup, self.files[entry.id]))
            return
        self.entries[entry.id] = entry
        self.files[entry.id] = r
        self.lines[entry.id] = line
        self.field_lines[entry.id] = {"": line or 0, **field_lines(data["entries"][i])}


def _raw_sections(path: Path, text: str | None) -> Any:
    """sections.yaml parsed again for its lines (it parsed once already, so this cannot fail)."""
    try:
        return load_yaml_text(text, str(path)) if text is not None else load_yaml_file(path)
    except YamlError:  # pragma: no cover - the first parse would have reported it
        return None


def phrases(entry: Entry) -> Iterable[str]:
    """The phrases a user may type for an entry: title, aliases, code."""
    yield entry.title
    yield from entry.aliases
    yield from entry.codes()
