"""`python -m bot`: the command-line entry point.

For `run`, SIGHUP is caught before anything else is imported (see bot.signals): a reload signal
during the seconds of start-up must not kill the bot.
"""

import sys

if any(arg in ("run", "run-or-chat") for arg in sys.argv[1:]):
    from bot import signals

    signals.catch_early()

from bot.cli import main  # noqa: E402 - after the signal handler, on purpose

if __name__ == "__main__":
    raise SystemExit(main())
