"""A project's compose file without a proxy, served through the proxy dockyard adds itself."""

from __future__ import annotations

import io
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from rich.console import Console

from dockyard.core.config import Config, Health, Services
from dockyard.stack import lifecycle as stack
from dockyard.stack.compose import ComposeProject
from dockyard.stack.proxyconf import ProxyFiles

from ..stacks import ENVIRON, free_port

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.engine

# One service and nothing else: a static file server on a network of its own, no proxy.
COMPOSE = """\
services:
  app:
    image: ${APP_IMAGE:?dockyard sets it}
    command: ["python", "-m", "http.server", "8000", "--directory", "/srv"]
    read_only: true
    env_file:
      - path: ${DOCKYARD_ENV_FILE:?dockyard sets it}
        required: true
    volumes:
      - type: bind
        source: ./site
        target: /srv
        read_only: true
    healthcheck:
      test:
        - CMD
        - perl
        - -MIO::Socket::INET
        - -e
        - exit !IO::Socket::INET->new('127.0.0.1:8000')
      interval: 1s
      timeout: 3s
      retries: 30
    networks: [front, data]
    deploy:
      replicas: ${APP_REPLICAS:-1}
networks:
  front: {}
  data: {internal: true}
"""


@pytest.fixture
def adopted(
    tmp_path: Path, docker_client: docker.DockerClient, stack_ready_images: dict[str, str]
) -> Iterator[tuple[Config, ComposeProject]]:
    """A project in a temporary directory that adopts dockyard: its compose file, an env file,
    a page to serve; removed with its containers afterwards."""
    (tmp_path / "compose.yml").write_text(COMPOSE, encoding="utf-8")
    (tmp_path / "site").mkdir()
    (tmp_path / "site/hello.txt").write_text("served by the app\n", encoding="utf-8")
    env_file = tmp_path / ".env.testing"
    env_file.write_text("GREETING=hello\n", encoding="utf-8")
    none = Services(app="app", worker="", migrate="", database="", cache="")
    config = Config(
        root=tmp_path,
        project=f"dyp-{uuid.uuid4().hex[:8]}",
        image="tugboat",
        compose_files=["compose.yml"],
        services=none,
        ports={"proxy": free_port()},
        health=Health(ready_path="/hello.txt"),
    )
    project = stack.project_for(
        config, "testing", stack_ready_images, environ=ENVIRON, env_file=env_file
    )
    try:
        yield config, project
    finally:
        stack.down(docker_client, project.name, volumes=True)
        shutil.rmtree(ProxyFiles.of(config, project.name).directory, ignore_errors=True)


def test_a_stack_without_a_proxy_of_its_own_is_served_through_dockyards(
    adopted: tuple[Config, ComposeProject], docker_client: docker.DockerClient
) -> None:
    config, project = adopted
    readiness = stack.up(
        project,
        ENVIRON,
        docker_client,
        Console(file=io.StringIO(), width=200),
        timeout=120,
        ports=config.ports,
        named=config.services.named(),
    )
    assert set(readiness.services) == {"app", "proxy"}
    answer = requests.get(f"http://127.0.0.1:{config.ports['proxy']}/hello.txt", timeout=5)
    assert answer.status_code == 200
    assert answer.text == "served by the app\n"
    assert answer.headers["Server"] == "nginx"  # the proxy answered, not the app's own server
    labels = [f"com.docker.compose.project={project.name}", "com.docker.compose.service=proxy"]
    [proxy] = docker_client.containers.list(filters={"label": labels})
    networks = proxy.attrs["NetworkSettings"]["Networks"]
    assert sorted(networks) == [f"{project.name}_front"]  # not the app's internal network
    bindings = proxy.attrs["HostConfig"]["PortBindings"]["8080/tcp"]
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(config.ports["proxy"])}]
    assert proxy.attrs["HostConfig"]["ReadonlyRootfs"] is True
    assert proxy.attrs["HostConfig"]["CapDrop"] == ["ALL"]
