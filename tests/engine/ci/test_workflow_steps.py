"""Every `run:` step of every workflow runs in a clean clone as a user that is not root, with
the variables a hosted runner sets; see runner.py for what stands in for what, and why.

A step that needs something no step installed, or that only root can do, fails here as it
would on a runner; the planted workflows at the end prove that it does.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from .runner import Ran, clone, describe, ensure_user, run_steps, runner_environ

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
SETUP = """\
name: planted
on: [push]
permissions: {}
jobs:
  job:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1  # v7.0.1
"""


@dataclass(frozen=True)
class Runner:
    """A user that is not root and a directory of its own; each job gets a fresh clone."""

    user: str
    home: Path
    base: Path

    def run(self, workflow: Path, source: Path = REPO) -> list[Ran]:
        """Run `workflow`'s job in a fresh clean clone of `source`'s HEAD."""
        job = Path(tempfile.mkdtemp(prefix="job-", dir=self.base))
        shutil.chown(job, self.user)
        workspace = clone(source, job, self.user)
        temp = job / "runner-temp"
        temp.mkdir()
        shutil.chown(temp, self.user)
        environ = runner_environ(self.user, self.home, workspace, temp)
        return run_steps(workflow, workspace, self.user, environ, temp)

    def plant(self, name: str, steps: str) -> Path:
        path = self.base / name
        path.write_text(SETUP + steps)
        return path


@pytest.fixture(scope="module")
def runner(docker_client: docker.DockerClient) -> Iterator[Runner]:
    user, home = ensure_user()
    base = Path(tempfile.mkdtemp(prefix="dockyard-runner-"))
    shutil.chown(base, user)
    try:
        yield Runner(user, home, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


BAD_OPTION = (
    "      - run: scripts/bootstrap.sh --toolchain-only\n"
    "      - run: .venv/bin/invoke deploy --instanse staging\n"
)


@pytest.fixture(scope="module")
def jobs(runner: Runner) -> dict[str, list[Ran]]:
    """Every workflow's job, and one planted with a misspelt option, each in its own clone;
    three at a time, since each installs the toolchain for real."""
    planted = runner.plant("badoption.yml", BAD_OPTION)
    with ThreadPoolExecutor(max_workers=3) as pool:
        running = {path.name: pool.submit(runner.run, path) for path in [*WORKFLOWS, planted]}
        return {name: future.result() for name, future in running.items()}


@pytest.mark.parametrize("name", [path.name for path in WORKFLOWS])
def test_every_step_of_the_workflow_runs_as_a_runner_user(
    jobs: dict[str, list[Ran]], name: str
) -> None:
    ran = jobs[name]
    assert ran, f"{name} has no steps"
    assert all(r.code == 0 for r in ran), describe(ran)
    assert any(r.step.run for r in ran), f"{name} runs nothing"


def test_an_unknown_task_option_fails_the_step(jobs: dict[str, list[Ran]]) -> None:
    ran = jobs["badoption.yml"]
    assert [r.code != 0 for r in ran] == [False, False, True], describe(ran)
    assert "No idea what" in ran[-1].output


def test_the_runner_user_is_not_root_and_reaches_the_engine(runner: Runner) -> None:
    ran = runner.run(
        runner.plant("whoami.yml", '      - run: test "$(id -u)" != 0 && docker info\n')
    )
    assert [r.code for r in ran] == [0, 0], describe(ran)


def test_a_step_that_needs_root_fails(runner: Runner) -> None:
    ran = runner.run(
        runner.plant("root.yml", "      - run: apt-get install --yes --no-download shellcheck\n")
    )
    assert [r.code != 0 for r in ran] == [False, True], describe(ran)
    assert "are you root" in ran[-1].output


def test_a_tool_no_step_installed_fails(runner: Runner) -> None:
    # The workflow's install step left out: a fresh clone has no .venv.
    ran = runner.run(runner.plant("noinstall.yml", "      - run: .venv/bin/nox -s lint\n"))
    assert [r.code != 0 for r in ran] == [False, True], describe(ran)
    assert ".venv/bin/python: not found" in ran[-1].output
