"""Conversations: a follow-up read with the last answer's context (see bot.engine.followup for how
the question is completed), and the context the answer leaves for the next turn."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.engine.followup import Context, complete, has_marker
from bot.engine.rules import (
    NO_CONTEXT,
    OFF_TOPIC,
    RANK,
    Decision,
    no_answer,
)
from bot.engine.smalltalk import small_talk
from bot.engine.state import EngineState
from bot.knowledge.schema import Document
from bot.normalize import fold

if TYPE_CHECKING:
    from bot.knowledge.schema import Entry


class ConversationStage(EngineState):
    """Conversations: a follow-up read with the last answer's context (see bot.engine.followup for how."""

    if TYPE_CHECKING:
        # Defined by other stages of the Engine (engine.py, documents.py); declared here for mypy only.
        def _decide(self, question: str, soft: frozenset[str] = frozenset(), shown: int | None = None) -> Decision: ...
        def _doc_label(self, doc_id: str | None) -> str | None: ...
        def _linked_labels(self, doc_id: str | None) -> dict[str, str]: ...
        def cited_documents(self, e: Entry) -> list[Document]: ...
        def documents_of(self, e: Entry) -> list[Document]: ...

    # -- conversation ---------------------------------------------------------------------------
    def _decide_in_context(self, question: str, ctx: Context | None) -> tuple[Decision, str | None]:
        """Answer alone, or as the follow-up it is. Rule: a question marked as a follow-up ("còn…",
        "thì sao", "nó", "năm đó", "đối với…") or without a subject of its own is completed from the
        last answer and must stay on its topic; a question that names its own subject and is
        answered starts afresh, inheriting nothing."""
        if small_talk(question) is not None:
            return self._decide(question), None
        marked = has_marker(question)
        alone: Decision | None  # the question answered alone, when that is tried
        if ctx is None:
            alone = self._decide(question)
            if marked and alone.status == "not_found" and alone.generic:
                return no_answer(NO_CONTEXT.format(ty=self.kb.target_year)), None
            return alone, None
        reading = complete(question, ctx, doc_label=self._doc_label(ctx.document_id),
                           linked_label=self._linked_labels(ctx.document_id), result_year=self.kb.result_year)
        if fold(reading.question) == fold(question):
            return self._decide(question), None
        answered = ("answer", "list")
        # Marked and elliptical, or asking only about the last document: only the completed
        # reading can be meant (no need to try the question alone).
        alone = None if (marked and reading.elliptical) or reading.document else self._decide(question)
        if alone is not None and not reading.elliptical and alone.status in answered:
            return alone, None  # a complete question answered: a topic switch, nothing inherited
        soft = frozenset(self.lexicon.expand(reading.background).split()) - set(self.lexicon.expand(question).split())
        merged = self._decide(reading.question, soft, ctx.passage_id if reading.background else None)
        if alone is not None and merged.status not in answered and RANK[alone.status] >= RANK[merged.status]:
            return alone, None  # not marked as a follow-up, and the reading with the context fails
        if merged.status == "answer" and not reading.document and not self._on_topic(merged, ctx):
            # A follow-up stays on the last answer's topic: a fact from another section answers a
            # different question.
            return no_answer(OFF_TOPIC), reading.question
        return merged, reading.question

    def _on_topic(self, d: Decision, ctx: Context) -> bool:
        """The decision's answer is in a section of the context's last answer, or linked to it (a
        result and its plan or target, two steps at most; a total and its parts)."""
        if self._topics(self._context_sections(ctx)) & self._topics(self._decision_sections(d)):
            return True
        near = set(ctx.entry_ids)
        for _ in range(2):
            for i in list(near):
                e = self.kb.entries.get(i)
                near |= set(self.kb.links.get(i, [])) | set(self.kb.children.get(i, []))
                parent = getattr(e, "parent", None)  # only indicators have one
                if e is not None and parent:
                    near.add(parent)
        return any(e.id in near for e in d.entries)

    def _topics(self, sections: set[str]) -> set[str]:
        """Sections as topics: a subsection counts as its numbered section ("2.1. Tồn tại, hạn
        chế" and "2.2. Nguyên nhân" are one topic), a part or a roman heading as itself."""
        out = set()
        sid: str | None  # a section, then its parents up to the top
        for sid in sections:
            lineage = []
            while sid:
                lineage.append(sid)
                sid = self.kb.sections[sid].parent if sid in self.kb.sections else None
            out.add(lineage[-3] if len(lineage) >= 3 else lineage[0])
        return out

    def _decision_sections(self, d: Decision) -> set[str]:
        if d.passage is not None:
            return {d.passage.passage.section}
        return {s for e in d.entries for s in self.kb.entry_sections(e)}

    def _context_sections(self, ctx: Context) -> set[str]:
        out = {s for i in ctx.entry_ids if i in self.kb.entries for s in self.kb.entry_sections(self.kb.entries[i])}
        if ctx.passage_id is not None and self.passages is not None and ctx.passage_id < len(self.passages.entries):
            out.add(self.passages.entries[ctx.passage_id].passage.section)
        return out

    def _next_context(self, question: str, d: Decision, previous: Context | None) -> Context | None:
        """What the next follow-up refers to: this answer; after a reply that understood nothing
        (small talk, nothing found) the previous context stays."""
        if d.status == "not_found" and not d.entries and d.passage is None:
            return previous
        doc = None
        if len(d.entries) == 1:
            e = d.entries[0]
            cited = self.documents_of(e)
            doc = cited[0].id if len(cited) == 1 else None
        return Context(question, tuple(e.id for e in d.entries),
                       d.passage.passage.id if d.passage is not None else None, doc, d.status)
