"""The draft as YAML (a small emitter of its own, for a stable, readable layout)."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from bot.knowledge.extract.data import DRAFT_HEADER, DRAFT_ONLY, Draft

_PLAIN = re.compile(r"^[a-z][a-z0-9._\-]*$")
_RESERVED = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "none"}


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    s = str(v)
    if _PLAIN.match(s) and s not in _RESERVED:
        return s
    return json.dumps(s, ensure_ascii=False)


def _flow(d: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in d.items()) + "}"


def _block(d: dict[str, Any], indent: str) -> list[str]:
    """A mapping as block YAML under a '- ' list item; lists of mappings as flow items."""
    lines: list[str] = []
    first = True
    for k, v in d.items():
        lead = f"{indent}- " if first else f"{indent}  "
        first = False
        if isinstance(v, list):
            if not v:
                lines.append(f"{lead}{k}: []")
                continue
            lines.append(f"{lead}{k}:")
            for item in v:
                lines.append(f"{indent}    - {_flow(item) if isinstance(item, dict) else _scalar(item)}")
        else:
            lines.append(f"{lead}{k}: {_scalar(v)}")
    return lines


def render_yaml(draft: Draft) -> str:
    """The draft as YAML: a header comment, then sections, documents, indicators, targets."""
    data = draft.to_data()
    out = [DRAFT_HEADER.format(source=draft.source or "a report").rstrip("\n")]
    meta = data["draft"]
    out.append("draft:")
    out.append(f"  source: {_scalar(meta['source'])}")
    out.append(f"  report: {_scalar(meta['report'])}")
    if meta["warnings"]:
        out.append("  warnings:")
        out.extend(f"    - {_scalar(w)}" for w in meta["warnings"])
    else:
        out.append("  warnings: []")
    n_sec = len(data["sections"])
    out.append(f"\n# {n_sec} sections: anchors are searched in order in the report's cleaned text.")
    out.append("sections:")
    for s in data["sections"]:
        out.append(f"  - {_flow(s)}")
    for key, what in (("documents", "documents (merged by code, or by name when the report gives none)"),
                      ("indicators", "indicator drafts (one per clause stating figures)"),
                      ("targets", "target drafts (figures under a 'chỉ tiêu' heading)")):
        items = data[key]
        out.append(f"\n# {len(items)} {what}")
        if not items:
            out.append(f"{key}: []")
            continue
        out.append(f"{key}:")
        for item in items:
            out.extend(_block(item, "  "))
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
