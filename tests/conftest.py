"""Shared fixtures: the project's configuration and, for engine tests, a live Docker engine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dockyard.core.config import Config, load_config
from dockyard.core.errors import EngineUnavailableError

if TYPE_CHECKING:
    import docker

REPO = Path(__file__).resolve().parent.parent
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
