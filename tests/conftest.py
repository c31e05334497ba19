"""Shared fixtures: the project's configuration and, for engine tests, a live Docker engine."""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dockyard.core.config import Config, load_config
from dockyard.core.errors import EngineUnavailableError

if TYPE_CHECKING:
    import docker

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
REQUIRE_DOCKER = os.environ.get("DOCKYARD_REQUIRE_DOCKER") == "1"


@pytest.fixture(scope="session")
def repo_config() -> Config:
    """The configuration of this repository, as `invoke` loads it."""
    return load_config(REPO)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """The live engine; without one a test skips, or fails when Docker is required."""
    from dockyard.core.engine import connect

    try:
        client = connect(os.environ)
    except EngineUnavailableError as error:
        message = f"no Docker engine: {error}"
        if REQUIRE_DOCKER:
            pytest.fail(f"{message} (DOCKYARD_REQUIRE_DOCKER=1)", pytrace=False)
        pytest.skip(message)
    yield client
    client.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every engine test uses the engine fixture, so a missing engine is never a silent pass."""
    for item in items:
        if item.get_closest_marker("engine") and "docker_client" not in getattr(
            item, "fixturenames", ()
        ):
            raise pytest.UsageError(
                f"{item.nodeid} is marked engine but does not use docker_client"
            )


# --- time per package against its budget ---------------------------------------------------

# The budgets are the README's table ("Tests and the Docker engine"): one place to change them.
BUDGET_ROW = re.compile(r"^\| `(tests/[a-z_/]*)`[^|]*\| (\d+) s \|", re.MULTILINE)
_SPENT: dict[str, float] = defaultdict(float)


def budgets() -> dict[str, float]:
    return {name: float(seconds) for name, seconds in BUDGET_ROW.findall(README.read_text())}


def package_of(nodeid: str, known: Iterable[str]) -> str:
    """The budgeted package a test belongs to: the longest budget path its file is under."""
    matching = [name for name in known if nodeid.startswith(name)]
    return max(matching, key=len, default=nodeid.split("::", maxsplit=1)[0].rsplit("/", 1)[0] + "/")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _SPENT[report.nodeid] += report.duration  # setup, call and teardown


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Each package's time against its budget, so a slow test is seen where it lands; a figure,
    not a verdict (a loaded machine is slower)."""
    if not _SPENT:
        return
    limits = budgets()
    spent: dict[str, float] = defaultdict(float)
    for nodeid, seconds in _SPENT.items():
        spent[package_of(nodeid, limits)] += seconds
    terminalreporter.section("time per package (budget in README.md)")
    for name in sorted(spent, key=lambda name: -spent[name]):
        limit = limits.get(name)
        verdict = "no budget" if limit is None else "OVER" if spent[name] > limit else "ok"
        budget = f"{limit:.0f} s" if limit is not None else "-"
        terminalreporter.write_line(
            f"  {name:<28} {spent[name]:7.1f} s  budget {budget:>6}  {verdict}"
        )
