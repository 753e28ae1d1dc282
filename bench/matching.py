"""Matching benchmark: the engine against two plain baselines, then the growth curve.

`python -m bench.matching [--questions FILE] [--sizes 500,5000,50000]` prints, in one run:

1. the machine (CPU model, cores, Python);
2. accuracy (scored with ../shared/eval/score.py's `judge`) and in-process latency on the real base of
   - the engine (`Engine(kb, passages).ask`, with the report's sentences indexed as the bot runs it),
   - baseline A: `rapidfuzz.process.extractOne(query, texts, scorer=fuzz.WRatio)`, one text per entry,
   - baseline B: BM25 (`bm25s`, Lucene variant, k1=1.5, b=0.75) over the same texts, tokenised on
     folded words, no stop words,
   - for reference, A-phrases: the same extractOne over every phrase separately (title, each alias,
     each keyword, subject), best phrase → its entry (WRatio degenerates on long joined texts);
   each baseline with a score cutoff tuned on the question set itself (every distinct top score is
   tried; the one maximising in-scope correct + out-of-scope abstained is kept), which flatters the
   baselines, not the engine;
3. the growth curve: the base inflated with synthetic variants of its entries to each size, with
   build time, latency and memory of the engine, and of baselines A and B at the largest size.

Entry text (baselines): title + aliases + keywords + subject, joined with " ; ". Texts are folded
once (`bot.normalize.fold`: lower case, Vietnamese diacritics and đ dropped, punctuation to spaces,
number forms unified), the folding the engine applies too, so no baseline loses a question typed
without diacritics. Baseline A passes the pre-folded choices with `processor=None` and folds the
question itself: rapidfuzz's `processor=` would re-fold every choice on every call, which would time
the folding, not the matching. A baseline's answer is its top entry with status "answer" (or
"not_found" below the cutoff), in the engine's JSON shape (figure = kb.figure(e), section =
kb.entry_section(e), text = the figure).

Latency: time.perf_counter around one call producing the answer JSON, in this process, after one
warm-up pass; every question is asked `reps` times and p50/p99 are taken over all samples (nearest
rank, as the scorer does). Each growth measurement (size × system) runs in its own forked process so
its memory figures start clean: RSS Δ from /proc/self/statm around the build, and the tracemalloc
peak of a second, traced build (tracemalloc slows a build about fourfold, so it is skipped above
TRACE_MAX entries and extrapolated linearly, unless BENCH_FULL=1).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import re
import sys
import time
import tracemalloc
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
from rapidfuzz import fuzz, process

from bot.engine.engine import Engine
from bot.knowledge.base import KnowledgeBase, _build_links, load_base
from bot.knowledge.schema import Document, Entry, Indicator
from bot.normalize import fold

KNOWLEDGE = Path("knowledge")
REPS_REAL = 10  # runs per question on the real base
TARGET_P99_REAL_MS = 5.0
TARGET_P99_50K_MS = 50.0
SEED = 20240101
TRACE_MAX = 1000  # largest size whose build is also run under tracemalloc (BENCH_FULL=1: all)
FUZZ_FULL_MAX = 10000  # above: baseline A is timed on every fifth question, once (BENCH_FULL=1: all)


def _full() -> bool:
    return os.environ.get("BENCH_FULL", "") not in ("", "0")


# -- machine, questions, statistics ---------------------------------------------------------------
def machine() -> dict:
    """CPU model, cores, Python version."""
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": model, "cores": cores, "python": platform.python_version(),
        "implementation": platform.python_implementation(), "os": f"{platform.system()} {platform.release()}",
    }


def load_questions(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile, as ../shared/eval/score.py computes it."""
    s = sorted(values)
    return s[int(p * (len(s) - 1))] if s else float("nan")


def rss_bytes() -> int:
    """Resident set size from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _judge() -> Callable[[dict, dict], str]:
    sys.path.insert(0, str(Path("../shared/eval").resolve()))
    from score import judge

    return judge


def summarize(rows: list[dict], verdicts: list[str]) -> dict:
    """The scorer's summary figures (fractions)."""
    ins = Counter(v for r, v in zip(rows, verdicts, strict=True) if r.get("expect") is not None)
    oos = Counter(v for r, v in zip(rows, verdicts, strict=True) if r.get("expect") is None)
    n_in, n_oos = max(sum(ins.values()), 1), max(sum(oos.values()), 1)
    return {
        "correct": ins["correct"] / n_in,
        "wrong": ins["wrong"] / n_in,
        "clarify": (ins["clarify_hit"] + ins["clarify_miss"]) / n_in,
        "missed": ins["missed"] / n_in,
        "oos_abstained": oos["abstained"] / n_oos,
        "overall": (ins["correct"] + oos["abstained"]) / max(len(verdicts), 1),
        "n_in": sum(ins.values()), "n_oos": sum(oos.values()),
    }


def time_calls(fn: Callable[[str], dict], questions: list[str], reps: int,
               warm: int | None = None) -> tuple[list[float], list[dict]]:
    """Milliseconds per call, and the answers of the first run.

    One warm-up pass first (over the first `warm` questions when given)."""
    for q in questions[:warm] if warm else questions:
        fn(q)
    samples: list[float] = []
    answers: list[dict] = []
    clock = time.perf_counter
    for rep in range(reps):
        for q in questions:
            t0 = clock()
            out = fn(q)
            samples.append((clock() - t0) * 1000)
            if rep == 0:
                answers.append(out)
    return samples, answers


# -- baselines -------------------------------------------------------------------------------------
def entry_text(e: Entry) -> str:
    return " ; ".join([e.title, *e.aliases, *e.keywords, e.subject])


def entry_phrases(e: Entry) -> list[str]:
    return [e.title, *e.aliases, *e.keywords, e.subject]


def folded_texts(kb: KnowledgeBase) -> list[str]:
    return [fold(entry_text(e)) for e in kb.entries.values()]


def answer_json(kb: KnowledgeBase, e: Entry | None, score: float) -> dict:
    """A baseline's answer in the engine's `ask --json` shape: the top entry, or not_found."""
    if e is None:
        return {"status": "not_found", "text": "", "results": []}
    fig = kb.figure(e)
    return {
        "status": "answer", "text": fig,
        "results": [{"id": e.id, "kind": e.kind, "figure": fig, "section": kb.entry_section(e), "score": score}],
    }


class Baseline:
    """A retriever returning the top entry and its score; `cutoff` turns it into answer/not_found."""

    key = "?"
    name = "?"
    cutoff = -math.inf

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.ids = list(kb.entries)

    def top(self, question: str) -> tuple[str | None, float]:
        raise NotImplementedError

    def ask(self, question: str) -> dict:
        eid, score = self.top(question)
        e = self.kb.entries[eid] if eid is not None and score >= self.cutoff else None
        return answer_json(self.kb, e, score)


class FuzzBaseline(Baseline):
    """Baseline A: rapidfuzz extractOne with WRatio over the folded entry texts."""

    key, name = "A", "A rapidfuzz WRatio"

    def __init__(self, kb: KnowledgeBase, texts: list[str] | None = None) -> None:
        super().__init__(kb)
        self.choices = texts if texts is not None else folded_texts(kb)

    def top(self, question: str) -> tuple[str | None, float]:
        hit = process.extractOne(fold(question), self.choices, scorer=fuzz.WRatio, processor=None)
        return (self.ids[hit[2]], float(hit[1])) if hit else (None, 0.0)


class FuzzPhraseBaseline(Baseline):
    """Reference: extractOne with WRatio over every phrase of every entry; best phrase → its entry."""

    key, name = "A-phrases", "A-phrases (reference)"

    def __init__(self, kb: KnowledgeBase) -> None:
        super().__init__(kb)
        self.choices: list[str] = []
        self.owner: list[str] = []
        for e in kb.entries.values():
            for p in entry_phrases(e):
                self.choices.append(fold(p))
                self.owner.append(e.id)

    def top(self, question: str) -> tuple[str | None, float]:
        hit = process.extractOne(fold(question), self.choices, scorer=fuzz.WRatio, processor=None)
        return (self.owner[hit[2]], float(hit[1])) if hit else (None, 0.0)


class BM25Baseline(Baseline):
    """Baseline B: bm25s (Lucene BM25, k1=1.5, b=0.75) over folded word tokens; no stop words."""

    key, name = "B", "B BM25 (bm25s)"

    def __init__(self, kb: KnowledgeBase, texts: list[str] | None = None) -> None:
        super().__init__(kb)
        texts = texts if texts is not None else folded_texts(kb)
        self.model = bm25s.BM25()
        self.model.index([t.split() for t in texts], show_progress=False)

    def top(self, question: str) -> tuple[str | None, float]:
        ids = self.model.get_tokens_ids(fold(question).split())
        if not ids:
            return None, 0.0
        scores = self.model.get_scores_from_ids(ids)
        i = int(np.argmax(scores))
        return self.ids[i], float(scores[i])


def tune_cutoff(base: Baseline, rows: list[dict], judge: Callable[[dict, dict], str]) -> tuple[float, int, int]:
    """Sweep every distinct top score as the cutoff; keep the one maximising correct + abstained.

    Returns (cutoff, cutoffs tried, best correct + abstained). Ties go to the lowest cutoff.
    """
    tops = [base.top(r["q"]) for r in rows]
    # Verdict of each question when answered with its top entry, and when abstaining.
    if_answer, if_abstain = [], []
    for r, (eid, score) in zip(rows, tops, strict=True):
        e = base.kb.entries[eid] if eid is not None else None
        if_answer.append(judge(r, answer_json(base.kb, e, score)) in ("correct", "abstained"))
        if_abstain.append(judge(r, answer_json(base.kb, None, 0.0)) in ("correct", "abstained"))
    candidates = sorted({s for _, s in tops} | {math.inf})
    best = (-1, math.inf)
    for c in candidates:
        good = sum(
            (a if (eid is not None and s >= c) else b)
            for (eid, s), a, b in zip(tops, if_answer, if_abstain, strict=True)
        )
        if good > best[0]:
            best = (good, c)
    base.cutoff = best[1]
    return best[1], len(candidates), best[0]


# -- synthetic growth ------------------------------------------------------------------------------
_ONSETS = ["", "b", "c", "ch", "d", "đ", "g", "gi", "h", "k", "kh", "l", "m", "n", "ng", "nh", "ph", "qu", "r",
           "s", "t", "th", "tr", "v", "x"]
_NUCLEI = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "ia", "iê", "ua", "uô", "ưa", "ươ", "oa", "oe", "uy"]
_CODAS = ["", "c", "ch", "m", "n", "ng", "nh", "p", "t", "i", "o", "u", "y"]
_TONES = ["", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"]


class SyntheticVocabulary:
    """Pseudo-Vietnamese two-syllable topic words, drawn Zipf-like; the pool grows with the base
    (Heaps' law, V ≈ 10·T^0.5 for T synthetic tokens), so larger bases have more distinct words."""

    def __init__(self, rng: random.Random, n_clones: int) -> None:
        tokens = max(n_clones, 1) * 14
        size = max(50, int(10 * tokens**0.5))
        seen: set[str] = set()
        words: list[str] = []
        while len(words) < size:
            w = f"{self._syllable(rng)} {self._syllable(rng)}"
            if w not in seen:
                seen.add(w)
                words.append(w)
        self.words = words
        cum, acc = [], 0.0
        for rank in range(1, size + 1):
            acc += 1.0 / rank
            cum.append(acc)
        self.cum = cum
        self.rng = rng

    @staticmethod
    def _syllable(rng: random.Random) -> str:
        nucleus = rng.choice(_NUCLEI)
        at = 1 if nucleus in ("ia", "ua", "ưa") or len(nucleus) == 1 else 2  # the tone's vowel
        nucleus = nucleus[:at] + rng.choice(_TONES) + nucleus[at:]
        return unicodedata.normalize("NFC", rng.choice(_ONSETS) + nucleus + rng.choice(_CODAS))

    def draw(self, k: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cum, k=k)


def _renumber(text: str, rng: random.Random) -> str:
    def repl(m: re.Match) -> str:
        n = len(m.group(0))
        return str(rng.randint(10 ** (n - 1) if n > 1 else 0, 10**n - 1))

    return re.sub(r"\d+", repl, text)


def _shuffle_window(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) >= 3:
        w = min(len(words), rng.randint(3, 5))
        i = rng.randint(0, len(words) - w)
        chunk = words[i:i + w]
        rng.shuffle(chunk)
        words[i:i + w] = chunk
    return " ".join(words)


def _variant(e: Entry, new_id: str, vocab: SyntheticVocabulary, rng: random.Random) -> Entry:
    """A synthetic sibling of a real entry: new id, shuffled and renumbered words, new topic words,
    renumbered figures (so answering with a clone is judged wrong), no links to other entries."""
    topic = vocab.draw(3)

    def phrase(t: str) -> str:
        return f"{_shuffle_window(_renumber(t, rng), rng)} {rng.choice(topic)}"

    upd: dict = {
        "id": new_id,
        "aliases": [phrase(a) for a in e.aliases],
        "keywords": [_renumber(k, rng) for k in e.keywords] + vocab.draw(2),
        "subject": f"{_renumber(e.subject, rng)} {' '.join(topic)}",
    }
    if isinstance(e, Document):
        upd["implements"] = []
        if e.code:
            upd["code"] = _renumber(e.code, rng)
        if e.name:
            upd["name"] = phrase(e.name)
        if e.date:
            upd["date"] = _renumber(e.date, rng)
    else:
        upd["title"] = f"{_shuffle_window(_renumber(e.title, rng), rng)} {' '.join(topic[:2])}"
        upd["figures"] = [f.model_copy(update={"text": _renumber(f.text, rng)}) for f in e.figures]
        upd["related"] = []
        if isinstance(e, Indicator):
            upd["parent"] = None
    return e.model_copy(update=upd)


def inflate(kb: KnowledgeBase, size: int, seed: int = SEED) -> KnowledgeBase:
    """The real base plus synthetic variants of its entries up to `size` entries."""
    rng = random.Random(seed + size)
    real = list(kb.entries.values())
    n_clones = max(size - len(real), 0)
    vocab = SyntheticVocabulary(rng, n_clones)
    entries: dict[str, Entry] = dict(kb.entries)
    files = dict(kb.files)
    for i in range(n_clones):
        src = real[i % len(real)]
        new_id = f"{src.id[:60]}-syn{i}"
        entries[new_id] = _variant(src, new_id, vocab, rng)
        files[new_id] = "synthetic"
    big = KnowledgeBase(kb.sections, entries, kb.synonyms, kb.exclusions, files)
    _build_links(big)
    return big


# -- runs ------------------------------------------------------------------------------------------
@dataclass
class SystemRun:
    name: str
    summary: dict
    p50: float
    p99: float
    note: str = ""


def evaluate(name: str, ask: Callable[[str], dict], rows: list[dict], judge, reps: int, note: str = "") -> SystemRun:
    samples, answers = time_calls(ask, [r["q"] for r in rows], reps)
    verdicts = [judge(r, a) for r, a in zip(rows, answers, strict=True)]
    return SystemRun(name, summarize(rows, verdicts), pct(samples, 0.5), pct(samples, 0.99), note)


def _p(x: float) -> str:
    return f"{100 * x:.1f}"


def _table(head: list[str], rows: list[list[str]], left: int = 1) -> None:
    """A markdown table; the first `left` columns left-aligned, the rest right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        cells = [c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        print("| " + " | ".join(cells) + " |")


def _real_base(kb: KnowledgeBase, rows: list[dict], judge) -> dict[str, float]:
    """Side by side on the real base; returns the baselines' tuned cutoffs."""
    t = time.perf_counter()
    engine = Engine(kb, _passages(kb))
    engine_build = time.perf_counter() - t
    baselines: list[Baseline] = [FuzzBaseline(kb), BM25Baseline(kb), FuzzPhraseBaseline(kb)]
    tuned = {}
    for b in baselines:
        cutoff, tried, good = tune_cutoff(b, rows, judge)
        tuned[b.key] = cutoff
        print(f"cutoff {b.name}: {cutoff:.3f} — swept {tried} cutoffs (each distinct top score) on this question set, "
              f"kept the one maximising in-scope correct + OOS abstained ({good}/{len(rows)})")
    runs = [evaluate("engine", lambda q: engine.ask(q).to_json(), rows, judge, REPS_REAL, "—")]
    runs += [evaluate(b.name, b.ask, rows, judge, REPS_REAL, f"{b.cutoff:.2f}") for b in baselines]
    print(f"\n## Real base: {len(kb.entries)} entries — accuracy and latency "
          f"(in-process, warmed up, {REPS_REAL} runs per question, p50/p99 over {REPS_REAL * len(rows)} calls)\n")
    _table(
        ["system", "in-scope correct %", "wrong %", "clarify %", "missed %", "OOS abstained %", "overall %",
         "p50 ms", "p99 ms", "cutoff"],
        [[r.name, _p(r.summary["correct"]), _p(r.summary["wrong"]), _p(r.summary["clarify"]), _p(r.summary["missed"]),
          _p(r.summary["oos_abstained"]), _p(r.summary["overall"]), f"{r.p50:.3f}", f"{r.p99:.3f}", r.note]
         for r in runs],
    )
    print()

    def ratio(a: float, c: float) -> str:
        return f"{a / c:.2f}×" if c else "∞"

    e = runs[0]
    _table(
        ["engine ÷ baseline", "overall accuracy", "in-scope correct", "p50 latency", "p99 latency"],
        [[f"vs {b.name}", ratio(e.summary["overall"], b.summary["overall"]),
          ratio(e.summary["correct"], b.summary["correct"]), ratio(e.p50, b.p50), ratio(e.p99, b.p99)]
         for b in runs[1:]],
    )
    print(f"\nengine build: {engine_build * 1000:.0f} ms · target p99 < {TARGET_P99_REAL_MS:g} ms at the real base: "
          f"{'met' if e.p99 < TARGET_P99_REAL_MS else 'NOT met'} (p99 {e.p99:.2f} ms)")
    return tuned


def _passages(kb: KnowledgeBase) -> list | None:
    """The report's sentences, as the bot indexes them (REPORT_PATH or the default report); None
    when the report is missing (the engine then answers from the base alone)."""
    from bot.knowledge.passages import read_passages
    from bot.knowledge.source import SourceError
    from bot.services.loading import report_path

    try:
        return read_passages(report_path(None), kb)
    except (OSError, SourceError):
        return None


def _reps_for(size: int) -> int:
    return 5 if size <= 1000 else 2 if size <= 10000 else 1


def _in_child(fn: Callable[[], dict]) -> dict:
    """Run fn in a forked child (clean memory figures); its result comes back as JSON."""
    sys.stdout.flush()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        code = 0
        try:
            data = json.dumps(fn()).encode()
        except BaseException as exc:  # report anything, then leave without running the parent's cleanup
            data = json.dumps({"error": repr(exc)}).encode()
            code = 1
        with os.fdopen(w, "wb") as f:
            f.write(data)
        sys.stdout.flush()
        os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    return json.loads(data) if data else {"error": "child died"}


def _factory(key: str, big: KnowledgeBase) -> Callable[[], object]:
    return {
        "engine": lambda: Engine(big, _passages(big)),
        "A": lambda: FuzzBaseline(big),
        "B": lambda: BM25Baseline(big),
    }[key]


def _measure_system(big: KnowledgeBase, key: str, rows: list[dict], judge, cutoffs: dict[str, float]) -> dict:
    """Build one system on an inflated base, time it on the questions, trace its build (child process)."""
    size = len(big.entries)
    factory = _factory(key, big)
    gc.collect()
    rss0 = rss_bytes()
    t = time.perf_counter()
    obj = factory()
    build_s = time.perf_counter() - t
    rss = rss_bytes() - rss0
    if isinstance(obj, Engine):
        def ask(q: str, obj=obj) -> dict:
            return obj.ask(q).to_json()
    else:
        obj.cutoff = cutoffs[key]
        ask = obj.ask
    sample = rows
    reps, warm = _reps_for(size), (None if size <= 10000 else 10)
    if key == "A" and size > FUZZ_FULL_MAX and not _full():
        sample, reps, warm = rows[::5], 1, 2
    samples, answers = time_calls(ask, [r["q"] for r in sample], reps, warm)
    g: dict = {
        "build_s": build_s, "rss_mb": rss / 2**20, "p50": pct(samples, 0.5), "p99": pct(samples, 0.99),
        "max": max(samples), "reps": reps, "n_q": len(sample),
        "summary": (
            summarize(rows, [judge(r, a) for r, a in zip(rows, answers, strict=True)]) if sample is rows else None
        ),
    }
    del obj, ask
    gc.collect()
    if size <= TRACE_MAX or _full():
        tracemalloc.start()
        factory()
        g["peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return g


def _measure_size(kb: KnowledgeBase, size: int, rows: list[dict], judge, cutoffs: dict[str, float],
                  keys: list[str]) -> dict:
    """One size: inflate the base here, then measure each system in its own grandchild."""
    t0 = time.perf_counter()
    big = inflate(kb, size)
    out: dict = {"size": len(big.entries), "gen_s": time.perf_counter() - t0}
    out["vocab"] = len({t for e in big.entries.values() for t in fold(entry_text(e)).split()})
    for key in keys:
        out[key] = _in_child(lambda key=key: _measure_system(big, key, rows, judge, cutoffs))
    return out


def _growth(kb: KnowledgeBase, rows: list[dict], judge, tuned: dict[str, float], sizes: list[int],
            started: float) -> None:
    print("\n## Growth curve: real entries + synthetic variants; each size × system in a fresh forked process\n")
    results = []
    for size in sizes:
        keys = ["engine", "A", "B"] if size == max(sizes) else ["engine"]
        res = _in_child(lambda size=size, keys=keys: _measure_size(kb, size, rows, judge, tuned, keys))
        if "error" in res:
            print(f"size {size}: failed: {res['error']}")
            continue
        results.append(res)
        print(f"- {res['size']} entries: generated in {res['gen_s']:.1f} s, {res['vocab']} distinct folded words "
              f"({time.perf_counter() - started:.0f} s into the run)", flush=True)
    print()
    table: list[list[str]] = []
    per_entry: dict[str, float] = {}  # tracemalloc MB per entry at the largest traced size
    notes: list[str] = []
    for res in results:
        for key, label in (("engine", "engine"), ("A", "A rapidfuzz"), ("B", "B BM25")):
            g = res.get(key)
            if g is None:
                continue
            if "error" in g:
                notes.append(f"{label} at {res['size']}: failed: {g['error']}")
                continue
            if "peak_mb" in g:
                per_entry[key] = g["peak_mb"] / res["size"]
                peak = f"{g['peak_mb']:.1f}"
            elif key in per_entry:
                peak = f"~{per_entry[key] * res['size']:.0f} (extrap.)"
            else:
                peak = "not traced"
            s = g["summary"]
            acc = ([_p(s["correct"]), _p(s["wrong"]), _p(s["clarify"]), _p(s["oos_abstained"]), _p(s["overall"])]
                   if s else ["—"] * 5)
            if not s:
                notes.append(f"{label} at {res['size']} entries: timed on every fifth question ({g['n_q']}), one run; "
                             f"accuracy not run (≈{g['p50'] / 1000 * len(rows):.0f} s more; BENCH_FULL=1 runs it).")
            table.append([str(res["size"]), label, f"{g['build_s']:.2f}", f"{g['p50']:.2f}", f"{g['p99']:.2f}",
                          f"{g['max']:.2f}", f"{g['n_q']} × {g['reps']}", peak, f"{g['rss_mb']:.1f}", *acc])
    _table(["entries", "system", "build s", "p50 ms", "p99 ms", "max ms", "questions × runs",
            "tracemalloc peak MB", "RSS Δ MB", "correct %", "wrong %", "clarify %", "OOS abst. %", "overall %"],
           table, left=2)
    for n in notes:
        print(n)
    if any(r["size"] > TRACE_MAX for r in results) and not _full():
        print(f"tracemalloc peak above {TRACE_MAX} entries: extrapolated per entry from the largest traced size "
              f"(a traced build is ~4× slower); the baselines are not traced (BENCH_FULL=1 traces everything).")
    big = [r for r in results if r["size"] >= 50000 and "p99" in r.get("engine", {})]
    if big:
        p99 = big[0]["engine"]["p99"]
        print(f"target p99 < {TARGET_P99_50K_MS:g} ms at {big[0]['size']} entries: "
              f"{'met' if p99 < TARGET_P99_50K_MS else 'NOT met'} (p99 {p99:.1f} ms)")
    print("accuracy at synthetic sizes: each variant has renumbered figures, so answering with one is judged wrong "
          "(near-duplicate distractors, harsher than a real base); baselines keep their real-base cutoff.")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    m = machine()
    print("# Matching benchmark\n")
    print(f"machine: {m['cpu']} · {m['cores']} cores available · {m['implementation']} {m['python']} · {m['os']}")
    judge = _judge()
    rows = load_questions(args.questions)
    sizes = sorted(int(s) for s in str(args.sizes).split(",") if s.strip())
    kb = load_base(KNOWLEDGE)
    n_in = sum(r.get("expect") is not None for r in rows)
    print(f"questions: {args.questions} ({len(rows)}: {n_in} in scope, {len(rows) - n_in} out of scope) · "
          f"base: {len(kb.entries)} entries · BENCH_FULL={'1' if _full() else '0'}\n")
    tuned = _real_base(kb, rows, judge)
    gc.collect()
    if sizes:
        _growth(kb, rows, judge, tuned, sizes, started)
    print(f"\ntotal bench time: {time.perf_counter() - started:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.matching [--questions FILE] [--sizes 500,5000,50000]` (also `make bench`)."""
    parser = argparse.ArgumentParser(prog="python -m bench.matching", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", default="../shared/eval/dev.jsonl")
    parser.add_argument("--sizes", default="500,5000,50000")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
