"""The knowledge base: the real data, pointed errors for each kind of bad file, the CLI, provenance and
coverage against the source report, and the coverage rules on a synthetic mini report."""

from __future__ import annotations

import json
import os
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from bot.cli import main
from bot.knowledge.base import PATH_SEP, KnowledgeBase, load_base
from bot.knowledge.errors import KbError, KnowledgeError
from bot.knowledge.provenance import check_coverage, check_provenance, load_source, source_figures
from bot.knowledge.schema import Document, Indicator, Target

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge"
SOURCE = Path(__file__).resolve().parents[1].parent / "shared/source/000_ffa3f5d343d508a7.txt"

NEW_MEMBERS = "ket-nap-dang-vien-den-31-10-2023"
NEW_MEMBERS_FILE = "indicators/p1-i-2-to-chuc-can-bo.yaml"
P1_I_2_PATH = "Phần thứ nhất › I. Kết quả đạt được › 2. Công tác tổ chức, xây dựng bộ máy và công tác cán bộ"

CODES = (
    "01-KL/TW 05-CT/TW 07-NQ/TU 08-NQ/TU 09-KL/TU 10-CT/TW 100-KL/TW 1058-QĐ/TU 15-KH/BNCTW 1705-TB/TU "
    "199-KH/TU 21-KL/TW 21-NQ/TW 221-KL/TU 24-HD/BTCTW 254-KH/TU 28-NQ/TU 28-NQ/TW 292-KH/TU 31-CT/TU "
    "35-NQ/TW 35/2021/QH15 45-NQ/TW 5609-CV/BNCTW 594/NQ-UBTVQH15 60-QĐ/TW"
).split()

# The twelve 2024 targets of "Phần thứ hai › I. › 1. Chỉ tiêu cụ thể", by the main figure the report gives.
TARGETS_2024 = sorted(
    ["3.800 - 3.900", "45", "380", "25 - 30", "25 - 30", "12 - 15", "10 - 12", "100%", "100%", "100%", "30%", "10%"]
)


# ------------------------------------------------------------------------------------------ helpers


def line_no(text: str, needle: str) -> int:
    """1-based number of the first line of `text` containing `needle`."""
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not found")


def load_errors(directory: Path, overrides: dict[str, str] | None = None) -> list[KbError]:
    """The errors of a base that must not load."""
    with pytest.raises(KnowledgeError) as info:
        load_base(directory, overrides)
    errors = info.value.errors
    assert errors and all(isinstance(e, KbError) for e in errors)
    return errors


def single_error(directory: Path, overrides: dict[str, str] | None = None) -> KbError:
    """The one error of a base broken in one place (a broken file must not cascade into others)."""
    errors = load_errors(directory, overrides)
    assert len(errors) == 1, errors
    return errors[0]


def write(path: Path, text: str) -> str:
    text = textwrap.dedent(text).lstrip("\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text


def replace_once(path: Path, old: str, new: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {path}"
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return text


@pytest.fixture(scope="module")
def source_path() -> Path:
    if not SOURCE.is_file():
        msg = f"source report not available at {SOURCE}"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return SOURCE


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A copy of the real `knowledge/` to break; files are then named 'knowledge/…' in errors."""
    dest = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, dest, ignore=shutil.ignore_patterns("backups"))
    return dest


# A small self-contained base (the real sections, one entry of each kind) for the error tests that need no
# real entries: loading the whole base takes ~0.4 s, and there are many such tests.
SLIM_ENTRIES = {
    "indicators/zz-goc.yaml": """
        kind: indicator
        entries:
          - id: zz-goc
            title: Mục gốc
            section: p1.i.2
            subject: Một chỉ số gốc.
            figures: [{text: "85%"}]
    """,
    "targets.yaml": """
        kind: target
        entries:
          - id: zz-chi-tieu
            title: Chỉ tiêu thử
            section: p2.i.1
            year: 2024
            counts: số thử
            subject: Một chỉ tiêu thử.
            figures: [{text: "45"}]
            related: [zz-goc]
    """,
    "documents.yaml": """
        kind: document
        entries:
          - id: zz-nghi-quyet
            doc_type: Nghị quyết
            code: 45-NQ/TW
            subject: Một văn bản thử.
            cited_in: [{section: p2.i.2}]
    """,
}


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A slim base: the real sections.yaml and synonyms.yaml, and one entry of each kind."""
    dest = tmp_path / "knowledge"
    dest.mkdir()
    for name in ("sections.yaml", "synonyms.yaml"):
        shutil.copy(KNOWLEDGE / name, dest / name)
    for name, text in SLIM_ENTRIES.items():
        write(dest / name, text)
    return dest


# A valid extra indicator file; tests break one line of it.
EXTRA = """
kind: indicator
entries:
  - id: zz-muc-thu
    title: Mục thử
    section: p1.i.2
    subject: Một mục dùng để thử bộ nạp.
    figures:
      - {text: "3.482", unit: "đảng viên mới"}
    aliases: [zz bí danh thử]
"""


def extra(kb_dir: Path, old: str | None = None, new: str = "", name: str = "indicators/zz-thu.yaml") -> str:
    text = textwrap.dedent(EXTRA).lstrip("\n")
    if old is not None:
        assert old in text
        text = text.replace(old, new, 1)
    return write(kb_dir / name, text)


# ------------------------------------------------------------------------------------------ real base


def test_real_base_has_every_kind(kb: KnowledgeBase) -> None:
    for kind in ("indicator", "target", "document"):
        assert len(kb.of_kind(kind)) > 0, kind
    assert len(kb.sections) > 0
    assert len(kb.entries) == sum(len(kb.of_kind(k)) for k in ("indicator", "target", "document"))
    assert set(kb.files) == set(kb.entries)


def test_2024_targets_of_chi_tieu_cu_the(kb: KnowledgeBase) -> None:
    targets = [e for e in kb.of_kind("target") if e.year == 2024 and e.section == "p2.i.1"]
    assert len(targets) >= 12
    mains = sorted(next(f.text for f in t.figures if f.role == "value") for t in targets)
    assert mains == TARGETS_2024
    for t in targets:
        assert isinstance(t, Target)
        assert t.goal is not None, t.id
        assert t.related, f"{t.id}: a 2024 target links to the 2023 result"
        assert all(isinstance(kb.entries[r], Indicator) for r in t.related), t.id


def test_new_members_target_2024_range(kb: KnowledgeBase) -> None:
    t = kb.entries["chi-tieu-2024-ket-nap-dang-vien"]
    assert isinstance(t, Target) and t.year == 2024
    assert t.goal == (3800.0, 3900.0)


@pytest.mark.parametrize("code", CODES)
def test_cited_codes_are_documents(kb: KnowledgeBase, code: str) -> None:
    docs = [d for d in kb.of_kind("document") if d.code == code]
    assert len(docs) == 1, f"{code}: {len(docs)} documents"
    doc = docs[0]
    assert isinstance(doc, Document)
    assert doc.title == f"{doc.doc_type} số {code}"
    letters = {"NQ": "Nghị quyết", "KL": "Kết luận", "CT": "Chỉ thị", "KH": "Kế hoạch", "HD": "Hướng dẫn",
               "TB": "Thông báo", "CV": "Công văn"}
    m = re.search(r"[-/]([A-ZĐ]+)[-/]", code)
    if m and m.group(1) in letters:
        assert doc.doc_type == letters[m.group(1)], code


def test_documents_without_code(kb: KnowledgeBase) -> None:
    names = [(d.doc_type, d.name or "") for d in kb.of_kind("document") if not d.code]
    assert all(name for _, name in names), "a document without a code needs a name"

    def has(doc_type: str, *parts: str) -> bool:
        return any(t == doc_type and all(p in n for p in parts) for t, n in names)

    assert has("Nghị quyết", "Đại hội Đại biểu toàn quốc lần thứ XIII")
    assert has("Nghị quyết", "Đại hội Đảng bộ thành phố lần thứ XVI")
    assert has("Luật", "Luật Thực hiện dân chủ ở cơ sở")
    assert has("Luật", "Luật Hoạt động giám sát")
    assert has("Đề án", "phát triển đảng viên", "2023 - 2030")


def test_section_paths(kb: KnowledgeBase) -> None:
    assert kb.section_path("p1.i.2") == P1_I_2_PATH
    assert kb.section_path("p1") == "Phần thứ nhất"
    assert kb.section_path("p2.i.1") == "Phần thứ hai › I. Chỉ tiêu, nhiệm vụ cụ thể › 1. Chỉ tiêu cụ thể"
    assert kb.entry_section(kb.entries[NEW_MEMBERS]) == P1_I_2_PATH
    for sid in kb.sections:
        path = kb.section_path(sid)
        assert path.endswith(kb.sections[sid].title)
        assert path.startswith(("Phần thứ nhất", "Phần thứ hai", "Mở đầu", "Nơi nhận")), path


def test_footnote_entries_name_their_footnote(kb: KnowledgeBase) -> None:
    facts = [e for e in kb.entries.values() if not isinstance(e, Document) and e.footnote]
    cited = [(d, c) for d in kb.of_kind("document") for c in d.cited_in if c.footnote]
    assert facts and cited
    for e in facts:
        assert kb.entry_section(e) == f"{kb.section_path(e.section)}{PATH_SEP}chú thích {e.footnote}", e.id
    for d, c in cited:
        assert f"{kb.section_path(c.section)}{PATH_SEP}chú thích {c.footnote}" in kb.entry_section(d), d.id
    no_footnote = [e for e in kb.entries.values() if not isinstance(e, Document) and not e.footnote]
    assert all("chú thích" not in kb.entry_section(e) for e in no_footnote)


def test_new_members_figure(kb: KnowledgeBase) -> None:
    e = kb.entries[NEW_MEMBERS]
    fig = kb.figure(e)
    assert "3.482" in fig and "85%" in fig
    assert "4000 - 4100" in fig
    assert kb.files[NEW_MEMBERS] == f"knowledge/{NEW_MEMBERS_FILE}"


def test_document_figure_names_what_it_implements(kb: KnowledgeBase) -> None:
    kl = kb.entries["kl-01-kl-tw"]
    text = kb.figure(kl)
    assert text.startswith("Kết luận số 01-KL/TW ngày 18/5/2021 của Bộ Chính trị")
    assert "thực hiện Chỉ thị số 05-CT/TW" in text
    assert "kl-01-kl-tw" in kb.implemented_by["ct-05-ct-tw"]


def test_links_are_two_way(kb: KnowledgeBase) -> None:
    assert "chi-tieu-2024-ket-nap-dang-vien" in kb.links[NEW_MEMBERS]
    assert NEW_MEMBERS in kb.links["chi-tieu-2024-ket-nap-dang-vien"]
    n = 0
    for e in kb.entries.values():
        for ref in getattr(e, "related", []):
            assert ref in kb.links[e.id]
            assert e.id in kb.links[ref], f"{ref} does not link back to {e.id}"
            n += 1
    assert n > 0
    for parent, kids in kb.children.items():
        assert all(kb.entries[k].parent == parent for k in kids)  # type: ignore[union-attr]
    assert kb.children[NEW_MEMBERS]


# ------------------------------------------------------------------------------------------ bad files


def test_extra_file_is_valid(kb_copy: Path) -> None:
    """The fixture entry the tests below break is itself valid (so each error is the one we made)."""
    extra(kb_copy)
    base = load_base(kb_copy)
    assert base.files["zz-muc-thu"] == "knowledge/indicators/zz-thu.yaml"


def test_slim_base_is_valid(kb_dir: Path) -> None:
    extra(kb_dir)
    base = load_base(kb_dir)
    assert set(base.entries) == {"zz-goc", "zz-chi-tieu", "zz-nghi-quyet", "zz-muc-thu"}
    assert base.links == {"zz-chi-tieu": ["zz-goc"], "zz-goc": ["zz-chi-tieu"]}


def test_bad_yaml_names_file_and_line(kb_dir: Path) -> None:
    text = extra(kb_dir, "    section: p1.i.2\n", "    section: p1.i.2: oops\n")
    err = single_error(kb_dir)
    assert err.file == "knowledge/indicators/zz-thu.yaml"
    assert err.line == line_no(text, "oops")
    assert err.entry is None
    assert err.message.startswith("invalid YAML")


def test_bad_yaml_in_a_real_file(kb_copy: Path) -> None:
    text = replace_once(kb_copy / "targets.yaml", "    section: p2.i.1\n", "    section: p2.i.1: oops\n")
    err = single_error(kb_copy)
    assert (err.file, err.line) == ("knowledge/targets.yaml", line_no(text, "p2.i.1: oops"))
    assert "invalid YAML" in str(err) and f"knowledge/targets.yaml:{err.line}" in str(err)


def test_tab_indentation_is_bad_yaml(kb_dir: Path) -> None:
    text = extra(kb_dir, "    title: Mục thử\n", "\ttitle: Mục thử\n")
    err = single_error(kb_dir)
    assert (err.file, err.line) == ("knowledge/indicators/zz-thu.yaml", line_no(text, "\ttitle"))


def test_duplicate_key_is_bad_yaml(kb_dir: Path) -> None:
    text = extra(kb_dir, "    subject:", "    title: Lần hai\n    subject:")
    err = single_error(kb_dir)
    assert err.line == line_no(text, "Lần hai")
    assert "duplicate key 'title'" in err.message


def test_missing_required_field(kb_dir: Path) -> None:
    text = extra(kb_dir, "    subject: Một mục dùng để thử bộ nạp.\n", "")
    err = single_error(kb_dir)
    assert err.file == "knowledge/indicators/zz-thu.yaml"
    assert (err.entry, err.field) == ("zz-muc-thu", "subject")
    assert err.line == line_no(text, "- id: zz-muc-thu")  # the entry's line: the field is not there
    assert "required" in err.message.lower()


def test_missing_required_target_field_in_real_file(kb_copy: Path) -> None:
    text = (kb_copy / "targets.yaml").read_text(encoding="utf-8")
    start = text.index("  - id: chi-tieu-2024-thanh-lap-to-chuc-dang\n")
    counts = text.index("    counts:", start)
    end = text.index("\n", counts) + 1
    (kb_copy / "targets.yaml").write_text(text[:counts] + text[end:], encoding="utf-8")
    err = single_error(kb_copy)
    assert (err.file, err.entry, err.field) == (
        "knowledge/targets.yaml", "chi-tieu-2024-thanh-lap-to-chuc-dang", "counts")
    assert err.line == line_no(text, "- id: chi-tieu-2024-thanh-lap-to-chuc-dang")


def test_wrong_type(kb_dir: Path) -> None:
    text = extra(kb_dir, "    subject:", '    footnote: "abc"\n    subject:')
    err = single_error(kb_dir)
    assert (err.file, err.entry, err.field) == ("knowledge/indicators/zz-thu.yaml", "zz-muc-thu", "footnote")
    assert err.line == line_no(text, "footnote")
    assert "integer" in err.message


def test_wrong_type_through_overrides() -> None:
    """`overrides` validates replacement text without writing; the real directory stays untouched."""
    text = (KNOWLEDGE / "targets.yaml").read_text(encoding="utf-8")
    anchor = "  - id: chi-tieu-2024-ket-nap-dang-vien\n"
    broken = text.replace(anchor, anchor + "    footnote: abc\n", 1)
    err = single_error(KNOWLEDGE, {"targets.yaml": broken})
    assert (err.file, err.entry, err.field) == ("knowledge/targets.yaml", "chi-tieu-2024-ket-nap-dang-vien", "footnote")
    assert err.line == line_no(broken, "footnote: abc")
    assert (KNOWLEDGE / "targets.yaml").read_text(encoding="utf-8") == text  # nothing written


def test_override_of_a_new_file(kb_dir: Path) -> None:
    text = textwrap.dedent(EXTRA).lstrip("\n").replace('text: "3.482"', 'text: "không số"')
    err = single_error(kb_dir, {"indicators/zz-moi.yaml": text})
    assert (err.file, err.entry, err.field) == ("knowledge/indicators/zz-moi.yaml", "zz-muc-thu", "figures.0.text")
    assert err.line == line_no(text, "không số")
    assert not (kb_dir / "indicators/zz-moi.yaml").exists()


def test_figure_without_digit(kb_dir: Path) -> None:
    text = extra(kb_dir, 'text: "3.482"', 'text: "nhiều"')
    err = single_error(kb_dir)
    assert (err.entry, err.field, err.line) == ("zz-muc-thu", "figures.0.text", line_no(text, "nhiều"))
    assert "number" in err.message


def test_unknown_field(kb_dir: Path) -> None:
    text = extra(kb_dir, "    title: Mục thử\n", "    title: Mục thử\n    keywrods: [thử]\n")
    err = single_error(kb_dir)
    assert (err.file, err.entry, err.field) == ("knowledge/indicators/zz-thu.yaml", "zz-muc-thu", "keywrods")
    assert err.line == line_no(text, "keywrods")


def test_unknown_field_at_file_level(kb_dir: Path) -> None:
    text = extra(kb_dir, "kind: indicator\n", "kind: indicator\nkinds: target\n")
    err = single_error(kb_dir)
    assert (err.file, err.entry, err.field, err.line) == ("knowledge/indicators/zz-thu.yaml", None, "kinds", 2)
    assert text.splitlines()[1] == "kinds: target"


def test_bad_document_date_and_type(kb_dir: Path) -> None:
    text = write(kb_dir / "zz-docs.yaml", """
        kind: document
        entries:
          - id: zz-van-ban
            doc_type: Nghi quyet
            code: 999-KH/TU
            date: 2023-07-14
            subject: Thử.
            cited_in:
              - {section: p1.i.2}
    """)
    errors = load_errors(kb_dir)
    by_field = {e.field: e for e in errors}
    assert set(by_field) == {"doc_type", "date"}
    assert by_field["doc_type"].line == line_no(text, "doc_type")
    assert by_field["date"].line == line_no(text, "date:")
    assert all(e.entry == "zz-van-ban" and e.file == "knowledge/zz-docs.yaml" for e in errors)


def test_entry_of_another_kind(kb_dir: Path) -> None:
    text = extra(kb_dir, "    title: Mục thử\n", "    title: Mục thử\n    kind: target\n")
    err = single_error(kb_dir)
    assert (err.entry, err.field, err.line) == ("zz-muc-thu", "kind", line_no(text, "kind: target"))


def test_indicator_without_content(kb_dir: Path) -> None:
    text = extra(kb_dir, '    figures:\n      - {text: "3.482", unit: "đảng viên mới"}\n', "")
    err = single_error(kb_dir)
    assert (err.entry, err.field) == ("zz-muc-thu", None)
    assert err.line == line_no(text, "- id: zz-muc-thu")
    assert "figures" in err.message


def test_duplicate_id_across_two_files(kb_dir: Path) -> None:
    extra(kb_dir, name="indicators/zz-a.yaml")
    extra(kb_dir, "zz bí danh thử", "zz bí danh khác", name="indicators/zz-b.yaml")
    err = single_error(kb_dir)
    assert (err.file, err.entry, err.field) == ("knowledge/indicators/zz-b.yaml", "zz-muc-thu", "id")
    assert "knowledge/indicators/zz-a.yaml" in err.message  # names both files


def test_duplicate_of_a_real_id(kb_copy: Path) -> None:
    extra(kb_copy, "id: zz-muc-thu", f"id: {NEW_MEMBERS}")
    err = single_error(kb_copy)
    assert (err.file, err.entry, err.field) == ("knowledge/indicators/zz-thu.yaml", NEW_MEMBERS, "id")
    assert f"knowledge/{NEW_MEMBERS_FILE}" in err.message


@pytest.mark.parametrize(
    ("old", "new", "field", "missing"),
    [
        ("    aliases:", "    related: [zz-khong-ton-tai]\n    aliases:", "related.0", "zz-khong-ton-tai"),
        ("    aliases:", "    related: [zz-muc-thu]\n    aliases:", "related.0", "zz-muc-thu"),  # to itself
        ("    aliases:", "    parent: zz-khong-ton-tai\n    aliases:", "parent", "zz-khong-ton-tai"),
        ("    aliases:", "    parent: zz-chi-tieu\n    aliases:", "parent", "zz-chi-tieu"),
    ],
    ids=["related-missing", "related-self", "parent-missing", "parent-not-indicator"],
)
def test_dangling_link(kb_dir: Path, old: str, new: str, field: str, missing: str) -> None:
    extra(kb_dir, old, new)
    err = single_error(kb_dir)
    assert (err.file, err.entry, err.field) == ("knowledge/indicators/zz-thu.yaml", "zz-muc-thu", field)
    assert "dangling link" in err.message and missing in err.message


@pytest.mark.parametrize("ref", ["zz-khong-ton-tai", "zz-goc"], ids=["missing", "not-a-document"])
def test_dangling_implements(kb_dir: Path, ref: str) -> None:
    write(kb_dir / "zz-docs.yaml", f"""
        kind: document
        entries:
          - id: zz-van-ban
            doc_type: Kế hoạch
            code: 999-KH/TU
            subject: Thử.
            implements: [zz-nghi-quyet, {ref}]
            cited_in:
              - {{section: p1.i.2}}
    """)
    err = single_error(kb_dir)
    assert (err.file, err.entry, err.field) == ("knowledge/zz-docs.yaml", "zz-van-ban", "implements.1")
    assert ref in err.message


def test_unknown_section(kb_dir: Path) -> None:
    extra(kb_dir, "section: p1.i.2", "section: p1.i.99")
    err = single_error(kb_dir)
    assert (err.file, err.entry, err.field) == ("knowledge/indicators/zz-thu.yaml", "zz-muc-thu", "section")
    assert "p1.i.99" in err.message


def test_unknown_section_of_a_citation(kb_dir: Path) -> None:
    write(kb_dir / "zz-docs.yaml", """
        kind: document
        entries:
          - id: zz-van-ban
            doc_type: Kế hoạch
            code: 999-KH/TU
            subject: Thử.
            cited_in:
              - {section: p1.i.2}
              - {section: p9}
    """)
    err = single_error(kb_dir)
    assert (err.entry, err.field) == ("zz-van-ban", "cited_in.1.section")


def test_unknown_parent_section(kb_dir: Path) -> None:
    replace_once(kb_dir / "sections.yaml", "{id: p1.i.2, parent: p1.i,", "{id: p1.i.2, parent: p1.x,")
    err = single_error(kb_dir)
    assert (err.file, err.entry, err.field) == ("knowledge/sections.yaml", "p1.i.2", "parent")


def test_missing_sections_file(kb_dir: Path) -> None:
    (kb_dir / "sections.yaml").unlink()
    errors = load_errors(kb_dir)
    assert errors[0].file == "knowledge/sections.yaml" and "missing" in errors[0].message


def test_alias_collision_between_two_entries(kb_dir: Path) -> None:
    """Aliases collide in folded form: case and diacritics do not make them different."""
    write(kb_dir / "indicators/zz-thu.yaml", """
        kind: indicator
        entries:
          - id: zz-muc-mot
            title: Mục một
            section: p1.i.2
            subject: Mục thử một.
            figures: [{text: "3.482"}]
            aliases: [zz kết nạp thử nghiệm]
          - id: zz-muc-hai
            title: Mục hai
            section: p1.i.2
            subject: Mục thử hai.
            figures: [{text: "85%"}]
            aliases: [ZZ KET NAP THU NGHIEM]
    """)
    err = single_error(kb_dir)
    assert (err.file, err.entry, err.field) == ("knowledge/indicators/zz-thu.yaml", "zz-muc-hai", "aliases")
    assert "zz-muc-mot" in err.message


def test_backups_are_ignored(kb_dir: Path) -> None:
    write(kb_dir / "backups" / "old.yaml", "kind: [broken\n")
    load_base(kb_dir)


@pytest.mark.parametrize("case", ["duplicate", "dangling", "section", "alias"])
def test_link_errors_name_the_entry_line(kb_dir: Path, case: str) -> None:
    if case == "duplicate":
        extra(kb_dir, name="indicators/zz-a.yaml")
        text = extra(kb_dir, "zz bí danh thử", "zz bí danh khác", name="indicators/zz-b.yaml")
    elif case == "dangling":
        text = extra(kb_dir, "    aliases:", "    related: [zz-khong-ton-tai]\n    aliases:")
    elif case == "section":
        text = extra(kb_dir, "section: p1.i.2", "section: p1.i.99")
    else:
        extra(kb_dir, "zz-muc-thu", "zz-muc-a", name="indicators/zz-a.yaml")
        text = extra(kb_dir, name="indicators/zz-b.yaml")
    err = single_error(kb_dir)
    assert err.line == line_no(text, "- id: zz-muc-thu")


# ------------------------------------------------------------------------------------------ CLI


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("KNOWLEDGE_DIR", raising=False)


@pytest.mark.usefixtures("in_root")
def test_cli_check_real_base(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("knowledge base OK: ")
    assert err == ""


def test_cli_check_broken_copy(kb_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = extra(kb_copy, "    subject:", '    footnote: "abc"\n    subject:')
    assert main(["--knowledge", str(kb_copy), "check"]) == 1
    out, err = capsys.readouterr()
    assert "knowledge base OK" not in out
    line = line_no(text, "footnote")
    assert f"error: knowledge/indicators/zz-thu.yaml:{line}, entry 'zz-muc-thu', field 'footnote': " in err
    assert "1 error(s)" in err


def test_cli_knowledge_dir_from_environment(kb_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    extra(kb_dir, "section: p1.i.2", "section: p1.i.99")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(kb_dir))
    assert main(["check"]) == 1
    assert "p1.i.99" in capsys.readouterr().err


@pytest.mark.usefixtures("in_root")
def test_cli_kb_json(kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert isinstance(rows, list) and len(rows) == len(kb.entries)
    for row in rows:
        assert set(row) == {"id", "kind", "title", "figure", "section"}
        assert all(isinstance(v, str) and v for v in row.values()), row
    by_id = {r["id"]: r for r in rows}
    assert len(by_id) == len(rows)
    ket_nap = by_id[NEW_MEMBERS]
    assert ket_nap["kind"] == "indicator" and "3.482" in ket_nap["figure"] and ket_nap["section"] == P1_I_2_PATH
    assert by_id["nq-45-nq-tw"]["title"] == "Nghị quyết số 45-NQ/TW"


def test_cli_kb_broken_copy(kb_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra(kb_dir, "section: p1.i.2", "section: p1.i.99")
    assert main(["--knowledge", str(kb_dir), "kb", "--json"]) == 1
    assert "p1.i.99" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ against the source


def test_real_provenance(kb: KnowledgeBase, source_path: Path) -> None:
    report = load_source(kb, source_path)
    assert set(report.sections) == set(kb.sections)
    assert check_provenance(kb, report) == []


def test_real_coverage(kb: KnowledgeBase, source_path: Path) -> None:
    cov = check_coverage(kb, load_source(kb, source_path))
    assert cov.total > 100
    assert cov.ratio >= 0.98, [f"{f.where}: {f.text}" for f in cov.uncovered]
    assert cov.unused_exclusions == []


@pytest.mark.usefixtures("in_root")
def test_cli_check_source_coverage(kb: KnowledgeBase, source_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--source", str(source_path), "--coverage"]) == 0
    out, err = capsys.readouterr()
    assert "provenance: every figure appears" in out
    m = re.search(r"^coverage: (\d+)/(\d+) \(", out, re.M)
    assert m, out
    covered, total = int(m.group(1)), int(m.group(2))
    assert total > 0 and covered / total >= 0.98
    cov = check_coverage(kb, load_source(kb, source_path))
    assert (covered, total) == (cov.covered, cov.total)
    for fig in cov.uncovered:  # every uncovered figure is reported
        assert f"uncovered: {fig.where}: {fig.text}" in out
    assert "error" not in err


def test_provenance_figure_not_in_section(kb_copy: Path, source_path: Path) -> None:
    replace_once(kb_copy / NEW_MEMBERS_FILE, '{text: "3.482", unit: "đảng viên mới"}',
                 '{text: "9.999", unit: "đảng viên mới"}')
    base = load_base(kb_copy)
    errors = check_provenance(base, load_source(base, source_path))
    assert len(errors) == 1, errors
    err = errors[0]
    assert (err.file, err.entry, err.field) == (f"knowledge/{NEW_MEMBERS_FILE}", NEW_MEMBERS, "figures.0.text")
    assert "9.999" in err.message and "p1.i.2" in err.message


def test_provenance_footnote_of_another_section(kb: KnowledgeBase, kb_copy: Path, source_path: Path) -> None:
    report = load_source(kb, source_path)
    fn = min(n for n, owner in report.footnote_section.items() if owner != "p1.i.2")
    extra(kb_copy, "    subject:", f"    footnote: {fn}\n    subject:")
    base = load_base(kb_copy)
    errors = check_provenance(base, load_source(base, source_path))
    assert [(e.file, e.entry, e.field) for e in errors] == [
        ("knowledge/indicators/zz-thu.yaml", "zz-muc-thu", "footnote")]
    assert f"footnote {fn} is marked in section {report.footnote_section[fn]!r}" in errors[0].message


def test_cli_check_source_broken(kb_copy: Path, source_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = replace_once(kb_copy / NEW_MEMBERS_FILE, '{text: "3.482", unit: "đảng viên mới"}',
                        '{text: "9.999", unit: "đảng viên mới"}')
    assert main(["--knowledge", str(kb_copy), "check", "--source", str(source_path)]) == 1
    err = capsys.readouterr().err
    line = line_no(text, '"9.999"')  # the line of the figure itself, not only of its entry
    assert f"error: knowledge/{NEW_MEMBERS_FILE}:{line}, entry '{NEW_MEMBERS}', field 'figures.0.text': '9.999'" in err
    assert "provenance: 1 error(s)" in err


# ------------------------------------------------------------------------------------------ mini report

MINI_REPORT = """
# BÁO CÁO THỬ

Năm 2023 là năm bản lề, có 99 điều không thuộc mục nào.

## Phần thứ nhất

### 1. Công tác tổ chức

Năm 2023 kết nạp **120** đảng viên mới, đạt 95% kế hoạch<sup>1</sup>; thành lập 7 chi bộ.

### 2. Công tác kiểm tra

(1) Kiểm tra 15 tổ chức đảng và 3.482 đảng viên trong nhiệm kỳ 2020 - 2025.

<sup>1</sup> Trong đó 30 đảng viên nữ, 12,5% là đoàn viên.
"""

MINI_SECTIONS = """
sections:
  - {id: p1, title: "Phần thứ nhất", anchor: "Phần thứ nhất"}
  - {id: p1.1, parent: p1, title: "1. Công tác tổ chức", anchor: "1. Công tác tổ chức"}
  - {id: p1.2, parent: p1, title: "2. Công tác kiểm tra", anchor: "2. Công tác kiểm tra"}
"""

MINI_INDICATORS = """
kind: indicator
entries:
  - id: ket-nap
    title: Kết nạp đảng viên
    section: p1.1
    subject: Đảng viên mới kết nạp trong năm.
    figures: [{text: "120"}, {text: "95%", role: percent_of_plan}]
  - id: ket-nap-nu
    title: Đảng viên nữ mới
    section: p1.1
    footnote: 1
    subject: Đảng viên mới là nữ và là đoàn viên.
    figures: [{text: "30"}, {text: "12,5%"}]
    parent: ket-nap
  - id: kiem-tra
    title: Kiểm tra tổ chức đảng
    section: p1.2
    subject: Tổ chức đảng được kiểm tra.
    figures: [{text: "15"}]
"""


@pytest.fixture
def mini(tmp_path: Path) -> tuple[Path, Path]:
    """(knowledge dir, report) of a two-section report with one footnote."""
    kb_dir = tmp_path / "kb"
    write(kb_dir / "sections.yaml", MINI_SECTIONS)
    write(kb_dir / "indicators.yaml", MINI_INDICATORS)
    report = tmp_path / "report.md"
    report.write_text(textwrap.dedent(MINI_REPORT).lstrip("\n"), encoding="utf-8")
    return kb_dir, report


def test_mini_source_figures_skip_years_headings_enumerators(mini: tuple[Path, Path]) -> None:
    kb_dir, report_path = mini
    base = load_base(kb_dir)
    report = load_source(base, report_path)
    assert report.footnote_section == {1: "p1.1"}
    assert report.footnote_text(1) == "Trong đó 30 đảng viên nữ, 12,5% là đoàn viên."
    figures = sorted((f.where, f.text) for f in source_figures(report))
    assert figures == sorted([
        ("p1.1", "120"), ("p1.1", "95%"), ("p1.1", "7"),
        ("p1.1 fn1", "30"), ("p1.1 fn1", "12,5%"),
        ("p1.2", "15"), ("p1.2", "3.482"),
    ])  # not: 2023 and 2020 - 2025 (years), "1"/"2" (headings), "(1)", 99 (before the first section)


def test_mini_provenance(mini: tuple[Path, Path]) -> None:
    kb_dir, report_path = mini
    base = load_base(kb_dir)
    assert base.entry_section(base.entries["ket-nap-nu"]) == "Phần thứ nhất › 1. Công tác tổ chức › chú thích 1"
    assert check_provenance(base, load_source(base, report_path)) == []


def test_mini_coverage_lists_uncovered(mini: tuple[Path, Path]) -> None:
    kb_dir, report_path = mini
    base = load_base(kb_dir)
    cov = check_coverage(base, load_source(base, report_path))
    assert sorted((f.where, f.text) for f in cov.uncovered) == [("p1.1", "7"), ("p1.2", "3.482")]
    assert (cov.covered, cov.total, cov.excluded) == (5, 7, 0)
    assert cov.ratio == pytest.approx(5 / 7)
    seven = next(f for f in cov.uncovered if f.text == "7")
    assert "thành lập 7 chi bộ" in seven.context


def test_mini_coverage_is_per_section(mini: tuple[Path, Path]) -> None:
    """A figure held by an entry of another section does not cover it (nor does a footnote's)."""
    kb_dir, report_path = mini
    text = (kb_dir / "indicators.yaml").read_text(encoding="utf-8")
    text += '  - {id: sai-muc, title: Sai mục, section: p1.1, subject: Thử., figures: [{text: "3.482"}, {text: "7"}]}\n'
    (kb_dir / "indicators.yaml").write_text(text, encoding="utf-8")
    base = load_base(kb_dir)
    report = load_source(base, report_path)
    cov = check_coverage(base, report)
    assert [(f.where, f.text) for f in cov.uncovered] == [("p1.2", "3.482")]
    errors = check_provenance(base, report)
    assert [(e.entry, e.field) for e in errors] == [("sai-muc", "figures.0.text")]


def test_mini_exclusion_removes_a_figure(mini: tuple[Path, Path]) -> None:
    kb_dir, report_path = mini
    write(kb_dir / "exclusions.yaml", """
        exclusions:
          - {figure: "7", section: p1.1, reason: thử loại trừ}
          - {figure: "7", section: p1.2, reason: không khớp gì}
    """)
    base = load_base(kb_dir)
    cov = check_coverage(base, load_source(base, report_path))
    assert [(f.where, f.text) for f in cov.uncovered] == [("p1.2", "3.482")]
    assert (cov.covered, cov.total, cov.excluded) == (5, 6, 1)
    assert cov.unused_exclusions == ["7 (p1.2 fn)"]


def test_mini_footnote_of_another_section(mini: tuple[Path, Path]) -> None:
    kb_dir, report_path = mini
    replace_once(kb_dir / "indicators.yaml", "    section: p1.2\n", "    section: p1.2\n    footnote: 1\n")
    base = load_base(kb_dir)
    errors = check_provenance(base, load_source(base, report_path))
    assert len(errors) == 1
    err = errors[0]
    assert (err.file, err.entry, err.field) == ("kb/indicators.yaml", "kiem-tra", "footnote")
    assert "footnote 1 is marked in section 'p1.1', not 'p1.2'" in err.message


def test_mini_missing_footnote_and_document_code(mini: tuple[Path, Path]) -> None:
    kb_dir, report_path = mini
    write(kb_dir / "documents.yaml", """
        kind: document
        entries:
          - id: kh-12
            doc_type: Kế hoạch
            code: 12-KH/TU
            subject: Kế hoạch thử.
            cited_in:
              - {section: p1.2}
              - {section: p1.1, footnote: 5}
    """)
    base = load_base(kb_dir)
    errors = check_provenance(base, load_source(base, report_path))
    assert sorted((e.entry, e.field) for e in errors) == [("kh-12", "cited_in.1"), ("kh-12", "code")]
    assert any("footnote 5 does not exist" in e.message for e in errors)


def test_mini_cli_coverage_gate(mini: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    kb_dir, report_path = mini
    args = ["--knowledge", str(kb_dir), "check", "--source", str(report_path), "--coverage"]
    assert main(args) == 1  # 5/7 is below the default 98%
    out, err = capsys.readouterr()
    assert "coverage: 5/7 (71.4%)" in out
    assert "uncovered: p1.1: 7" in out and "uncovered: p1.2: 3.482" in out
    assert "coverage below 98%" in err
    assert main([*args, "--min-coverage", "0.5"]) == 0


def test_mini_anchor_not_found(mini: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    kb_dir, report_path = mini
    replace_once(kb_dir / "sections.yaml", 'anchor: "2. Công tác kiểm tra"', 'anchor: "2. Công tác không có"')
    assert main(["--knowledge", str(kb_dir), "check", "--source", str(report_path)]) == 1
    assert "anchor '2. Công tác không có' not found" in capsys.readouterr().err
