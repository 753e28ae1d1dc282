"""Callback data of the subscription flow on Telegram: what it names to follow and when.

The data itself (stateless and restart-proof, at most 64 bytes; the longest is
``f:t:<ref ≤ 40>:m28:23`` = 52) is packed and parsed by :mod:`bot.transports.telegram.callbacks`:
:class:`SubscribeMenu` ``f:R|T|S``, :class:`SubscribeStep` ``f:<scope>:<ref>[:<w|m><day>][:<hour>]``,
:class:`EditSubscription` ``e:<id>…`` and :class:`CancelSubscription` ``x:<id>|all``. Here: the
ranges of a step, and the subject a button names.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.knowledge.schema import Target
from bot.services.answers import AnswerService
from bot.services.subscriptions import Schedule
from bot.transports.telegram.callbacks import SubscribeStep

ALL_WORDS = frozenset({"all", "tất cả", "tat ca", "tatca", "hết", "het"})


@dataclass(frozen=True)
class Step:
    """Where a subscription flow stands: cadence, day (weekday 0-6 or day of month 1-28), hour."""

    cadence: str | None = None
    day: int | None = None
    hour: int | None = None

    @classmethod
    def parse(cls, cadence: str, d: int | None, h: int | None) -> Step | None:
        """A step from the pieces of callback data; None when a value is out of range (forged)."""
        cad = {"w": "weekly", "m": "monthly"}.get(cadence)
        if cad is None:
            return cls() if h is None else None
        if d is not None and not (0 <= d <= 6 if cad == "weekly" else 1 <= d <= 28):
            return None
        if h is not None and (d is None or not 0 <= h <= 23):
            return None
        return cls(cad, d, h)

    def schedule(self) -> Schedule:
        """The schedule of a complete step."""
        if self.cadence == "weekly":
            return Schedule.weekly(self.day or 0, self.hour or 0)
        return Schedule.monthly(self.day or 1, self.hour or 0)


@dataclass(frozen=True)
class Subject:
    """What a subscription follows."""

    scope: str  # 'target' | 'section' | 'all'
    ref: str  # target id / section id / ''
    data: SubscribeStep  # the callback data naming it, no step yet: 'f:t:<ref>', 'f:s:<id>', 'f:a:'


def target_sections(answers: AnswerService) -> list[tuple[str, str]]:
    """(section id, title) of the sections holding targets of the target year, in report order."""
    used = {t.section for t in answers.targets()}
    return [(s.id, s.title) for s in answers.kb.sections.values() if s.id in used]


def subject_from(answers: AnswerService, scope_code: str, ref: str) -> Subject | None:
    """The Subject callback data names, or None (stale: the target or section is gone)."""
    if scope_code == "a":
        return Subject("all", "", SubscribeStep("a")) if ref == "" else None
    if scope_code == "s":
        ok = any(sid == ref for sid, _ in target_sections(answers))
        return Subject("section", ref, SubscribeStep("s", ref)) if ok else None
    target_id = answers.refs.resolve(ref)
    target = answers.kb.current_target(target_id)
    if target is not None:
        return Subject("target", target.id, SubscribeStep("t", ref))
    return None


def target_subject(answers: AnswerService, target: Target) -> Subject:
    """The Subject for one target."""
    return Subject("target", target.id, SubscribeStep("t", answers.refs.ref(target.id)))
