"""Conversations: the context of each chat's last answer, so that a follow-up ("còn năm 2024?")
is read against it.

A conversation is keyed by ``(chat_id, user_id)``: in a private chat that is the chat, in a group
each member has their own, so two officials asking in one group never complete each other's
questions. Contexts live in memory only (a restart forgets them, as a person would after a
pause), expire after an idle time, and are bounded: past ``max_entries`` the conversation used
least recently is dropped. The clock is injected so tests move time instead of sleeping.

Not thread-safe; it is used from the event loop only (one asyncio thread).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from bot.engine.followup import Context

Key = tuple[int, int | None]

DEFAULT_IDLE_SECONDS = 30 * 60.0
# About 0.8 KB a conversation (docs/benchmarks.md, "Conversations"): 20,000 hold ~16 MB at most.
DEFAULT_MAX_ENTRIES = 20_000


class ConversationStore:
    """One :class:`Context` per conversation key, dropped after ``idle_seconds`` without activity
    and, least recently used first, beyond ``max_entries``.

    Every :meth:`get` that finds a live context and every :meth:`put` counts as activity. The
    entries are kept in order of last activity (oldest first), which makes both the LRU eviction
    and dropping expired entries a look at the front.
    """

    def __init__(self, idle_seconds: float = DEFAULT_IDLE_SECONDS, max_entries: int = DEFAULT_MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if idle_seconds <= 0 or max_entries <= 0:
            raise ValueError("idle_seconds and max_entries must be positive")
        self.idle_seconds = idle_seconds  # read on every call: a setting may change it after construction
        self.max_entries = max_entries
        self.clock = clock
        self._items: OrderedDict[Key, tuple[Context, float]] = OrderedDict()

    def get(self, key: Key) -> Context | None:
        """The live context of a conversation, or None (none, or expired: then it is dropped)."""
        item = self._items.get(key)
        if item is None:
            return None
        now = self.clock()
        if now - item[1] > self.idle_seconds:
            del self._items[key]
            return None
        self._items[key] = (item[0], now)
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: Key, context: Context | None) -> None:
        """Keep ``context`` as the conversation's context (None forgets it); drops expired entries
        and, beyond ``max_entries``, the least recently used ones."""
        if context is None:
            self.clear(key)
            return
        now = self.clock()
        self._items[key] = (context, now)
        self._items.move_to_end(key)
        self._prune(now)

    def clear(self, key: Key) -> None:
        """Forget one conversation (nothing happens when there is none)."""
        self._items.pop(key, None)

    def clear_all(self) -> None:
        """Forget every conversation (a knowledge reload: old contexts name the old base's ids)."""
        self._items.clear()

    def __len__(self) -> int:
        """Conversations held, expired ones not yet dropped included."""
        return len(self._items)

    def _prune(self, now: float) -> None:
        items = self._items
        while len(items) > self.max_entries:
            items.popitem(last=False)
        # Oldest first: stop at the first live one. Keeps an idle store from holding dead contexts
        # until the bound is reached.
        while items:
            key, (_, at) = next(iter(items.items()))
            if now - at <= self.idle_seconds:
                break
            del items[key]
