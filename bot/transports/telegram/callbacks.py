"""Callback data: one small frozen dataclass per kind of button, so that two features can never claim
the same data and every piece of data is packed and parsed in one place.

Callback data is ``<prefix>:<rest>`` (``cn`` alone cancels a progress record), at most 64 bytes
(Telegram's limit: :meth:`CallbackData.pack` refuses more). The wire format is frozen: buttons already
sent in chats must keep working after an upgrade. Each class has

* ``prefix`` (class-level) and ``pack()`` → the data, exactly as it always was;
* ``parse(data)`` → the instance, or None for anything malformed (wrong prefix, bad numbers, too many
  parts): the handler then answers with the stale-button reply;
* ``pattern()`` → the CallbackQueryHandler pattern.

Entry references (``ref``) come from :class:`bot.services.answers.EntryRefs` (≤ 40 bytes) and are
opaque here. tests/test_callbacks.py checks that every registered handler uses a declared prefix,
every prefix has a handler, and each class's data is taken by its own handler only.
A button whose data matches no handler (forged, or from an older version) gets the stale-button reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Self

MAX_DATA = 64  # bytes: Telegram's limit on callback data

_TAIL = r"(?::([wm])([0-9]{0,2}))?(?::([0-9]{1,2}))?"  # [:<w|m><day>][:<hour>] of the subscription steps


class CallbackData:
    """The base: subclasses set ``prefix``, ``about``, ``_RE`` (the full data), ``_text`` and ``_of``."""

    prefix: ClassVar[str]
    about: ClassVar[str]
    _RE: ClassVar[re.Pattern[str]]
    _HANDLER_REST: ClassVar[str] = ""  # regex after "^<prefix>:" in the handler pattern

    def _text(self) -> str:
        raise NotImplementedError

    @classmethod
    def _of(cls, m: re.Match[str]) -> Self:
        raise NotImplementedError

    def pack(self) -> str:
        """The callback data (ValueError when over 64 bytes, or when it would not parse back)."""
        data = self._text()
        if not 1 <= len(data.encode()) <= MAX_DATA:
            raise ValueError(f"callback data must be 1-{MAX_DATA} bytes: {data!r}")
        if type(self).parse(data) != self:
            raise ValueError(f"callback data {data!r} would not parse back to {self!r}")
        return data

    def fits(self) -> bool:
        """Whether :meth:`pack` would accept this."""
        try:
            self.pack()
        except ValueError:
            return False
        return True

    @classmethod
    def parse(cls, data: str | None) -> Self | None:
        """The instance ``data`` stands for, or None when it is malformed."""
        m = cls._RE.fullmatch(data or "")
        if m is None:
            return None
        try:
            return cls._of(m)
        except ValueError:
            return None

    @classmethod
    def pattern(cls) -> str:
        """The pattern of this data's CallbackQueryHandler."""
        return rf"^{cls.prefix}:{cls._HANDLER_REST}"


@dataclass(frozen=True)
class _Ref(CallbackData):
    """``<prefix>:<ref>``: an entry reference, opaque (anything non-empty)."""

    ref: str

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._RE = re.compile(rf"{re.escape(cls.prefix)}:(.+)", re.S)  # the data of every ref button

    def _text(self) -> str:
        return f"{self.prefix}:{self.ref}"

    @classmethod
    def _of(cls, m: re.Match[str]) -> Self:
        return cls(m.group(1))


@dataclass(frozen=True)
class OpenEntry(_Ref):
    """``a:<ref>``: send an entry's answer."""

    prefix = "a"
    about = "open an entry's answer (a:<ref>)"


@dataclass(frozen=True)
class FollowTarget(_Ref):
    """``sub:<ref>``: "Theo dõi" under the answer about a target (hands over to the reminders)."""

    prefix = "sub"
    about = "follow the target of an answer (sub:<ref>)"


@dataclass(frozen=True)
class Chart(_Ref):
    """``g:<ref>``: a target's progress status and chart."""

    prefix = "g"
    about = "progress chart of a target (g:<ref>)"


@dataclass(frozen=True)
class PickTarget(_Ref):
    """``cp:<ref>``: /capnhat, the target picked."""

    prefix = "cp"
    about = "/capnhat: the target picked (cp:<ref>)"


@dataclass(frozen=True)
class Example(CallbackData):
    """``q:<n>``: ask the n-th example question of /start."""

    prefix = "q"
    about = "ask an example question (q:<n>)"
    _RE = re.compile(r"q:([0-9]{1,3})")
    n: int

    def _text(self) -> str:
        return f"q:{self.n}"

    @classmethod
    def _of(cls, m: re.Match[str]) -> Self:
        return cls(int(m.group(1)))


@dataclass(frozen=True)
class ListPage(CallbackData):
    """``l:<kind>:<page>:<arg>``: one page of one list. Kinds: ``t`` the targets, ``S`` results
    sections, ``s`` results of section ``arg``, ``r`` results about topic ``arg``, ``d`` documents
    with keyword ``arg`` (topics and keywords travel folded and cut to fit: no server-side state)."""

    prefix = "l"
    about = "a page of a list (/chitieu, /ketqua, /vanban)"
    _RE = re.compile(r"l:([tSsrd]):([0-9]{1,4}):(.*)", re.S)
    kind: str
    page: int = 0
    arg: str = ""

    def _text(self) -> str:
        return f"l:{self.kind}:{self.page}:{self.arg}"

    @classmethod
    def _of(cls, m: re.Match[str]) -> Self:
        return cls(m.group(1), int(m.group(2)), m.group(3))

    def at(self, page: int) -> ListPage:
        """The same list at another page."""
        return ListPage(self.kind, page, self.arg)


@dataclass(frozen=True)
class ConfirmValue(CallbackData):
    """``cy:<ref>:<value>:<day of year>``: /capnhat, the value confirmed."""

    prefix = "cy"
    about = "/capnhat: the value confirmed (cy:<ref>:<value>:<day of year>)"
    _RE = re.compile(r"cy:([^:]+):([0-9]+(?:\.[0-9]+)?):([0-9]{1,3})")
    ref: str
    number: str  # the value as written: digits, an optional '.' and decimals
    yday: int

    def _text(self) -> str:
        return f"cy:{self.ref}:{self.number}:{self.yday}"

    @classmethod
    def _of(cls, m: re.Match[str]) -> Self:
        return cls(m.group(1), m.group(2), int(m.group(3)))


@dataclass(frozen=True)
class CancelValue(CallbackData):
    """``cn``: /capnhat, cancelled (the one data without ':')."""

    prefix = "cn"
    about = "/capnhat: cancelled (cn, no ':')"
    _RE = re.compile(r"cn")

    def _text(self) -> str:
        return "cn"

    @classmethod
    def _of(cls, m: re.Match[str]) -> Self:
        return cls()

    @classmethod
    def pattern(cls) -> str:
        return r"^cn$"


@dataclass(frozen=True)
class ReloadChoice(CallbackData):
    """``rl:ok:<token>`` / ``rl:no:<token>``: apply or cancel a reload or upload held for confirmation."""

    prefix = "rl"
    about = "reload or upload held for confirmation: apply or cancel (rl:<ok|no>:<token>)"
    _RE = re.compile(r"rl:(ok|no):([0-9a-f]{8})")
    _HANDLER_REST = "(ok|no):[0-9a-f]{8}$"
    apply: bool
    token: str

    def _text(self) -> str:
        return f"rl:{'ok' if self.apply else 'no'}:{self.token}"

    @classmethod
    def _of(cls, m: re.Match[str]) -> Self:
        return cls(m.group(1) == "ok", m.group(2))


@dataclass(frozen=True)
class SubscribeMenu(CallbackData):
    """``f:R`` / ``f:T`` / ``f:S``: /theodoi, what may be followed: the menu, the targets, the sections."""

    prefix = "f"
    about = "/theodoi: what to follow (f:R|T|S)"
    _RE = re.compile(r"f:([RTS])")
    _HANDLER_REST = "[RTS]$"
    screen: str

    def _text(self) -> str:
        return f"f:{self.screen}"

    @classmethod
    def _of(cls, m: re.Match[str]) -> Self:
        return cls(m.group(1))


def _tail(cadence: str, day: int | None, hour: int | None) -> str:
    """``[:<w|m><day>][:<hour>]``."""
    text = f":{cadence}{'' if day is None else day}" if cadence else ""
    return text if hour is None else f"{text}:{hour}"


def _int(text: str | None) -> int | None:
    return int(text) if text else None


@dataclass(frozen=True)
class SubscribeStep(CallbackData):
    """``f:<scope>:<ref>[:<w|m><day>][:<hour>]``: /theodoi, a new subscription one step at a time; scope
    ``t`` (a target, ``ref`` from EntryRefs), ``s`` (a section id) or ``a`` (all, empty ref).
    ``cadence`` is ``w``/``m`` (or empty before it is chosen); Step checks the ranges."""

    prefix = "f"
    about = "/theodoi: the steps of a new subscription (f:<t|s|a>:<ref>…)"
    _RE = re.compile(r"f:([tsa]):([^:]*)" + _TAIL)
    _HANDLER_REST = "[tsa]:"
    scope: str
    ref: str = ""
    cadence: str = ""
    day: int | None = None
    hour: int | None = None

    def _text(self) -> str:
        return f"f:{self.scope}:{self.ref}{_tail(self.cadence, self.day, self.hour)}"

    @classmethod
    def _of(cls, m: re.Match[str]) -> Self:
        return cls(m.group(1), m.group(2), m.group(3) or "", _int(m.group(4)), _int(m.group(5)))


@dataclass(frozen=True)
class EditSubscription(CallbackData):
    """``e:<id>[:<w|m><day>][:<hour>]``: /dangtheodoi, change the schedule of subscription ``id``."""

    prefix = "e"
    about = "/dangtheodoi: change a subscription (e:<id>…)"
    _RE = re.compile(r"e:([0-9]{1,12})" + _TAIL)
    id: int
    cadence: str = ""
    day: int | None = None
    hour: int | None = None

    def _text(self) -> str:
        return f"e:{self.id}{_tail(self.cadence, self.day, self.hour)}"

    @classmethod
    def _of(cls, m: re.Match[str]) -> Self:
        return cls(int(m.group(1)), m.group(2) or "", _int(m.group(3)), _int(m.group(4)))


@dataclass(frozen=True)
class CancelSubscription(CallbackData):
    """``x:<id>`` / ``x:all`` (``id`` None): /dangtheodoi, cancel one subscription / all of them."""

    prefix = "x"
    about = "/dangtheodoi: cancel a subscription (x:<id>|all)"
    _RE = re.compile(r"x:([0-9]{1,12}|all)")
    id: int | None

    def _text(self) -> str:
        return f"x:{'all' if self.id is None else self.id}"

    @classmethod
    def _of(cls, m: re.Match[str]) -> Self:
        return cls(None if m.group(1) == "all" else int(m.group(1)))


KINDS: tuple[type[CallbackData], ...] = (
    OpenEntry, ListPage, Example, FollowTarget, Chart, PickTarget, ConfirmValue, CancelValue,
    ReloadChoice, SubscribeMenu, SubscribeStep, EditSubscription, CancelSubscription,
)

PREFIXES: dict[str, str] = {}  # prefix -> what its data does (derived from KINDS)
for _kind in KINDS:
    PREFIXES[_kind.prefix] = "; ".join(filter(None, [PREFIXES.get(_kind.prefix), _kind.about]))


def parse_any(data: str | None) -> CallbackData | None:
    """Whatever ``data`` stands for (for logs and tests), or None."""
    return next((p for p in (kind.parse(data) for kind in KINDS) if p is not None), None)


def pattern(prefix: str, rest: str = "") -> str:
    """The handler pattern for ``prefix`` (declared in PREFIXES), followed by the regex ``rest``."""
    if prefix not in PREFIXES:
        raise KeyError(f"callback prefix {prefix!r} is not declared in callbacks.PREFIXES")
    return rf"^{prefix}:{rest}"
