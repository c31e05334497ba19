"""Fixtures that run the real compose stack: unique project names and ports, cleaned up after."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from rich.console import Console

from dockyard import stack
from dockyard.config import Config
from dockyard.envcommands import ensure_profile
from dockyard.imagestate import read_overrides

from .stacks import ENVIRON, PROFILE, RunningStack, free_port

if TYPE_CHECKING:
    import docker


@pytest.fixture(scope="session")
def stack_ready_images(repo_config: Config, docker_client: docker.DockerClient) -> dict[str, str]:
    """The base images (local stand-ins when no registry has them) and the service image,
    built the way `invoke bootstrap` builds them; both steps skip what is already current."""
    from dockyard.bootstrap import _have_or_pull
    from dockyard.imagebuild import gather, plan_build, run_build
    from dockyard.imagecommands import build_base_images
    from dockyard.images import official_images

    wanted = {**official_images(repo_config), **read_overrides(repo_config)}
    if not all(_have_or_pull(docker_client, name) for name in wanted.values()):
        build_base_images(repo_config, ENVIRON, Console(file=io.StringIO()))
    run_build(plan_build(repo_config, gather(repo_config, ENVIRON)), ENVIRON)
    return read_overrides(repo_config)


@pytest.fixture
def make_stack(
    repo_config: Config,
    docker_client: docker.DockerClient,
    stack_ready_images: dict[str, str],
    tmp_path: Path,
) -> Iterator[Callable[..., RunningStack]]:
    """Make stacks with their own project name, port, env file and volumes; remove them after."""
    made: list[RunningStack] = []

    def make(extra_files: tuple[Path, ...] = ()) -> RunningStack:
        name = f"dyt-{uuid.uuid4().hex[:8]}"
        env_dir = tmp_path / name
        env_dir.mkdir()
        config = dataclasses.replace(
            repo_config,
            project=name,
            ports={"proxy": free_port()},
            env_dir=str(env_dir),
            compose_files=[*repo_config.compose_files, *map(str, extra_files)],
        )
        ensure_profile(config, PROFILE)
        project = stack.project_for(config, PROFILE, stack_ready_images)
        running = RunningStack(config, project, docker_client, io.StringIO())
        made.append(running)
        return running

    yield make
    for running in made:
        # By project name alone, so that a test's broken compose file cannot stop the cleanup.
        subprocess.run(
            ["docker", "compose", "--project-name", running.project.name, "down", "--volumes"],
            cwd=tmp_path, env=ENVIRON, capture_output=True, check=True, timeout=120,
        )  # fmt: skip
