"""Knowledge files as an operator leaves them: a stray copy of a file is one clear error, hidden
editor files are not part of the base, every provenance error names its line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.knowledge.base import load_base
from bot.knowledge.errors import KnowledgeError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    d = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", d, ignore=shutil.ignore_patterns("backups"))
    return d


def test_a_stray_copy_is_one_clear_error(kdir: Path) -> None:
    shutil.copy(kdir / "targets.yaml", kdir / "targets (copy).yaml")
    with pytest.raises(KnowledgeError) as info:
        load_base(kdir)
    [error] = info.value.errors
    n = len(load_base(ROOT / "knowledge").of_kind("target"))
    assert error.file == "knowledge/targets (copy).yaml"
    assert error.message.startswith(f"all {n} entries repeat ids of knowledge/targets.yaml: a stray copy?")
    assert "move the other out of the knowledge folder" in error.message


def test_a_plainly_named_copy_is_one_error_too(kdir: Path) -> None:
    shutil.copy(kdir / "targets.yaml", kdir / "targets-old.yaml")
    with pytest.raises(KnowledgeError) as info:
        load_base(kdir)
    [error] = info.value.errors
    assert {error.file, error.message.split(" repeat ids of ")[1].split(":")[0]} == {
        "knowledge/targets.yaml", "knowledge/targets-old.yaml"}


def test_a_real_duplicate_is_still_named_per_entry(kdir: Path) -> None:
    text = (kdir / "targets.yaml").read_text(encoding="utf-8")
    first = text.index("  - id: ")
    second = text.index("\n  - id: ", first + 1) + 1
    (kdir / "zz-extra.yaml").write_text("kind: target\nentries:\n" + text[first:second], encoding="utf-8")
    with pytest.raises(KnowledgeError) as info:
        load_base(kdir)
    [error] = info.value.errors  # one entry repeated: the entry's own duplicate error, not "stray copy"
    assert error.file == "knowledge/zz-extra.yaml" and error.field == "id" and error.line == 3
    assert error.message == "duplicate id (first defined in knowledge/targets.yaml)"


def test_hidden_editor_files_are_not_part_of_the_base(kdir: Path) -> None:
    shutil.copy(kdir / "targets.yaml", kdir / ".#targets.yaml")
    (kdir / "indicators" / ".swap.yaml").write_text("not: [valid", encoding="utf-8")
    assert len(load_base(kdir).entries) == len(load_base(ROOT / "knowledge").entries)
