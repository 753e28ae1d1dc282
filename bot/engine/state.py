"""What every stage of the engine reads: the base, its index, the report's sentences and the
caches built once per engine (see Engine.__init__, which fills them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.engine.codes import CodedDocument
    from bot.engine.index import Index
    from bot.engine.passages import PassageIndex
    from bot.engine.rules import Held
    from bot.engine.text import Lexicon
    from bot.knowledge.base import KnowledgeBase
    from bot.knowledge.passages import Passage
    from bot.knowledge.schema import Entry


class EngineState:
    """The engine's state, shared by its stages."""

    kb: KnowledgeBase
    lexicon: Lexicon
    index: Index
    passages: PassageIndex | None
    quotes: dict[str, Passage]
    _terms: list[str]
    _held_cache: dict[str, Held]
    _titles: dict[str, list[str]]
    _word_stats: tuple[dict[str, int], int, dict[str, int]]
    _by_kind: dict[str, list[Entry]]
    _codes: dict[int, list[CodedDocument]]
    _section_words: dict[str, set[str]]
    _section_entries: dict[str, set[str]]
