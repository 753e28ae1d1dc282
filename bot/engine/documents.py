"""Documents asked for through a fact ("theo hướng dẫn nào?") or through another document ("kế
hoạch 254 thực hiện nghị quyết nào?"): the document the fact's sentence cites, or the linked one."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.engine.codes import find_refs, resolve
from bot.engine.compose import (
    quote_clause,
)
from bot.engine.matcher import (
    Intent,
)
from bot.engine.rules import (
    ANSWER_MIN,
    ASKS_ATTRIBUTE,
    ASKS_NUMBER,
    DOC_TYPE_WORDS,
    MARGIN,
    STARTS_WITH_DOC,
    WHICH_DOC,
    Decision,
)
from bot.engine.state import EngineState
from bot.engine.text import Query
from bot.knowledge.quotes import figure_needles
from bot.knowledge.schema import Document, Entry
from bot.normalize import fold

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bot.engine.compose import Reply
    from bot.engine.matcher import Scored


class DocumentStage(EngineState):
    """Documents asked for through a fact ("theo hướng dẫn nào?") or through another document ("kế."""

    if TYPE_CHECKING:
        # Defined by other stages of the Engine (engine.py, structured.py); declared here for mypy only.
        def _answer(self, e: Entry) -> Reply: ...
        def _rank_within(self, q: Query, intent: Intent, docs: Sequence[Entry]) -> list[Scored]: ...

    def _doc_label(self, doc_id: str | None) -> str | None:
        doc = self.kb.document(doc_id)
        if doc is None:
            return None
        return f"{doc.doc_type} {doc.code or doc.name}"

    def _linked_labels(self, doc_id: str | None) -> dict[str, str]:
        """Documents linked to this one (what it implements, what implements it), by folded type."""
        if not doc_id or doc_id not in self.kb.entries:
            return {}
        out: dict[str, str] = {}
        this = self.kb.document(doc_id)
        linked = [*(this.implements if this else []), *self.kb.implemented_by.get(doc_id, [])]
        for i in linked:
            label = self._doc_label(i)
            doc = self.kb.document(i)
            if label and doc is not None:
                out.setdefault(fold(doc.doc_type), label)
        return out

    def _asked_document(self, q: Query, intent: Intent, d: Decision) -> Decision:
        """"… theo hướng dẫn nào?": the question asks which document, and the fact found is stated
        in a sentence citing exactly one document of that type: that document is the answer."""
        which = WHICH_DOC.search(q.text)
        opens = None if ASKS_NUMBER.search(q.text) or find_refs(q.text) else STARTS_WITH_DOC.match(q.text)
        m = which or opens
        if not m or d.status not in ("answer", "clarify") or not d.entries:
            return d
        wanted = DOC_TYPE_WORDS.get(m.group(1))
        first = self.kb.document(d.entries[0].id)
        if first is not None:
            if d.status == "answer":
                if wanted is None or first.doc_type == wanted or not which or self._asks_of_found(q, intent, which):
                    return d
                # "Kế hoạch 254 thực hiện nghị quyết nào?": the linked document of the type asked.
                linked = [self.kb.document(i) for i in [*first.implements, *self.kb.implemented_by.get(first.id, [])]]
                docs: list[Document] = [x for x in linked if x is not None and x.doc_type == wanted]
                if len(docs) != 1:
                    return d
                return Decision("answer", [*docs], {docs[0].id: d.scores.get(first.id, 1.0)}, self._answer(docs[0]))
            # Offered a choice: the one document of the asked type among the candidates.
            offered = [self.kb.document(e.id) for e in d.entries]
            docs = [x for x in offered if x is not None and (wanted is None or x.doc_type == wanted)]
        else:
            docs = [doc for doc in self.cited_documents(d.entries[0]) if wanted is None or doc.doc_type == wanted]
            if not docs and wanted is not None:
                # The fact's sentence cites none: the document of that type the question describes.
                pool = [x for x in self.kb.documents() if x.doc_type == wanted]
                ranked = self._rank_within(q, intent, pool)
                clear = len(ranked) == 1 or (len(ranked) > 1 and ranked[0].score - ranked[1].score >= MARGIN)
                if ranked and ranked[0].score >= ANSWER_MIN and clear:
                    top = self.kb.document(ranked[0].id)
                    docs = [top] if top is not None else []
        if len(docs) != 1:
            return d
        return Decision("answer", [*docs], {docs[0].id: d.scores.get(d.entries[0].id, 1.0)}, self._answer(docs[0]))

    def _asks_of_found(self, q: Query, intent: Intent, which: re.Match[str]) -> bool:
        """"Kế hoạch 254 ban hành ngày nào, thực hiện nghị quyết nào?": a date or issuer asked
        before the linked document is named is asked of the document found, which then answers;
        after it ("…nghị quyết nào, nghị quyết đó ngày nào") it is asked of the linked one."""
        if not (intent.date or intent.issuer):
            return False
        m = ASKS_ATTRIBUTE.search(q.text)
        return m is not None and m.start() < which.start()

    def documents_of(self, e: Entry) -> list[Document]:
        """The documents an answer about an entry is about: a document itself, else the ones its
        sentence cites (see :meth:`cited_documents`)."""
        doc = self.kb.document(e.id)
        return [doc] if doc is not None else self.cited_documents(e)

    def cited_documents(self, e: Entry) -> list[Document]:
        """The documents cited by the clause of the report sentence an entry comes from (the whole
        sentence when the clause cites none)."""
        quote = self.quotes.get(e.id)
        if quote is None or self.kb.fact(e.id) is None:  # a document's own sentence cites itself
            return []
        out: list[Document] = []
        for text in (quote_clause(quote.text, figure_needles(e)), quote.text):
            for ref in find_refs(fold(text)):
                out += [doc for doc in resolve(ref, self._codes, fold(text)) if doc not in out]
            if out:
                break
        return out
