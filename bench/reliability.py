"""The reliability table of docs/benchmarks.md: run the fault tests, print what each recorded.

    python -m bench.reliability        (or: make reliability)

Each fault test measures what was sent, delivered, lost and duplicated, asserts on it, and records
it through the ``reliability`` fixture (tests/conftest.py); this prints those records as Markdown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/test_faults.py", "tests/test_crash.py", "tests/test_storage_faults.py"]


def main() -> int:
    """Run the fault tests with RELIABILITY_OUT set and print the table; non-zero if a test failed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reliability.jsonl"
        env = {**os.environ, "RELIABILITY_OUT": str(out)}
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
                              cwd=ROOT, env=env, check=False)
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    print("| fault | sent | delivered | lost | duplicated | note |")
    print("|---|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['fault']} | {r['sent']} | {r['delivered']} | {r['lost']} | {r['duplicated']} | {r['note']} |")
    if proc.returncode:
        print(f"\n(fault tests failed: pytest exit {proc.returncode})")
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
