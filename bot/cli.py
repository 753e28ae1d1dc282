"""Command-line interface: check, kb, extract, ask, chat, run, bench."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.knowledge.base import KnowledgeBase, load_base
from bot.knowledge.errors import KnowledgeError
from bot.knowledge.source import DEFAULT_REPORT as DEFAULT_SOURCE
from bot.knowledge.source import SourceError


def knowledge_dir(args: argparse.Namespace) -> Path:
    """The knowledge directory: --knowledge, else $KNOWLEDGE_DIR, else ./knowledge."""
    return Path(args.knowledge or os.environ.get("KNOWLEDGE_DIR") or "knowledge")


def _load(args: argparse.Namespace) -> KnowledgeBase:
    return load_base(knowledge_dir(args))


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the base; with --source check provenance, with --coverage list uncovered figures."""
    from bot.knowledge.provenance import check_coverage, check_provenance, load_source

    try:
        kb = _load(args)
    except KnowledgeError as exc:
        for e in exc.errors:
            print(f"error: {e}", file=sys.stderr)
        print(f"{len(exc.errors)} error(s)", file=sys.stderr)
        return 1
    counts = {k: len(kb.of_kind(k)) for k in ("indicator", "target", "document")}
    print(f"knowledge base OK: {len(kb.entries)} entries ({', '.join(f'{v} {k}s' for k, v in counts.items())}), "
          f"{len(kb.sections)} sections")
    if not (args.source or args.coverage):
        return 0
    source = Path(args.source) if args.source else DEFAULT_SOURCE
    try:
        report = load_source(kb, source)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    status = 0
    errors = check_provenance(kb, report)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        print(f"provenance: {len(errors)} error(s)", file=sys.stderr)
        status = 1
    else:
        print("provenance: every figure appears in the section or footnote it cites")
    if args.coverage:
        cov = check_coverage(kb, report)
        for fig in cov.uncovered:
            print(f"uncovered: {fig.where}: {fig.text}  «{fig.context}»")
        for x in cov.unused_exclusions:
            print(f"warning: exclusion matches nothing: {x}", file=sys.stderr)
        print(f"excluded: {cov.excluded} (by rule: heading numbers, bare years, enumerators; by list: knowledge/exclusions.yaml)")
        print(f"coverage: {cov.covered}/{cov.total} ({cov.ratio:.1%})")
        if cov.ratio < args.min_coverage:
            print(f"error: coverage below {args.min_coverage:.0%}", file=sys.stderr)
            status = 1
    return status


def cmd_kb(args: argparse.Namespace) -> int:
    """Print the knowledge base's entries (JSON with --json)."""
    try:
        kb = _load(args)
    except KnowledgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rows = [
        {"id": e.id, "kind": e.kind, "title": e.title, "figure": kb.figure(e), "section": kb.entry_section(e)}
        for e in kb.entries.values()
    ]
    if args.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        for r in rows:
            print(f"[{r['kind']}] {r['id']}: {r['title']} — {r['figure']}\n    {r['section']}")
        print(f"{len(rows)} entries")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    p = argparse.ArgumentParser(prog="python -m bot", description="Hải Phòng party-building report bot")
    p.add_argument("--knowledge", help="knowledge directory (default: $KNOWLEDGE_DIR or ./knowledge)")
    p.add_argument("--report", help="the report file whose sentences are quoted (default: $REPORT_PATH or "
                                    f"{DEFAULT_SOURCE})")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("check", help="validate the knowledge base (schema, links, provenance, coverage)")
    c.add_argument("--source", help=f"source report to check provenance against (default {DEFAULT_SOURCE})")
    c.add_argument("--coverage", action="store_true", help="list source figures no entry holds")
    c.add_argument("--min-coverage", type=float, default=0.98, help="fail below this coverage (default 0.98)")
    c.set_defaults(func=cmd_check)

    k = sub.add_parser("kb", help="print the knowledge base's entries")
    k.add_argument("--json", action="store_true", help="one JSON list")
    k.set_defaults(func=cmd_kb)

    _register_more(sub)
    return p


def _register_more(sub: argparse._SubParsersAction) -> None:
    """Subcommands that live in other modules (they import heavier dependencies lazily)."""
    from bot import commands

    commands.register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error of ours.
        sys.stderr.close()
        return 0
