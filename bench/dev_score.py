"""In-process dev-set scoring with the official scorer's rules (fast tuning loop)."""

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, "../shared/eval")
from score import judge  # noqa: E402

from bot.engine.engine import Engine  # noqa: E402
from bot.knowledge.base import load_base  # noqa: E402


def evaluate(engine: Engine, path: str = "../shared/eval/dev.jsonl", show: bool = True) -> dict:
    rows = [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]
    verdicts = []
    for item in rows:
        ans = engine.ask(item["q"]).to_json()
        v = judge(item, ans)
        verdicts.append(v)
        if show and v not in ("correct", "abstained"):
            top = (ans["results"] or [{}])[0]
            print(f"[{v}] {item['id']} {item['q'][:70]!r} -> {ans['status']} {top.get('id')}")
    ins = Counter(v for r, v in zip(rows, verdicts, strict=True) if r["expect"] is not None)
    oos = Counter(v for r, v in zip(rows, verdicts, strict=True) if r["expect"] is None)
    n_in, n_oos = sum(ins.values()), sum(oos.values())
    out = {"correct": ins["correct"] / n_in, "wrong": ins["wrong"] / n_in,
           "clarify": (ins["clarify_hit"] + ins["clarify_miss"]) / n_in, "oos_abstained": oos["abstained"] / n_oos}
    print({k: round(v, 3) for k, v in out.items()})
    return out


if __name__ == "__main__":
    evaluate(Engine(load_base(Path("knowledge"))), *sys.argv[1:])
