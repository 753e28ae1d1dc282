"""The engine facade: question in, Answer out. Pure, synchronous, deterministic."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field

from bot.engine.codes import find_refs, resolve
from bot.engine.compose import Reply, answer_reply, clarify_reply, list_reply, not_found_reply
from bot.engine.index import STOPWORDS, Index, build_index
from bot.engine.matcher import Intent, Scored, read_intent, score_entries
from bot.engine.text import Lexicon, analyse
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.schema import Document, Entry, Target

# Tuned on ../shared/eval/dev.jsonl only (see docs/benchmarks.md for the figures).
ANSWER_MIN = 0.50
CLARIFY_MIN = 0.40
MARGIN = 0.035
LIST_RELATIVE = 0.72
RECALL_MIN = 0.42

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
    "quy dinh": "Quy định", "huong dan": "Hướng dẫn", "quyet dinh": "Quyết định",
}


@dataclass
class Result:
    """One entry in an answer, as the `ask --json` contract has it."""

    id: str
    kind: str
    figure: str
    section: str
    score: float


@dataclass
class Answer:
    """The engine's answer: status, reply, results; `reply` renders as plain text or HTML."""

    question: str
    status: str  # answer | clarify | list | not_found
    text: str
    results: list[Result]
    elapsed_ms: float
    reply: Reply = field(repr=False, default_factory=Reply)

    def to_json(self) -> dict:
        """The `ask --json` object."""
        return {
            "question": self.question, "status": self.status, "text": self.text,
            "results": [asdict(r) for r in self.results], "elapsed_ms": round(self.elapsed_ms, 3),
        }


class Engine:
    """Answers questions about one knowledge base."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.lexicon = Lexicon(kb.synonyms)
        self.index: Index = build_index(kb, self.lexicon)
        self._section_words = {sid: set(self.lexicon.expand(sec.title).split()) for sid, sec in kb.sections.items()}
        self._section_entries: dict[str, set[str]] = {}
        for e in kb.entries.values():
            for sid in kb.entry_sections(e):
                self._section_entries.setdefault(sid, set()).add(e.id)

    def ask(self, question: str) -> Answer:
        """Answer one question (any text; never raises on input)."""
        start = time.perf_counter()
        status, entries, scores, reply = self._decide(question)
        results = [
            Result(e.id, e.kind, self.kb.figure(e), self.kb.entry_section(e), round(scores.get(e.id, 1.0), 4))
            for e in entries
        ]
        elapsed = (time.perf_counter() - start) * 1000
        return Answer(question, status, reply.plain(), results, elapsed, reply)

    def entry_answer(self, entry_id: str) -> Answer | None:
        """The answer for a chosen entry (a clarification button, a list item)."""
        e = self.kb.entries.get(entry_id)
        if e is None:
            return None
        reply = answer_reply(self.kb, e)
        res = Result(e.id, e.kind, self.kb.figure(e), self.kb.entry_section(e), 1.0)
        return Answer(e.title, "answer", reply.plain(), [res], 0.0, reply)

    # -- decision -------------------------------------------------------------------------------
    def _decide(self, question: str) -> tuple[str, list[Entry], dict[str, float], Reply]:
        q = analyse(question, self.lexicon)
        if not q.tokens:
            return "not_found", [], {}, not_found_reply("Bạn hãy gõ câu hỏi về báo cáo, ví dụ: “kết nạp bao nhiêu đảng viên năm 2023?”")
        intent = read_intent(q, self.index)
        docs = [e for e in self.kb.entries.values() if isinstance(e, Document)]
        refs = find_refs(q.text)
        if refs and not (intent.count or intent.percent) or (refs and intent.doc):
            matched: list[Document] = []
            for ref in refs:
                matched += [d for d in resolve(ref, docs, q.text) if d not in matched]
            if not matched:
                code = refs[0]
                return "not_found", [], {}, not_found_reply(
                    f"Báo cáo không nhắc đến văn bản số {code.number}"
                    + (f" ({code.letters.upper()}{'/' + code.issuer.upper() if code.issuer else ''})" if code.letters else "")
                    + "."
                )
            if len(matched) == 1:
                return "answer", matched, {matched[0].id: 1.0}, answer_reply(self.kb, matched[0])
            ranked = self._rank_within(q, intent, matched)
            if len(ranked) > 1 and ranked[0].score - ranked[1].score < MARGIN:
                chosen = [self.kb.entries[s.id] for s in ranked[:3]]
                return "clarify", chosen, {s.id: s.score for s in ranked}, clarify_reply(self.kb, chosen)
            top = self.kb.entries[ranked[0].id]
            return "answer", [top], {ranked[0].id: 1.0}, answer_reply(self.kb, top)

        if _LIST.search(q.text) and (not intent.count or "liet ke" in q.text):
            listed = self._list(q, intent)
            if listed is not None:
                return listed

        scored = score_entries(q, self.index, intent)
        if not scored or scored[0].score < CLARIFY_MIN:
            return "not_found", [], {}, not_found_reply()
        best = scored[0]
        other_years = intent.years - {2023, 2024} - self.index.entries[best.id].years
        if other_years:
            return "not_found", [], {}, not_found_reply(
                f"Báo cáo không có số liệu năm {', '.join(str(y) for y in sorted(other_years))}: "
                "báo cáo nêu kết quả năm 2023 và chỉ tiêu năm 2024."
            )
        top_entry = self.kb.entries[best.id]
        # A close candidate whose figures the best one states too (or the reverse) gives the same
        # answer: no need to ask.
        close = [
            s for s in scored[1:4]
            if best.score - s.score < MARGIN and not _agree(self.kb.entries[s.id], top_entry)
            and not _family(self.kb.entries[s.id], top_entry)
        ]
        scores = {s.id: s.score for s in scored}
        if best.parts.get("recall", 1.0) < RECALL_MIN:
            # The best entry's own words are mostly absent from the question: the overlap is
            # incidental ("Hải Phòng", "đảng viên"), so the report most likely does not say.
            return "not_found", [], {}, not_found_reply()
        if best.score >= ANSWER_MIN and not close:
            e = self.kb.entries[best.id]
            return "answer", [e], scores, answer_reply(self.kb, e)
        chosen = [self.kb.entries[s.id] for s in [best, *close]][:3]
        if len(chosen) == 1:
            if best.score >= ANSWER_MIN:
                return "answer", chosen, scores, answer_reply(self.kb, chosen[0])
            second = scored[1:2]
            chosen += [self.kb.entries[s.id] for s in second if s.score >= CLARIFY_MIN]
            if len(chosen) == 1:
                return "not_found", [], {}, not_found_reply()
        return "clarify", chosen, scores, clarify_reply(self.kb, chosen)

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

    def _list(self, q, intent: Intent) -> tuple[str, list[Entry], dict[str, float], Reply] | None:
        kind = next((k for k, rx in _KIND_WORDS.items() if rx.search(q.text)), "indicator")
        pool: list[Entry] = [e for e in self.kb.entries.values() if e.kind == kind]
        if kind == "target":
            years = intent.years & {2023, 2024} or {2024}
            pool = [e for e in pool if isinstance(e, Target) and e.year in years]
            heading = "Các chỉ tiêu năm " + ", ".join(str(y) for y in sorted(years))
        elif kind == "document":
            wanted = {v for k, v in _DOC_TYPE_WORDS.items() if re.search(rf"\b{k}\b", q.text)}
            if wanted:
                pool = [e for e in pool if isinstance(e, Document) and e.doc_type in wanted]
            heading = "Các văn bản được báo cáo trích dẫn" if not wanted else "Các " + ", ".join(sorted(w.lower() for w in wanted)) + " được trích dẫn"
        else:
            heading = "Kết quả năm 2023"
        topic = [
            t for t in q.tokens
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
            return "answer", chosen, scores, answer_reply(self.kb, chosen[0])
        return "list", chosen, scores, list_reply(self.kb, heading, chosen)


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
