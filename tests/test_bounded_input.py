"""Bounded work for any upload or reload (issue 10): YAML limits (alias expansion, nesting, nodes,
size), error texts cut to a bounded length, synonyms bounded; each bomb refused within 1 s and
100 MB (tracemalloc peak, which sees the loader's thread too)."""

from __future__ import annotations

import shutil
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from bot.engine.engine import Engine
from bot.knowledge import yamlio
from bot.knowledge.base import load_base
from bot.knowledge.errors import KbError, KnowledgeError
from bot.knowledge.schema import Synonyms
from bot.knowledge.yamlio import MAX_DEPTH, YamlError, load_yaml_text
from bot.services.admin import AdminService, EngineHolder, format_errors

ROOT = Path(__file__).resolve().parents[1]

# These tests bound the parser's time: every edited or uploaded text is parsed for real (see conftest's
# YAML memo).

# 353 bytes; expands to 9^9 ≈ 387 million strings ("billion laughs").
ANCHOR_BOMB = "".join(
    f"{k}: &{k} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['lol'] * 9)}]\n"
    for p, k in zip(["", "a", "b", "c", "d", "e", "f", "g", "h"], "abcdefghi", strict=True)
) + "kind: target\nentries: [*i]\n"
# The 310-byte variant: an unhashable key made of expanded aliases, whose repr was the error text.
UNHASHABLE_BOMB = "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n" \
                  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n? [*d, *d]\n: 1\n"


def synonyms_bomb() -> str:
    """~12 KB of synonyms.yaml: one anchored group of 30 phrases referenced by 400 aliases (12,000
    phrases once expanded)."""
    phrases = ", ".join(f"cum tu so {i} ve to chuc dang viec {i * 7}" for i in range(30))
    return "g: &g [" + phrases + "]\nsynonyms:\n" + "  - *g\n" * 400


def bounded(fn, *args):
    """Run ``fn`` and return (result or exception, CPU seconds, peak MB).

    The bounds in this file are on this process's CPU time, not the wall clock: they catch work
    that grows with an expansion bomb, and other processes on a busy machine do not move them."""
    tracemalloc.start()
    started = time.process_time()
    try:
        out = fn(*args)
    except Exception as exc:  # noqa: BLE001 - the tests look at it
        out = exc
    seconds = time.process_time() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return out, seconds, peak


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    d = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", d, ignore=shutil.ignore_patterns("backups"))
    return d


def test_anchor_bomb_refused_in_bounded_time_and_memory() -> None:
    assert len(ANCHOR_BOMB) < 600
    out, seconds, peak = bounded(load_yaml_text, ANCHOR_BOMB, "targets.yaml")
    assert isinstance(out, YamlError) and "aliases expand to more than 100.000 nodes" in str(out)
    assert seconds < 1.0 and peak < 100, (seconds, peak)


def test_unhashable_key_of_aliases_gives_a_short_error() -> None:
    out, seconds, peak = bounded(load_yaml_text, UNHASHABLE_BOMB, "x.yaml")
    assert isinstance(out, YamlError) and "unhashable key" in str(out)
    assert len(str(out)) < 300 and seconds < 1.0 and peak < 100


@pytest.mark.parametrize(("text", "reason"), [
    ("a: &a [*a]\n", "recursive alias"),
    ("[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5), f"nested deeper than {MAX_DEPTH} levels"),
    ("- x\n" * 1_001, "more than 1.000 nodes"),  # (the limit lowered for the test: composing 50,000 takes 1.4 s)
    ("# " + "x" * 2_000_001, "file too large"),
])
def test_other_limits(text: str, reason: str, monkeypatch) -> None:
    monkeypatch.setattr(yamlio, "MAX_NODES", 1000)
    with pytest.raises(YamlError, match=reason) as info:
        load_yaml_text(text, "f.yaml")
    assert len(str(info.value)) < 300


def test_error_texts_are_cut() -> None:
    e = KbError("f.yaml", "bad value " + "x" * 10_000, entry="y" * 5000, field="z" * 5000, line=3)
    assert len(str(e)) < 600 and str(e).endswith("…")
    errors = [KbError("f.yaml", "m" * 5000, entry=str(i)) for i in range(500)]
    assert len(format_errors(errors)) < 4096  # one Telegram message, whatever the file held
    assert len(str(KnowledgeError(errors))) < 2000


async def test_bombs_uploaded_are_refused_and_nothing_is_written(kdir: Path) -> None:
    holder = EngineHolder(Engine(load_base(kdir)))
    admin = AdminService(holder, kdir)
    before = {p: p.read_bytes() for p in kdir.rglob("*") if p.is_file()}
    engine = holder.engine
    for name, text in (("targets.yaml", ANCHOR_BOMB), ("targets.yaml", UNHASHABLE_BOMB),
                       ("synonyms.yaml", synonyms_bomb())):
        # Time only: the memory bound is the loader's (tests above); tracing would slow the rest of
        # the base's validation ~8×.
        started = time.process_time()
        report = await admin.upload(name, text.encode())
        seconds = time.process_time() - started
        assert not report.ok and report.errors, name
        assert seconds < 1.0, (name, seconds)
        assert len(format_errors(report.errors)) < 1000
    assert {p: p.read_bytes() for p in kdir.rglob("*") if p.is_file()} == before
    assert holder.engine is engine


def test_synonyms_bounded(kdir: Path) -> None:
    bomb = synonyms_bomb()
    assert len(bomb.encode()) < 13_000
    (kdir / "synonyms.yaml").write_text(bomb, encoding="utf-8")
    out, seconds, peak = bounded(load_yaml_text, bomb, "synonyms.yaml")
    assert not isinstance(out, Exception)  # 12,000 expanded phrases: within the YAML limits …
    out, seconds, peak = bounded(lambda: Synonyms.model_validate(load_yaml_text(bomb)))  # … refused by its bounds
    assert isinstance(out, ValidationError) and "at most 300 items" in str(out)
    assert peak < 100
    started = time.process_time()
    with pytest.raises(KnowledgeError):
        load_base(kdir)
    assert time.process_time() - started < 1.0
    # Without aliases, the same phrases spelled out: still bounded (groups, group size, total).
    groups = "\n".join("  - [" + ", ".join(f"p{g} {i}" for i in range(31)) + "]" for g in range(2))
    (kdir / "synonyms.yaml").write_text("synonyms:\n" + groups + "\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="at most 30 items"):
        load_base(kdir)


def test_engine_build_within_the_bounds(kdir: Path) -> None:
    """At the bounds' scale (the most phrases a valid file may hold) the engine still builds in
    about a second: the work is bounded by the file's size, not its square."""
    base = yaml.safe_load((ROOT / "knowledge" / "synonyms.yaml").read_text(encoding="utf-8"))
    room = 2000 - sum(len(g) for g in base["synonyms"])
    base["synonyms"] += [[f"nhom{g} cum{i}" for i in range(20)] for g in range(room // 20)]
    (kdir / "synonyms.yaml").write_text(yaml.safe_dump(base, allow_unicode=True), encoding="utf-8")
    kb = load_base(kdir)
    assert sum(len(g) for g in kb.synonyms.synonyms) > 1900
    started = time.process_time()
    Engine(kb)
    assert time.process_time() - started < 3.0


def _lines(data: object) -> object:
    """The line numbers a parse remembers, in the shape of the data."""
    if isinstance(data, dict):
        return [getattr(data, "__line__", None), getattr(data, "key_lines", None), [_lines(v) for v in data.values()]]
    if isinstance(data, list):
        return [_lines(v) for v in data]
    return None


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml: one parser only")
def test_the_fast_parser_reads_the_base_exactly_as_the_python_one() -> None:
    from bot.knowledge import yamlio

    assert yamlio._LineLoader is not yamlio._PyLineLoader  # libyaml is used when present
    for path in sorted((ROOT / "knowledge").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        fast = yaml.load(text, Loader=yamlio._LineLoader)  # noqa: S506 - a safe loader
        slow = yaml.load(text, Loader=yamlio._PyLineLoader)  # noqa: S506 - a safe loader
        assert fast == slow and _lines(fast) == _lines(slow), path.name


@pytest.mark.parametrize(("text", "line", "words"), [
    ("kind: target\n\t- a\n", 2, "'\\t'"),  # a tab: the message names it
    ("kind: target\nentries: [ {id: x", 2, "expected ',' or '}'"),  # the end of a file without its newline
    ("a: 1\na: 2\n", 2, "duplicate key 'a'"),
])
def test_a_syntax_error_names_its_line_and_what_is_wrong(text: str, line: int, words: str) -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml_text(text, "targets.yaml")
    assert caught.value.line == line and words in caught.value.message
