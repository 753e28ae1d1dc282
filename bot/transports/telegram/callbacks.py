"""Callback-data prefixes: one registry, so that two features can never claim the same data.

Callback data is ``<prefix>:<rest>`` (``cn`` alone cancels a progress record). Every
CallbackQueryHandler's pattern is built with :func:`pattern` from a prefix declared here;
tests/test_callbacks.py checks that every registered handler uses one and every prefix has a handler.
A button whose data matches no handler (forged, or from an older version) gets the stale-button reply.
"""

from __future__ import annotations

PREFIXES: dict[str, str] = {
    "a": "open an entry's answer (a:<ref>)",
    "l": "a page of a list (/chitieu, /ketqua, /vanban)",
    "q": "ask an example question",
    "sub": "follow the target of an answer",
    "g": "progress chart of a target",
    "cp": "/capnhat: the target picked",
    "cy": "/capnhat: the value confirmed",
    "cn": "/capnhat: cancelled (no ':')",
    "rl": "reload or upload held for confirmation: apply or cancel",
    "f": "/theodoi: the steps of a new subscription",
    "e": "/dangtheodoi: change a subscription",
    "x": "/dangtheodoi: cancel a subscription",
}


def pattern(prefix: str, rest: str = "") -> str:
    """The handler pattern for ``prefix`` (declared in PREFIXES), followed by the regex ``rest``."""
    if prefix not in PREFIXES:
        raise KeyError(f"callback prefix {prefix!r} is not declared in callbacks.PREFIXES")
    return rf"^{prefix}:{rest}"
