"""Statements: when a report sentence answers better than a structured entry, and what a sentence
must hold to answer at all (every qualifier; a count stated next to the thing counted)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.engine.accounting import answer_type, informative, leftover
from bot.engine.codes import find_refs
from bot.engine.compose import (
    passage_reply,
)
from bot.engine.index import years_in
from bot.engine.matcher import (
    Intent,
)
from bot.engine.passages import PassageHit
from bot.engine.rules import (
    ASKS_WHAT,
    DATE_IN,
    INTENT_WORDS,
    NAMES_DOCUMENT,
    PASSAGE_COUNT_MIN,
    PASSAGE_MIN,
    PASSAGE_OVER_ENTRY,
    Decision,
    states_count,
)
from bot.engine.state import EngineState
from bot.engine.text import Query
from bot.normalize import fold

if TYPE_CHECKING:
    from bot.knowledge.schema import Entry


class StatementStage(EngineState):
    """Statements: when a report sentence answers better than a structured entry, and what a sentence."""

    if TYPE_CHECKING:
        # Defined by another stage of the Engine (verify.py); declared here for mypy only.
        def _cover(self, q: Query, e: Entry) -> float: ...

    def _statement_over_document(self, q: Query, intent: Intent, d: Decision) -> Decision:
        """A document found for a question that asks something said about it ("điều gì được coi là
        điểm nhấn…", "lĩnh vực dễ sai phạm…"), not one of its attributes: the report's sentence
        answers when it holds clearly more of the question and cites that document, or when the
        question asks for no document and the sentence holds as much of it or is the document's own."""
        e = self.kb.document(d.entries[0].id)
        if e is None or intent.date or intent.issuer:
            return d
        hit = self._best_passage(q, intent)
        if hit is None:
            return d
        more = hit.cover >= self._cover(q, e) + PASSAGE_OVER_ENTRY
        cites = bool(e.code and fold(e.code) in hit.entry.folded)
        asks_document = bool(intent.doc or NAMES_DOCUMENT.search(q.text) or find_refs(q.text))
        quote = self.quotes.get(e.id)
        own = quote is not None and hit.passage.id == quote.id
        if (more and cites) or (not asks_document and (own or hit.cover >= self._cover(q, e))):
            return self._from_passage(hit, q)
        return d

    def _statement_over_figure(self, q: Query, intent: Intent, d: Decision) -> Decision:
        """A question asking what, which, who or where ("để làm gì", "ở đâu") about a fact stated
        in words is answered by the report's sentence, not by a figure found beside it: when the
        entry is a number without names and a sentence holds at least as much of the question, or
        when the sentence is the entry's own (it states the names with their words: "xã Việt Hải,
        huyện Cát Hải"), the sentence answers."""
        if d.passage is not None or len(d.entries) != 1:
            return d
        e = self.kb.fact(d.entries[0].id)  # a document's sentence is weighed above
        if intent.percent or intent.date or intent.doc or not ASKS_WHAT.search(q.text) or e is None:
            return d
        hit = self._best_passage(q, intent)
        if hit is None:
            return d
        quote = self.quotes.get(e.id)
        own = quote is not None and hit.passage.id == quote.id
        if intent.count:
            # "đề án gì …, và là 1 trong bao nhiêu địa phương?": a number and a name asked at once;
            # the entry's own sentence states both.
            return self._from_passage(hit, q) if own else d
        if own or (hit.cover >= self._cover(q, e) and not e.listed_names()):
            return self._from_passage(hit, q)
        return d

    def _best_passage(self, q: Query, intent: Intent) -> PassageHit | None:
        """The best report sentence that answers the whole question, if any (searched at most once
        per question, and only when a decision needs it)."""
        if self.passages is None:
            return None
        searched, best = q.passage_search
        if searched:
            return best
        hits = self.passages.search(q.tokens, years_in(q.text), typos=q.typos, soft=q.soft)
        best = next((h for h in hits if self._passage_fits(h, intent, q) and not self._repeats(h, q)), None)
        q.passage_search = (True, best)
        return best

    def _repeats(self, hit: PassageHit, q: Query) -> bool:
        """A follow-up asking its own question is not answered by the sentence just quoted, unless
        that sentence itself says what the follow-up names ("còn thành lập đảng bộ mới nào?" after
        a sentence that goes on to name it; not "nguyên nhân do đâu?")."""
        if hit.passage.id != q.shown:
            return False
        own = [t for t in informative(q.tokens) if t not in q.soft and t not in answer_type(q.tokens)]
        return not all(t in hit.entry.own for t in own)

    def _passage_fits(self, hit: PassageHit, intent: Intent, q: Query) -> bool:
        """A sentence answers when it holds every qualifier (places included) and scores well; a
        count or a percentage asked must stand in it as a number with the thing counted."""
        if hit.leftover or any(f" {p} " not in f" {hit.entry.folded} " for p in intent.places):
            return False
        if intent.count or intent.percent:
            return (hit.score >= PASSAGE_COUNT_MIN and states_count(hit.entry.folded, intent)
                    and self._count_clause_holds(hit, q, intent))
        if intent.date and not DATE_IN.search(hit.entry.folded):
            return False
        return hit.score >= PASSAGE_MIN

    def _count_clause_holds(self, hit: PassageHit, q: Query, intent: Intent) -> bool:
        """The clause that states the number (between semicolons) holds the question's qualifiers:
        in a long sentence "công an" elsewhere does not qualify "217 chi bộ quân sự"."""
        assert self.passages is not None
        unit = " ".join(intent.asked_units[:2])
        if not unit or intent.percent:
            return True
        clauses = [c for c in re.split(r";\s*", hit.passage.text) if unit in fold(c)]
        if not clauses:
            return True
        pe = hit.entry
        held = set().union(*(self.lexicon.expand(c).split() for c in clauses)) | pe.context
        text = " ".join(self.lexicon.expand(c) for c in clauses)
        kind = INTENT_WORDS.sub(" ", q.text).split()
        left = leftover(kind, held, text, self.passages.df, self.passages.size, self._terms, q.typos,
                        self.passages.pair_df)
        return not [t for t in left if not set(t.split()) <= q.soft]

    def _from_passage(self, hit: PassageHit, q: Query) -> Decision:
        assert self.passages is not None
        marks = self.passages.answer_marks(hit, q.tokens)
        return Decision("answer", [], {}, passage_reply(hit.passage.text, hit.entry.path, marks), passage=hit)
