"""The CLI as an operator meets it: one settings object (.env, then the environment, then the global
flags, before or after the command) for every command, `check` against the report by default, and
every failure a user can cause ending in one line (cause and fix), a non-zero exit and no
traceback unless --debug."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.test_extract import TINY

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT.parent / "shared" / "source" / "000_ffa3f5d343d508a7.txt"
SETTINGS_VARS = ("KNOWLEDGE_DIR", "REPORT_PATH", "LOG_LEVEL", "TELEGRAM_BOT_TOKEN", "DATABASE_PATH", "ACCESS_POLICY",
                 "ALLOWED_IDS", "ADMIN_IDS", "TELEGRAM_API_BASE_URL", "TELEGRAM_FILE_BASE_URL", "WEBHOOK_URL",
                 "ENGINE_WORKERS", "TIMEZONE")
RIGHT = '{text: "3.800 - 3.900", unit: "đảng viên"}'
WRONG = '{text: "4.800 - 4.900", unit: "đảng viên"}'


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Start in an empty folder (no .env) with no setting inherited from the environment."""
    for var in SETTINGS_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    d = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge", d, ignore=shutil.ignore_patterns("backups"))
    return d


def broken(kdir: Path) -> Path:
    (kdir / "targets.yaml").write_text("kind: target\nentries: [ {id: x", encoding="utf-8")
    return kdir


def one_line(err: str) -> str:
    """The single line of a failure: nothing else printed, no traceback."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess:
    """`python -m bot …` in a subprocess (what an operator types), from `cwd`."""
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, input=stdin, capture_output=True, text=True,
                          env={**base, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=120)


# -- one settings object -------------------------------------------------------------------------


def test_dotenv_knowledge_dir_is_read_by_every_command(kdir: Path, tmp_path: Path, capsys) -> None:
    Path(".env").write_text(f"KNOWLEDGE_DIR={broken(kdir)}\nREPORT_PATH={REPORT}\n", encoding="utf-8")
    assert main(["check"]) == 1
    assert f"error: {kdir.name}/targets.yaml:2: invalid YAML" in capsys.readouterr().err
    assert main(["kb"]) == 1
    assert "invalid YAML" in capsys.readouterr().err
    for argv in (["ask", "kết nạp đảng viên"], ["chat"]):
        assert main(argv) == 1
        line = one_line(capsys.readouterr().err)
        assert line.startswith(f"error: KNOWLEDGE_DIR={kdir}: cơ sở tri thức không hợp lệ (1 lỗi, đầu tiên: "
                               f"{kdir.name}/targets.yaml:2: invalid YAML"), line
        assert line.endswith("chạy `python -m bot check` để xem tất cả.")


def test_environment_overrides_dotenv_and_flags_override_both(kdir: Path, monkeypatch, capsys) -> None:
    Path(".env").write_text("KNOWLEDGE_DIR=/nowhere/in/dotenv\n", encoding="utf-8")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(kdir))
    assert main(["check", "--no-source"]) == 0
    assert capsys.readouterr().out.startswith("knowledge base OK")
    assert main(["check", "--no-source", "--knowledge", "/nowhere/on/the/command/line"]) == 1
    assert "/nowhere/on/the/command/line" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["--knowledge", "{k}", "--report", "{r}", "check"],
    ["check", "--knowledge", "{k}", "--report", "{r}"],
    ["--knowledge", "{k}", "check", "--report", "{r}"],
])
def test_global_flags_before_or_after_the_command(argv: list[str], kdir: Path, capsys) -> None:
    text = (kdir / "targets.yaml").read_text(encoding="utf-8")
    (kdir / "targets.yaml").write_text(text.replace(RIGHT, WRONG), encoding="utf-8")
    assert main([a.format(k=kdir, r=REPORT) for a in argv]) == 1
    err = capsys.readouterr().err
    line = next(i for i, row in enumerate(text.replace(RIGHT, WRONG).splitlines(), 1) if WRONG in row)
    assert f"error: kb/targets.yaml:{line}, entry 'chi-tieu-2024-ket-nap-dang-vien', field 'figures.0.text': " \
           "'4.800 - 4.900' does not appear in the text of section p2.i.1" in err


def test_ask_reads_the_flags_after_the_command(kdir: Path, capsys) -> None:
    text = (kdir / "targets.yaml").read_text(encoding="utf-8")
    (kdir / "targets.yaml").write_text(text.replace("Chỉ tiêu kết nạp đảng viên mới năm 2024",
                                                    "Chỉ tiêu phát triển đảng viên năm 2024", 1), encoding="utf-8")
    assert main(["ask", "chỉ tiêu kết nạp đảng viên năm 2024", "--knowledge", str(kdir), "--report", str(REPORT)]) == 0
    assert capsys.readouterr().out.startswith("Chỉ tiêu phát triển đảng viên năm 2024")


# -- check against the report by default ---------------------------------------------------------


def test_check_runs_provenance_against_report_path_by_default(kdir: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("KNOWLEDGE_DIR", str(kdir))
    monkeypatch.setenv("REPORT_PATH", str(REPORT))
    assert main(["check"]) == 0
    assert f"provenance: every figure appears in the section or footnote it cites ({REPORT})" in capsys.readouterr().out
    text = (kdir / "targets.yaml").read_text(encoding="utf-8")
    (kdir / "targets.yaml").write_text(text.replace(RIGHT, WRONG), encoding="utf-8")
    assert main(["check"]) == 1
    err = capsys.readouterr().err
    assert "field 'figures.0.text': '4.800 - 4.900' does not appear" in err and "provenance: 1 error(s)" in err
    assert main(["check", "--no-source"]) == 0  # the knowledge files alone are fine


def test_check_without_the_report_is_one_line_with_the_fix(kdir: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("KNOWLEDGE_DIR", str(kdir))
    monkeypatch.setenv("REPORT_PATH", "/no/such/report.txt")
    assert main(["check"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("knowledge base OK")
    line = one_line(err)
    assert "/no/such/report.txt: cannot read the source report (No such file or directory)" in line
    assert "point REPORT_PATH (or --report) at the report, or pass --no-source" in line


# -- one line for each failure a user can cause --------------------------------------------------


def test_chat_with_a_broken_base_is_one_line(kdir: Path, tmp_path: Path) -> None:
    proc = run_cli("chat", "--knowledge", str(broken(kdir)), cwd=tmp_path, stdin="kết nạp\n")
    assert proc.returncode == 1
    assert one_line(proc.stderr).startswith(f"error: KNOWLEDGE_DIR={kdir}: cơ sở tri thức không hợp lệ")
    assert proc.stdout == ""


def test_run_or_chat_with_a_broken_base_is_one_line(kdir: Path, tmp_path: Path) -> None:
    """`make run` without a token: the terminal chat, on the settings' base."""
    proc = run_cli("run-or-chat", cwd=tmp_path, env={"KNOWLEDGE_DIR": str(broken(kdir))})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("TELEGRAM_BOT_TOKEN chưa được cấu hình")
    one_line(lines[1])
    assert len(lines) == 2


@pytest.mark.parametrize("option", ["--batch", "--dialogue"])
def test_ask_on_a_missing_file_or_a_folder_is_one_line(option: str, tmp_path: Path, capsys) -> None:
    assert main(["ask", option, str(tmp_path / "questions.txt")]) == 1
    line = one_line(capsys.readouterr().err)
    assert line == f"error: {option}: {tmp_path / 'questions.txt'}: cannot read a text file of questions " \
                   "(No such file or directory)"
    assert main(["ask", option, str(tmp_path)]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"error: {option}: {tmp_path}: is a folder")


def test_ask_batch_on_a_folder_in_a_subprocess(tmp_path: Path) -> None:
    proc = run_cli("ask", "--batch", ".", cwd=tmp_path)
    assert proc.returncode == 1
    assert one_line(proc.stderr).startswith("error: --batch: .: is a folder")


def test_ask_without_a_question_is_one_line(capsys) -> None:
    assert main(["ask"]) == 2
    assert one_line(capsys.readouterr().err) == "error: give a question, or --batch FILE (one question a line)"


def utf16(path: Path, text: str, bom: bool = True) -> Path:
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-16" if bom else "utf-16-le"))  # Word's "Unicode text"
    return path


def test_extract_reads_a_utf16_report(tmp_path: Path, capsys) -> None:
    (tmp_path / "r8.md").write_text(TINY, encoding="utf-8")
    utf16(tmp_path / "r16.txt", TINY)
    assert main(["extract", str(tmp_path / "r8.md"), "--no-compare"]) == 0
    expected = capsys.readouterr().out
    assert main(["extract", str(tmp_path / "r16.txt"), "--no-compare"]) == 0
    assert capsys.readouterr().out == expected.replace(str(tmp_path / "r8.md"), str(tmp_path / "r16.txt"))


def test_check_source_reads_a_utf16_report(tmp_path: Path, capsys) -> None:
    utf16(tmp_path / "report16.txt", REPORT.read_text(encoding="utf-8"))
    assert main(["--knowledge", str(ROOT / "knowledge"), "check", "--source", str(tmp_path / "report16.txt")]) == 0
    assert "provenance: every figure appears" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["extract", "check"])
def test_a_report_in_no_known_encoding_is_one_line(command: str, tmp_path: Path, capsys) -> None:
    report = utf16(tmp_path / "r.txt", REPORT.read_text(encoding="utf-8")[:3000], bom=False)
    argv = ["extract", str(report)] if command == "extract" else ["check", "--source", str(report)]
    assert main(["--knowledge", str(ROOT / "knowledge"), *argv]) == 1
    line = one_line(capsys.readouterr().err)
    assert "looks like UTF-16 without a byte-order mark; save it as UTF-8 text" in line


def test_a_malformed_setting_is_one_line_for_any_command(monkeypatch, capsys) -> None:
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    for argv in (["check"], ["kb"], ["ask", "x"]):
        assert main(argv) == 2
        assert "TIMEZONE:" in one_line(capsys.readouterr().err)


def test_an_unexpected_failure_is_one_line_and_debug_shows_the_traceback(monkeypatch, capsys) -> None:
    import bot.cli

    def boom(args):  # a bug somewhere below a command
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(bot.cli, "cmd_kb", boom)  # build_parser binds the module's function at each run
    assert main(["kb"]) == 1
    assert one_line(capsys.readouterr().err) == (
        "error: unexpected ZeroDivisionError: division by zero (run again with --debug for the traceback)")
    assert main(["kb", "--debug"]) == 1
    err = capsys.readouterr().err
    assert ("Traceback (most recent call last)" in err
            and err.strip().endswith("(run again with --debug for the traceback)"))
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert main(["kb"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err


# -- make run -------------------------------------------------------------------------------------


def test_make_run_installs_only_the_runtime_dependencies_visibly(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("no make")
    venv = tmp_path / "venv"  # not there: make shows what it would run to create it
    out = subprocess.run(["make", "-n", "run", f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60).stdout
    installs = [line for line in out.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs and all(".[dev]" not in line and "--quiet" not in line for line in installs), out
    assert re.search(r"pip install .*-e '?\.'?( |$)", installs[0]), installs
    out = subprocess.run(["make", "-n", "test", f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60).stdout
    assert any(".[dev]" in line for line in out.splitlines() if "pip install" in line), out
