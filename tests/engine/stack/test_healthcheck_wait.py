"""`stack.up` is ready only when no container's healthcheck is still starting, so the
`stack.health` that follows agrees with it."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from rich.console import Console

from dockyard.core.config import Config
from dockyard.stack import lifecycle as stack
from dockyard.stack.compose import ComposeProject, Verdict

from ..stacks import ENVIRON

pytestmark = pytest.mark.engine

# The process starts at once; its healthcheck passes only some seconds later.
SLOW_TO_HEALTH = """\
services:
  slow:
    image: ${SLOW_IMAGE:?}
    init: true
    stop_grace_period: 1s
    command:
      - python3
      - -c
      - "import pathlib, time; time.sleep(6); pathlib.Path('/tmp/ok').touch(); time.sleep(600)"
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 1s
      timeout: 5s
      retries: 3
      start_period: 120s
"""


@pytest.fixture
def slow_project(
    repo_config: Config,
    docker_client: docker.DockerClient,
    stack_ready_images: dict[str, str],
    tmp_path: Path,
) -> Iterator[ComposeProject]:
    compose = tmp_path / "compose.yml"
    compose.write_text(SLOW_TO_HEALTH, encoding="utf-8")
    env_file = tmp_path / ".env"
    env_file.write_text("", encoding="utf-8")
    image = stack_ready_images.get("PYTHON_IMAGE", repo_config.images.python)
    name = f"dyt-slow-{uuid.uuid4().hex[:8]}"
    project = ComposeProject(name, tmp_path, (compose,), env_file, {"SLOW_IMAGE": image})
    try:
        yield project
    finally:
        stack.down(docker_client, name, volumes=True)


def test_up_waits_for_a_healthcheck_still_starting_after_a_probe_vouched(
    slow_project: ComposeProject, docker_client: docker.DockerClient
) -> None:
    """A readiness probe that passes at once does not make `up` return while the container's
    own healthcheck is starting; right after `up`, every service is ready as `stack.health`
    sees it."""
    output = io.StringIO()
    probe = stack.Probe(frozenset({"slow"}), lambda: True, "answers")
    stack.up(
        slow_project,
        ENVIRON,
        docker_client,
        Console(file=output, width=200),
        timeout=180,
        ports={},
        probe=probe,
    )
    states = stack.service_states(slow_project, ENVIRON, docker_client)
    assert [(s.name, s.verdict) for s in states] == [("slow", Verdict.READY)]
    assert [c.health for c in states[0].containers] == ["healthy"]
    assert "healthcheck starting" in output.getvalue()
