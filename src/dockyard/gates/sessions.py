"""dockyard's gates as nox sessions: importing this module from a noxfile registers them.

A project's `noxfile.py` is then a few lines::

    import nox

    from dockyard.gates import sessions  # noqa: F401  (registers the sessions)

    nox.needs_version = ">=2025.2.9"

What is particular to a project (the paths to type-check, the YAML to lint, the test command,
the dependency groups) comes from `[tool.dockyard.gates]`, read once when a session first needs
it; the interpreter is the one `.python-version` names, when the project has that file.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import nox
from nox import Session

from dockyard.core.config import Gates, load_config
from dockyard.core.errors import DockyardError
from dockyard.gates import steps

# The gates `nox -s ci` runs, in order; it stops at the first that fails.
CI_GATES = ["lint", "typecheck", "tests", "audit", "image"]


def python_version(root: Path) -> str | None:
    """The interpreter `.python-version` names, or None (nox's own) when there is no such file."""
    try:
        return (root / ".python-version").read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


PYTHON = python_version(Path())


@cache
def _gates(root: Path) -> Gates:
    return load_config(root).gates


def gates(session: Session) -> Gates:
    """`[tool.dockyard.gates]` of the project nox runs in; a configuration problem ends the
    session with its one-line message."""
    try:
        return _gates(Path().resolve())
    except DockyardError as error:
        session.error(str(error))


@nox.session(python=PYTHON)
def lint(session: Session) -> None:
    """Lint with ruff and yamllint; the workflows with zizmor and their schema; shell scripts."""
    from dockyard.gates import workflowlint

    settings = gates(session)
    steps.sync(session, *settings.lint_groups, project=False)
    steps.ruff(session)
    steps.yamllint(session, settings.yaml)
    for check in workflowlint.checks(Path()):
        session.run(*check.command)


@nox.session(python=PYTHON)
def typecheck(session: Session) -> None:
    """Type-check the suite, its tests, tasks.py and this file with mypy --strict."""
    settings = gates(session)
    steps.sync(session, *settings.typecheck_groups)
    session.run("mypy", *(session.posargs or settings.typed))


@nox.session(python=PYTHON)
def tests(session: Session) -> None:
    """Run the tests with coverage and a JUnit report (engine tests need Docker)."""
    settings = gates(session)
    steps.sync(session, *settings.test_groups)
    Path("reports").mkdir(exist_ok=True)
    command = [*settings.tests, *(session.posargs or settings.test_args)]
    steps.unless_passed(session, "tests", command)


@nox.session(python=PYTHON)
def image(session: Session) -> None:
    """Build the base and production images, then test them from the inside (testinfra)."""
    settings = gates(session)
    steps.sync(session, *settings.test_groups)
    from dockyard.image.overrides import STATE_FILE

    session.run("invoke", "image.base", "--if-needed")  # the stand-ins only without a registry
    session.run("invoke", "image.build")
    session.run("invoke", "image.scan")
    if settings.image_tests:
        # The stand-ins' own tests only where this machine uses them (image.base recorded them);
        # pytest takes the last -m it is given.
        standins = [] if Path(STATE_FILE).exists() else ["-m", "image and not standin"]
        command = [*settings.image_tests, *standins, *session.posargs]
        steps.unless_passed(session, "image tests", command)


@nox.session(python=PYTHON, default=False)
def bench(session: Session) -> None:
    """Print the performance figures, each against a baseline from the same run."""
    settings = gates(session)
    if not settings.bench:
        session.error("no benchmark: set [tool.dockyard.gates] bench to the command that runs it")
    steps.sync(session, *settings.test_groups)
    session.run(*settings.bench, *session.posargs)


@nox.session(python=PYTHON)
def audit(session: Session) -> None:
    """Lint Dockerfiles, scan the tree for secrets and audit the locked dependencies."""
    steps.sync(session, *gates(session).audit_groups)
    session.run("invoke", "audit", *session.posargs)


@nox.session(python=PYTHON, requires=CI_GATES, venv_backend="none")
def ci(session: Session) -> None:
    """Run every gate in order, stopping at the first failure."""
    session.log("all gates passed: " + ", ".join(CI_GATES))
