"""The steps the gate sessions are made of: a locked install, ruff, yamllint, a test run.

Each takes the nox session it runs in. The install, yamllint and the test runs go through the
step cache (`dockyard.gates.stepcache`), so they are skipped while nothing they read has changed
since they last passed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.gates import stepcache

if TYPE_CHECKING:
    from nox import Session

# Where yamllint looks for its configuration (the first that exists wins).
YAMLLINT_CONFIGS = [".yamllint", ".yamllint.yaml", ".yamllint.yml"]
_GLOB = frozenset("*?[")


def sync(session: Session, *groups: str, project: bool = True) -> None:
    """Install locked dependency groups, with the project unless told not to.

    Skipped while the lock, the workspace, uv and the environment are as the last sync left them.
    """
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


def ruff(session: Session) -> None:
    """ruff check and ruff format --check, on the project or on the paths after `--`."""
    session.run("ruff", "check", *(session.posargs or ["."]))
    session.run("ruff", "format", "--check", *(session.posargs or ["."]))


def yaml_paths(patterns: Sequence[str], root: Path) -> list[str]:
    """The paths yamllint checks: each pattern as it is, or the files its glob matches (sorted);
    a glob that matches nothing adds nothing."""
    paths: list[str] = []
    for pattern in patterns:
        if _GLOB.isdisjoint(pattern):
            paths.append(pattern)
        else:
            paths += sorted(str(found.relative_to(root)) for found in root.glob(pattern))
    return paths


def yamllint(session: Session, patterns: Sequence[str]) -> None:
    """yamllint --strict on the configured YAML; it keeps no cache of its own, so it runs again
    only when a file it reads, its configuration or the tool changed."""
    paths = yaml_paths(patterns, Path())
    step = stepcache.plan(
        "yamllint", ["yamllint", "--strict", *paths],
        reads=[*paths, *YAMLLINT_CONFIGS], environment=Path(session.virtualenv.location),
    )  # fmt: skip
    if stepcache.run_unless_passed(
        step, partial(ran, session), cache=stepcache.enabled(os.environ)
    ):
        session.log("yamllint: skipped, nothing it reads has changed since it last passed")
