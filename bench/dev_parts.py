"""Tuning aid: for each dev question, the top candidate's score parts and whether it is the right one."""

import json
import sys
from pathlib import Path

sys.path.insert(0, "../shared/eval")
from score import contains_figure, fold  # noqa: E402

from bot.engine.engine import Engine  # noqa: E402
from bot.engine.matcher import read_intent, score_entries  # noqa: E402
from bot.knowledge.base import load_base  # noqa: E402

eng = Engine(load_base(Path("knowledge")))
rows = [json.loads(line) for line in Path("../shared/eval/dev.jsonl").read_text().splitlines() if line.strip()]
for item in rows:
    q = eng.understand(item["q"])
    it = read_intent(q, eng.index)
    sc = score_entries(q, eng.index, it, limit=3)
    if not sc:
        print(f"{item['id']} {item['type']:9} -- no candidates")
        continue

    def ok(s, item=item):
        if item["expect"] is None:
            return False
        e = eng.kb.entries[s.id]
        fig, sec = eng.kb.figure(e), eng.kb.entry_section(e)
        return all(contains_figure(fig, x) for x in item["expect"]) and (
            not item["section"] or fold(item["section"]) in fold(sec))

    flags = "".join("+" if ok(s) else "-" for s in sc)
    top = sc[0]
    gap = top.score - sc[1].score if len(sc) > 1 else 1
    print(f"{item['id']} {item['type']:9} {flags} s={top.score:.3f} gap={gap:.3f} "
          + " ".join(f"{k}={v:.2f}" for k, v in top.parts.items()) + f"  {item['q'][:60]}")
