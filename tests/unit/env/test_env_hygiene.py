"""Secret hygiene: real env files stay out of git and out of build contexts, and no env command
ever prints or logs a secret's value."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from invoke.config import Config
from invoke.context import Context
from invoke.exceptions import Exit

from dockyard.core.invocation import run
from dockyard.env import commands as envcommands

from .support import REPO, Project

if TYPE_CHECKING:
    import docker

SENTINEL = "sentinel-3f9a1c7e"  # every secret below starts with it
IGNORED = [
    ".env",
    ".env.local",
    "env/.env.development",
    "env/.env.testing",
    "env/.env.production",
    "env/.env.production.Xk3v9q",  # a temporary file of an atomic write
    "env/.rotations.log",
    "service/.env",
]
KEPT = ["env/.env.production.example", "env/.env.development.example", "env/schema.toml"]


def git_ignored(paths: list[str]) -> set[str]:
    done = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "--no-index", *paths],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode in (0, 1), done.stderr
    return set(done.stdout.split())


def test_real_env_files_are_git_ignored_and_examples_are_not() -> None:
    assert git_ignored(IGNORED + KEPT) == set(IGNORED)


def test_no_real_env_file_is_tracked() -> None:
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--", ":(glob)**/.env*"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split()
    assert tracked
    assert all(path.endswith(".example") for path in tracked), tracked


@pytest.mark.engine
def test_planted_env_files_git_and_caches_never_reach_the_build_context(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    """A real BuildKit build of a context holding planted files copies none of them."""
    context = tmp_path / "context"
    planted = [
        ".env",
        "env/.env.production",
        "env/.env.development",
        "env/.env.production.example",
        "service/.env.local",
        ".git/config",
        ".venv/bin/python",
        "src/pkg/__pycache__/mod.cpython-311.pyc",
        ".pytest_cache/README.md",
        "tests/test_x.py",
        ".dockyard/monitor.pid",
    ]
    ordinary = ["src/pkg/mod.py", "pyproject.toml"]
    for name in planted + ordinary:
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(f"{SENTINEL}-planted\n" if name in planted else "ok\n")
    shutil.copy(REPO / ".dockerignore", context / ".dockerignore")
    (context / "Dockerfile").write_text("FROM scratch\nCOPY . /ctx/\n")
    output = tmp_path / "output"
    done = subprocess.run(
        ["docker", "build", "--quiet", "--output", f"type=local,dest={output}", str(context)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    assert done.returncode == 0, done.stderr
    copied = {str(path.relative_to(output / "ctx")) for path in output.rglob("*") if path.is_file()}
    assert copied == {*ordinary, "Dockerfile"}


def sentinel_files(project: Project) -> None:
    """A valid development file, and a production file with every kind of bad line."""
    project.write(
        "development",
        # pragma: allowlist nextline secret
        "APP_ENV=development\nPOSTGRES_DB=tugboat\nPOSTGRES_USER=tugboat\n"
        f"POSTGRES_PASSWORD={SENTINEL}-postgres-0000000000000000\n"
        "DATABASE_URL=postgresql://${POSTGRES_USER}:${POSTGRES_PASSWORD}@postgres:5432/db\n"
        f"REDIS_PASSWORD='{SENTINEL}-redis-$literal-00000000000'\n"
        "REDIS_URL=redis://:${REDIS_PASSWORD}@redis:6379/0\n"
        f'SECRET_KEY="{SENTINEL}-key-1111111111111111111111"\n',
    )
    project.write(
        "production",
        "APP_ENV=production\n"
        f"POSTGRES_PASSWORD={SENTINEL}\n"
        # pragma: allowlist nextline secret
        f"DATABASE_URL=postgresql://tugboat:{SENTINEL}-inline@postgres:99999/db\n"
        f"REDIS_PASSWORD={SENTINEL}-${{HOME}}-$HOME-$$\n"
        f'SECRET_KEY="{SENTINEL}-unterminated\n'
        f"API_TOKEN={SENTINEL}-unknown\n"
        f"DB_PASSWORD: {SENTINEL}-yaml\n"
        f"MY SECRET={SENTINEL}-badkey\n"
        f"APP_SECRET='{SENTINEL}-${{X}}'\n"
        f"POSTGRES_PASSWORD={SENTINEL}-duplicate\n",
    )


def test_no_env_command_prints_or_logs_a_secret(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every env task, on success and on failure, for people and as JSON, through the task layer."""
    sentinel_files(project)
    calls: list[tuple[Callable[..., int], dict[str, str]]] = [
        (envcommands.check, {}),
        (envcommands.check, {"profile": "development"}),
        (envcommands.check, {"profile": "production"}),
        (envcommands.diff, {"a": "development", "b": "testing"}),
        (envcommands.diff, {"a": "development", "b": "production"}),
        (envcommands.init, {"profile": "testing"}),
        (envcommands.init, {"profile": "development"}),
        (envcommands.init, {"profile": "production"}),
        (envcommands.diff, {"a": "development", "b": "testing"}),
        (envcommands.rotate, {"key": "SECRET_KEY", "profile": "development"}),
        (envcommands.rotate, {"key": "REDIS_PASSWORD", "profile": "development"}),
        (envcommands.rotate, {"key": "SECRET_KEY", "profile": "production"}),
        (envcommands.rotate, {"key": "APP_ENV", "profile": "production"}),
        (envcommands.render, {}),
    ]
    context = Context(Config(overrides={"dockyard": {"root": str(project.root)}}))
    codes = []
    for as_json in (False, True):
        for command, options in calls:
            try:
                run(context, command, json=as_json, **options)
                codes.append(0)
            except Exit as exit_:
                codes.append(exit_.code)
    assert set(codes) == {0, 1, 2, 4}  # successes and each kind of failure were exercised
    captured = capsys.readouterr()
    assert "dockyard: error:" in captured.err
    assert "****" in captured.out
    assert SENTINEL not in captured.out
    assert SENTINEL not in captured.err
    log = project.root / "env" / ".rotations.log"
    assert log.read_text().count("\n") == 4
    assert SENTINEL not in log.read_text()
    leftovers = [p.name for p in (project.root / "env").iterdir() if SENTINEL in p.read_text()]
    assert sorted(leftovers) == [".env.development", ".env.production"]
