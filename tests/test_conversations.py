"""Conversations: the store (expiry on an injected clock, LRU bound, per-key isolation), the answer
service keeping one context per conversation (in-process and through a worker process, cleared
on reload, set by a chosen entry), and the terminal chat's session."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest

from bot.engine.followup import Context
from bot.services.answers import AnswerService
from bot.services.conversations import ConversationStore
from bot.settings import SettingsError, load_settings
from bot.transports.terminal import run_chat

Q1 = "Năm 2023 thành phố kết nạp được bao nhiêu đảng viên mới?"
Q2 = "kế hoạch năm đó giao bao nhiêu?"
Q3 = "còn chỉ tiêu 2024?"
NO_CONTEXT = "Bạn hỏi về chỉ tiêu hay nội dung nào?"


class FakeClock:
    """A clock the test moves (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ctx(question: str, *ids: str) -> Context:
    return Context(question, ids)


# -- the store --------------------------------------------------------------------------------


def test_store_keeps_a_context_per_key() -> None:
    store = ConversationStore(clock=FakeClock())
    private, group_a, group_b = (7, 7), (-100, 7), (-100, 8)
    store.put(private, ctx("a"))
    store.put(group_a, ctx("b"))
    store.put(group_b, ctx("c"))
    assert [store.get(k).question for k in (private, group_a, group_b)] == ["a", "b", "c"]
    assert store.get((-100, 9)) is None and len(store) == 3
    store.put(group_a, ctx("b2"))  # a new turn replaces the context, others untouched
    assert store.get(group_a).question == "b2" and store.get(group_b).question == "c" and len(store) == 3
    store.clear(group_a)
    store.clear(group_a)  # nothing to clear: no error
    assert store.get(group_a) is None and store.get(private).question == "a" and len(store) == 2
    store.put(private, None)  # an answer without a context forgets the conversation
    assert store.get(private) is None and len(store) == 1
    store.clear_all()
    assert len(store) == 0


def test_store_expires_after_the_idle_time() -> None:
    clock = FakeClock()
    store = ConversationStore(idle_seconds=60, clock=clock)
    store.put((1, 1), ctx("a"))
    clock.now += 60
    assert store.get((1, 1)).question == "a"  # exactly the idle time: still alive, and active again
    clock.now += 30
    store.put((2, 2), ctx("b"))
    clock.now += 29
    assert store.get((1, 1)).question == "a"  # 59 s after the last get
    clock.now += 61
    assert store.get((1, 1)) is None and len(store) == 1  # expired: dropped on reading
    assert store.get((2, 2)) is None and len(store) == 0
    # The idle time is read on every call (the app's setting may change it after construction).
    store.put((3, 3), ctx("c"))
    store.idle_seconds = 10
    clock.now += 11
    assert store.get((3, 3)) is None


def test_store_drops_expired_conversations_when_another_is_stored() -> None:
    clock = FakeClock()
    store = ConversationStore(idle_seconds=60, clock=clock)
    for i in range(5):
        store.put((i, i), ctx(str(i)))
        clock.now += 20
    # Now at +100: the contexts put at +0 and +20 are over 60 s old, the one put at +40 just not.
    store.put((9, 9), ctx("9"))
    assert len(store) == 4 and [store.get((i, i)) is not None for i in (2, 3, 4, 9)] == [True] * 4


def test_store_evicts_the_least_recently_used_beyond_its_bound() -> None:
    clock = FakeClock()
    store = ConversationStore(max_entries=3, clock=clock)
    for i in range(3):
        store.put((i, i), ctx(str(i)))
        clock.now += 1
    assert store.get((0, 0)) is not None  # used: now the most recent
    store.put((3, 3), ctx("3"))
    assert len(store) == 3
    assert store.get((1, 1)) is None  # the least recently used went
    assert [store.get((i, i)).question for i in (0, 2, 3)] == ["0", "2", "3"]
    for i in range(10, 100):
        store.put((i, i), ctx(str(i)))
    assert len(store) == 3 and [store.get((i, i)) is not None for i in (97, 98, 99)] == [True, True, True]


def test_store_rejects_nonsense_bounds() -> None:
    with pytest.raises(ValueError):
        ConversationStore(idle_seconds=0)
    with pytest.raises(ValueError):
        ConversationStore(max_entries=0)


def test_context_is_small_and_picklable(kb_engine) -> None:
    context = kb_engine.ask(Q1).context
    assert context is not None and pickle.loads(pickle.dumps(context)) == context
    assert len(pickle.dumps(context)) < 1000


def test_ten_thousand_conversations_take_under_20_mb(kb_engine) -> None:
    from bench.conversations import DIALOGUES, dialogue_contexts, measure

    contexts, _ = dialogue_contexts(Path(__file__).resolve().parents[1] / DIALOGUES, kb_engine)
    size, _ = measure(contexts, 10_000)
    assert len(contexts) > 50 and 1_000_000 < size < 20_000_000  # docs/benchmarks.md: 8.1 MB


def test_idle_minutes_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.delenv("CONVERSATION_IDLE_MINUTES", raising=False)
    assert load_settings().conversation_idle_minutes == 30
    monkeypatch.setenv("CONVERSATION_IDLE_MINUTES", "7.5")
    assert load_settings().conversation_idle_minutes == 7.5
    monkeypatch.setenv("CONVERSATION_IDLE_MINUTES", "0")
    with pytest.raises(SettingsError, match="^Cấu hình không hợp lệ: CONVERSATION_IDLE_MINUTES: "):
        load_settings()


# -- the answer service -----------------------------------------------------------------------


async def test_service_keeps_one_conversation_per_chat_and_user(kb_engine) -> None:
    service = AnswerService(kb_engine)
    assert "3.482" in (await service.ask(Q1, 1, 1)).text
    second = await service.ask(Q2, 1, 1)
    assert second.understood is not None and "Kế hoạch năm 2023: 4000 - 4100 đảng viên mới" in second.text
    assert (await service.ask(Q2, -5, 1)).text.startswith(NO_CONTEXT)  # same user, another chat
    assert (await service.ask(Q2, 1, 2)).text.startswith(NO_CONTEXT)  # same chat, another user
    third = await service.ask(Q3, 1, 1)
    assert "Chỉ tiêu năm 2024: 3.800 - 3.900 đảng viên" in third.text
    assert service.conversations.get((1, 1)) == third.context
    # Without a chat id a question is a one-off: no context read, none kept.
    assert (await service.ask(Q2, None, None)).text.startswith(NO_CONTEXT)
    assert service.answer(Q2).text.startswith(NO_CONTEXT)
    assert (None, None) not in service.conversations._items


async def test_a_reload_forgets_the_conversations(kb_engine) -> None:
    service = AnswerService(kb_engine)
    await service.ask(Q1, 1, 1)
    assert len(service.conversations) == 1
    service.set_engine(kb_engine)
    assert len(service.conversations) == 0
    assert (await service.ask(Q2, 1, 1)).text.startswith(NO_CONTEXT)


async def test_a_chosen_entry_is_what_the_next_follow_up_refers_to(kb_engine) -> None:
    service = AnswerService(kb_engine)
    await service.ask(Q1, 1, 1)
    chosen = service.entry("kiem-tra-to-chuc-dang-btv-thanh-uy-2023", 1, 1)
    assert chosen is not None and chosen.text.startswith("Ban Thường vụ Thành ủy kiểm tra tổ chức đảng")
    follow = await service.ask("còn năm 2024?", 1, 1)
    assert follow.understood is not None
    assert "Chỉ tiêu năm 2024: 25 - 30 lượt tổ chức đảng" in follow.text
    # A document: "nó" is that document.
    service.entry("nq-45-nq-tw", 1, 1)
    assert "24/01/2019" in (await service.ask("nó ban hành ngày nào?", 1, 1)).text
    # Unknown entries, and entries chosen outside a conversation, leave the context alone.
    before = service.conversations.get((1, 1))
    assert service.entry("nope", 1, 1) is None and service.entry("ket-nap-dang-vien-den-31-10-2023") is not None
    assert service.conversations.get((1, 1)) == before


async def test_worker_process_reads_follow_ups_like_the_engine(kb_engine) -> None:
    service = AnswerService(kb_engine, workers=1)
    try:
        await service.start()
        local = None
        for q in (Q1, Q2, Q3):
            remote = await service.ask(q, 3, 3)
            local = kb_engine.ask(q, local.context if local else None)
            assert (remote.status, remote.text, remote.understood, remote.context) == \
                (local.status, local.text, local.understood, local.context)
        assert "3.800 - 3.900" in remote.text and service.conversations.get((3, 3)) == local.context
    finally:
        await service.close()


# -- the terminal chat ------------------------------------------------------------------------


def chat(kb_engine, *lines: str) -> list[str]:
    """The replies to each line, in order."""
    out = io.StringIO()
    assert run_chat(kb_engine, io.StringIO("".join(f"{line}\n" for line in lines)), out) == 0
    return out.getvalue().split("Bạn hỏi: ")[1:-1]


def test_terminal_session_is_one_conversation(kb_engine) -> None:
    first, second, third, chosen, fourth = chat(kb_engine, Q1, Q2, Q3, "1", "còn kết quả 2023?")
    assert "3.482 đảng viên mới" in first
    assert second.startswith("(hiểu là:") and "Kế hoạch năm 2023: 4000 - 4100 đảng viên mới" in second
    assert third.startswith("(hiểu là:") and "Chỉ tiêu năm 2024: 3.800 - 3.900 đảng viên" in third
    # "1" chose the first related entry (the 2023 result); the follow-up refers to it.
    assert chosen.startswith("Kết nạp đảng viên mới đến 31/10/2023")
    assert fourth.startswith("(hiểu là:") and "3.482 đảng viên mới" in fourth


def test_terminal_without_context_asks_what_is_meant(kb_engine) -> None:
    [reply] = chat(kb_engine, Q2)
    assert reply.startswith(NO_CONTEXT)


def test_a_short_new_topic_after_an_answer_keeps_its_own_answer(kb_engine) -> None:
    context = kb_engine.ask(Q1).context
    assert kb_engine.ask("kiểm tra", context).status == kb_engine.ask("kiểm tra").status == "clarify"
    assert kb_engine.ask("kiểm tra tổ chức đảng", context).status == "answer"
