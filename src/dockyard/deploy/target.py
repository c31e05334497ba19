"""What a deploy works on and what it reports: the instance as a Target, the Outcome of a
switch, and the error that says a new version did not go live."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.core.config import Config
from dockyard.core.errors import DockyardError
from dockyard.stack.compose import ComposeProject


class DeployFailedError(DockyardError):
    """The new version did not go live; the old one still serves (the message says so)."""


@dataclass(frozen=True)
class Target:
    """One instance as a deploy sees it: its compose project, where it answers, its state."""

    config: Config
    instance: str
    project: ComposeProject  # APP_IMAGE is set per deploy, by `with_image`
    base_url: str  # the instance's proxy, e.g. http://127.0.0.1:8081
    runtime_dir: Path  # .dockyard/instances/<id>: serving.json and the proxy's upstream
    replicas: int = 1
    port_setting: str = "[tool.dockyard.ports] in pyproject.toml"  # where its port is set

    @property
    def upstream_dir(self) -> Path:
        return self.runtime_dir / "proxy"

    def with_image(self, image: str) -> ComposeProject:
        project = self.project
        return ComposeProject(
            project.name,
            project.directory,
            project.files,
            project.env_file,
            {
                **project.variables,
                "APP_IMAGE": image,
                "DOCKYARD_UPSTREAM_DIR": str(self.upstream_dir),
            },
        )


@dataclass
class Outcome:
    """What a switch did, for the summary, the history and the benchmarks."""

    version: str
    previous: str | None
    started: float = field(default_factory=time.monotonic)
    switched_at: float | None = None  # time.monotonic() when the proxy confirmed the new version
    finished: float | None = None
    notes: list[str] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started
