"""`invoke ci.doctor` as a user runs it, and every command docs/ci.md shows."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.ci.rules import RULES

REPO = Path(__file__).resolve().parents[3]
LOGS = REPO / "tests" / "fixtures" / "cilogs"
BIN = Path(sys.executable).parent
DOCS = REPO / "docs" / "ci.md"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with the tasks and a reports/ directory as a failed CI run leaves it."""
    shutil.copy(REPO / "tasks.py", tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.dockyard]\nproject = "shop"\nimage = "shop"\n')
    reports = tmp_path / "reports"
    reports.mkdir()
    shutil.copy(LOGS / "junit-test.xml", reports / "junit.xml")
    shutil.copy(LOGS / "actions-nox.log", reports / "ci.log")
    return tmp_path


def invoke(command: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """A command line as docs/ci.md writes it, `< FILE` included."""
    args = command.split()
    if "<" in args:
        at = args.index("<")
        stdin = (cwd / args[at + 1]).read_bytes()
        args = args[:at]
    done = subprocess.run(
        [str(BIN / args[0]), *args[1:]], cwd=cwd, input=stdin, capture_output=True, timeout=120,
        check=False,
    )  # fmt: skip
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def test_a_log_file_gives_the_verdict_lines_and_fix(project: Path) -> None:
    done = invoke(f"invoke ci.doctor {LOGS / 'docker-build.log'}", project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ci.doctor: docker-build: a Docker build step failed")
    assert '  instruction: RUN python3 -c "import shipping_labels"' in done.stdout
    assert "  fix: " in done.stdout


def test_json_is_the_verdict_as_data(project: Path) -> None:
    done = invoke(f"invoke ci.doctor {LOGS / 'actions-oom.log'} --json", project)
    verdict = json.loads(done.stdout)
    assert (verdict["category"], verdict["exit_code"], done.returncode) == ("out-of-memory", 137, 0)


def test_stdin_is_read_with_a_dash(project: Path) -> None:
    done = invoke("invoke ci.doctor - --json", project, stdin=(LOGS / "lock.log").read_bytes())
    assert json.loads(done.stdout)["category"] == "lock"


def test_a_directory_is_read_as_its_junit_reports_and_logs(project: Path) -> None:
    verdict = json.loads(invoke("invoke ci.doctor reports --json", project).stdout)
    assert verdict["source"] == "reports/junit.xml, reports/ci.log"
    assert (verdict["category"], verdict["also"]) == ("test", ["types"])


def test_unknown_is_a_verdict_and_exit_0(project: Path) -> None:
    done = invoke(f"invoke ci.doctor {LOGS / 'unknown.log'}", project)
    assert done.returncode == 0
    assert "ci.doctor: unknown: could not tell what failed" in done.stdout
    assert "cp: cannot stat 'reports/artefacts.tar.gz'" in done.stdout


def test_a_missing_log_is_one_line_and_exit_4(project: Path) -> None:
    done = invoke("invoke ci.doctor nowhere.log", project)
    assert done.returncode == 4
    assert done.stderr.startswith("dockyard: error: nowhere.log: no such file\n  fix: ")
    assert "Traceback" not in done.stderr


def test_nothing_in_reports_is_exit_4(project: Path) -> None:
    for report in (project / "reports").iterdir():
        report.unlink()
    done = invoke("invoke ci.doctor reports", project)
    assert done.returncode == 4
    assert "no JUnit report (junit*.xml) or log (*.log) to read" in done.stderr


def test_the_summary_file_gets_a_markdown_section_appended(project: Path) -> None:
    summary = project / "summary.md"
    summary.write_text("# earlier step\n")
    for name in ("test.log", "tls.log"):
        invoke(f"invoke ci.doctor {LOGS / name} --summary {summary}", project)
    text = summary.read_text()
    assert text.startswith("# earlier step\n### ci.doctor: `test`: a test failed\n")
    assert "### ci.doctor: `tls`: a TLS certificate did not verify" in text
    assert "\n```\nE       assert 9 == 12\n" in text or "E       assert 9 == 12" in text


def documented_commands() -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", DOCS.read_text(), re.DOTALL)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


@pytest.mark.parametrize(
    "command", [c for c in documented_commands() if c.startswith("invoke ci.doctor")]
)
def test_every_ci_doctor_command_in_the_docs_works(project: Path, command: str) -> None:
    done = invoke(command, project)
    assert done.returncode == 0, done.stderr
    assert "ci.doctor: " in done.stdout or '"category"' in done.stdout
    if "--summary" in command:
        assert (project / "summary.md").read_text().startswith("### ci.doctor: ")


def test_every_nox_session_in_the_docs_exists() -> None:
    sessions = [c.split()[-1] for c in documented_commands() if c.startswith("nox -s ")]
    listed = subprocess.run(
        [str(BIN / "nox"), "--list"], cwd=REPO, capture_output=True, text=True, timeout=120,
        check=True,
    ).stdout  # fmt: skip
    assert sessions
    assert [s for s in sessions if not re.search(rf"^[*-] {s}\b", listed, re.MULTILINE)] == []


def test_the_docs_table_lists_every_category_in_rule_order() -> None:
    knows = DOCS.read_text().split("## What ci.doctor knows")[1]
    table = re.findall(r"^\| `([a-z-]+)` \|", knows, re.MULTILINE)
    assert table == [rule.category for rule in RULES] + ["unknown"]
