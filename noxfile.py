"""dockyard's gates: the same sessions run on a laptop and in CI (`nox -s ci`).

Every session installs exactly its dependency group from uv.lock into a reused
environment, so a warm run spends its time on the checks, not on installing. A sync, a
linter that keeps no cache of its own, and the tests are skipped while nothing they read has
changed since they last passed (`DOCKYARD_STEP_CACHE=off` runs them anyway).
Arguments after `--` narrow a session: `nox -s tests -- -m "not engine"`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import nox
from nox import Session

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.stop_on_first_error = True
nox.options.sessions = ["ci"]

PYTHON = Path(__file__).with_name(".python-version").read_text().strip()
TYPED = ["src", "tests", "tugboat/src", "benchmarks", "tasks.py", "noxfile.py"]
YAML = [".github/workflows", ".yamllint.yaml", ".hadolint.yaml"]
# Where yamllint looks for its configuration (the first that exists wins).
YAMLLINT_CONFIGS = [".yamllint", ".yamllint.yaml", ".yamllint.yml"]
# The gates `nox -s ci` runs, in order; it stops at the first that fails.
CI_GATES = ["lint", "typecheck", "tests", "audit", "image"]


def sync(session: Session, *groups: str, project: bool = True) -> None:
    """Install locked dependency groups, with the project unless told not to.

    Skipped while the lock, the workspace, uv and the environment are as the last sync left them.
    """
    from dockyard.gates import stepcache

    flag = "--group" if project else "--only-group"
    selection = [part for group in groups for part in (flag, group)]
    if project:
        selection.append("--no-default-groups")
    step = stepcache.plan(
        "uv-sync", ["uv", "sync", "--locked", "--quiet", *selection],
        reads=stepcache.uv_sync_reads(Path()), environment=Path(session.virtualenv.location),
        settings=stepcache.uv_settings(os.environ, Path(sys.executable).parent),  # uv beside nox
    )  # fmt: skip
    env = {"UV_PROJECT_ENVIRONMENT": session.virtualenv.location}
    install = partial(ran, session, install=True, env=env)
    cache = stepcache.enabled(os.environ)
    if stepcache.run_unless_passed(step, install, changes_environment=True, cache=cache):
        session.log("uv sync: skipped, the lock and the environment are as it left them")


def unless_passed(session: Session, name: str, command: Sequence[str]) -> None:
    """Run a test step unless it passed before with every file of the project, the settings
    the tests read and the environment exactly as they are now."""
    from dockyard.gates import stepcache

    settings = {
        key: value
        for key, value in os.environ.items()
        if (key.startswith(("DOCKYARD_", "DOCKER_")) and key != stepcache.SWITCH) or key == "CI"
    }
    step = stepcache.plan(
        name, command, reads=stepcache.project_files(Path()), settings=settings,
        environment=Path(session.virtualenv.location),
    )  # fmt: skip
    if stepcache.run_unless_passed(
        step, partial(ran, session), cache=stepcache.enabled(os.environ)
    ):
        session.log(
            f"{name}: skipped, they passed before with every file and setting as they are now "
            f"({stepcache.SWITCH}=off runs them anyway)"
        )


def ran(
    session: Session,
    command: Sequence[str],
    *,
    install: bool = False,
    env: dict[str, str] | None = None,
) -> bool:
    """Run a command in the session; False when nox skipped it (--install-only, --no-install)."""
    run = session.run_install if install else session.run
    return run(*command, env=env) is not None


@nox.session(python=PYTHON)
def lint(session: Session) -> None:
    """Lint with ruff and yamllint; the workflows with zizmor and their schema; shell scripts."""
    from dockyard.gates import stepcache, workflowlint

    sync(session, "lint", project=False)
    session.run("ruff", "check", *(session.posargs or ["."]))
    session.run("ruff", "format", "--check", *(session.posargs or ["."]))
    # yamllint keeps no cache: it runs again whenever a file it reads, or the tool, changed.
    compose = [*Path().glob("*compose*.y*ml"), *Path("docker").glob("*.y*ml")]
    yamllint = stepcache.plan(
        "yamllint", ["yamllint", "--strict", *YAML, *map(str, compose)],
        reads=[*YAML, *compose, *YAMLLINT_CONFIGS], environment=Path(session.virtualenv.location),
    )  # fmt: skip
    if stepcache.run_unless_passed(
        yamllint, partial(ran, session), cache=stepcache.enabled(os.environ)
    ):
        session.log("yamllint: skipped, nothing it reads has changed since it last passed")
    for check in workflowlint.checks(Path()):
        session.run(*check.command)


@nox.session(python=PYTHON)
def typecheck(session: Session) -> None:
    """Type-check the suite, its tests, tasks.py and this file with mypy --strict."""
    sync(session, "typecheck")
    session.run("mypy", *(session.posargs or TYPED))


@nox.session(python=PYTHON)
def tests(session: Session) -> None:
    """Run the tests with coverage and a JUnit report (engine tests need Docker)."""
    sync(session, "test", "audit")
    Path("reports").mkdir(exist_ok=True)
    unless_passed(
        session, "tests",
        ["pytest", "--cov", "--cov-report=term", "--cov-report=xml:reports/coverage.xml",
         "--junitxml=reports/junit.xml", *(session.posargs or ["-m", "not image"])],
    )  # fmt: skip


@nox.session(python=PYTHON)
def image(session: Session) -> None:
    """Build the base and production images, then test them from the inside (testinfra)."""
    from dockyard.image.overrides import STATE_FILE

    sync(session, "test", "audit")
    session.run("invoke", "image.base", "--if-needed")  # the stand-ins only without a registry
    session.run("invoke", "image.build")
    session.run("invoke", "image.scan")
    # The stand-ins' own tests build them: only where this machine uses them (it recorded them).
    marker = "image" if Path(STATE_FILE).exists() else "image and not standin"
    unless_passed(
        session, "image tests",
        ["pytest", "-m", marker, "--junitxml=reports/junit-image.xml", *session.posargs],
    )  # fmt: skip


@nox.session(python=PYTHON, default=False)
def bench(session: Session) -> None:
    """Print the performance figures, each against a baseline from the same run."""
    sync(session, "test", "audit")
    session.run("python", "benchmarks/bench.py", *session.posargs)


@nox.session(python=PYTHON)
def audit(session: Session) -> None:
    """Lint Dockerfiles, scan the tree for secrets and audit the locked dependencies."""
    sync(session, "audit")
    session.run("invoke", "audit", *session.posargs)


@nox.session(python=PYTHON, requires=CI_GATES, venv_backend="none")
def ci(session: Session) -> None:
    """Run every gate in order, stopping at the first failure."""
    session.log("all gates passed: " + ", ".join(CI_GATES))
