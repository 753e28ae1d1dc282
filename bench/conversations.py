"""Memory of conversations: the contexts of N chats in one ConversationStore, measured with tracemalloc.

Run: .venv/bin/python -m bench.conversations [--chats 10000] [--dialogues ../shared/eval/dialogues-dev.jsonl]

The contexts are real: every turn of every conversation of the dialogues file is answered by the
engine (over `knowledge/` and the report), each turn with the context of the one before, and the
context after each turn is kept. Chat i then holds the context of turn i modulo their number. Each
is a fresh copy made by unpickling, which is how the bot gets it with ENGINE_WORKERS ≥ 1 (the
default): the question and every entry id are strings of their own, nothing shared with the
engine. In-process answers would share the entry ids with the engine, so this is the larger case.
Keys are Telegram-sized ids: 70% private chats (user id, user id), 30% members of 100 groups
(-100…, user id).

Measured: tracemalloc's traced memory after filling the store minus before (after a full garbage
collection), i.e. the store's dict, keys, timestamps and contexts; then the time of one put and one
get at that size. The process exits 1 when the size is over ``--limit-mb`` (20 MB).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import platform
import sys
import time
import tracemalloc
from pathlib import Path

from bot.engine.engine import Engine
from bot.engine.followup import Context
from bot.knowledge.base import load_base
from bot.knowledge.source import DEFAULT_REPORT
from bot.services.conversations import DEFAULT_MAX_ENTRIES, ConversationStore, Key
from bot.services.loading import build_engine

DIALOGUES = Path("../shared/eval/dialogues-dev.jsonl")


def dialogue_contexts(path: Path, engine: Engine | None = None) -> tuple[list[Context], int]:
    """The context after every turn of every conversation in the file (and the number of
    conversations); the engine is built over `knowledge/` and the report unless given."""
    if engine is None:
        engine, warning = build_engine(load_base(Path("knowledge")), DEFAULT_REPORT)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    contexts: list[Context] = []
    dialogues = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for d in dialogues:
        context = None
        for turn in d["turns"]:
            context = engine.ask(turn["q"], context).context
            if context is not None:
                contexts.append(context)
    return contexts, len(dialogues)


def keys(n: int) -> list[Key]:
    """Telegram-sized conversation keys: private chats and members of 100 groups."""
    out: list[Key] = []
    for i in range(n):
        user = 5_000_000_000 + i * 7919
        out.append((-1_001_000_000_000 - i % 100, user) if i % 10 < 3 else (user, user))
    return out


def measure(contexts: list[Context], n: int) -> tuple[int, float]:
    """Bytes traced for a store holding n conversations, and µs per put + get at that size."""
    blobs = [pickle.dumps(contexts[i % len(contexts)]) for i in range(n)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = ConversationStore(max_entries=max(n, 1))
    for key, blob in zip(keys(n), blobs, strict=True):
        store.put(key, pickle.loads(blob))
    del blob
    gc.collect()
    size = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(store) == n
    probe = keys(n)
    t0 = time.perf_counter()
    for key in probe:
        store.put(key, store.get(key))
    per_op = (time.perf_counter() - t0) / n * 1e6
    return size, per_op


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--dialogues", type=Path, default=DIALOGUES)
    parser.add_argument("--limit-mb", type=float, default=20.0)
    args = parser.parse_args(argv)
    contexts, n_dialogues = dialogue_contexts(args.dialogues)
    size, per_op = measure(contexts, args.chats)
    mb = size / 1e6
    per = size / args.chats
    cpu = Path("/proc/cpuinfo")
    model = next((line.split(":", 1)[1].strip() for line in cpu.read_text().splitlines()
                  if line.startswith("model name")), platform.machine()) if cpu.exists() else platform.machine()
    print(f"machine: {model}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"contexts: {len(contexts)} from {n_dialogues} conversations of {args.dialogues.name} "
          f"(mean {sum(len(pickle.dumps(c)) for c in contexts) / len(contexts):.0f} bytes pickled)")
    print(f"conversations: {args.chats} (70% private chats, 30% members of 100 groups)")
    print(f"store size: {mb:.2f} MB traced (tracemalloc), {per:.0f} bytes per conversation; "
          f"limit {args.limit_mb:g} MB: {'met' if mb <= args.limit_mb else 'NOT met'}")
    print(f"at the default bound ({DEFAULT_MAX_ENTRIES} conversations): ~{per * DEFAULT_MAX_ENTRIES / 1e6:.1f} MB")
    print(f"get + put at this size: {per_op:.2f} µs")
    return 0 if mb <= args.limit_mb else 1


if __name__ == "__main__":
    raise SystemExit(main())
