"""Deployment files: the systemd unit passes `systemd-analyze verify` and runs what the tests run
(`python -m bot run`; exit 2, a setting to correct, is not restarted); the Dockerfile is small,
non-root, keeps the database, the base and the report on volumes and checks health with `doctor`.

Building the image needs a Docker daemon: set RUN_DOCKER_TESTS=1 where one runs (the README gives
the same commands as a documented check)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "hp-report-bot.service"
DOCKERFILE = ROOT / "Dockerfile"
INSTALL_DIR = "/opt/hp-report-bot"


def directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    # The unit as installed, with the install folder moved under tmp_path (its python: this one).
    home = tmp_path / "opt" / "hp-report-bot"
    (home / ".venv" / "bin").mkdir(parents=True)
    (home / ".venv" / "bin" / "python").symlink_to(Path(sys.executable).resolve())
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALL_DIR, str(home)), encoding="utf-8")
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # verify reports a bad directive as a warning with exit 0: nothing may be printed at all.
    assert proc.returncode == 0 and proc.stdout.strip() == "" and proc.stderr.strip() == "", proc.stdout + proc.stderr
    # …and it does catch mistakes (the test can fail).
    broken = tmp_path / "broken.service"
    broken.write_text(unit.read_text(encoding="utf-8").replace("Restart=on-failure", "Restart=sometimes"),
                      encoding="utf-8")
    bad = subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "restart specifier" in bad.stdout + bad.stderr


def test_systemd_unit_runs_the_bot_as_the_tests_do() -> None:
    d = directives(UNIT.read_text(encoding="utf-8"))
    assert d["ExecStart"] == [f"{INSTALL_DIR}/.venv/bin/python -m bot run"]
    assert d["WorkingDirectory"] == [INSTALL_DIR]  # where .env is read
    assert d["ExecReload"] == ["/bin/kill -HUP $MAINPID"]  # SIGHUP reload (tests/test_telegram_admin.py)
    assert d["User"] != ["root"] and d["Restart"] == ["on-failure"]
    assert d["RestartPreventExitStatus"] == ["2"]  # configuration errors exit 2 (tests/test_run_preflight.py)
    writable = d["ReadWritePaths"][0].split()
    assert writable == [f"{INSTALL_DIR}/data", f"{INSTALL_DIR}/knowledge"]


def test_dockerfile_is_small_non_root_with_volumes_and_a_doctor_health_check() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["python:3.11-slim", "python:3.11-slim"]
    assert "'.[dev]'" not in text and ".[dev]" not in text  # runtime dependencies only
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r'^VOLUME \["/data", "/knowledge", "/report"\]', text, re.M)
    env = dict(re.findall(r"(DATABASE_PATH|KNOWLEDGE_DIR|REPORT_PATH)=(\S+)", text))
    assert env["DATABASE_PATH"].startswith("/data/") and env["KNOWLEDGE_DIR"] == "/knowledge"
    assert env["REPORT_PATH"].startswith("/report/")
    assert re.search(r'^HEALTHCHECK .*CMD \["python", "-m", "bot", "doctor"\]$', text, re.M)
    assert re.search(r'^CMD \["python", "-m", "bot", "run"\]$', text, re.M)
    for source in re.findall(r"^COPY (?!--from)(?:--chown=\S+ )?(\S+) ", text, re.M):
        assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", "data", ".git"} <= set(ignored)


@pytest.mark.skipif(os.environ.get("RUN_DOCKER_TESTS") != "1", reason="set RUN_DOCKER_TESTS=1 with a Docker daemon")
def test_docker_image_builds_and_its_doctor_passes(tmp_path: Path) -> None:
    tag = "hp-report-bot:test"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=1800)
    report = ROOT.parent / "shared" / "source" / "000_ffa3f5d343d508a7.txt"
    proc = subprocess.run(
        ["docker", "run", "--rm", "-e", "TELEGRAM_BOT_TOKEN=123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
         "-e", "ADMIN_IDS=1", "-v", f"{report}:/report/report.txt:ro", tag, "python", "-m", "bot", "doctor"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("all checks passed")
    assert subprocess.run(["docker", "run", "--rm", tag, "id", "-u"], capture_output=True, text=True,
                          timeout=120).stdout.strip() != "0"
