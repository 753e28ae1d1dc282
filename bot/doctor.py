"""`python -m bot doctor`: is this installation ready to run? One line per check, ✓ or ✗, and a
non-zero exit on any ✗, without contacting Telegram unless ``--online`` (then getMe).

Checks: the settings (.env, then the environment), the token, the knowledge base with every figure
against the report, the report itself, the database (open, migrate, writable, WAL), the time
zone, the admins, the access policy, the update mode (polling or webhook) and, online, Telegram.
The container's health check runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.settings import DEFAULT_ENV_FILE, Settings

OK, FAIL = "✓", "✗"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    ok: bool
    name: str
    detail: str

    def line(self) -> str:
        """'✓ name: detail'."""
        return f"{OK if self.ok else FAIL} {self.name}: {self.detail}"


def _settings_check(settings: Settings) -> Check:
    source = "the environment and .env" if Path(DEFAULT_ENV_FILE).is_file() else "the environment (no .env here)"
    return Check(True, "settings", f"read from {source}: KNOWLEDGE_DIR={settings.knowledge_dir}, "
                                   f"REPORT_PATH={settings.report_path}, DATABASE_PATH={settings.database_path}")


def _token_check(settings: Settings) -> Check:
    if settings.telegram_bot_token is None:
        return Check(False, "token", "TELEGRAM_BOT_TOKEN is not set: create the bot with @BotFather (/newbot) and "
                                     "put its token in .env")
    bot_id = settings.token.split(":", 1)[0]
    return Check(True, "token", f"TELEGRAM_BOT_TOKEN set (bot id {bot_id}; checked with Telegram by --online)")


def _base_checks(settings: Settings) -> Iterator[Check]:
    from bot.knowledge.base import load_base
    from bot.knowledge.errors import KnowledgeError
    from bot.knowledge.provenance import verify_against_report

    try:
        kb = load_base(Path(settings.knowledge_dir))
    except KnowledgeError as exc:
        yield Check(False, "knowledge base", f"KNOWLEDGE_DIR={settings.knowledge_dir}: {len(exc.errors)} error(s), "
                                             f"first: {exc.errors[0]}; `python -m bot check` lists them all")
        return
    verified = verify_against_report(kb, Path(settings.report_path))
    counts = ", ".join(f"{len(kb.of_kind(k))} {k}s" for k in ("indicator", "target", "document"))
    if verified.errors:
        yield Check(False, "knowledge base", f"{len(verified.errors)} figure(s) not in the report, first: "
                                             f"{verified.errors[0]}; `python -m bot check` lists them all")
    elif verified.report is not None:
        yield Check(True, "knowledge base", f"{settings.knowledge_dir}: {len(kb.entries)} entries ({counts}), "
                                            "every figure found in the report")
    if verified.unreadable:
        yield Check(False, "report", f"REPORT_PATH: {verified.unreadable}; without it the bot cannot quote the "
                                     "report nor check figures: point REPORT_PATH at the report")
    elif verified.report is not None:
        yield Check(True, "report", f"{settings.report_path}: {len(verified.report.sections)} sections located")


def _database_check(settings: Settings) -> Check:
    from bot.services.operations import DatabaseProblem, probe_database

    try:
        status = asyncio.run(probe_database(Path(settings.database_path)))
    except DatabaseProblem as exc:
        return Check(False, "database", str(exc))
    return Check(True, "database", f"{status.path}: opened, schema v{status.schema_version}, writable, "
                                   f"journal {status.journal_mode.upper()}")


def _timezone_check(settings: Settings) -> Check:
    now = datetime.now(settings.tz)
    return Check(True, "time zone", f"TIMEZONE={settings.timezone}: now {now:%H:%M %d/%m/%Y} (UTC{now:%z})")


def _admin_check(settings: Settings) -> Check:
    if not settings.admin_ids:
        return Check(False, "admins", "ADMIN_IDS is empty: nobody can /reload, /capnhat or /saoluu; put your "
                                      "numeric Telegram id in ADMIN_IDS (the bot's refusal or @userinfobot tells it)")
    return Check(True, "admins", f"{len(settings.admin_ids)} in ADMIN_IDS")


def _access_check(settings: Settings) -> Check:
    from bot.transports.telegram.serve import access_problem

    problem = access_problem(settings)
    if problem:
        return Check(False, "access", problem)
    if settings.access_policy == "open":
        return Check(True, "access", "ACCESS_POLICY=open: everyone may ask")
    groups = sum(1 for i in settings.allowed_ids if i < 0)
    return Check(True, "access", f"ACCESS_POLICY=allowlist: {len(settings.allowed_ids) - groups} user(s) and "
                                 f"{groups} group(s) in ALLOWED_IDS, plus the admins")


def _mode_check(settings: Settings) -> Check:
    if not settings.webhook_url:
        return Check(True, "updates", "long polling (WEBHOOK_URL empty)")
    try:
        import tornado  # noqa: F401
    except ImportError:
        return Check(False, "updates", "WEBHOOK_URL is set but PTB's webhook server is not installed: `make install`")
    secret = "WEBHOOK_SECRET set" if settings.webhook_secret else "a random secret per start"
    return Check(True, "updates", f"webhook {settings.webhook_url} → listening on {settings.webhook_listen}:"
                                  f"{settings.webhook_port} ({secret})")


def _online_check(settings: Settings) -> Check:
    from bot.failure import OperatorError
    from bot.transports.telegram.serve import first_contact

    if settings.telegram_bot_token is None:
        return Check(False, "Telegram", "not contacted: TELEGRAM_BOT_TOKEN is not set")
    try:
        me = asyncio.run(first_contact(settings, delays=()))
    except OperatorError as exc:
        return Check(False, "Telegram", exc.message)
    return Check(True, "Telegram", f"getMe answered: @{me.username} (id {me.id}) at {settings.telegram_api_base_url}")


def run_checks(settings: Settings, *, online: bool = False) -> Iterator[Check]:
    """Every check, in order (a generator: each line is printed as soon as it is known)."""
    steps: list[Callable[[Settings], Check | Iterator[Check]]] = [
        _settings_check, _token_check, _base_checks, _database_check, _timezone_check, _admin_check,
        _access_check, _mode_check]
    if online:
        steps.append(_online_check)
    for step in steps:
        result = step(settings)
        yield from ([result] if isinstance(result, Check) else result)


def doctor(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print one ✓/✗ line per check; 0 when all pass, 1 otherwise."""
    out = out or sys.stdout
    error = getattr(args, "settings_error", None)
    if error:
        print(Check(False, "settings", f"{error} (the other checks need valid settings)").line(), file=out)
        return 1
    failed = 0
    for check in run_checks(args.settings, online=args.online):
        print(check.line(), file=out, flush=True)
        failed += not check.ok
    print(f"{failed} problem(s) found" if failed else "all checks passed", file=out)
    return 1 if failed else 0
