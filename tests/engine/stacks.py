"""Support for tests that run the real compose stack."""

from __future__ import annotations

import io
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console

from dockyard.core.config import Config
from dockyard.core.invocation import toolchain_environ
from dockyard.stack import lifecycle as stack
from dockyard.stack.compose import ComposeProject

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

ENVIRON = toolchain_environ(os.environ)
PROFILE = "testing"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningStack:
    """A stack under test: its configuration, compose project and where it answers."""

    config: Config
    project: ComposeProject
    client: docker.DockerClient
    output: io.StringIO

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.config.ports['proxy']}"

    def up(self, timeout: float = 120) -> stack.Readiness:
        return stack.up(
            self.project,
            ENVIRON,
            self.client,
            Console(file=self.output, width=200),
            timeout=timeout,
            ports=self.config.ports,
        )

    def down(self, *, volumes: bool = False) -> None:
        stack.down(self.client, self.project.name, volumes=volumes)

    def container(self, service: str, index: int = 1) -> Container:
        return self.client.containers.get(f"{self.project.name}-{service}-{index}")
