"""Subcommands beyond check/kb; each imports what it needs only when run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _engine(args: argparse.Namespace):
    """The engine as the bot serves it (see bot.services.loading): the settings' base, its figures
    checked against the report, the report's sentences. A base that does not load is one line."""
    from bot.cli import check_command, settings_of
    from bot.failure import invalid_base
    from bot.knowledge.errors import KnowledgeError
    from bot.services.loading import load_engine

    settings = settings_of(args)
    try:
        loaded = load_engine(settings.knowledge_dir, settings.report_path)
    except KnowledgeError as exc:
        raise invalid_base(settings.knowledge_dir, exc, check_command(args)) from exc
    if loaded.warning:
        print(f"cảnh báo: REPORT_PATH={settings.report_path}: {loaded.warning}", file=sys.stderr)
    return loaded.engine


def _input_lines(path: str, option: str) -> list[str]:
    """The lines of a --batch/--dialogue file; a missing file or a folder is one line."""
    from bot.failure import OperatorError
    from bot.knowledge.source import SourceError, read_text

    try:
        return read_text(Path(path), "a text file of questions").splitlines()
    except SourceError as exc:
        raise OperatorError(f"{option}: {exc}", 1) from exc


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question, or a batch file (one question a line), as text or JSON."""
    from bot.failure import OperatorError

    # The input is read before the (slower) engine is built: a wrong path fails at once.
    dialogues = _input_lines(args.dialogue, "--dialogue") if args.dialogue else None
    if dialogues is None:
        if args.batch:
            lines = _input_lines(args.batch, "--batch")
        elif args.question:
            lines = [" ".join(args.question)]
        else:
            raise OperatorError("give a question, or --batch FILE (one question a line)", 2)
    engine = _engine(args)
    if dialogues is not None:
        return _ask_dialogues(engine, dialogues, args)
    out = sys.stdout
    for line in lines:
        answer = engine.ask(line)
        if args.json:
            out.write(json.dumps(answer.to_json(), ensure_ascii=False) + "\n")
        else:
            out.write(answer.text + "\n\n")
    return 0


def _ask_dialogues(engine, lines: list[str], args: argparse.Namespace) -> int:
    """Conversations (one JSON object a line: id, turns with q): one answer a turn, each turn
    answered in the context of the conversation's earlier ones."""
    out = sys.stdout
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            conv = json.loads(line)
            turns = [str(t["q"]) for t in conv["turns"]]
        except (ValueError, KeyError, TypeError) as exc:
            print(f"error: {args.dialogue}:{n}: not a conversation ({{\"id\", \"turns\": [{{\"q\"}}]}}): {exc}",
                  file=sys.stderr)
            return 1
        context = None
        for i, q in enumerate(turns, 1):
            answer = engine.ask(q, context)
            context = answer.context
            if args.json:
                row = {**answer.to_json(), "dialogue": conv.get("id"), "turn": i}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                out.write(f"[{conv.get('id')} #{i}] {q}\n{answer.text}\n\n")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """Interactive terminal chat on the same engine."""
    from bot.transports.terminal import run_chat

    return run_chat(_engine(args))


def cmd_extract(args: argparse.Namespace) -> int:
    """Draft knowledge-base YAML from a report; compare it with the curated base."""
    from bot.knowledge.extract import run_extract

    return run_extract(args)


def cmd_run(args: argparse.Namespace) -> int:
    """Start the Telegram bot (long polling, or a webhook when WEBHOOK_URL is set)."""
    from bot.cli import settings_of
    from bot.transports.telegram.app import run_bot

    return run_bot(settings_of(args))


def cmd_run_or_chat(args: argparse.Namespace) -> int:
    """`make run`: the Telegram bot when a token is configured, else the terminal chat."""
    from bot.cli import settings_of

    if settings_of(args).telegram_bot_token is not None:
        return cmd_run(args)
    print("TELEGRAM_BOT_TOKEN chưa được cấu hình: chạy chế độ trò chuyện trên terminal.", file=sys.stderr)
    return cmd_chat(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the installation: one ✓/✗ line per check (see bot.doctor)."""
    from bot.doctor import doctor

    return doctor(args)


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy the database with SQLite's online backup API (safe while the bot runs)."""
    from bot.cli import settings_of
    from bot.failure import OperatorError
    from bot.services.operations import DatabaseProblem, backup_database

    try:
        done = backup_database(Path(settings_of(args).database_path), Path(args.file) if args.file else None)
    except DatabaseProblem as exc:
        raise OperatorError(str(exc), 1) from exc
    print(f"backup: {done.path} ({done.size:,} bytes, schema v{done.schema_version}, integrity ok)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Replace the database with a backup (checked first; the current one is backed up first)."""
    import asyncio

    from bot.cli import settings_of
    from bot.failure import OperatorError
    from bot.services.operations import DatabaseProblem, probe_database, restore_database

    database = Path(settings_of(args).database_path)
    try:
        before = restore_database(Path(args.file), database)
        status = asyncio.run(probe_database(database))  # migrates an older backup to this version
    except DatabaseProblem as exc:
        raise OperatorError(str(exc), 1) from exc
    if before is not None:
        print(f"the database it replaced: {before.path}")
    print(f"restored: {args.file} → {database} (schema v{status.schema_version}); start the bot again")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add extract, ask, chat, run, doctor, backup, restore, bench to the CLI."""
    a = sub.add_parser("ask", help="answer a question (or a batch) as the bot would")
    a.add_argument("question", nargs="*", help="the question")
    a.add_argument("--json", action="store_true", help="print the JSON contract of ../shared/eval/README.md")
    a.add_argument("--batch", metavar="FILE", help="one question a line; one answer a line")
    a.add_argument("--dialogue", metavar="FILE",
                   help="conversations, one JSON object a line ({id, turns: [{q}]}); one answer a turn")
    a.set_defaults(func=cmd_ask)

    c = sub.add_parser("chat", help="interactive chat in the terminal")
    c.set_defaults(func=cmd_chat)

    x = sub.add_parser("extract", help="draft knowledge-base YAML from a report file")
    x.add_argument("file", help="the report (same markdown form as ../shared/source)")
    x.add_argument("--out", help="write the draft YAML here (default: stdout)")
    x.add_argument("--compare", action=argparse.BooleanOptionalAction, default=True,
                   help="compare the draft with the curated base (default on)")
    x.set_defaults(func=cmd_extract)

    r = sub.add_parser("run", help="start the Telegram bot (long polling)")
    r.set_defaults(func=cmd_run)

    rc = sub.add_parser("run-or-chat", help="Telegram bot if a token is set, else terminal chat (make run)")
    rc.set_defaults(func=cmd_run_or_chat)

    d = sub.add_parser("doctor", help="check settings, base, report, database, time zone, admins, access "
                                      "(--online: Telegram too); one ✓/✗ line each")
    d.add_argument("--online", action="store_true", help="also call getMe on Telegram")
    d.set_defaults(func=cmd_doctor, tolerates_bad_settings=True)

    bk = sub.add_parser("backup", help="copy the database (SQLite online backup; safe while the bot runs)")
    bk.add_argument("file", nargs="?", help="where to write it (default: backups/ beside DATABASE_PATH, timestamped)")
    bk.set_defaults(func=cmd_backup)

    rs = sub.add_parser("restore", help="replace the database with a backup (stop the bot first)")
    rs.add_argument("file", help="the backup file")
    rs.set_defaults(func=cmd_restore)

