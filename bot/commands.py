"""Subcommands beyond check/kb; each imports what it needs only when run."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add extract, ask, chat, run, bench to the CLI."""
