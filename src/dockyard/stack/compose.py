"""Compose, as data: the command lines for a project, and what its containers' states mean.

Nothing here runs a process; `dockyard.stack` does, and decides nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from dockyard.core.errors import ConfigError

SERVICES_TABLE = "[tool.dockyard.services]"


@dataclass(frozen=True)
class ComposeProject:
    """One compose project: its name, files, env file and the variables its files interpolate."""

    name: str
    directory: Path
    files: tuple[Path, ...]
    env_file: Path
    variables: Mapping[str, str] = field(default_factory=dict)

    def command(self, *args: str) -> list[str]:
        files = [part for path in self.files for part in ("--file", str(path))]
        return [
            "docker", "compose", "--project-name", self.name,
            "--project-directory", str(self.directory), *files,
            "--env-file", str(self.env_file), *args,
        ]  # fmt: skip

    def environ(self, base: Mapping[str, str]) -> dict[str, str]:
        """The environment for `docker compose`: the caller's, this project's variables on top."""
        return {**base, **self.variables, "DOCKYARD_ENV_FILE": str(self.env_file)}


class Verdict(StrEnum):
    WAITING = "waiting"
    READY = "ready"
    DONE = "done"  # a one-shot that exited 0
    FAILED = "failed"
    DOWN = "down"  # no container: the stack (or this service) is not running


@dataclass(frozen=True)
class ServicePlan:
    """What compose's configuration says about a service: how many, and whether it runs once."""

    name: str
    replicas: int = 1
    one_shot: bool = False
    has_healthcheck: bool = True


@dataclass(frozen=True)
class ContainerState:
    """One container as the engine reports it."""

    service: str
    name: str
    status: str  # created, running, restarting, exited, dead, paused
    health: str  # healthy, unhealthy, starting, or "" without a healthcheck
    exit_code: int = 0
    restart_count: int = 0
    created: float = 0.0  # epoch seconds


@dataclass(frozen=True)
class ServiceState:
    """How far one service has come, and why, for the progress display and failure report."""

    name: str
    verdict: Verdict
    detail: str
    containers: tuple[ContainerState, ...] = ()


def plan_services(config_json: str) -> list[ServicePlan]:
    """Read `docker compose config --format json` into the services to wait for."""
    document = json.loads(config_json)
    plans = []
    for name, service in sorted(document.get("services", {}).items()):
        restart = str(service.get("restart", "no"))
        healthcheck = service.get("healthcheck") or {}
        plans.append(
            ServicePlan(
                name=name,
                replicas=int((service.get("deploy") or {}).get("replicas") or 1),
                one_shot=restart == "no" and bool(healthcheck.get("disable")),
                has_healthcheck=bool(healthcheck) and not healthcheck.get("disable"),
            )
        )
    return plans


def check_named_services(
    named: Mapping[str, str], present: Iterable[str], files: str, *, source: str = "pyproject.toml"
) -> None:
    """Every compose service the configuration names (`Services.named()`) must be one that
    `files` define; raise a ConfigError naming each key that points at none."""
    known = sorted(set(present))
    problems = [
        f"{SERVICES_TABLE} {part} = {name!r}: no service {name!r} in {files} "
        f"(services there: {', '.join(known) or 'none'})"
        for part, name in named.items()
        if name not in known
    ]
    if problems:
        raise ConfigError(
            source,
            problems,
            hint=f"name a service of {files} in {SERVICES_TABLE}, or set an optional part "
            '(worker, migrate, database, cache) to "" when the service has none',
        )


def container_state(attrs: Mapping[str, Any]) -> ContainerState:
    """A container from the engine's inspect data (docker-py's `container.attrs`)."""
    state = attrs.get("State", {})
    labels = attrs.get("Config", {}).get("Labels") or {}
    return ContainerState(
        service=labels.get("com.docker.compose.service", "?"),
        name=attrs.get("Name", "?").lstrip("/"),
        status=state.get("Status", "?"),
        health=(state.get("Health") or {}).get("Status", ""),
        exit_code=int(state.get("ExitCode", 0)),
        restart_count=int(attrs.get("RestartCount", 0)),
        created=_epoch(attrs.get("Created", "")),
    )


def _epoch(stamp: str) -> float:
    """The engine's RFC 3339 time (nanoseconds and all) as epoch seconds; 0 when absent."""
    if not stamp:
        return 0.0
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    seconds = dt.datetime.fromisoformat(whole).replace(tzinfo=dt.UTC).timestamp()
    return seconds + float(f"0.{fraction[:6] or 0}")


def assess(
    plan: ServicePlan,
    containers: Iterable[ContainerState],
    *,
    settled: bool = True,
    since: float = 0.0,
) -> ServiceState:
    """Decide whether a service is ready, still coming up, or has failed (fail fast, DEP-03).

    While compose is still at work (`settled` false) it stops and replaces containers, so only
    the containers created since `since` (epoch seconds) are judged for failure until then.
    """
    mine = tuple(c for c in containers if c.service == plan.name)
    if len(mine) < plan.replicas:
        return ServiceState(
            plan.name, Verdict.WAITING, f"{len(mine)}/{plan.replicas} created", mine
        )
    if plan.one_shot:
        return _assess_one_shot(plan, mine)
    judged = [c for c in mine if settled or c.created >= since]
    for container in judged:
        if container.status in {"exited", "dead"}:
            detail = f"{container.name} exited with code {container.exit_code}"
            return ServiceState(plan.name, Verdict.FAILED, detail, mine)
        if container.status == "restarting" or container.restart_count > 0:
            detail = f"{container.name} is restarting (restarted {container.restart_count} times)"
            return ServiceState(plan.name, Verdict.FAILED, detail, mine)
        if container.health == "unhealthy":
            return ServiceState(plan.name, Verdict.FAILED, f"{container.name} is unhealthy", mine)
    running = [c for c in mine if c.status == "running"]
    # A container's own healthcheck (from its image, when compose declares none) counts too:
    # one still "starting" is not ready, so `stack.health` right after `stack.up` agrees.
    healthy = [
        c for c in running if c.health == "healthy" or (not plan.has_healthcheck and not c.health)
    ]
    if len(healthy) == len(mine):
        word = "healthy" if plan.has_healthcheck else "running"
        return ServiceState(plan.name, Verdict.READY, f"{len(mine)}/{len(mine)} {word}", mine)
    return ServiceState(
        plan.name, Verdict.WAITING, f"{len(healthy)}/{len(mine)} healthy, starting", mine
    )


def still_starting(states: Iterable[ServiceState]) -> list[ContainerState]:
    """The running containers whose healthcheck has not yet passed or failed: until none is
    left, the stack is not ready, even where a readiness probe already vouched for a service."""
    return [
        c
        for state in states
        for c in state.containers
        if c.status == "running" and c.health == "starting"
    ]


def observe(plans: Iterable[ServicePlan], containers: list[ContainerState]) -> list[ServiceState]:
    """Every service as it is now, for `stack.ps` and `stack.health`: no one is starting it, so
    a service without a container is down, not about to start."""
    return [
        assess(plan, containers)
        if any(c.service == plan.name for c in containers)
        else ServiceState(plan.name, Verdict.DOWN, "not running")
        for plan in plans
    ]


def _assess_one_shot(plan: ServicePlan, mine: tuple[ContainerState, ...]) -> ServiceState:
    failed = [c for c in mine if c.status in ("exited", "dead") and c.exit_code != 0]
    if failed:
        detail = f"{failed[0].name} exited with code {failed[0].exit_code}"
        return ServiceState(plan.name, Verdict.FAILED, detail, mine)
    if all(c.status == "exited" for c in mine):
        return ServiceState(plan.name, Verdict.DONE, "completed", mine)
    return ServiceState(plan.name, Verdict.WAITING, "running", mine)


# The labels compose puts on what it creates; `down` finds a project's containers by them.
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
DEPENDS_LABEL = "com.docker.compose.depends_on"


def stop_order(depends_on: Mapping[str, str]) -> list[list[str]]:
    """The services to stop, in waves: every service before the ones it depends on, as compose
    stops them. `depends_on` maps each service that has a container to its depends_on label
    ("migrate:service_completed_successfully:false,postgres:service_healthy:false"); a
    dependency with no container left is no reason to wait."""
    needs = {
        service: {part.split(":", 1)[0] for part in label.split(",") if part} & set(depends_on)
        for service, label in depends_on.items()
    }
    waves: list[list[str]] = []
    left = set(needs)
    while left:
        needed = {dependency for service in left for dependency in needs[service]}
        wave = sorted(left - needed) or sorted(left)  # a cycle: stop the rest together
        waves.append(wave)
        left -= set(wave)
    return waves


def publishes(attrs: Mapping[str, Any], port: int) -> bool:
    """Whether a container (its `docker inspect` attributes) holds host port `port`: running,
    or restarting (the engine keeps the port of a container between its restarts, and its
    state then lists no port), with the port in its configuration."""
    state = attrs.get("State") or {}
    if not (state.get("Running") or state.get("Restarting")):
        return False
    bindings = (attrs.get("HostConfig") or {}).get("PortBindings") or {}
    return any(
        str(binding.get("HostPort", "")) == str(port)
        for found in bindings.values()
        for binding in found or ()
    )
