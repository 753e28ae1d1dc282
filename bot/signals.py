"""SIGHUP from the first instant of `python -m bot run`.

SIGHUP's default action ends the process, and `run` spends seconds importing, loading the base and
checking the database before its event loop can reload on SIGHUP: an admin's `kill -HUP` (or a
supervisor's) in that window used to kill the bot. :func:`catch_early` (called by ``__main__``
before any heavy import) remembers such a signal instead; the Telegram application serves it as a
reload as soon as it can (``admin.add_sighup``), and puts this handler back when it stops.
Standard library only, so it costs nothing to import first.
"""

from __future__ import annotations

import signal
from types import FrameType

_pending = False
_installed = False


def _remember(signum: int, frame: FrameType | None) -> None:
    global _pending
    _pending = True


def catch_early() -> bool:
    """Install the remembering SIGHUP handler (False where there is no SIGHUP)."""
    global _installed
    sig = getattr(signal, "SIGHUP", None)
    if sig is None:
        return False
    signal.signal(sig, _remember)
    _installed = True
    return True


def take_pending() -> bool:
    """True once if a SIGHUP arrived while only the early handler was in place."""
    global _pending
    pending, _pending = _pending, False
    return pending


def reinstall() -> None:
    """After the application's own handler is removed: remember again (if catching early at all)."""
    if _installed:
        catch_early()
