"""The answer service: the one place transports go for answers and lists.

It holds the current Engine (and what is derived from it) in ONE attribute, so a reload is a single
assignment: atomic for asyncio code, and a handler never sees an engine paired with another base's
references. It is also the engine holder of the admin service (``service.engine = new_engine``).

`ask` runs the engine and logs the question; everything else is synchronous and pure. With
``workers > 0`` questions are answered in that many worker processes (spawned, each with a copy of
the engine): the engine is pure CPU work, so this moves it off the event loop's core and lets a
2-core machine answer about twice as many questions (see docs/benchmarks.md, "Telegram load").
Entry answers and lists stay in-process: they are lookups, not matching.

Conversations: the service keeps the context of each conversation's last answer (a
:class:`ConversationStore`), so every transport gets follow-ups by naming the conversation: a
question or a chosen entry with a chat id is a turn of the conversation ``(chat_id, user_id)``;
without a chat id it is a one-off, which neither reads nor keeps a context.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import pickle
import re
import signal
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from typing import TypeVar

from bot.engine.engine import Answer, Engine
from bot.engine.followup import Context
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.schema import Document, Entry, Indicator, Section, Target
from bot.normalize import fold
from bot.services.conversations import ConversationStore, Key
from bot.services.storage import Storage

log = logging.getLogger(__name__)

REF_MAX = 40  # bytes; leaves room for a callback prefix within Telegram's 64
_FILLER = frozenset("ve cua cac nhung la gi nao cho toi xem va o trong linh vuc chu de".split())
_SPLIT = re.compile(r"[\s\-/.]+")
_CODE = re.compile(r"[-/.]")
E = TypeVar("E", bound=Entry)


class EntryRefs:
    """Short, stable references to entries (for callback data): the id itself when it is at most
    REF_MAX bytes, else a prefix plus a hash of the id. Stable across restarts and reloads (no
    positional index), so an old button either still means the same entry or resolves to nothing.
    """

    def __init__(self, ids: list[str]) -> None:
        self._by_ref: dict[str, str] = {}
        self._by_id: dict[str, str] = {}
        for entry_id in ids:
            ref = self._make(entry_id)
            self._by_ref[ref] = entry_id
            self._by_id[entry_id] = ref

    def _make(self, entry_id: str) -> str:
        if len(entry_id.encode()) <= REF_MAX and "~" not in entry_id:
            return entry_id
        digest = hashlib.sha1(entry_id.encode()).hexdigest()
        for n in (8, 12, 16, 24):
            ref = f"{entry_id[: REF_MAX - n - 1]}~{digest[:n]}"
            if ref not in self._by_ref:
                return ref
        raise ValueError(f"cannot make a unique reference for {entry_id!r}")  # pragma: no cover

    def ref(self, entry_id: str) -> str:
        """The reference of an entry id (KeyError when the id is unknown)."""
        return self._by_id[entry_id]

    def resolve(self, ref: str) -> str | None:
        """The entry id a reference stands for, or None (stale or forged)."""
        return self._by_ref.get(ref)


# -- worker processes --------------------------------------------------------------------------

_WORKER_ENGINE: Engine | None = None


def _die_with_parent(parent: int, interval: float = 1.0) -> None:
    """Exit as soon as the parent process is gone (a kill -9 of the bot leaves no orphan worker
    holding memory and the engine). Polls getppid: portable, and unlike PR_SET_PDEATHSIG it does
    not depend on which of the parent's threads started the worker."""
    while True:
        time.sleep(interval)
        if os.getppid() != parent:
            os._exit(0)


def _worker_init(engine_bytes: bytes, parent: int | None = None) -> None:
    """Worker process start: die with the parent; leave Ctrl-C and SIGHUP to the parent; unpickle
    the engine."""
    global _WORKER_ENGINE
    if parent is not None:
        threading.Thread(target=_die_with_parent, args=(parent,), daemon=True, name="die-with-parent").start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _WORKER_ENGINE = pickle.loads(engine_bytes)


def _worker_ask(question: str, context: Context | None = None) -> Answer:
    """Answer in a worker process (the context travels pickled: a small frozen value)."""
    assert _WORKER_ENGINE is not None
    return _WORKER_ENGINE.ask(question, context)


def _make_pool(engine: Engine, workers: int) -> Executor | None:
    if workers <= 0:
        return None
    return ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=_worker_init,
        initargs=(pickle.dumps(engine), os.getpid()),
    )


@dataclass(frozen=True)
class _State:
    """Everything derived from one engine; replaced as a whole."""

    engine: Engine
    refs: EntryRefs
    result_year: int
    target_year: int
    haystacks: dict[str, tuple[frozenset[str], str]] = field(default_factory=dict)
    pool: Executor | None = None


def _haystack(kb: KnowledgeBase, e: Entry) -> tuple[frozenset[str], str]:
    parts = [e.title, e.subject, *e.aliases, *e.keywords, *e.search_texts()]
    text = fold(" ".join(p for p in parts if p))
    return frozenset(w for w in _SPLIT.split(text) if w), text


def _key(chat_id: int | None, user_id: int | None) -> Key | None:
    """The conversation of a chat and user; None (no conversation) without a chat."""
    return None if chat_id is None else (chat_id, user_id)


def topic_tokens(topic: str) -> list[str]:
    """The folded words of a topic/keyword that must all match ('về kết nạp' → ['ket', 'nap'])."""
    return [t for t in fold(topic).split() if t not in _FILLER]


class AnswerService:
    """Answers, entry lookups and lists over the current engine; logs questions to storage; keeps
    each conversation's context."""

    def __init__(self, engine: Engine, storage: Storage | None = None, *, workers: int = 0,
                 conversations: ConversationStore | None = None) -> None:
        """``workers``: processes answering questions (0: in this process, on the event loop);
        ``conversations``: where contexts are kept (default: a store with the default idle time)."""
        self.storage = storage
        self.workers = workers
        self.conversations = conversations if conversations is not None else ConversationStore()
        self._state = self._build(engine)

    def _build(self, engine: Engine) -> _State:
        kb = engine.kb
        return _State(
            engine,
            EntryRefs(list(kb.entries)),
            kb.result_year,
            kb.target_year,
            {e.id: _haystack(kb, e) for e in kb.entries.values()},
            _make_pool(engine, self.workers),
        )

    async def start(self) -> None:
        """Start the worker processes now (not on the first question): one warm-up question."""
        pool = self._state.pool
        if pool is not None:
            await asyncio.wrap_future(pool.submit(_worker_ask, "", None))

    async def close(self) -> None:
        """Stop the worker processes (questions in flight finish first)."""
        pool = self._state.pool
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, True)

    # -- engine -----------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The current engine; assigning one swaps it in (see :meth:`set_engine`)."""
        return self._state.engine

    @engine.setter
    def engine(self, engine: Engine) -> None:
        self.set_engine(engine)

    @property
    def kb(self) -> KnowledgeBase:
        """The current knowledge base."""
        return self._state.engine.kb

    @property
    def refs(self) -> EntryRefs:
        """Short references for the current base's entries."""
        return self._state.refs

    @property
    def result_year(self) -> int:
        """The year of the report's results (2023 for this report)."""
        return self._state.result_year

    @property
    def target_year(self) -> int:
        """The year of the report's targets (2024 for this report)."""
        return self._state.target_year

    def set_engine(self, engine: Engine) -> None:
        """Swap in a new engine (a reload): one attribute assignment. Worker processes are replaced:
        new ones start with the new engine; the old ones finish the questions they hold, then exit.
        Conversations are forgotten: their contexts name entries and sentences of the old base."""
        old = self._state.pool
        self._state = self._build(engine)
        self.conversations.clear_all()
        if old is not None:
            old.shutdown(wait=False)

    # -- answers ----------------------------------------------------------------------------
    def answer(self, question: str, chat_id: int | None = None, user_id: int | None = None) -> Answer:
        """The engine's answer in this process, without logging (terminal chat); a turn of the
        conversation ``(chat_id, user_id)`` when there is a chat id."""
        key = _key(chat_id, user_id)
        answer = self._state.engine.ask(question, self.conversations.get(key) if key is not None else None)
        if key is not None:
            self.conversations.put(key, answer.context)
        return answer

    async def _run(self, question: str, context: Context | None) -> Answer:
        state = self._state
        if state.pool is None:
            return state.engine.ask(question, context)
        try:
            return await asyncio.wrap_future(state.pool.submit(_worker_ask, question, context))
        except BrokenProcessPool:
            log.exception("engine worker died; answering in-process and restarting the workers")
            if self._state is state:
                state.pool.shutdown(wait=False)
                self._state = replace(state, pool=_make_pool(state.engine, self.workers))
            return state.engine.ask(question, context)

    async def ask(self, question: str, chat_id: int | None, user_id: int | None) -> Answer:
        """Answer a question (in a worker process when there are workers) and log it; with a chat
        id, as a turn of the conversation ``(chat_id, user_id)`` (a follow-up is read against its
        last answer, and this answer becomes the one the next follow-up refers to).

        A failing log write is logged and swallowed: the user still gets the answer.
        """
        key = _key(chat_id, user_id)
        engine = self._state.engine
        answer = await self._run(question, self.conversations.get(key) if key is not None else None)
        # A reload while the worker answered cleared the store; the old base's context stays out.
        if key is not None and self._state.engine is engine:
            self.conversations.put(key, answer.context)
        if self.storage is not None and self.storage.is_open:
            top = answer.results[0] if answer.results else None
            try:
                await self.storage.log_query(
                    chat_id, user_id, question, fold(question), answer.status,
                    top.id if top else None, top.score if top else None, answer.elapsed_ms,
                )
            except Exception:  # noqa: BLE001 - logging must not cost the user the answer
                log.exception("could not log a question to storage")
        return answer

    def entry(self, entry_id: str, chat_id: int | None = None, user_id: int | None = None) -> Answer | None:
        """The answer for one entry (a button, a list item), or None for an unknown id. With a
        chat id the entry becomes what the conversation's next follow-up refers to ("còn năm
        2024?" after choosing a 2023 result)."""
        engine = self._state.engine
        answer = engine.entry_answer(entry_id)
        key = _key(chat_id, user_id)
        if answer is not None and key is not None:
            e = engine.kb.entries[entry_id]
            # The entry's title reads as the question it answers; follow-ups are completed from it.
            # Its document, as the engine decides for an answer: itself, or the one its sentence cites.
            cited = engine.documents_of(e)
            self.conversations.put(key, Context(e.title, (e.id,), None,
                                                cited[0].id if len(cited) == 1 else None, "answer"))
        return answer

    def get(self, entry_id: str) -> Entry | None:
        """The entry with this id, or None."""
        return self.kb.entries.get(entry_id)

    def related(self, entry_id: str) -> list[Entry]:
        """Entries linked to this one: a result's targets, a target's results."""
        kb = self.kb
        return [kb.entries[i] for i in kb.links.get(entry_id, []) if i in kb.entries]

    # -- lists ------------------------------------------------------------------------------
    def targets(self, year: int | None = None) -> list[Target]:
        """The targets of one year (default: the report's target year), in file order."""
        year = year or self.target_year
        return self.kb.targets(year)

    def result_sections(self) -> list[Section]:
        """Sections that hold results (directly), in report order."""
        kb = self.kb
        used = {e.section for e in kb.indicators()}
        return [s for s in kb.sections.values() if s.id in used]

    def section_results(self, section_id: str) -> list[Indicator]:
        """The results of a section and its subsections (empty for an unknown section)."""
        kb = self.kb
        if section_id not in kb.sections:
            return []
        ids = kb.descendants(section_id)
        return [e for e in kb.indicators() if e.section in ids]

    def find_section(self, topic: str) -> Section | None:
        """A results section named by its number ('3') or by words of its title ('kiểm tra')."""
        sections = self.result_sections()
        text = fold(topic)
        number = re.fullmatch(r"(\d{1,2})\.?", text)
        if number:
            return next((s for s in sections if s.title.startswith(f"{number.group(1)}.")), None)
        tokens = topic_tokens(topic)
        if not tokens:
            return None
        for s in sections:
            words = set(_SPLIT.split(fold(s.title)))
            if all(any(w.startswith(t) for w in words) for t in tokens):
                return s
        return None

    def results_about(self, topic: str) -> list[Indicator]:
        """Results whose wording contains every word of the topic."""
        return self._matching(topic, self.kb.indicators())

    def documents(self, keyword: str = "") -> list[Document]:
        """Cited documents, all or those whose code, name or subject contain every keyword word."""
        return self._matching(keyword, self.kb.documents())

    def _matching(self, words: str, pool: list[E]) -> list[E]:
        tokens = topic_tokens(words)
        if not tokens:
            return pool
        hay = self._state.haystacks
        out = []
        for e in pool:
            hwords, htext = hay[e.id]
            if all(any(w.startswith(t) for w in hwords) or (_CODE.search(t) is not None and t in htext)
                   for t in tokens):
                out.append(e)
        return out
