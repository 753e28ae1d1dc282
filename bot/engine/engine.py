"""The engine facade: question in, Answer out. Pure, synchronous, deterministic. The decision runs
as stages, each in its own module: understand (text, matcher) → retrieve and decide over the base
(structured) → verify every qualifier (verify) → a report sentence where it answers better
(statements, documents) → compose (compose); follow-ups in conversation."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from bot.engine.accounting import terms_of
from bot.engine.codes import index_codes
from bot.engine.compose import (
    Reply,
    answer_reply,
    multi_reply,
    quote_excerpt,
    verdict,
)
from bot.engine.conversation import ConversationStage
from bot.engine.documents import DocumentStage
from bot.engine.followup import Context
from bot.engine.index import Index, build_index
from bot.engine.matcher import (
    Intent,
    correct_tokens,
    fix_question_words,
    read_intent,
)
from bot.engine.passages import PassageHit, PassageIndex
from bot.engine.rules import (
    ASKS_NUMBER,
    KIND_WORDS,
    PASSAGE_OVER_ENTRY,
    TWO_PART,
    Decision,
    Held,
    no_answer,
)
from bot.engine.smalltalk import small_talk
from bot.engine.statements import StatementStage
from bot.engine.structured import StructuredStage
from bot.engine.text import Lexicon, Query, analyse
from bot.engine.verify import VerifyStage
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.passages import Passage
from bot.knowledge.quotes import link_quotes
from bot.knowledge.schema import Entry


@dataclass
class Result:
    """One entry in an answer, as the `ask --json` contract has it."""

    id: str
    kind: str
    figure: str
    section: str
    score: float
    quote: str | None = None  # the report's sentence the result comes from, verbatim


@dataclass
class Answer:
    """The engine's answer: status, reply, results; `reply` renders as plain text or HTML."""

    question: str
    status: str  # answer | clarify | list | not_found
    text: str
    results: list[Result]
    elapsed_ms: float
    reply: Reply = field(repr=False, default_factory=Reply)
    understood: str | None = None  # a follow-up completed from the conversation: how it was read
    context: Context | None = None  # what the next follow-up of this chat refers to

    def to_json(self) -> dict:
        """The `ask --json` object."""
        results = [{k: v for k, v in asdict(r).items() if k != "quote" or v is not None} for r in self.results]
        out = {
            "question": self.question, "status": self.status, "text": self.text,
            "results": results, "elapsed_ms": round(self.elapsed_ms, 3),
        }
        if self.understood is not None:
            out["understood"] = self.understood
        return out


class Engine(StructuredStage, VerifyStage, StatementStage, DocumentStage, ConversationStage):

    def __init__(self, kb: KnowledgeBase, passages: list[Passage] | None = None) -> None:
        self.kb = kb
        self.lexicon = Lexicon(kb.synonyms)
        self.index: Index = build_index(kb, self.lexicon)
        # The report's sentences (None: the report file was not found; statements are off).
        self.passages: PassageIndex | None = PassageIndex(kb, self.lexicon, passages) if passages else None
        self.quotes: dict[str, Passage] = link_quotes(kb, passages) if passages else {}
        self._terms = terms_of([*self.lexicon.abbr_exact.values(), *self.lexicon.acronyms.values()])
        self._held_cache: dict[str, Held] = {}
        self._titles: dict[str, list[str]] = {}
        if self.passages is not None:
            # Typo correction knows the report's words too, not only the base's.
            self.index.known = self.index.known | self.passages.vocab
            self.index.vocab = sorted(self.index.known)
            self.index.bigram_vocab = self.index.bigram_vocab | self.passages.bigram_vocab
        # How common each word and word pair is: among the report's sentences, else the entries.
        self._word_stats: tuple[dict[str, int], int, dict[str, int]] = (
            (self.passages.df, self.passages.size, self.passages.pair_df) if self.passages is not None
            else ({t: len(v) for t, v in self.index.postings.items()}, len(self.index.entries), {})
        )
        self._by_kind: dict[str, list[Entry]] = {}
        for e in kb.entries.values():
            self._by_kind.setdefault(e.kind, []).append(e)
        self._codes = index_codes(kb.documents())
        self._section_words = {sid: set(self.lexicon.expand(sec.title).split()) for sid, sec in kb.sections.items()}
        self._section_entries: dict[str, set[str]] = {}
        for e in kb.entries.values():
            for sid in kb.entry_sections(e):
                self._section_entries.setdefault(sid, set()).add(e.id)

    def ask(self, question: str, context: Context | None = None) -> Answer:
        """Answer one question (any text; never raises on input). With the context of the chat's
        last answer, a follow-up ("còn năm 2024?") is read as the full question it stands for; the
        answer carries the context for the next turn."""
        start = time.perf_counter()
        d, understood = self._decide_in_context(question, context)
        results = [self._result(e, d.scores.get(e.id, 1.0)) for e in d.entries]
        if d.passage is not None:
            results = [self._passage_result(d.passage)]
        if d.status == "answer" and len(d.entries) > 1:
            # A two-part question answered by two entries: one combined result.
            results = [Result(
                "+".join(r.id for r in results), results[0].kind, "; ".join(r.figure for r in results),
                " ; ".join(dict.fromkeys(r.section for r in results)), min(r.score for r in results),
            )]
        if understood is not None:
            d.reply.reading = understood
        elapsed = (time.perf_counter() - start) * 1000
        return Answer(question, d.status, d.reply.plain(), results, elapsed, d.reply, understood,
                      self._next_context(understood or question, d, context))

    def _result(self, e: Entry, score: float) -> Result:
        quote = self.quotes.get(e.id)
        return Result(e.id, e.kind, self.kb.figure(e), self.kb.entry_section(e), round(score, 4),
                      quote.text if quote else None)

    def _passage_result(self, hit: PassageHit) -> Result:
        p = hit.passage
        return Result(f"passage-{p.id}", "passage", p.text, hit.entry.path, round(hit.score, 4), p.text)

    def _answer(self, e: Entry) -> Reply:
        return answer_reply(self.kb, e, self._quote(e))

    def _quote(self, e: Entry) -> str | None:
        q = self.quotes.get(e.id)
        return quote_excerpt(q.text, self.kb.figure(e)) if q else None

    def entry_answer(self, entry_id: str) -> Answer | None:
        """The answer for a chosen entry (a clarification button, a list item)."""
        e = self.kb.entries.get(entry_id)
        if e is None:
            return None
        reply = self._answer(e)
        return Answer(e.title, "answer", reply.plain(), [self._result(e, 1.0)], 0.0, reply)

    # -- decision -------------------------------------------------------------------------------
    def understand(self, question: str) -> Query:
        """The question as the engine reads it: folded, abbreviations expanded, typos corrected.

        Typos are corrected once, first, so that intent, lists and codes all read the corrected
        words; tuning aids call this too, so they see what the engine sees.
        """
        q = analyse(question, self.lexicon)
        typed = fix_question_words(q.text, self.index).split()
        q.tokens = correct_tokens(typed, self.index)
        q.typos = {c: t for c, t in zip(q.tokens, typed, strict=True) if c != t}
        q.text = " ".join(q.tokens)
        return q

    def _decide(self, question: str, soft: frozenset[str] = frozenset(), shown: int | None = None) -> Decision:
        chat = small_talk(question)
        if chat is not None:
            return Decision("not_found", [], {}, Reply(heading=chat))
        q = self.understand(question)
        q.soft, q.shown = soft, shown
        if not q.tokens:
            example = f"kết nạp bao nhiêu đảng viên năm {self.kb.result_year}?"
            return no_answer(f"Bạn hãy gõ câu hỏi về báo cáo, ví dụ: “{example}”")
        two = self._two_part(q)
        if two is not None:
            return two
        return self._decide_one(q)

    def _two_part(self, q: Query) -> Decision | None:
        """'bao nhiêu X và bao nhiêu Y': each part answered; one entry or two, else None."""
        ask = ASKS_NUMBER.search(q.text)
        m = TWO_PART.search(q.text, ask.end()) if ask else None
        if not m or not ask:
            return None
        first, second = q.text[: m.start()], q.text[m.end():]
        context = first[: ask.start()]
        parts = [self._decide_one(analyse(first, self.lexicon)),
                 self._decide_one(analyse(f"{context} {second}", self.lexicon))]
        if not all(p.status == "answer" and len(p.entries) == 1 for p in parts):
            return None
        a, b = parts[0].entries[0], parts[1].entries[0]
        if a.id == b.id:
            return parts[0]
        return Decision("answer", [a, b], {**parts[0].scores, **parts[1].scores}, multi_reply(self.kb, [a, b]))

    # -- verify: every qualifier of the question held by the answer ---------------------------
    def _decide_one(self, q: Query) -> Decision:
        """Understand and retrieve (the structured base first), then verify the choice against the
        question's words; a report sentence answers what no entry holds."""
        intent = read_intent(q, self.index)
        d = self._with_verdict(intent, self._decide_one_inner(q, intent))
        return d

    def _with_verdict(self, intent: Intent, d: Decision) -> Decision:
        """A yes/no or comparison question gets its answer in words first."""
        if d.status == "answer" and len(d.entries) == 1 and d.passage is None and (intent.yes_no or intent.compare):
            d.reply.verdict = verdict(self.kb, d.entries[0], "compare" if intent.compare else "yes_no")
        return d

    def _decide_one_inner(self, q: Query, intent: Intent) -> Decision:
        d = self._decide_structured(q, intent)
        d = self._asked_document(q, intent, d)
        if d.status == "answer" and len(d.entries) == 1:
            left = self._leftover(q, d.entries[0])
            if not left:
                return self._statement_over_figure(q, intent, self._statement_over_document(q, intent, d))
            # A sentence replaces the entry only when it holds more of the question than the
            # entry does; otherwise the honest answer is what the report does not give.
            hit = self._best_passage(q, intent)
            if hit is not None and hit.cover > self._cover(q, d.entries[0]) + PASSAGE_OVER_ENTRY:
                return self._from_passage(hit, q)
            return self._not_given(q, left, d.entries[0])
        if d.status == "not_found" and d.generic:
            hit = self._best_passage(q, intent)
            if hit is not None:
                return self._from_passage(hit, q)
        if (d.status == "list" and not any(getattr(e, "names", None) for e in d.entries)
                and not (KIND_WORDS["target"].search(q.text) or KIND_WORDS["document"].search(q.text))):
            # "những giới, tầng lớp nào": names listed in one sentence, not a list of figures
            # (entries that hold the names themselves are the answer);
            # the sentence answers when it holds at least as much of the question as any of them.
            hit = self._best_passage(q, intent)
            if hit is not None and hit.cover >= max(self._cover(q, e) for e in d.entries):
                return self._from_passage(hit, q)
        return d
