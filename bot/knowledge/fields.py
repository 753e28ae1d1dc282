"""Field types of the knowledge-base models, and the figure as the report writes it."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from bot.normalize import numbers_in

EntryId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,79}$")]
SectionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{0,39}$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
Role = Literal["value", "plan", "percent_of_plan", "expected", "compare", "detail"]


class Strict(BaseModel):
    """Base for file models: unknown fields are errors (a typo in a field name must not pass)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
        """The figure with its label (by default the one its role gives) and unit, as a reply shows it."""
        return self._with(self.label or ROLE_WORDS.get(self.role, ""))

    def part(self) -> str:
        """The figure without the label its role already gives ("4000 - 4100 đảng viên mới")."""
        return self._with(self.label)

    def _with(self, label: str) -> str:
        unit = self.unit or ("kế hoạch" if self.role == "percent_of_plan" else "")
        return " ".join(p for p in (label, self.text, unit) if p)


ROLE_WORDS = {"plan": "kế hoạch", "percent_of_plan": "đạt", "expected": "dự kiến cả năm"}
# The labelled parts of a result, in the order a reply shows them (role → label).
PART_LABELS = {"value": "Kết quả", "expected": "Dự kiến cả năm", "plan": "Kế hoạch", "percent_of_plan": "Đạt",
               "compare": "So với cùng kỳ"}


def figure_meta(figures: list[Figure]) -> list[str]:
    """Units, labels and texts of the figures: words that describe a fact besides its title."""
    return [f.unit for f in figures] + [f.label for f in figures] + [f.text for f in figures]
