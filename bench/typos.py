"""Typo robustness: the dev set's in-scope questions with injected typos, scored like the originals.

Run: .venv/bin/python -m bench.typos [--questions ../shared/eval/dev.jsonl] [--seed 1]

Three kinds of typo, one per variant, at a random place (seeded): a lost diacritic on one letter
("thành" → "thanh" inside an accented question, or "ư" → "u"), a dropped letter in a word of 4+ letters,
two adjacent letters swapped. Out-of-scope questions are scored too (a typo must not turn them into
answers). Nothing here is used for tuning.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import unicodedata
from collections import Counter
from pathlib import Path

from bot.engine.engine import Engine
from bot.knowledge.base import load_base


def drop_diacritic(q: str, rng: random.Random) -> str:
    spots = [i for i, c in enumerate(q) if unicodedata.normalize("NFD", c) != c or c in "đĐ"]
    if not spots:
        return q
    i = rng.choice(spots)
    base = "d" if q[i] in "đĐ" else unicodedata.normalize("NFD", q[i])[0]
    return q[:i] + base + q[i + 1 :]


def drop_letter(q: str, rng: random.Random) -> str:
    words = q.split(" ")
    spots = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not spots:
        return q
    i = rng.choice(spots)
    j = rng.randrange(1, len(words[i]))
    words[i] = words[i][:j] + words[i][j + 1 :]
    return " ".join(words)


def swap_letters(q: str, rng: random.Random) -> str:
    words = q.split(" ")
    spots = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not spots:
        return q
    i = rng.choice(spots)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


KINDS = {"original": lambda q, r: q, "lost diacritic": drop_diacritic, "dropped letter": drop_letter,
         "swapped letters": swap_letters}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", default="../shared/eval/dev.jsonl")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    sys.path.insert(0, str(Path(a.questions).resolve().parent))
    sys.path.insert(0, "../shared/eval")
    from score import judge  # type: ignore[import-not-found]

    engine = Engine(load_base(Path("knowledge")))
    rows = [json.loads(x) for x in Path(a.questions).read_text(encoding="utf-8").splitlines() if x.strip()]
    print(f"questions: {a.questions} ({len(rows)}), seed {a.seed}")
    print(f"{'variant':16} {'in-scope correct':>17} {'wrong':>7} {'clarify/missed':>15} {'OOS abstained':>14}")
    for name, fn in KINDS.items():
        rng = random.Random(a.seed)
        ins: Counter[str] = Counter()
        oos: Counter[str] = Counter()
        for item in rows:
            q = fn(item["q"], rng)
            v = judge(item, engine.ask(q).to_json())
            (ins if item["expect"] is not None else oos)[v] += 1
        n_in, n_oos = sum(ins.values()), sum(oos.values())
        print(f"{name:16} {ins['correct'] / n_in:>17.1%} {ins['wrong'] / n_in:>7.1%} "
              f"{(n_in - ins['correct'] - ins['wrong']) / n_in:>15.1%} {oos['abstained'] / max(n_oos, 1):>14.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
