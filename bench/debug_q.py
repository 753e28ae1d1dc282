"""Print the engine's top candidates with score parts for questions (tuning aid)."""

import sys
from pathlib import Path

from bot.engine.engine import Engine
from bot.engine.matcher import read_intent, score_entries
from bot.knowledge.base import load_base

eng = Engine(load_base(Path("knowledge")))
for question in sys.argv[1:]:
    q = eng.understand(question)
    it = read_intent(q, eng.index)
    print("Q:", q.text, "|", {k: v for k, v in vars(it).items() if v})
    for s in score_entries(q, eng.index, it, limit=5):
        print(f"  {s.score:.3f} {s.id:55} " + " ".join(f"{k}={v:.2f}" for k, v in s.parts.items()))
    a = eng.ask(question)
    print("  =>", a.status, [r.id for r in a.results])
