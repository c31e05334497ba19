"""Fixtures that run the reference service for real (helpers in `support`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from dockyard.core.config import Config

from .support import (
    CA_SENTINEL,
    RUN_ID,
    Backing,
    BuiltImage,
    StackImages,
    backing_containers,
    build_service_image,
    host_ca_bundle,
    resolve_images,
)

if TYPE_CHECKING:
    import docker


@pytest.fixture(scope="session")
def stack_images(repo_config: Config, docker_client: docker.DockerClient) -> StackImages:
    return resolve_images(repo_config, docker_client)


@pytest.fixture(scope="session")
def service_image(
    repo_config: Config,
    docker_client: docker.DockerClient,
    stack_images: StackImages,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BuiltImage]:
    bundle = tmp_path_factory.mktemp("ca") / "bundle.pem"
    bundle.write_text(
        CA_SENTINEL + "\n" + host_ca_bundle().read_text(encoding="utf-8"), encoding="utf-8"
    )
    name = f"dyt-tugboat-{RUN_ID}"
    result = build_service_image(repo_config, stack_images.python, bundle, name=name)
    yield BuiltImage(result.plan.tags[0], result, bundle, stack_images.python)
    for tag in result.plan.tags:
        docker_client.images.remove(tag, noprune=True)


@pytest.fixture
def backing(docker_client: docker.DockerClient, stack_images: StackImages) -> Iterator[Backing]:
    """Fresh PostgreSQL and Redis for one test (tests that stop them get their own)."""
    yield from backing_containers(docker_client, stack_images)


@pytest.fixture(scope="module")
def shared_backing(
    docker_client: docker.DockerClient, stack_images: StackImages
) -> Iterator[Backing]:
    """PostgreSQL and Redis shared by a module's tests that leave them running."""
    yield from backing_containers(docker_client, stack_images)
