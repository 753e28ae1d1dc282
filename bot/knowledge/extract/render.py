"""The draft as YAML: PyYAML's safe dumper, in the draft's layout (comments, one block per entry)."""

from __future__ import annotations

from typing import Any

import yaml

from bot.knowledge.extract.data import DRAFT_HEADER, DRAFT_ONLY, Draft


class _DraftDumper(yaml.SafeDumper):
    """The safe dumper, with a list under a key indented ('  - …') and multi-line text as a block."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_DraftDumper.add_representer(str, _str)


def _dump(data: Any) -> str:
    """Block YAML, mappings and lists of plain values in flow style, never wrapped."""
    return yaml.dump(data, Dumper=_DraftDumper, allow_unicode=True, sort_keys=False,
                     default_flow_style=None, width=1 << 20).rstrip("\n")


def render_yaml(draft: Draft) -> str:
    """The draft as YAML: a header comment, then sections, documents, indicators, targets."""
    data = draft.to_data()
    out = [DRAFT_HEADER.format(source=draft.source or "a report").rstrip("\n"), _dump({"draft": data["draft"]})]
    n_sec = len(data["sections"])
    out.append(f"\n# {n_sec} sections: anchors are searched in order in the report's cleaned text.")
    out.append(_dump({"sections": data["sections"]}))
    for key, what in (("documents", "documents (merged by code, or by name when the report gives none)"),
                      ("indicators", "indicator drafts (one per clause stating figures)"),
                      ("targets", "target drafts (figures under a 'chỉ tiêu' heading)")):
        items = data[key]
        out.append(f"\n# {len(items)} {what}")
        if not items:
            out.append(f"{key}: []")
            continue
        out.append(f"{key}:")
        for item in items:  # one block per entry, a blank line after each
            out.append("  " + _dump([item]).replace("\n", "\n  "))
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def draft_files(data: dict[str, Any]) -> dict[str, str]:
    """Knowledge-directory files (name → YAML text) from draft data, without the draft-only fields.

    The result can be validated with `load_base(directory, overrides=draft_files(data))`.
    """
    def strip(entry: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in entry.items() if k not in DRAFT_ONLY}

    files = {"sections.yaml": yaml.safe_dump({"sections": [strip(s) for s in data["sections"]]},
                                             allow_unicode=True, sort_keys=False)}
    for key, kind in (("documents", "document"), ("indicators", "indicator"), ("targets", "target")):
        if data.get(key):
            files[f"{key}.yaml"] = yaml.safe_dump({"kind": kind, "entries": [strip(e) for e in data[key]]},
                                                  allow_unicode=True, sort_keys=False)
    return files
