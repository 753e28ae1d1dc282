"""Retrieve and decide over the structured base: rank the entries, refuse what the question does
not fit (another year, a place, money, an incidental overlap), pick a part of a breakdown the
question names, offer a choice when two facts are close, answer documents by code, and lists."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.engine.accounting import answer_type
from bot.engine.codes import find_refs, resolve
from bot.engine.compose import (
    clarify_reply,
    list_reply,
    multi_reply,
)
from bot.engine.index import STOPWORDS
from bot.engine.matcher import (
    Intent,
    Scored,
    asks_money,
    score_entries,
)
from bot.engine.rules import (
    ANSWER_MIN,
    CITED_BONUS,
    CLARIFY_MIN,
    DOC_TYPE_WORDS,
    FULL_COVER,
    GENERIC_TOPIC,
    KIND_WORDS,
    LIST,
    LIST_NOISE,
    LIST_RELATIVE,
    MARGIN,
    RECALL_MIN,
    TIME_WORDS,
    Decision,
    agree,
    no_answer,
    parent_and_child,
    strip_refs,
    word_pairs,
)
from bot.engine.state import EngineState
from bot.engine.text import Query, analyse
from bot.knowledge.schema import Entry

if TYPE_CHECKING:
    from bot.engine.compose import Reply
    from bot.engine.rules import Held


class StructuredStage(EngineState):
    """Retrieve and decide over the structured base: rank the entries, refuse what the question does."""

    if TYPE_CHECKING:
        # Defined by other stages of the Engine (engine.py, verify.py); declared here for mypy only.
        def _answer(self, e: Entry) -> Reply: ...
        def _held(self, e: Entry) -> Held: ...
        def _not_given(self, q: Query, left: list[str], e: Entry) -> Decision: ...

    def _decide_structured(self, q: Query, intent: Intent) -> Decision:
        """The structured base's decision: a list or a document by code when asked; else rank the
        entries, refuse what the best cannot answer, pick the part a question names, and answer
        or offer the close ones."""
        list_wanted = bool(LIST.search(q.text)) and (not intent.count or "liet ke" in q.text)
        refs = find_refs(q.text)
        if refs and (not (intent.count or intent.percent) or intent.doc):
            if list_wanted and (KIND_WORDS["target"].search(q.text)
                                or not KIND_WORDS["document"].search(strip_refs(q.text))):
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
        refused = self._refusal(q, intent, scored)
        if refused is not None:
            return refused
        best, top_entry = self._named_part(q, scored, scored[0], self.kb.entries[scored[0].id])
        missing = self._lacks_asked(intent, top_entry)
        if missing:
            return no_answer(missing)
        return self._choose(q, intent, scored, best, top_entry)

    def _refusal(self, q: Query, intent: Intent, scored: list[Scored]) -> Decision | None:
        """Why the best entry cannot answer, if it cannot: another year, nothing close enough, no
        money figure, a place it lacks, a result of the target year, an incidental overlap."""
        ry, ty = self.kb.result_year, self.kb.target_year
        other_years = intent.years - {ry, ty} - (self.index.entries[scored[0].id].years if scored else set())
        if other_years:
            return no_answer(
                f"Báo cáo không có số liệu năm {', '.join(str(y) for y in sorted(other_years))}: "
                f"báo cáo nêu kết quả năm {ry} và chỉ tiêu năm {ty}."
            )
        if not scored or scored[0].score < CLARIFY_MIN:
            return no_answer()
        best = scored[0]
        best_index = self.index.entries[best.id]
        if len(intent.years) == 1 and self.kb.fact(best.id) is not None and not (intent.years & best_index.years):
            (year,) = intent.years
            return no_answer(f"Báo cáo không có số liệu năm {year} về nội dung này.")
        if asks_money(intent.asked_units) and not best_index.has_money:
            return no_answer("Báo cáo không nêu số tiền cho nội dung này.")
        missing_places = [p for p in intent.places if f" {p} " not in best_index.text]
        if missing_places:
            return self._not_given(q, missing_places, self.kb.entries[best.id])
        if intent.result_of_target_year and self.kb.target(best.id) is not None:
            return no_answer(f"Báo cáo chưa có kết quả năm {ty}; chỉ có chỉ tiêu năm {ty} (xem /chitieu).")
        if best.parts.get("recall", 1.0) < RECALL_MIN and best.parts.get("cover", 1.0) < FULL_COVER:
            # The best entry's own words are mostly absent from the question: the overlap is
            # incidental ("Hải Phòng", "đảng viên"), so the report most likely does not say.
            return no_answer()
        return None

    def _named_part(self, q: Query, scored: list[Scored], best: Scored, top: Entry) -> tuple[Scored, Entry]:
        """A total on top and one of its parts, named by the question ("cấp huyện"), further down:
        the part is what is asked. It need not score close (parts are written with fewer words),
        but it must be named by most of what sets it apart ("cấp xã"), not by one common word of a
        longer name ("xây dựng" of "xây dựng nông thôn mới kiểu mẫu"); several parts named even
        loosely are left to the breakdown (see _choose)."""
        if top.id not in self.kb.children:
            return best, top
        named = [s for s in scored[1:10] if s.score >= ANSWER_MIN
                 and getattr(self.kb.entries[s.id], "parent", None) == top.id
                 and self._names_child(q, self.kb.entries[s.id], top, strict=False)]
        if len(named) == 1 and self._names_child(q, self.kb.entries[named[0].id], top):
            return named[0], self.kb.entries[named[0].id]
        return best, top

    def _choose(self, q: Query, intent: Intent, scored: list[Scored], best: Scored, top_entry: Entry) -> Decision:
        """Answer the best entry, or offer the close ones: a total and its named part, parts of one
        breakdown (one, several or all of them), the part that names what "nào" asks."""
        close = []
        for s in scored[1:4]:
            other = self.kb.entries[s.id]
            if best.score - s.score >= MARGIN or agree(other, top_entry):
                continue
            if parent_and_child(other, top_entry):
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
                return Decision("answer", named, scores, multi_reply(self.kb, named))
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
                return no_answer()
        return Decision("clarify", chosen, scores, clarify_reply(self.kb, chosen))

    def _counts_documents(self, q: Query, scored: list[Scored]) -> bool:
        """"Những văn bản gì …" whose every word is the title of a result counting documents by type
        ("Văn bản của Ban Thường vụ về nội chính: 01 chương trình, 03 kế hoạch…"): that result is
        the answer the report gives, not a list of the documents it happens to cite."""
        if not scored or not KIND_WORDS["document"].search(q.text):
            return False
        top = scored[0]
        e = self.kb.entries[top.id]
        return (e.id in self.kb.children  # a result with parts (only a result has some)
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
            fact = self.kb.fact(s.id)
            if fact is not None and fact.section in sections:
                s.score += CITED_BONUS
                s.parts["recall"] = s.parts.get("recall", 0.0) + CITED_BONUS
        return sorted(scored, key=lambda s: -s.score)

    def _lacks_asked(self, intent: Intent, e: Entry) -> str | None:
        """When the question asks a document's date or issuer and the report does not give it,
        say so (naming the document) rather than answer something else."""
        doc = self.kb.document(e.id)
        if doc is None or (intent.count or intent.percent):
            return None
        if intent.date and not doc.date:
            return f"Báo cáo có nhắc đến {doc.title} nhưng không ghi ngày ban hành."
        if intent.issuer and not doc.issuer:
            return f"Báo cáo có nhắc đến {doc.title} nhưng không ghi cơ quan ban hành."
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
        words = {w for w in words if not any(c.isdigit() for c in w) and w not in TIME_WORDS}
        if strict and len(words & set(q.tokens)) * 2 < len(words):
            return False
        # A word of a name counts in that name only: "phố" of "tổ dân phố" does not name "thành phố".
        pairs = word_pairs(title)
        q_pairs = self._part_pairs(q)
        # A pair with a function word only the child's title has names it too ("đất ở": the word
        # rule below drops "ở", which alone says nothing).
        others = set().union(*(word_pairs(self._title_tokens(i)) for i in family)) if family else set()
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
                pairs |= word_pairs(self.lexicon.expand(part).split())
            q.part_pairs = pairs
        return q.part_pairs

    def _by_code(self, q: Query, intent: Intent, refs: list) -> Decision:
        matched: list[Entry] = []
        for ref in refs:
            matched += [d for d in resolve(ref, self._codes, q.text) if d not in matched]
        if not matched:
            code = refs[0]
            issuer = f"/{code.issuer.upper()}" if code.issuer else ""
            label = f" ({code.letters.upper()}{issuer})" if code.letters else ""
            return no_answer(f"Báo cáo không nhắc đến văn bản số {code.number}{label}.")
        if len(matched) == 1:
            missing = self._lacks_asked(intent, matched[0])
            if missing:
                return no_answer(missing)
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

    def _rank_within(self, q: Query, intent: Intent, docs: Sequence[Entry]) -> list[Scored]:
        ids = {d.id for d in docs}
        scored = [s for s in score_entries(q, self.index, intent, limit=400) if s.id in ids]
        missing = [Scored(d.id, 0.0) for d in docs if d.id not in {s.id for s in scored}]
        return scored + missing

    def _list(self, q: Query, intent: Intent) -> Decision | None:
        kind = next((k for k, rx in KIND_WORDS.items() if rx.search(q.text)), "indicator")
        pool: list[Entry] = list(self._by_kind.get(kind, []))
        if kind == "target":
            years = intent.years & {self.kb.result_year, self.kb.target_year} or {self.kb.target_year}
            pool = [t for t in self.kb.targets() if t.year in years]
            heading = "Các chỉ tiêu năm " + ", ".join(str(y) for y in sorted(years))
        elif kind == "document":
            wanted = {v for k, v in DOC_TYPE_WORDS.items() if re.search(rf"\b{k}\b", q.text)}
            if wanted:
                pool = [x for x in self.kb.documents() if x.doc_type in wanted]
            kinds = ", ".join(sorted(w.lower() for w in wanted))
            heading = f"Các {kinds} được trích dẫn" if wanted else "Các văn bản được báo cáo trích dẫn"
        else:
            heading = f"Kết quả năm {self.kb.result_year}"
        topic_text = GENERIC_TOPIC.sub(" ", q.text)
        topic = [
            t for t in topic_text.split()
            if t not in STOPWORDS and t not in LIST_NOISE and not t.isdigit() and not re.fullmatch(r"(19|20)\d\d", t)
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
