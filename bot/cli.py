"""Command-line interface: check, kb, extract, ask, chat, run, doctor, backup, restore.

Every command reads ONE settings object (``.env``, then the environment, then the global flags
``--knowledge``, ``--report`` and ``--debug``, which may stand before or after the command), so
``check`` checks the base that ``run`` serves. A failure the user can fix ends in one line
(``bot.failure``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.failure import OperatorError
from bot.knowledge.base import KnowledgeBase, load_base
from bot.knowledge.errors import KnowledgeError
from bot.knowledge.source import DEFAULT_REPORT as DEFAULT_SOURCE
from bot.settings import Settings, SettingsError, load_settings


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings of this run: .env, then the environment, then --knowledge/--report/--debug."""
    settings = getattr(args, "settings", None)
    if settings is None:
        settings = args.settings = load_cli_settings(args)
    return settings


def load_cli_settings(args: argparse.Namespace) -> Settings:
    """Read the settings with the global flags on top (raises SettingsError, one line)."""
    overrides: dict[str, Any] = {}  # settings fields, as load_settings takes them
    if getattr(args, "knowledge", None):
        overrides["knowledge_dir"] = Path(args.knowledge)
    if getattr(args, "report", None):
        overrides["report_path"] = Path(args.report)
    if getattr(args, "debug", False):
        overrides["log_level"] = "DEBUG"
    return load_settings(**overrides)


def knowledge_dir(args: argparse.Namespace) -> Path:
    """The knowledge directory: --knowledge, else KNOWLEDGE_DIR (environment or .env), else ./knowledge."""
    return Path(settings_of(args).knowledge_dir)


def check_command(args: argparse.Namespace) -> str:
    """`python -m bot check` with the flags this run was given: it then checks the same base."""
    flags = "".join(f" --{name} {getattr(args, name)}" for name in ("knowledge", "report") if getattr(args, name, None))
    return f"python -m bot{flags} check"


def _load(args: argparse.Namespace) -> KnowledgeBase:
    return load_base(knowledge_dir(args))


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the base and check every figure against the report (REPORT_PATH, or --source;
    --no-source skips it); with --coverage list the report's figures no entry holds."""
    from bot.knowledge.provenance import check_coverage, verify_against_report

    if args.no_source and (args.source or args.coverage):
        raise OperatorError("--no-source cannot go with --source or --coverage (they need the report)", 2)
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
    if args.no_source:
        return 0
    source = Path(args.source) if args.source else Path(settings_of(args).report_path)
    verified = verify_against_report(kb, source)
    if verified.unreadable:
        where = "--source" if args.source else "REPORT_PATH (or --report)"
        raise OperatorError(f"{verified.unreadable}; point {where} at the report, "
                            "or pass --no-source to check the knowledge files only")
    status = 0
    errors = verified.errors
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        print(f"provenance: {len(errors)} error(s) against {source}", file=sys.stderr)
        status = 1
    else:
        print(f"provenance: every figure appears in the section or footnote it cites ({source})")
    report = verified.report
    if args.coverage and report is not None:
        cov = check_coverage(kb, report)
        for fig in cov.uncovered:
            print(f"uncovered: {fig.where}: {fig.text}  «{fig.context}»")
        for x in cov.unused_exclusions:
            print(f"warning: exclusion matches nothing: {x}", file=sys.stderr)
        print(f"excluded: {cov.excluded} (by rule: heading numbers, bare years, enumerators;"
              " by list: knowledge/exclusions.yaml)")
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
    p = argparse.ArgumentParser(
        prog="python -m bot", description="Hải Phòng party-building report bot",
        epilog="Settings come from .env, then the environment (see .env.example); the global options "
               "may also follow the command.")
    add_global_options(p, top=True)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("check", help="validate the knowledge base and check its figures against the report")
    c.add_argument("--source", help="the report to check the figures against (default: REPORT_PATH, "
                                    f"else {DEFAULT_SOURCE})")
    c.add_argument("--no-source", action="store_true", help="check the knowledge files only, not their figures")
    c.add_argument("--coverage", action="store_true", help="list source figures no entry holds")
    c.add_argument("--min-coverage", type=float, default=0.98, help="fail below this coverage (default 0.98)")
    c.set_defaults(func=cmd_check)

    k = sub.add_parser("kb", help="print the knowledge base's entries")
    k.add_argument("--json", action="store_true", help="one JSON list")
    k.set_defaults(func=cmd_kb)

    _register_more(sub)
    for command in sub.choices.values():
        add_global_options(command, top=False)
    return p


def add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--knowledge, --report, --debug: on the program and on every command. A command's copy
    defaults to SUPPRESS, so a flag given before the command is not reset by the command's parser."""
    unset = None if top else argparse.SUPPRESS
    parser.add_argument("--knowledge", metavar="DIR", default=unset,
                        help="knowledge directory (default: KNOWLEDGE_DIR, else ./knowledge)")
    parser.add_argument("--report", metavar="FILE", default=unset,
                        help=f"the report the bot quotes and checks figures against (default: REPORT_PATH, "
                             f"else {DEFAULT_SOURCE})")
    parser.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="log at DEBUG and show the traceback of a failure")


def _register_more(sub: argparse._SubParsersAction) -> None:
    """Subcommands that live in other modules (they import heavier dependencies lazily)."""
    from bot import commands

    commands.register(sub)


def _debugging(args: argparse.Namespace) -> bool:
    settings = getattr(args, "settings", None)
    if settings is not None:
        return settings.log_level == "DEBUG"
    return bool(getattr(args, "debug", False)) or os.environ.get("LOG_LEVEL", "").strip().upper() == "DEBUG"


def fail(message: str, code: int) -> int:
    """Print the one line of a failure; return its exit code."""
    print(f"error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code. A failure prints one line (see bot.failure)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.settings = None
    try:
        try:
            args.settings = load_cli_settings(args)
        except SettingsError as exc:
            if not getattr(args, "tolerates_bad_settings", False):  # doctor reports it as a ✗ line
                return fail(str(exc), 2)
            args.settings_error = str(exc)
        return int(args.func(args) or 0)
    except BrokenPipeError as exc:
        if getattr(args, "command", None) in ("run", "run-or-chat"):
            # The bot prints nothing worth piping: a broken pipe here is a failure (a socket, a
            # closed log), and a supervisor must see a non-zero exit to restart it.
            try:
                return fail(f"BrokenPipeError: {' '.join(str(exc).split())[:200]}", 1)
            except OSError:  # stderr is the broken pipe: nothing can be printed, the exit code says it
                return 1
        # Output piped into `head` and closed early: not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    except OperatorError as exc:
        if _debugging(args):
            traceback.print_exc()
        return fail(exc.message, exc.code)
    except Exception as exc:  # noqa: BLE001 - a bug: still one line, the traceback when debugging
        if _debugging(args):
            traceback.print_exc()
        detail = " ".join(str(exc).split())[:300]
        return fail(f"unexpected {type(exc).__name__}: {detail} (run again with --debug for the traceback)", 1)
