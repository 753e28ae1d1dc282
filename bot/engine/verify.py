"""Verify: every informative word of the question must be held by the chosen entry (its words,
the clause of its report sentence, its section headings); what is left over is a qualifier the
entry does not answer (see bot.engine.accounting for the word rules)."""

from __future__ import annotations

from bot.engine.accounting import contrasts, informative, leftover
from bot.engine.codes import find_refs
from bot.engine.compose import (
    not_given_reply,
    quote_clause,
)
from bot.engine.index import years_in
from bot.engine.rules import (
    INTENT_WORDS,
    NAMES_DOCUMENT,
    Decision,
    Held,
    raw_words,
    strip_refs,
)
from bot.engine.state import EngineState
from bot.engine.text import Query
from bot.knowledge.quotes import figure_needles
from bot.knowledge.schema import Entry
from bot.normalize import fold


class VerifyStage(EngineState):
    """Verify: every informative word of the question must be held by the chosen entry (its words,."""

    def _held(self, e: Entry) -> Held:
        """What an entry holds, computed once per entry: its own index words, the clause of its
        report sentence that states its figure (not the whole sentence, which may run over several
        subjects), for a footnote the sentence pointing to it, and its sections' headings."""
        cached = self._held_cache.get(e.id)
        if cached is not None:
            return cached
        ei = self.index.entries[e.id]
        words = set(ei.weights) | set(ei.text.split())
        text, raw, whole = ei.text, "", ""
        quote = self.quotes.get(e.id)
        if quote is not None:
            # The whole clause (between semicolons) holding its figure: its subject may stand far
            # from the figure ("điều chuyển 53 biên chế … sang các cơ quan hành chính nhà nước").
            clause = quote_clause(quote.text, figure_needles(e), window=None)
            expanded = self.lexicon.expand(clause)
            words |= set(expanded.split())
            if quote.footnote is not None and self.passages is not None:
                # A footnote details the sentence that points to it: that sentence is its subject.
                words |= self.passages.entries[quote.id].context
            text = f"{text} {expanded}"
            raw = fold(clause)
            # Bodies ("Ban Thường vụ") are usually the subject of the whole sentence, not the clause.
            whole = self.lexicon.expand(quote.text)
        text = f"{text} {' '.join(self._section_words_of(e))}"
        raw = " ".join([raw, *(fold(x) for x in [e.title, *e.aliases, *e.keywords])])
        held = Held(words, text, raw, whole)
        self._held_cache[e.id] = held
        return held

    def _leftover(self, q: Query, e: Entry) -> list[str]:
        held = self._held(e)
        df, size, pair_df = self._word_stats
        # What kind of figure is asked (plan, target, expected, to date, %) is verified by the
        # intent adjustments, not here: those words are not qualifiers of the subject.
        tokens = INTENT_WORDS.sub(" ", strip_refs(q.text)).split()  # codes are resolved on their own
        left = leftover(tokens, held.words, held.text, df, size, self._terms, q.typos, pair_df, held.whole)
        if self.kb.document(e.id) is not None and (find_refs(q.text) or NAMES_DOCUMENT.search(q.text)):
            # A document asked for is described in the asker's own words (its subject
            # paraphrased); only who issued it (bodies) and when are held against it, the code
            # being resolved apart. A question that asks for no document gets no such leniency.
            left = [t for t in left if t in self._terms]
        left += [c for c in contrasts(q.tokens, held.raw) if c not in left]
        # A year the entry is not about ("năm 2022" for a 2023 result) is a qualifier too.
        left += [str(y) for y in sorted(years_in(q.text) - self._entry_years(e))]
        return [t for t in left if not set(t.split()) <= q.soft]

    def _cover(self, q: Query, e: Entry) -> float:
        """Share of the question's weighted informative words the entry holds."""
        if self.passages is None:
            return 1.0
        words = self._held(e).words
        toks = informative(q.tokens)
        total = sum(self.passages.weight(t) for t in toks) or 1.0
        return sum(self.passages.weight(t) for t in toks if t in words) / total

    def _section_words_of(self, e: Entry) -> list[str]:
        out: list[str] = []
        sid: str | None  # a section, then its parents up to the top
        for sid in self.kb.entry_sections(e):
            while sid:
                out.append(self.lexicon.expand(self.kb.sections[sid].title))
                sid = self.kb.sections[sid].parent
        return out

    def _entry_years(self, e: Entry) -> set[int]:
        """The years an entry is about: the report's two, its own and its figures' (a document:
        the years its words name)."""
        return e.years() | {self.kb.result_year, self.kb.target_year}

    def _not_given(self, q: Query, left: list[str], e: Entry) -> Decision:
        """The subject is known but a qualifier is not: say what the report does not give, and
        offer what it does give, as something different."""
        shown = raw_words(q.raw, left, self.lexicon)
        return Decision("not_found", [e], {}, not_given_reply(shown, self.kb, e))
