"""The gate sessions shipped in the package: this repository's noxfile registers exactly the
sessions, docstrings and selection it always had, and their paths come from configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dockyard.gates.steps import yaml_paths

REPO = Path(__file__).resolve().parents[3]
SESSIONS = """\
* lint -> Lint with ruff and yamllint; the workflows with zizmor and their schema; shell scripts.
* typecheck -> Type-check the suite, its tests, tasks.py and this file with mypy --strict.
* tests -> Run the tests with coverage and a JUnit report (engine tests need Docker).
* image -> Build the base and production images, then test them from the inside (testinfra).
- bench -> Print the performance figures, each against a baseline from the same run.
* audit -> Lint Dockerfiles, scan the tree for secrets and audit the locked dependencies.
* ci -> Run every gate in order, stopping at the first failure.
"""


def test_nox_lists_the_same_sessions_with_the_same_docstrings() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "nox"), "-l", "-f", str(REPO / "noxfile.py")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert listed.stdout.startswith("dockyard's gates: the same sessions run on a laptop")
    assert SESSIONS in listed.stdout


def test_yaml_paths_keep_plain_paths_and_expand_globs_in_name_order(tmp_path: Path) -> None:
    for name in ("b-compose.yml", "a-compose.yaml", "docker/dev.yml", "notes.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x: 1\n")
    patterns = [".github/workflows", "*compose*.y*ml", "docker/*.y*ml", "missing/*.yml"]
    assert yaml_paths(patterns, tmp_path) == [
        ".github/workflows",
        "a-compose.yaml",
        "b-compose.yml",
        "docker/dev.yml",
    ]


def test_a_session_with_a_wrong_gates_setting_ends_with_its_one_line_message(
    tmp_path: Path,
) -> None:
    (tmp_path / "noxfile.py").write_text(
        "import nox\n\nfrom dockyard.gates import sessions  # noqa: F401\n", encoding="utf-8"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.dockyard]\nproject = "x"\nimage = "x"\n\n[tool.dockyard.gates]\ntyped = "src"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "nox"), "-s", "typecheck", "--no-venv"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "tool.dockyard.gates.typed: expected a list, got 'src'" in done.stderr
    assert "Traceback" not in done.stderr
