"""The Python stand-in follows the service's Python: a service pinned to 3.13 gets one built
from Debian trixie, for real, which runs Python 3.13."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from dockyard.core.config import Config, load_config
from dockyard.image.base.build import build
from dockyard.image.base.plan import BaseImage, plan_base_images

from ..stacks import ENVIRON

REPO = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.engine, pytest.mark.image, pytest.mark.standin]


@pytest.fixture
def pinned_to_313(tmp_path: Path) -> Config:
    """A copy of this project whose service pins Python 3.13, under a prefix of its own."""
    (tmp_path / "service").mkdir()
    (tmp_path / "service/pyproject.toml").write_text(
        '[project]\nname = "s"\nversion = "1.0"\nrequires-python = ">=3.12"\n', encoding="utf-8"
    )
    (tmp_path / "service/.python-version").write_text("3.13\n", encoding="utf-8")
    config = load_config(REPO)
    images = dataclasses.replace(
        config.images, local_prefix=f"dockyard-test-{uuid.uuid4().hex[:8]}"
    )
    return dataclasses.replace(
        config, root=tmp_path, images=images, service_pyproject="service/pyproject.toml"
    )


@pytest.fixture
def python_313(
    pinned_to_313: Config, docker_client: docker.DockerClient
) -> Iterator[list[BaseImage]]:
    """The Debian trixie base and the Python stand-in on it, built; removed afterwards."""
    items = [
        i for i in plan_base_images(pinned_to_313, "2026-01-01T00:00:00Z") if i.suite == "trixie"
    ]
    try:
        for item in items:
            build(pinned_to_313, item, ENVIRON)
        yield items
    finally:
        for item in reversed(items):
            with contextlib.suppress(docker.errors.ImageNotFound):
                docker_client.images.remove(item.name, force=True)


def test_a_service_pinned_to_python_3_13_gets_a_trixie_stand_in_that_runs_it(
    python_313: list[BaseImage], docker_client: docker.DockerClient
) -> None:
    """Only what the 3.13 service needs comes from trixie; the stand-in runs Python 3.13."""
    assert [(i.key, i.version) for i in python_313] == [("debian-trixie", "13"), ("python", "3.13")]
    python = python_313[-1]
    assert python.name.endswith("/python:3.13-trixie")
    output = docker_client.containers.run(python.name, ["python3", "--version"], remove=True)
    assert output.decode().startswith("Python 3.13.")
