"""AnswerService: asking logs to storage; entry references; list helpers."""

from __future__ import annotations

from pathlib import Path

from bot.services.answers import REF_MAX, AnswerService, EntryRefs
from bot.services.storage import Storage


async def test_ask_logs_the_question_with_its_folded_form(kb_engine, tmp_path: Path) -> None:
    async with Storage(tmp_path / "q.sqlite3") as storage:
        service = AnswerService(kb_engine, storage)
        answer = await service.ask("Tàu vũ trụ bay lúc mấy giờ?", 42, 7)
        assert answer.status == "not_found"
        found = await service.ask("Năm 2023 kết nạp bao nhiêu đảng viên mới?", 42, 7)
        assert found.status == "answer"
        [row] = await storage.top_unanswered()
        assert row.normalized == "tau vu tru bay luc may gio" and row.question_example == "Tàu vũ trụ bay lúc mấy giờ?"
        stats = await storage.stats()
        assert stats["by_status"]["answer"] == 1 and stats["questions"] == 2


async def test_a_failing_log_does_not_cost_the_answer(kb_engine, tmp_path: Path) -> None:
    async with Storage(tmp_path / "q.sqlite3") as storage:
        service = AnswerService(kb_engine, storage)

        async def broken(*args: object, **kwargs: object) -> int:
            raise OSError("disk full")

        storage.log_query = broken  # type: ignore[method-assign]
        answer = await service.ask("Năm 2023 kết nạp bao nhiêu đảng viên mới?", 1, 1)
        assert answer.status == "answer"


def test_entry_refs_are_short_unique_and_stable(kb_engine) -> None:
    ids = list(kb_engine.kb.entries)
    refs = EntryRefs(ids)
    seen = {refs.ref(i) for i in ids}
    assert len(seen) == len(ids)
    assert all(len(r.encode()) <= REF_MAX for r in seen)
    assert all(refs.resolve(refs.ref(i)) == i for i in ids)
    assert EntryRefs(list(reversed(ids))).ref(ids[5]) == refs.ref(ids[5])  # not positional
    long_id = "a" * 80
    r = EntryRefs([long_id]).ref(long_id)
    assert len(r) == REF_MAX and "~" in r and refs.resolve(r) is None


def test_list_helpers(kb_engine) -> None:
    s = AnswerService(kb_engine)
    kb = kb_engine.kb
    assert len(s.targets()) == sum(1 for t in kb.of_kind("target") if t.year == 2024) > 8
    assert all(t.year == 2024 for t in s.targets())
    assert [x.id for x in s.result_sections()][:2] == ["p1.i.1", "p1.i.2"]
    assert s.find_section("3").id == "p1.i.3" and s.find_section("kiem tra").id == "p1.i.3"
    assert s.find_section("99") is None and s.find_section("") is None
    in_section = [e for e in kb.of_kind("indicator") if e.section in kb.descendants("p1.i.2")]
    assert s.section_results("p1.i.2") == in_section and len(in_section) > 8 and s.section_results("nope") == []
    assert s.results_about("về kết nạp")[0].id == "ket-nap-dang-vien-den-31-10-2023"
    assert [d.id for d in s.documents("45-NQ/TW")] == ["nq-45-nq-tw"]
    assert s.documents() == kb.of_kind("document")
    assert ([e.id for e in s.related("ket-nap-dang-vien-den-31-10-2023")][:1]
            == ["ket-nap-dang-vien-du-kien-ca-nam-2023"])
    assert s.entry("nope") is None and s.entry("nq-45-nq-tw").status == "answer"


def test_set_engine_swaps_everything_at_once(kb_engine) -> None:
    s = AnswerService(kb_engine)
    before = s.refs
    s.set_engine(kb_engine)
    assert s.engine is kb_engine and s.refs is not before


async def test_worker_process_answers_like_the_engine_and_survives_a_crash(kb_engine) -> None:
    service = AnswerService(kb_engine, workers=1)
    try:
        await service.start()
        for q in ("Năm 2023 kết nạp bao nhiêu đảng viên mới?", "kiểm tra", "thời tiết"):
            remote, local = await service.ask(q, None, None), kb_engine.ask(q)
            assert (remote.status, remote.text, remote.results) == (local.status, local.text, local.results)
        for process in list(service._state.pool._processes.values()):  # a worker dies
            process.kill()
        answer = await service.ask("kiểm tra", None, None)
        assert answer.status == "clarify"  # answered in-process, workers restarted
        assert (await service.ask("kiểm tra", None, None)).status == "clarify"
        old = service._state.pool
        service.engine = kb_engine  # a reload through the admin service's holder interface
        assert service._state.pool is not old
        assert (await service.ask("kiểm tra", None, None)).status == "clarify"
    finally:
        await service.close()
