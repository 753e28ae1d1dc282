"""The three kinds of entry of the knowledge base, and what each knows of itself.

Every entry states facts of the report in the base's own words; figures, dates, codes and names are
kept exactly as the report writes them so that `check --source` can find them in the cited text.
A result (`Indicator`), a `Target` and a `Document` answer the same questions in their own way
(label, period, figure, the words the report writes them with, whether it is a target of a year),
so that callers ask the entry instead of checking its type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from bot.knowledge.fields import PART_LABELS, EntryId, Figure, NonEmpty, SectionId, Strict, figure_meta
from bot.knowledge.vocabulary import DOC_TYPES
from bot.normalize import years_in


class EntryBase(Strict):
    """Fields every entry has: identity, provenance and the words users may type for it."""

    id: EntryId
    title: NonEmpty
    section: SectionId
    footnote: int | None = Field(default=None, ge=1)
    subject: NonEmpty
    aliases: list[NonEmpty] = []
    keywords: list[NonEmpty] = []

    def is_target_for(self, year: int) -> bool:
        """True for a target of that year (a result or a document never is one)."""
        return False

    def section_ids(self) -> list[str]:
        """The sections the entry belongs to."""
        return [self.section]

    def codes(self) -> list[str]:
        """Codes a user may type for the entry (a document's 'số hiệu'; none for a fact)."""
        return []

    def in_list(self, figure: str) -> str:
        """The entry's line in a list, given its figure: 'title: figure'."""
        return f"{self.title}: {figure}"

    def listed_names(self) -> list[str]:
        """The names the entry lists (a result's units, people, places; none for a target)."""
        return []

    def search_texts(self) -> list[str]:
        """Words besides title, subject, aliases and keywords that a keyword search reads."""
        return []


class Fact(EntryBase):
    """What a result and a target share: figures of a year."""

    if TYPE_CHECKING:  # fields of both kinds (declared by each, with its own constraints)
        figures: list[Figure]
        year: int

    def figure_texts(self) -> list[str]:
        """The figures as written: what a reply marks in the report's sentence."""
        return [f.text for f in self.figures]

    def needles(self) -> list[str]:
        """What the entry states in the report's own writing: its figures and names."""
        return self.figure_texts() + self.listed_names()

    def stated(self) -> set[str]:
        """The figures and names a reply carries (two answers agree when one holds the other's)."""
        return set(self.needles())

    def repeats(self, said: set[str]) -> bool:
        """True when a reply that states the figures `said` states all of this entry's."""
        return set(self.figure_texts()) <= said

    def fresh_figures(self, said: set[str]) -> str:
        """The figures not among `said`, as a reply shows them ('' when none)."""
        return "; ".join(f.display() for f in self.figures if f.text not in said)

    def years(self) -> set[int]:
        """The years the entry states: its own and the ones its figures name ('2025 - 2030')."""
        return {self.year} | years_in(" ".join(f.text for f in self.figures))


class Indicator(Fact):
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

    def period_label(self, target_year: int) -> str:
        """The period the result covers ('năm 2023', 'tính đến 31/10/2023')."""
        return self.period

    def fits_report_year(self, year: int, result_year: int, target_year: int, asked: set[int]) -> bool:
        """True when a question naming `year` (among the years `asked`) may be about the entry
        though its words do not name that year: a result, asked with the result year."""
        return year == result_year

    def label(self, target_year: int) -> str:
        """A short label for a button or a numbered choice: 'title (period)'."""
        return f"{self.title} ({self.period})"

    def link_heading(self, beside: Entry, target_year: int) -> str:
        """How a target's reply introduces this result linked to it; '' beside anything else."""
        return f"Kết quả năm {self.year} ({self.period})" if isinstance(beside, Target) else ""

    def figure_text(self, entries: Mapping[str, Entry]) -> str:
        """The figures as the report writes them, with units and plan, then the names."""
        text = "; ".join(f.display() for f in self.figures)
        if self.names:
            names = ", ".join(self.names)
            text = f"{text}: {names}" if text else names
        return text

    def figure_lines(self, target_year: int) -> list[str]:
        """Result, plan, % of plan… as labelled parts ("Kế hoạch: …"), then names they do not state."""
        by_role: dict[str, list[Figure]] = {}
        for f in self.figures:
            by_role.setdefault("value" if f.role == "detail" else f.role, []).append(f)
        lines = []
        for role, label in PART_LABELS.items():
            figs = by_role.get(role)
            if figs:
                head = f"{label} ({self.period})" if role == "value" and self.period else label
                lines.append(f"{head}: " + "; ".join(f.part() for f in figs))
        if self.names and not any(n in " ".join(lines) for n in self.names):
            lines.append("Gồm: " + ", ".join(self.names))
        return lines

    def listed_names(self) -> list[str]:
        """The names the result lists (units, people, places)."""
        return self.names

    def search_texts(self) -> list[str]:
        """Words besides title, subject, aliases and keywords that a keyword search reads: the names."""
        return self.listed_names()

    def meta_texts(self) -> list[str]:
        """Words that describe the result besides its title: units, labels, figures, period."""
        return [*figure_meta(self.figures), self.period]



class Target(Fact):
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

    def is_target_for(self, year: int) -> bool:
        """True when the target is set for that year."""
        return self.year == year

    def fits_report_year(self, year: int, result_year: int, target_year: int, asked: set[int]) -> bool:
        """A target of the target year, asked with the result year beside the target year."""
        return year == result_year and self.year == target_year and target_year in asked

    def period_label(self, target_year: int) -> str:
        """'chỉ tiêu năm 2024' for the report's target year, 'kế hoạch năm 2023' for an earlier plan."""
        return f"{self.plan_word(target_year).lower()} năm {self.year}"

    def plan_word(self, target_year: int) -> str:
        """'Chỉ tiêu' for a target of the report's target year, 'Kế hoạch' for an earlier year's plan."""
        return "Chỉ tiêu" if self.year == target_year else "Kế hoạch"

    def label(self, target_year: int) -> str:
        """A short label for a button or a numbered choice: 'title (chỉ tiêu 2024)'."""
        return f"{self.title} ({self.plan_word(target_year).lower()} {self.year})"

    def link_heading(self, beside: Entry, target_year: int) -> str:
        """How a result's reply introduces this target linked to it; '' beside anything else."""
        return f"{self.plan_word(target_year)} năm {self.year}" if isinstance(beside, Indicator) else ""

    def figure_text(self, entries: Mapping[str, Entry]) -> str:
        """The figures as the report writes them, with units."""
        return "; ".join(f.display() for f in self.figures)

    def figure_lines(self, target_year: int) -> list[str]:
        """One line: 'Chỉ tiêu năm 2024: …' (or 'Kế hoạch năm 2023: …')."""
        return [f"{self.plan_word(target_year)} năm {self.year}: " + "; ".join(f.display() for f in self.figures)]

    def meta_texts(self) -> list[str]:
        """Words that describe the target besides its title: figures, what it counts, its year."""
        return [*figure_meta(self.figures), self.counts, f"chỉ tiêu năm {self.year}"]



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

    def is_target_for(self, year: int) -> bool:
        """Never: a document is not a target."""
        return False

    def fits_report_year(self, year: int, result_year: int, target_year: int, asked: set[int]) -> bool:
        """A document, asked with either year of the report."""
        return year in (result_year, target_year)

    def section_ids(self) -> list[str]:
        """Every section that cites the document, once each, in citation order."""
        return list(dict.fromkeys(c.section for c in self.cited_in))

    def codes(self) -> list[str]:
        """The document's code ('254-KH/TU'), when the report gives one."""
        return [self.code] if self.code else []

    def in_list(self, figure: str) -> str:
        """The document's line in a list: its figure, which starts with its title."""
        return figure

    def period_label(self, target_year: int) -> str:
        """None: a document has no period."""
        return ""

    def label(self, target_year: int) -> str:
        """A short label for a button or a numbered choice: 'title – name' when it has both."""
        return self.title if not self.name or not self.code else f"{self.title} – {self.name}"

    def figure_text(self, entries: Mapping[str, Entry]) -> str:
        """'Kế hoạch số 254-KH/TU ngày 31/5/2023 của … thực hiện <titles from entries>: subject'."""
        text = self.title
        if self.code and self.name:
            text += f" ({self.name})"
        if self.date:
            text += f" ngày {self.date}"
        if self.issuer:
            text += f" của {self.issuer}"
        if self.implements:
            text += " thực hiện " + ", ".join(entries[i].title for i in self.implements if i in entries)
        return f"{text}: {self.subject}"

    def figure_texts(self) -> list[str]:
        """What a reply marks in the report's sentence: the code, else the title."""
        return [self.code or self.title]

    def repeats(self, said: set[str]) -> bool:
        """Never: a document states no figures, a reply shows it whole."""
        return False

    def fresh_figures(self, said: set[str]) -> str:
        """None: a document has no figures."""
        return ""

    def link_heading(self, beside: Entry, target_year: int) -> str:
        """None: a linked document is shown as related."""
        return ""

    def needles(self) -> list[str]:
        """What the document is written as in the report: its code and name."""
        return [x for x in (self.code, self.name) if x]

    def stated(self) -> set[str]:
        """The code and date a reply carries (two answers agree when one holds the other's)."""
        return {x for x in (self.code, self.date) if x}

    def listed_names(self) -> list[str]:
        """None: a document lists no names."""
        return []

    def meta_texts(self) -> list[str]:
        """Words that describe the document besides its title: type, code, name, issuer, date."""
        return [self.doc_type, self.code or "", self.name or "", self.issuer or "", self.date or ""]

    def search_texts(self) -> list[str]:
        """Words besides title, subject, aliases and keywords that a keyword search reads."""
        return self.meta_texts()

    def years(self) -> set[int]:
        """The years its words name (title, aliases, keywords and the meta texts)."""
        return years_in(" ".join([self.title, *self.aliases, *self.keywords, *self.meta_texts()]))


Entry = Indicator | Target | Document
