"""Pydantic models of the knowledge-base files in `knowledge/`.

The entry kinds themselves (`Indicator`, `Target`, `Document`) and their behaviour live in
`bot.knowledge.entries`, the field types and `Figure` in `bot.knowledge.fields`; they are re-exported
here, where the rest of the bot imports them from.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from bot.knowledge.entries import Citation, Document, Entry, EntryBase, Fact, Indicator, Target
from bot.knowledge.fields import PART_LABELS, EntryId, Figure, NonEmpty, Role, SectionId, Strict
from bot.knowledge.vocabulary import DOC_TYPES

__all__ = [
    "DOC_TYPES", "PART_LABELS", "Citation", "DataFile", "Document", "Entry", "EntryBase", "EntryId", "Exclusion",
    "ExclusionsFile", "Fact", "Figure", "Indicator", "Kind", "NonEmpty", "Role", "Section", "SectionId", "SectionsFile",
    "Strict", "Synonyms", "Target",
]

Kind = Literal["indicator", "target", "document"]


class Section(Strict):
    """One heading of the report. `anchor` is the heading text as it stands in the source."""

    id: SectionId
    title: NonEmpty
    parent: SectionId | None = None
    anchor: NonEmpty




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
