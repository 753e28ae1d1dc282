"""Pydantic models of the knowledge-base files in `knowledge/`.

Every entry states facts of the report in the base's own words; figures, dates, codes and names are
kept exactly as the report writes them so that `check --source` can find them in the cited text.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from bot.knowledge.vocabulary import DOC_TYPES
from bot.normalize import numbers_in

EntryId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,79}$")]
SectionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{0,39}$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]

Role = Literal["value", "plan", "percent_of_plan", "expected", "compare", "detail"]
Kind = Literal["indicator", "target", "document"]

class Strict(BaseModel):
    """Base for file models: unknown fields are errors (a typo in a field name must not pass)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Section(Strict):
    """One heading of the report. `anchor` is the heading text as it stands in the source."""

    id: SectionId
    title: NonEmpty
    parent: SectionId | None = None
    anchor: NonEmpty


class Figure(Strict):
    """A figure as the report writes it ('3.482', '85%', '3.800 - 3.900', '45/44')."""

    text: NonEmpty
    unit: str = ""
    label: str = ""
    role: Role = "value"

    @field_validator("text")
    @classmethod
    def _has_digit(cls, v: str) -> str:
        if not re.search(r"\d", v):
            raise ValueError("a figure must contain a number as the report writes it")
        return v

    @property
    def numbers(self) -> list[float]:
        """The numbers in the figure ('3.800 - 3.900' → [3800, 3900])."""
        return numbers_in(self.text)

    @property
    def is_percent(self) -> bool:
        """True when the figure is a percentage."""
        return self.text.rstrip().endswith("%") or self.unit.strip() == "%"

    def display(self) -> str:
        """The figure with its label and unit, as a reply shows it."""
        label = self.label or {"plan": "kế hoạch", "percent_of_plan": "đạt", "expected": "dự kiến cả năm"}.get(
            self.role, ""
        )
        unit = self.unit or ("kế hoạch" if self.role == "percent_of_plan" else "")
        return " ".join(p for p in (label, self.text, unit) if p)


class EntryBase(Strict):
    """Fields every entry has: identity, provenance and the words users may type for it."""

    id: EntryId
    title: NonEmpty
    section: SectionId
    footnote: int | None = Field(default=None, ge=1)
    subject: NonEmpty
    aliases: list[NonEmpty] = []
    keywords: list[NonEmpty] = []


class Indicator(EntryBase):
    """A 2023 result: one fact a user could ask about."""

    kind: Literal["indicator"] = "indicator"
    period: str = "năm 2023"
    figures: list[Figure] = []
    names: list[NonEmpty] = []
    parent: EntryId | None = None
    related: list[EntryId] = []
    year: int = Field(default=2023, ge=2000, le=2100)

    @model_validator(mode="after")
    def _has_content(self) -> Indicator:
        if not self.figures and not self.names:
            raise ValueError("an indicator needs figures, or names for a list of names")
        return self


class Target(EntryBase):
    """A target: the 2024 targets, and the plan figures set for 2023."""

    kind: Literal["target"] = "target"
    year: int = Field(ge=2000, le=2100)
    counts: NonEmpty
    figures: list[Figure] = Field(min_length=1)
    related: list[EntryId] = []

    @property
    def goal(self) -> tuple[float, float] | None:
        """(low, high) of the main figure: a range '25 - 30' or a single value (v, v)."""
        for fig in self.figures:
            if fig.role == "value" and fig.numbers:
                nums = fig.numbers
                return (nums[0], nums[-1]) if len(nums) > 1 and "/" not in fig.text else (nums[0], nums[0])
        return None

    @property
    def unit(self) -> str:
        """Unit of the main figure ('%' for percentages)."""
        for fig in self.figures:
            if fig.role == "value":
                return "%" if fig.is_percent else fig.unit
        return ""


class Citation(Strict):
    """Where the report cites a document: a section, and the footnote when it is cited there."""

    section: SectionId
    footnote: int | None = Field(default=None, ge=1)


class Document(Strict):
    """A document the report cites (with or without a code)."""

    kind: Literal["document"] = "document"
    id: EntryId
    doc_type: NonEmpty
    code: str | None = None
    name: str | None = None
    issuer: str | None = None
    date: str | None = None
    subject: NonEmpty
    implements: list[EntryId] = []
    cited_in: list[Citation] = Field(min_length=1)
    aliases: list[NonEmpty] = []
    keywords: list[NonEmpty] = []

    @field_validator("doc_type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        if v not in DOC_TYPES:
            raise ValueError(f"unknown document type {v!r}; one of: {', '.join(DOC_TYPES)}")
        return v

    @field_validator("date")
    @classmethod
    def _date_form(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", v):
            raise ValueError("date must be written d/m/yyyy as in the report, e.g. 24/01/2019")
        return v

    @model_validator(mode="after")
    def _code_or_name(self) -> Document:
        if not self.code and not self.name:
            raise ValueError("a document needs a code or, when the report gives none, a name")
        return self

    @property
    def section(self) -> str:
        """The first section that cites the document."""
        return self.cited_in[0].section

    @property
    def footnote(self) -> int | None:
        """Footnote of the first citation, if any."""
        return self.cited_in[0].footnote

    @property
    def title(self) -> str:
        """'Nghị quyết số 45-NQ/TW' or the document's name."""
        if self.code:
            return f"{self.doc_type} số {self.code}"
        return self.name or self.doc_type


Entry = Indicator | Target | Document


class DataFile(Strict):
    """One YAML data file: a kind and its entries."""

    kind: Kind
    entries: list[dict] = Field(min_length=1)


class SectionsFile(Strict):
    """`knowledge/sections.yaml`: the report's table of sections."""

    sections: list[Section] = Field(min_length=1)


Phrase = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=20, strip_whitespace=True)]

# Bounds on synonyms.yaml: every phrase is applied to every question and every entry's words, so
# its size multiplies all matching work. About ten times what the base uses (79 abbreviations, 9
# acronyms, 13 groups of at most 5 phrases, 48 places); a file beyond them is refused, one line.
MAX_ABBREVIATIONS = 1000
MAX_ACRONYMS = 200
MAX_SYNONYM_GROUPS = 300
MAX_GROUP_SIZE = 30
MAX_SYNONYM_PHRASES = 2000
MAX_PLACES = 500


class Synonyms(Strict):
    """`knowledge/synonyms.yaml`: shared abbreviations and synonym groups (bounded, see above)."""

    abbreviations: dict[Short, Phrase] = {}
    acronyms: dict[Short, Phrase] = {}
    synonyms: list[Annotated[list[Phrase], Field(min_length=2, max_length=MAX_GROUP_SIZE)]] = Field(
        default=[], max_length=MAX_SYNONYM_GROUPS)
    places: list[Phrase] = Field(default=[], max_length=MAX_PLACES)

    @model_validator(mode="after")
    def _bounded(self) -> Synonyms:
        if len(self.abbreviations) > MAX_ABBREVIATIONS:
            raise ValueError(f"too many abbreviations ({len(self.abbreviations)}; at most {MAX_ABBREVIATIONS})")
        if len(self.acronyms) > MAX_ACRONYMS:
            raise ValueError(f"too many acronyms ({len(self.acronyms)}; at most {MAX_ACRONYMS})")
        phrases = sum(len(g) for g in self.synonyms)
        if phrases > MAX_SYNONYM_PHRASES:
            raise ValueError(f"too many synonym phrases ({phrases}; at most {MAX_SYNONYM_PHRASES} in all groups)")
        return self


class Exclusion(Strict):
    """A figure of the source that is not a fact, with the reason it is excluded from coverage."""

    figure: NonEmpty
    section: SectionId | None = None
    footnote: int | None = None
    reason: NonEmpty


class ExclusionsFile(Strict):
    """`knowledge/exclusions.yaml`."""

    exclusions: list[Exclusion] = []
