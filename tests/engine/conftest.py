"""Fixtures that run the real compose stack: unique project names and ports, cleaned up after."""

from __future__ import annotations

import dataclasses
import io
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from rich.console import Console

from dockyard.core.config import Config
from dockyard.env.commands import ensure_profile
from dockyard.image.overrides import read_overrides
from dockyard.stack import lifecycle as stack
from dockyard.stack.proxyconf import ProxyFiles

from .stacks import ENVIRON, PROFILE, RunningStack, free_port

if TYPE_CHECKING:
    import docker


@pytest.fixture(scope="session")
def stack_ready_images(repo_config: Config, docker_client: docker.DockerClient) -> dict[str, str]:
    """The base images (local stand-ins when no registry has them) and the service image,
    built the way `invoke bootstrap` builds them; both steps skip what is already current."""
    from dockyard.image.build import gather, plan_build, run_build
    from dockyard.image.commands import build_base_images, unavailable_images

    if unavailable_images(repo_config, ENVIRON):
        build_base_images(repo_config, ENVIRON, Console(file=io.StringIO()))
    run_build(plan_build(repo_config, gather(repo_config, ENVIRON)), ENVIRON)
    return read_overrides(repo_config)


@contextmanager
def stack_factory(
    config: Config, client: docker.DockerClient, images: dict[str, str], directory: Path
) -> Iterator[Callable[..., RunningStack]]:
    """Make stacks with their own project name, port, env file and volumes; remove them after."""
    made: list[RunningStack] = []
    proxies: list[ProxyFiles] = []  # written for every stack made, even one refused

    def make(extra_files: tuple[Path, ...] = ()) -> RunningStack:
        name = f"dyt-{uuid.uuid4().hex[:8]}"
        env_dir = directory / name
        env_dir.mkdir()
        own = dataclasses.replace(
            config,
            project=name,
            ports={"proxy": free_port()},
            env_dir=str(env_dir),
            compose_files=[*config.compose_files, *map(str, extra_files)],
        )
        ensure_profile(own, PROFILE)
        proxies.append(ProxyFiles.of(own, name))
        running = RunningStack(
            own, stack.project_for(own, PROFILE, images, environ=ENVIRON), client, io.StringIO()
        )
        made.append(running)
        return running

    try:
        yield make
    finally:
        for running in made:
            stack.down(client, running.project.name, volumes=True)
        for proxy in proxies:
            shutil.rmtree(proxy.directory, ignore_errors=True)


@pytest.fixture
def make_stack(
    repo_config: Config,
    docker_client: docker.DockerClient,
    stack_ready_images: dict[str, str],
    tmp_path: Path,
) -> Iterator[Callable[..., RunningStack]]:
    """A stack per test, for tests that break or stop things."""
    with stack_factory(repo_config, docker_client, stack_ready_images, tmp_path) as make:
        yield make


@pytest.fixture(scope="module")
def make_module_stack(
    repo_config: Config,
    docker_client: docker.DockerClient,
    stack_ready_images: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., RunningStack]]:
    """Stacks shared by a module's tests that only look."""
    directory = tmp_path_factory.mktemp("stacks")
    with stack_factory(repo_config, docker_client, stack_ready_images, directory) as make:
        yield make
