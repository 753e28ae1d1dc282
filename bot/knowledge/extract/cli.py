"""`python -m bot extract`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.knowledge.extract.comparison import compare
from bot.knowledge.extract.draft import extract
from bot.knowledge.extract.render import render_yaml
from bot.knowledge.source import (
    SourceError,
    read_text,
)


def run_extract(args: argparse.Namespace) -> int:
    """`python -m bot extract FILE [--out DRAFT.yaml] [--no-compare]`: write the draft, print the comparison."""
    path = Path(args.file)
    try:
        text = read_text(path, "the report")
        draft = extract(text, source=str(path))
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rendered = render_yaml(draft)
    out_path = getattr(args, "out", None)
    info = sys.stdout if out_path else sys.stderr
    if out_path:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        Path(out_path).write_text(rendered, encoding="utf-8")
    else:
        sys.stdout.write(rendered)
    n_fig = sum(len(f.figures) for f in draft.facts)
    n_ind = sum(f.kind == "indicator" for f in draft.facts)
    print(f"draft{' ' + str(out_path) if out_path else ''}: {len(draft.sections)} sections, "
          f"{len(draft.documents)} documents ({sum(1 for d in draft.documents if d.code)} with a code), "
          f"{n_ind} indicator drafts, {len(draft.facts) - n_ind} target drafts, {n_fig} figures", file=info)
    for w in draft.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not getattr(args, "compare", True):
        return 0
    from bot.knowledge.base import load_base
    from bot.knowledge.errors import KnowledgeError

    settings = getattr(args, "settings", None)  # set by the CLI: --knowledge, KNOWLEDGE_DIR, .env
    chosen = settings.knowledge_dir if settings is not None else getattr(args, "knowledge", None)
    directory = Path(chosen or "knowledge")
    try:
        kb = load_base(directory)
    except KnowledgeError as exc:
        print(f"error: cannot compare, the curated base does not load: {exc}", file=sys.stderr)
        return 1
    for line in compare(draft, kb).summary():
        print(line, file=info)
    return 0
