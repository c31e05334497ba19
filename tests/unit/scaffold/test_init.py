"""`invoke dockyard.init` through the real invoke program, in a real git repository that holds
only a pyproject.toml, a Dockerfile and the three-line tasks.py: afterwards the repository's own
`invoke --list`, `invoke env.check` and `nox -l` work, and a second init writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.core.packagedata import data_path

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
PYPROJECT = '[project]\nname = "harbor"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'


def environ() -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("GIT_", "INVOKE_"))
    }
    env["PYTHONPATH"] = str(REPO / "src")
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


def run(cwd: Path, program: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / program), *args], cwd=cwd, env=environ(), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    root = tmp_path / "harbor"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "Dockerfile").write_text('FROM python:3.11-slim\nCMD ["python"]\n', encoding="utf-8")
    (root / "tasks.py").write_text(data_path("init", "tasks.py.tmpl").read_text(), "utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=environ(), timeout=60)
    return root


def test_init_makes_a_repository_whose_tasks_env_and_sessions_work(repository: Path) -> None:
    """It exits 0, the repository's own tools then work on what it wrote, and a second init
    refuses."""
    done = run(repository, "invoke", "dockyard.init")
    assert done.returncode == 0, done.stderr
    assert "created   noxfile.py" in done.stdout
    for name in ("env/schema.toml", "env/instances/staging.toml", ".github/workflows/test.yml"):
        assert (repository / name).is_file()
    assert (repository / "pyproject.toml").read_text().startswith(PYPROJECT)

    listed = run(repository, "invoke", "--list")
    assert listed.returncode == 0, listed.stderr
    assert "dockyard.init" in listed.stdout
    assert "env.check" in listed.stdout
    checked = run(repository, "invoke", "env.check", "--profile", "development")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok    env/.env.development" in checked.stdout
    sessions = run(repository, "nox", "-l")
    assert sessions.returncode == 0, sessions.stderr
    for name in ("lint", "typecheck", "tests", "audit", "image", "ci"):
        assert f"* {name} -> " in sessions.stdout
    linted = run(repository, "yamllint", "--strict", ".github/workflows", ".yamllint.yaml")
    assert linted.returncode == 0, linted.stdout
    audited = run(repository, "zizmor", "--offline", "--no-progress", ".github/workflows")
    assert audited.returncode == 0, audited.stdout + audited.stderr
    ignored = subprocess.run(
        ["git", "check-ignore", "env/.env.development"], cwd=repository, env=environ(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert ignored.returncode == 0, "the env file with real secrets must be git-ignored"

    # A second init names every file in the way, at once, and writes nothing.
    before = snapshot(repository)
    again = run(repository, "invoke", "dockyard.init")
    assert again.returncode == 1
    assert "Traceback" not in again.stderr
    assert again.stderr.startswith("dockyard: error: dockyard.init: nothing written")
    for name in (
        "pyproject.toml: already has a [tool.dockyard] table",
        "env/schema.toml: already exists",
        "env/instances/staging.toml: already exists",
        "noxfile.py: already exists",
        ".github/workflows/test.yml: already exists",
    ):
        assert name in again.stderr
    assert "fix: move these files aside" in again.stderr
    assert snapshot(repository) == before


def test_a_dry_run_prints_what_it_would_write_and_writes_nothing(repository: Path) -> None:
    before = snapshot(repository)
    shown = run(repository, "invoke", "dockyard.init", "--dry-run")
    assert shown.returncode == 0, shown.stderr
    assert "--- would create env/schema.toml" in shown.stdout
    assert "--- would append to pyproject.toml" in shown.stdout
    assert 'project = "harbor"' in shown.stdout
    as_json = json.loads(run(repository, "invoke", "dockyard.init", "--dry-run", "--json").stdout)
    assert as_json["dry_run"] is True
    actions = {entry["path"]: entry["action"] for entry in as_json["files"]}
    assert actions["noxfile.py"] == "create"
    assert actions["pyproject.toml"] == "append"
    assert snapshot(repository) == before


def test_without_a_dockerfile_init_says_so_in_one_line_with_its_exit_code(
    repository: Path,
) -> None:
    (repository / "Dockerfile").unlink()
    done = run(repository, "invoke", "dockyard.init")
    assert done.returncode == 4
    assert done.stderr.splitlines()[0].endswith("no Dockerfile at the repository's root")
    assert "Traceback" not in done.stderr
    assert not (repository / "env").exists()


def test_the_dockyard_program_inits_a_repository_that_has_no_tasks_py(repository: Path) -> None:
    """`dockyard init` needs no tasks.py: it writes one, and the project's invoke then lists
    dockyard's tasks."""
    (repository / "tasks.py").unlink()
    assert run(repository, "invoke", "--list").returncode != 0  # nothing to find yet

    done = run(repository, "dockyard", "init")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "created   tasks.py" in done.stdout
    listed = run(repository, "invoke", "--list")
    assert listed.returncode == 0, listed.stderr
    assert "deploy.history" in listed.stdout
    assert "dockyard.init" in listed.stdout
