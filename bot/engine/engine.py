"""The engine facade: question in, Answer out. Pure, synchronous, deterministic."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field

from bot.engine.accounting import answer_type, contrasts, informative, leftover, terms_of
from bot.engine.codes import find_refs, index_codes, resolve
from bot.engine.compose import (
    Reply,
    answer_reply,
    clarify_reply,
    list_reply,
    multi_reply,
    not_found_reply,
    not_given_reply,
    passage_reply,
    quote_clause,
    quote_excerpt,
    verdict,
)
from bot.engine.followup import Context, complete, has_marker
from bot.engine.index import STOPWORDS, Index, build_index, years_in
from bot.engine.matcher import (
    KIND_PATTERNS,
    Intent,
    Scored,
    asks_money,
    correct_tokens,
    fix_question_words,
    read_intent,
    score_entries,
)
from bot.engine.passages import PassageHit, PassageIndex
from bot.engine.smalltalk import small_talk
from bot.engine.text import Lexicon, Query, analyse
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.passages import Passage
from bot.knowledge.quotes import figure_needles, link_quotes
from bot.knowledge.schema import Document, Entry, Indicator, Target
from bot.normalize import fold

# Tuned on ../shared/eval/dev.jsonl only (see docs/benchmarks.md for the figures).
ANSWER_MIN = 0.50
CLARIFY_MIN = 0.50
MARGIN = 0.035
LIST_RELATIVE = 0.72
RECALL_MIN = 0.5
FULL_COVER = 0.95  # every word of a short question is the entry's: not an incidental overlap
CITED_BONUS = 0.1
# A report sentence answers when it holds every qualifier of the question and scores this well
# (share of the question's weighted words it holds, with word order); tuned on dev2.jsonl.
PASSAGE_MIN = 0.55
PASSAGE_OVER_ENTRY = 0.1  # how much more of the question a sentence must hold to replace an entry
PASSAGE_COUNT_MIN = 0.7  # a number asked is answered by a sentence only on a close match
# The words that say which kind of figure is asked: the matcher's own patterns, plus the words
# of a result ("kết quả", "đạt được", "so với").
_INTENT_WORDS = re.compile("|".join(
    [p.pattern for p in KIND_PATTERNS] + [r"\b(ket qua|dat duoc|so voi|uoc tinh|uoc dat)\b"]
))
_DATE_IN = re.compile(r"\b\d{1,2}/\d{1,2}(/\d{4})?\b|\bnam (19|20)\d\d\b|\bthang \d")

_LIST = re.compile(
    r"\b(liet ke|danh sach|ke ten|gom nhung|nhung .{0,40} nao|cac chi tieu|nhung chi tieu|cac muc tieu|"
    r"cac nghi quyet|cac van ban|nhung van ban|cac ket luan|cac chi thi|cac ke hoach|"
    r"\d+ chi tieu .{0,40}la gi|ket qua cong tac)\b"
)
_KIND_WORDS = {
    "target": re.compile(r"\b(chi tieu|muc tieu)\b"),
    "document": re.compile(r"\b(nghi quyet|van ban|ket luan|chi thi|ke hoach so|quy dinh|huong dan|tai lieu)\b"),
}
_DOC_TYPE_WORDS = {
    "nghi quyet": "Nghị quyết", "ket luan": "Kết luận", "chi thi": "Chỉ thị", "ke hoach": "Kế hoạch",
    "quy dinh": "Quy định", "huong dan": "Hướng dẫn", "quyet dinh": "Quyết định", "thong bao": "Thông báo",
}
# "Thông báo phân công nhiệm vụ …?": a question that opens with a document type and asks no
# number asks for that document.
_STARTS_WITH_DOC = re.compile(r"^(" + "|".join(k for k in _DOC_TYPE_WORDS if k != "ke hoach") + r")\b")
_ASKS_ATTRIBUTE = re.compile(r"\b(ngay nao|ngay ban hanh|ban hanh ngay|ngay may|khi nao|cua ai|co quan nao|ai ban hanh)\b")
_NAMES_DOCUMENT = re.compile(r"\b(" + "|".join(_DOC_TYPE_WORDS) + r"|van ban|de an|chuong trinh|quy che|cong van)\b")
# "theo hướng dẫn nào", "thực hiện kết luận nào": which document (None type: "văn bản nào").
_WHICH_DOC = re.compile(r"\b(" + "|".join(_DOC_TYPE_WORDS) + r"|van ban) (?:nao|gi|so may)\b")


# A follow-up ("còn năm 2024?") with no earlier answer to refer to: ask, never guess.
NO_CONTEXT = "Bạn hỏi về chỉ tiêu hay nội dung nào? Hãy nêu rõ, ví dụ: “chỉ tiêu kết nạp đảng viên năm {ty}”."
_RANK = {"answer": 2, "list": 2, "clarify": 1, "not_found": 0}  # how much a decision says
OFF_TOPIC = "Chưa tìm thấy nội dung này trong phần báo cáo bạn đang hỏi. Bạn có thể hỏi đầy đủ hơn."
# What, which, who, where: asked in words, answered in words.
_ASKS_WHAT = re.compile(r"\b(gi|nao|ai|dau|the nao|ra sao|nhu the nao)\b")
_TIME_WORDS = frozenset("nam thang ngay den tinh ca".split())
_ASK = re.compile(r"\b(bao nhieu|may)\b")
_TWO_PART = re.compile(r" va (?=(?:\S+ ){0,8}(?:bao nhieu|may)\b)")
_GENERIC_TOPIC = re.compile(
    r"\b(chi tieu cu the|cong tac xay dung dang|xay dung dang|he thong chinh tri|van dong nhan dan|cu the)\b"
)


@dataclass(frozen=True)
class Held:
    """The words an entry holds, for qualifier accounting."""

    words: set[str]  # every folded word
    text: str  # its phrases, clause and headings in order (for word pairs and bodies)
    raw: str  # folded, before synonyms (for negations: "ngoài nhà nước")
    whole: str  # its whole report sentence, expanded (bodies are the sentence's subject)


@dataclass
class Decision:
    """What the engine decided, before it is turned into an Answer."""

    status: str
    entries: list[Entry]
    scores: dict[str, float]
    reply: Reply
    generic: bool = False  # a not-found with no specific reason: a report sentence may still answer
    passage: PassageHit | None = None  # a statement answered by the report's own sentence


def _not_found(reason: str | None = None) -> Decision:
    return Decision("not_found", [], {}, not_found_reply(reason), generic=reason is None)


def _strip_refs(text: str) -> str:
    for ref in find_refs(text):
        text = text[: ref.span[0]] + " " * (ref.span[1] - ref.span[0]) + text[ref.span[1]:]
    return text


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


class Engine:
    """Answers questions about one knowledge base."""

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
        self._codes = index_codes([e for e in self._by_kind.get("document", []) if isinstance(e, Document)])
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

    # -- conversation ---------------------------------------------------------------------------
    def _decide_in_context(self, question: str, ctx: Context | None) -> tuple[Decision, str | None]:
        """Answer alone, or as the follow-up it is. Rule: a question marked as a follow-up ("còn…",
        "thì sao", "nó", "năm đó", "đối với…") or without a subject of its own is completed from the
        last answer and must stay on its topic; a question that names its own subject and is
        answered starts afresh, inheriting nothing."""
        if small_talk(question) is not None:
            return self._decide(question), None
        marked = has_marker(question)
        if ctx is None:
            alone = self._decide(question)
            if marked and alone.status == "not_found" and alone.generic:
                return _not_found(NO_CONTEXT.format(ty=self.kb.target_year)), None
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
        if alone is not None and merged.status not in answered and _RANK[alone.status] >= _RANK[merged.status]:
            return alone, None  # not marked as a follow-up, and the reading with the context fails
        if merged.status == "answer" and not reading.document and not self._on_topic(merged, ctx):
            # A follow-up stays on the last answer's topic: a fact from another section answers a
            # different question.
            return _not_found(OFF_TOPIC), reading.question
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
                if e is not None and getattr(e, "parent", None):
                    near.add(e.parent)
        return any(e.id in near for e in d.entries)

    def _topics(self, sections: set[str]) -> set[str]:
        """Sections as topics: a subsection counts as its numbered section ("2.1. Tồn tại, hạn
        chế" and "2.2. Nguyên nhân" are one topic), a part or a roman heading as itself."""
        out = set()
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
            cited = [e] if isinstance(e, Document) else self.cited_documents(e)
            doc = cited[0].id if len(cited) == 1 else None
        return Context(question, tuple(e.id for e in d.entries),
                       d.passage.passage.id if d.passage is not None else None, doc, d.status)

    def _doc_label(self, doc_id: str | None) -> str | None:
        doc = self.kb.entries.get(doc_id) if doc_id else None
        if not isinstance(doc, Document):
            return None
        return f"{doc.doc_type} {doc.code or doc.name}"

    def _linked_labels(self, doc_id: str | None) -> dict[str, str]:
        """Documents linked to this one (what it implements, what implements it), by folded type."""
        if not doc_id or doc_id not in self.kb.entries:
            return {}
        out: dict[str, str] = {}
        e = self.kb.entries[doc_id]
        linked = [*getattr(e, "implements", []), *self.kb.implemented_by.get(doc_id, [])]
        for i in linked:
            label = self._doc_label(i)
            doc = self.kb.entries.get(i)
            if label and isinstance(doc, Document):
                out.setdefault(fold(doc.doc_type), label)
        return out

    # -- decision -------------------------------------------------------------------------------
    def _decide(self, question: str, soft: frozenset[str] = frozenset(), shown: int | None = None) -> Decision:
        chat = small_talk(question)
        if chat is not None:
            return Decision("not_found", [], {}, Reply(heading=chat))
        q = analyse(question, self.lexicon)
        # Typos are corrected once, first, so that intent, lists and codes all read the corrected words.
        typed = fix_question_words(q.text, self.index).split()
        q.tokens = correct_tokens(typed, self.index)
        q.typos = {c: t for c, t in zip(q.tokens, typed, strict=True) if c != t}
        q.text = " ".join(q.tokens)
        q.soft, q.shown = soft, shown
        if not q.tokens:
            return _not_found(f"Bạn hãy gõ câu hỏi về báo cáo, ví dụ: “kết nạp bao nhiêu đảng viên năm {self.kb.result_year}?”")
        two = self._two_part(q)
        if two is not None:
            return two
        return self._decide_one(q)

    def _two_part(self, q: Query) -> Decision | None:
        """'bao nhiêu X và bao nhiêu Y': each part answered; one entry or two, else None."""
        ask = _ASK.search(q.text)
        m = _TWO_PART.search(q.text, ask.end()) if ask else None
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
                and not (_KIND_WORDS["target"].search(q.text) or _KIND_WORDS["document"].search(q.text))):
            # "những giới, tầng lớp nào": names listed in one sentence, not a list of figures
            # (entries that hold the names themselves are the answer);
            # the sentence answers when it holds at least as much of the question as any of them.
            hit = self._best_passage(q, intent)
            if hit is not None and hit.cover >= max(self._cover(q, e) for e in d.entries):
                return self._from_passage(hit, q)
        return d

    def _statement_over_document(self, q: Query, intent: Intent, d: Decision) -> Decision:
        """A document found for a question that asks something said about it ("điều gì được coi là
        điểm nhấn…", "lĩnh vực dễ sai phạm…"), not one of its attributes: the report's sentence
        answers when it holds clearly more of the question and cites that document, or when the
        question asks for no document and the sentence holds as much of it or is the document's own."""
        e = d.entries[0]
        if not isinstance(e, Document) or intent.date or intent.issuer:
            return d
        hit = self._best_passage(q, intent)
        if hit is None:
            return d
        more = hit.cover >= self._cover(q, e) + PASSAGE_OVER_ENTRY
        cites = bool(e.code) and fold(e.code) in hit.entry.folded
        asks_document = bool(intent.doc or _NAMES_DOCUMENT.search(q.text) or find_refs(q.text))
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
        e = d.entries[0]
        if intent.percent or intent.date or intent.doc or not _ASKS_WHAT.search(q.text) or isinstance(e, Document):
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
        if own or (hit.cover >= self._cover(q, e) and not getattr(e, "names", None)):
            return self._from_passage(hit, q)
        return d

    def _asked_document(self, q: Query, intent: Intent, d: Decision) -> Decision:
        """"… theo hướng dẫn nào?": the question asks which document, and the fact found is stated
        in a sentence citing exactly one document of that type: that document is the answer."""
        which = _WHICH_DOC.search(q.text)
        opens = None if _ASK.search(q.text) or find_refs(q.text) else _STARTS_WITH_DOC.match(q.text)
        m = which or opens
        if not m or d.status not in ("answer", "clarify") or not d.entries:
            return d
        wanted = _DOC_TYPE_WORDS.get(m.group(1))
        first = d.entries[0]
        if isinstance(first, Document):
            if d.status == "answer":
                if wanted is None or first.doc_type == wanted or not which or self._asks_of_found(q, intent, which):
                    return d
                # "Kế hoạch 254 thực hiện nghị quyết nào?": the linked document of the type asked.
                linked = [self.kb.entries[i] for i in [*first.implements, *self.kb.implemented_by.get(first.id, [])]
                          if i in self.kb.entries]
                docs = [x for x in linked if isinstance(x, Document) and x.doc_type == wanted]
                if len(docs) != 1:
                    return d
                return Decision("answer", docs, {docs[0].id: d.scores.get(first.id, 1.0)}, self._answer(docs[0]))
            # Offered a choice: the one document of the asked type among the candidates.
            docs = [e for e in d.entries if isinstance(e, Document) and (wanted is None or e.doc_type == wanted)]
        else:
            docs = [doc for doc in self.cited_documents(d.entries[0]) if wanted is None or doc.doc_type == wanted]
            if not docs and wanted is not None:
                # The fact's sentence cites none: the document of that type the question describes.
                pool = [e for e in self._by_kind.get("document", []) if isinstance(e, Document) and e.doc_type == wanted]
                ranked = self._rank_within(q, intent, pool)
                if ranked and ranked[0].score >= ANSWER_MIN and (len(ranked) == 1 or ranked[0].score - ranked[1].score >= MARGIN):
                    top = self.kb.entries[ranked[0].id]
                    docs = [top] if isinstance(top, Document) else []
        if len(docs) != 1:
            return d
        return Decision("answer", docs, {docs[0].id: d.scores.get(d.entries[0].id, 1.0)}, self._answer(docs[0]))

    def _asks_of_found(self, q: Query, intent: Intent, which: re.Match[str]) -> bool:
        """"Kế hoạch 254 ban hành ngày nào, thực hiện nghị quyết nào?": a date or issuer asked
        before the linked document is named is asked of the document found, which then answers;
        after it ("…nghị quyết nào, nghị quyết đó ngày nào") it is asked of the linked one."""
        if not (intent.date or intent.issuer):
            return False
        m = _ASKS_ATTRIBUTE.search(q.text)
        return m is not None and m.start() < which.start()

    def cited_documents(self, e: Entry) -> list[Document]:
        """The documents cited by the clause of the report sentence an entry comes from (the whole
        sentence when the clause cites none)."""
        quote = self.quotes.get(e.id)
        if quote is None or isinstance(e, Document):
            return []
        out: list[Document] = []
        for text in (quote_clause(quote.text, figure_needles(e)), quote.text):
            for ref in find_refs(fold(text)):
                out += [doc for doc in resolve(ref, self._codes, fold(text)) if doc not in out]
            if out:
                break
        return out

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
            return (hit.score >= PASSAGE_COUNT_MIN and _states_count(hit.entry.folded, intent)
                    and self._count_clause_holds(hit, q, intent))
        if intent.date and not _DATE_IN.search(hit.entry.folded):
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
        kind = _INTENT_WORDS.sub(" ", q.text).split()
        left = leftover(kind, held, text, self.passages.df, self.passages.size, self._terms, q.typos,
                        self.passages.pair_df)
        return not [t for t in left if not set(t.split()) <= q.soft]

    def _from_passage(self, hit: PassageHit, q: Query) -> Decision:
        assert self.passages is not None
        marks = self.passages.answer_marks(hit, q.tokens)
        return Decision("answer", [], {}, passage_reply(hit.passage.text, hit.entry.path, marks), passage=hit)

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
        tokens = _INTENT_WORDS.sub(" ", _strip_refs(q.text)).split()  # codes are resolved on their own
        left = leftover(tokens, held.words, held.text, df, size, self._terms, q.typos, pair_df, held.whole)
        if isinstance(e, Document) and (find_refs(q.text) or _NAMES_DOCUMENT.search(q.text)):
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
        for sid in self.kb.entry_sections(e):
            while sid:
                out.append(self.lexicon.expand(self.kb.sections[sid].title))
                sid = self.kb.sections[sid].parent
        return out

    def _entry_years(self, e: Entry) -> set[int]:
        ry, ty = self.kb.result_year, self.kb.target_year
        if isinstance(e, Document):
            return self.index.entries[e.id].years | {ry, ty}
        years = {e.year, ry, ty}
        return years | years_in(" ".join(f.text for f in e.figures))

    def _not_given(self, q: Query, left: list[str], e: Entry) -> Decision:
        """The subject is known but a qualifier is not: say what the report does not give, and
        offer what it does give, as something different."""
        shown = _raw_words(q.raw, left, self.lexicon)
        return Decision("not_found", [e], {}, not_given_reply(shown, self.kb, e))

    def _decide_structured(self, q: Query, intent: Intent) -> Decision:
        list_wanted = bool(_LIST.search(q.text)) and (not intent.count or "liet ke" in q.text)
        refs = find_refs(q.text)
        if refs and (not (intent.count or intent.percent) or intent.doc):
            if list_wanted and (_KIND_WORDS["target"].search(q.text)
                                or not _KIND_WORDS["document"].search(_strip_refs(q.text))):
                listed = self._list(q, intent)
                if listed is not None:
                    return listed
            return self._by_code(q, intent, refs)
        scored = score_entries(q, self.index, intent)
        if list_wanted and not self._counts_documents(q, scored):
            listed = self._list(q, intent)
            if listed is not None:
                return listed

        if refs:
            scored = self._in_cited_sections(scored, refs, q)
        ry, ty = self.kb.result_year, self.kb.target_year
        other_years = intent.years - {ry, ty} - (self.index.entries[scored[0].id].years if scored else set())
        if other_years:
            return _not_found(
                f"Báo cáo không có số liệu năm {', '.join(str(y) for y in sorted(other_years))}: "
                f"báo cáo nêu kết quả năm {ry} và chỉ tiêu năm {ty}."
            )
        if not scored or scored[0].score < CLARIFY_MIN:
            return _not_found()
        best = scored[0]
        best_index = self.index.entries[best.id]
        if len(intent.years) == 1 and isinstance(best_index.entry, Indicator | Target) and not (
            intent.years & best_index.years
        ):
            (year,) = intent.years
            return _not_found(f"Báo cáo không có số liệu năm {year} về nội dung này.")
        if asks_money(intent.asked_units) and not best_index.has_money:
            return _not_found("Báo cáo không nêu số tiền cho nội dung này.")
        missing_places = [p for p in intent.places if f" {p} " not in best_index.text]
        if missing_places:
            return self._not_given(q, missing_places, self.kb.entries[best.id])
        if intent.result_of_target_year and isinstance(best_index.entry, Target):
            return _not_found(f"Báo cáo chưa có kết quả năm {ty}; chỉ có chỉ tiêu năm {ty} (xem /chitieu).")
        if best.parts.get("recall", 1.0) < RECALL_MIN and best.parts.get("cover", 1.0) < FULL_COVER:
            # The best entry's own words are mostly absent from the question: the overlap is
            # incidental ("Hải Phòng", "đảng viên"), so the report most likely does not say.
            return _not_found()
        top_entry = self.kb.entries[best.id]
        if top_entry.id in self.kb.children:
            # A total on top, one of its parts close behind and named by the question ("cấp huyện"):
            # the part is what is asked. (Parts are often written with fewer words than their total.)
            # The part need not score close: its words are fewer, and the question names it.
            # It must be named by most of what sets it apart ("cấp xã"), not by one common word of
            # a longer name ("xây dựng" of "xây dựng nông thôn mới kiểu mẫu"); several parts
            # named even loosely are left to the breakdown below.
            named = [s for s in scored[1:10] if s.score >= ANSWER_MIN
                     and getattr(self.kb.entries[s.id], "parent", None) == top_entry.id
                     and self._names_child(q, self.kb.entries[s.id], top_entry, strict=False)]
            if len(named) == 1 and self._names_child(q, self.kb.entries[named[0].id], top_entry):
                best, top_entry = named[0], self.kb.entries[named[0].id]
        missing = self._lacks_asked(intent, top_entry)
        if missing:
            return _not_found(missing)
        close = []
        for s in scored[1:4]:
            other = self.kb.entries[s.id]
            if best.score - s.score >= MARGIN or _agree(other, top_entry):
                continue
            if _family(other, top_entry):
                # A total and its breakdown: the words the child adds decide ("cấp xã").
                child = top_entry if getattr(top_entry, "parent", None) == other.id else other
                parent = other if child is top_entry else top_entry
                if self._names_child(q, child, parent):
                    top_entry, best = child, (best if child is top_entry else s)
                continue
            close.append(s)
        scores = {s.id: s.score for s in scored}
        if close and all(self._same_family(top_entry, self.kb.entries[s.id]) for s in close):
            # Parts of one breakdown: the words of the question say which part, or which parts
            # ("dân tộc thiểu số và tôn giáo", "từng cấp thành phố, huyện, xã"): all of those.
            parent = self.kb.entries[getattr(top_entry, "parent", None) or top_entry.id]
            named = [self.kb.entries[c] for c in self.kb.children.get(parent.id, [])
                     if self._names_child(q, self.kb.entries[c], parent)]
            if 2 <= len(named) <= 4:
                return Decision("answer", named, {s.id: s.score for s in scored}, multi_reply(self.kb, named))
            if len(named) == 1:
                top_entry, close = named[0], []
            elif len(named) > 4:
                top_entry, close = parent, []
        if intent.which and not getattr(top_entry, "names", None):
            named = [self.kb.entries[c] for c in self.kb.children.get(top_entry.id, [])
                     if getattr(self.kb.entries[c], "names", None)]
            # Only when the kind of answer asked ("tổ chức đảng nào", not "đơn vị nào") is what it names.
            asked = answer_type(q.tokens)
            named = [c for c in named if asked <= self._held(c).words]
            if len(named) == 1:
                top_entry = named[0]  # "tổ chức đảng nào…": the entry that names them
        if best.score >= ANSWER_MIN and not close:
            return Decision("answer", [top_entry], scores, self._answer(top_entry))
        chosen = [top_entry] + [self.kb.entries[s.id] for s in close][:2]
        if len(chosen) == 1:
            if best.score >= ANSWER_MIN:
                return Decision("answer", chosen, scores, self._answer(top_entry))
            chosen += [self.kb.entries[s.id] for s in scored[1:2] if s.score >= CLARIFY_MIN]
            if len(chosen) == 1:
                return _not_found()
        return Decision("clarify", chosen, scores, clarify_reply(self.kb, chosen))

    def _counts_documents(self, q: Query, scored: list[Scored]) -> bool:
        """"Những văn bản gì …" whose every word is the title of a result counting documents by type
        ("Văn bản của Ban Thường vụ về nội chính: 01 chương trình, 03 kế hoạch…"): that result is
        the answer the report gives, not a list of the documents it happens to cite."""
        if not scored or not _KIND_WORDS["document"].search(q.text):
            return False
        top = scored[0]
        e = self.kb.entries[top.id]
        return (isinstance(e, Indicator) and e.id in self.kb.children
                and top.parts.get("cover", 0.0) >= FULL_COVER and top.parts.get("recall", 0.0) >= FULL_COVER)

    def _in_cited_sections(self, scored: list[Scored], refs: list, q: Query) -> list[Scored]:
        """A count asked "theo Kế hoạch 254…": facts of the sections citing that document are the
        likely answer, though their own words do not repeat the code."""
        sections: set[str] = set()
        for ref in refs:
            for d in resolve(ref, self._codes, q.text):
                sections.update(c.section for c in d.cited_in)
        if not sections:
            return scored
        for s in scored:
            e = self.kb.entries[s.id]
            if not isinstance(e, Document) and e.section in sections:
                s.score += CITED_BONUS
                s.parts["recall"] = s.parts.get("recall", 0.0) + CITED_BONUS
        return sorted(scored, key=lambda s: -s.score)

    def _lacks_asked(self, intent: Intent, e: Entry) -> str | None:
        """When the question asks a document's date or issuer and the report does not give it,
        say so (naming the document) rather than answer something else."""
        if not isinstance(e, Document) or (intent.count or intent.percent):
            return None
        if intent.date and not e.date:
            return f"Báo cáo có nhắc đến {e.title} nhưng không ghi ngày ban hành."
        if intent.issuer and not e.issuer:
            return f"Báo cáo có nhắc đến {e.title} nhưng không ghi cơ quan ban hành."
        return None

    def _same_family(self, a: Entry, b: Entry) -> bool:
        pa, pb = getattr(a, "parent", None), getattr(b, "parent", None)
        return (pa is not None and pa == pb) or pa == b.id or pb == a.id

    def _names_child(self, q: Query, child: Entry, parent: Entry, strict: bool = True) -> bool:
        """True when the question has words of the child's title that the parent's title lacks
        (``strict``: at least half of those words)."""
        title = self._title_tokens(child.id)
        family = [i for i in [parent.id, *self.kb.children.get(parent.id, [])] if i != child.id]
        # Words of the child's title that no other member of the family has in its title tell it
        # apart: "cảnh cáo", "cấp xã"; not "đảng viên bị", which its siblings share.
        words = set(title) - STOPWORDS
        for other_id in family:
            words -= set(self._title_tokens(other_id))
        # Years and numbers place a fact in time; they do not name a part ("năm 2023").
        words = {w for w in words if not any(c.isdigit() for c in w) and w not in _TIME_WORDS}
        if strict and len(words & set(q.tokens)) * 2 < len(words):
            return False
        # A word of a name counts in that name only: "phố" of "tổ dân phố" does not name "thành phố".
        pairs = _pairs(title)
        q_pairs = self._part_pairs(q)
        # A pair with a function word only the child's title has names it too ("đất ở": the word
        # rule below drops "ở", which alone says nothing).
        others = set().union(*(_pairs(self._title_tokens(i)) for i in family)) if family else set()
        if any(not any(c.isdigit() for c in p) and set(p.split()) & STOPWORDS for p in (pairs - others) & q_pairs):
            return True
        for w in words & set(q.tokens):
            own = {p for p in pairs if w in p.split()}
            around = {p for p in q_pairs if w in p.split()}
            # Named when the word stands in the child's own pair, or in no phrase of the report
            # ("huyện" in "thành phố, huyện, xã"); not when it belongs to another ("tổ dân phố").
            if not own or own & around or not around & self.index.bigram_vocab:
                return True
        return False

    def _title_tokens(self, entry_id: str) -> list[str]:
        """An entry's title, expanded (computed once per entry)."""
        toks = self._titles.get(entry_id)
        if toks is None:
            toks = self._titles[entry_id] = self.lexicon.expand(self.kb.entries[entry_id].title).split()
        return toks

    def _part_pairs(self, q: Query) -> set[str]:
        """Word pairs of the question within its comma-separated parts ("thành phố, huyện, xã"),
        computed once per question."""
        if q.part_pairs is None:
            pairs: set[str] = set()
            for part in re.split(r"[,;]", q.raw):
                pairs |= _pairs(self.lexicon.expand(part).split())
            q.part_pairs = pairs
        return q.part_pairs

    def _by_code(self, q: Query, intent: Intent, refs: list) -> Decision:
        matched: list[Document] = []
        for ref in refs:
            matched += [d for d in resolve(ref, self._codes, q.text) if d not in matched]
        if not matched:
            code = refs[0]
            label = f" ({code.letters.upper()}{'/' + code.issuer.upper() if code.issuer else ''})" if code.letters else ""
            return _not_found(f"Báo cáo không nhắc đến văn bản số {code.number}{label}.")
        if len(matched) == 1:
            missing = self._lacks_asked(intent, matched[0])
            if missing:
                return _not_found(missing)
            return Decision("answer", matched, {matched[0].id: 1.0}, self._answer(matched[0]))
        ranked = self._rank_within(q, intent, matched)
        if len(ranked) > 1 and ranked[0].score - ranked[1].score < MARGIN:
            chosen = [self.kb.entries[s.id] for s in ranked[:3]]
            return Decision("clarify", chosen, {s.id: s.score for s in ranked}, clarify_reply(self.kb, chosen))
        top = self.kb.entries[ranked[0].id]
        return Decision("answer", [top], {ranked[0].id: 1.0}, self._answer(top))

    def _section_pool(self, topic: list[str], pool: list[Entry]) -> list[Entry]:
        """Entries of the pool in the section whose title names the topic ("chỉ tiêu dân vận")."""
        pool_ids = {e.id for e in pool}
        idf, max_idf = self.index.idf, self.index.max_idf
        total = sum(idf.get(t, max_idf) for t in topic) or 1.0
        best, best_cover = None, 0.0
        for sid, words in self._section_words.items():
            cover = sum(idf.get(t, max_idf) for t in topic if t in words) / total
            if cover > best_cover and self._section_entries.get(sid, set()) & pool_ids:
                best, best_cover = sid, cover
        if best is None or best_cover < 0.8:
            return []
        members = self._section_entries[best]
        return [e for e in pool if e.id in members]

    def _rank_within(self, q, intent: Intent, docs: list[Document]) -> list[Scored]:
        ids = {d.id for d in docs}
        scored = [s for s in score_entries(q, self.index, intent, limit=400) if s.id in ids]
        missing = [Scored(d.id, 0.0) for d in docs if d.id not in {s.id for s in scored}]
        return scored + missing

    def _list(self, q: Query, intent: Intent) -> Decision | None:
        kind = next((k for k, rx in _KIND_WORDS.items() if rx.search(q.text)), "indicator")
        pool: list[Entry] = list(self._by_kind.get(kind, []))
        if kind == "target":
            years = intent.years & {self.kb.result_year, self.kb.target_year} or {self.kb.target_year}
            pool = [e for e in pool if isinstance(e, Target) and e.year in years]
            heading = "Các chỉ tiêu năm " + ", ".join(str(y) for y in sorted(years))
        elif kind == "document":
            wanted = {v for k, v in _DOC_TYPE_WORDS.items() if re.search(rf"\b{k}\b", q.text)}
            if wanted:
                pool = [e for e in pool if isinstance(e, Document) and e.doc_type in wanted]
            heading = "Các văn bản được báo cáo trích dẫn" if not wanted else "Các " + ", ".join(sorted(w.lower() for w in wanted)) + " được trích dẫn"
        else:
            heading = f"Kết quả năm {self.kb.result_year}"
        topic_text = _GENERIC_TOPIC.sub(" ", q.text)
        topic = [
            t for t in topic_text.split()
            if t not in STOPWORDS and t not in _LIST_NOISE and not t.isdigit() and not re.fullmatch(r"(19|20)\d\d", t)
        ]
        if not topic:
            chosen = pool
            scores = {e.id: 1.0 for e in pool}
        else:
            by_section = self._section_pool(topic, pool)
            ids = {e.id for e in (by_section or pool)}
            sub_q = analyse(" ".join(topic), self.lexicon)
            ranked = [s for s in score_entries(sub_q, self.index, intent, limit=400) if s.id in ids]
            scores = {s.id: s.score for s in ranked}
            if by_section:
                # The topic names a section: list all of its entries of that kind, best first.
                chosen = sorted(by_section, key=lambda e: -scores.get(e.id, 0.0))[:20]
            else:
                if not ranked or ranked[0].score < CLARIFY_MIN * 0.8:
                    return None
                cut = ranked[0].score * LIST_RELATIVE
                chosen = [self.kb.entries[s.id] for s in ranked if s.score >= cut][:20]
        if not chosen:
            return None
        if len(chosen) == 1:
            return Decision("answer", chosen, scores, self._answer(chosen[0]))
        return Decision("list", chosen, scores, list_reply(self.kb, heading, chosen))


def _pairs(tokens: list[str]) -> set[str]:
    return {f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)}


def _states_count(folded: str, intent: Intent) -> bool:
    """The sentence gives a number for what is counted ("10 dia phuong", "lan thu xvii", "85%")."""
    if intent.percent:
        return "%" in folded
    unit = " ".join(w for w in intent.asked_units[:2])
    if not unit:
        return False  # "bao nhiêu?" with nothing counted: only the base's figures answer it
    # The number stands right before the thing counted ("10 địa phương"), or an ordinal right
    # after it ("lần thứ XVII").
    if unit.endswith(" thu"):  # "lần thứ bao nhiêu": the ordinal itself ("lần thứ XVII")
        return bool(re.search(rf"\b{re.escape(unit)} (\d+|[ivxl]+)\b", folded))
    return bool(re.search(rf"(?<![\w/-])(\d[\d.,]*|[ivxl]+) {re.escape(unit)}\b", folded)
                or re.search(rf"\b{re.escape(unit)} thu (\d+|[ivxl]+)\b", folded))


def _raw_words(raw: str, tokens: list[str], lexicon: Lexicon) -> list[str]:
    """The words as the user typed them for folded tokens (or terms) of the question."""
    wanted = set(" ".join(tokens).split())
    shown: list[str] = []
    for word in raw.split():
        bare = word.strip("?.,!:;()\"'“”")
        if bare and set(lexicon.expand(bare).split()) & wanted and bare not in shown:
            shown.append(bare)
    return shown or tokens


def _family(a: Entry, b: Entry) -> bool:
    """Parent and child (a total and its breakdown): the better-scored one is the answer."""
    return getattr(a, "parent", None) == b.id or getattr(b, "parent", None) == a.id


def _figures_of(e: Entry) -> set[str]:
    if isinstance(e, Document):
        return {x for x in (e.code, e.date) if x}
    return {f.text for f in e.figures} | set(getattr(e, "names", []))


def _agree(a: Entry, b: Entry) -> bool:
    """True when one entry's figures are all stated by the other (both answers carry the figure)."""
    fa, fb = _figures_of(a), _figures_of(b)
    return bool(fa and fb) and (fa <= fb or fb <= fa)


_LIST_NOISE = frozenset(
    """liet ke danh sach ke ten gom nhung cac chi tieu muc tieu nghi quyet van ban ket luan ket qua cong tac nam
    nhac den de cap trich dan neu duoc bao cao tat ca toan bo""".split()
)
