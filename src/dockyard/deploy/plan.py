"""The decisions of a deploy, as data: which containers serve, which to remove, where to roll
back to, which images to prune. Nothing here touches Docker, files or the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from dockyard.core.config import Services
from dockyard.core.errors import UnknownNameError
from dockyard.stack.compose import ContainerState

VERSION_LABEL = "org.opencontainers.image.version"


@dataclass(frozen=True)
class Serving:
    """What an instance's proxy sends requests to: one version, in these containers."""

    version: str
    containers: tuple[str, ...]
    updated: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {"version": self.version, "containers": list(self.containers), "updated": self.updated}
        )

    @classmethod
    def from_json(cls, text: str) -> Serving:
        data = json.loads(text)
        return cls(str(data["version"]), tuple(map(str, data["containers"])), str(data["updated"]))


@dataclass(frozen=True)
class SwitchPlan:
    """The compose services a switch drives besides the app: the one-shot migrate service
    run before anything switches, and the services moved to the new version while the old
    containers drain. A part the configuration sets to none has no step."""

    migrate: str | None
    follow: tuple[str, ...]

    def steps(self) -> tuple[str, ...]:
        before = ("migrate",) if self.migrate else ()
        return (*before, "start", "ready", "switch", "check", "drain")


def plan_switch(services: Services, *, migrate: bool) -> SwitchPlan:
    """What a deploy (`migrate=True`) or a rollback (`migrate=False`) runs besides the app."""
    return SwitchPlan(
        migrate=services.migrate if migrate and services.migrate else None,
        follow=(services.worker,) if services.worker else (),
    )


def render_upstream(containers: Iterable[str], port: int) -> str:
    """The proxy's upstream servers: the containers of the live version, by name (resolved by
    Docker's DNS when nginx loads it)."""
    lines = ["# Written by `invoke deploy`: the containers of the live version."]
    lines += [f"server {name}:{port} max_fails=0;" for name in containers]
    return "\n".join(lines) + "\n"


def leftovers(containers: Iterable[ContainerState], serving: Serving | None) -> list[str]:
    """Containers of the service that the proxy does not send to: what an interrupted deploy
    left behind. With no record of what serves, nothing counts as left over."""
    if serving is None:
        return []
    return sorted(c.name for c in containers if c.name not in serving.containers)


def started_by_deploy(before: Iterable[str], after: Iterable[ContainerState]) -> list[str]:
    """The containers that scaling up added."""
    known = set(before)
    return sorted(c.name for c in after if c.name not in known)


@dataclass(frozen=True)
class Check:
    """How a container that a deploy started is doing."""

    ready: bool = False
    failed: str | None = None  # why it can never become ready
    waiting: str = ""


def judge(state: ContainerState, answered: bool, detail: str) -> Check:
    """A new container: ready when it answers its readiness check; failed as soon as it exits,
    restarts or is marked unhealthy (no point waiting out the deadline)."""
    if state.status in ("exited", "dead"):
        return Check(failed=f"{state.name} exited with code {state.exit_code}")
    if state.status == "restarting" or state.restart_count:
        return Check(failed=f"{state.name} is restarting (restarted {state.restart_count} times)")
    if state.health == "unhealthy":
        return Check(failed=f"{state.name} is unhealthy")
    if answered:
        return Check(ready=True)
    return Check(waiting=f"{state.name}: {detail}")


def rollback_target(
    deployed: Sequence[str], current: str | None, to: str | None, retained: Iterable[str]
) -> str:
    """The version a rollback goes to: `to` if it is retained, else the newest retained one
    that is not live. Raise, listing what is available, when there is none."""
    available = [v for v in deployed if v in set(retained)]
    choices = [v for v in available if v != current]
    listed = ", ".join(available) or "none"
    if to is not None:
        if to == current:
            raise UnknownNameError(
                f"version {to!r} is already live", hint=f"retained versions: {listed}"
            )
        if to not in choices:
            raise UnknownNameError(
                f"version {to!r} is not a retained version of this instance; nothing changed",
                hint=f"retained versions (newest first): {listed}",
            )
        return to
    if not choices:
        raise UnknownNameError(
            "there is no earlier version to roll back to; nothing changed",
            hint=f"retained versions (newest first): {listed}",
        )
    return choices[0]


def prunable(
    deployed_by_instance: Mapping[str, Sequence[str]],
    instance: str,
    keep: int,
    protected: Iterable[str],
) -> list[str]:
    """Versions whose images `instance` (the one just deployed) no longer keeps and no other
    instance keeps either: beyond its `keep` newest, not among the `keep` newest of any
    instance, and not `protected` (live somewhere, or tagged `latest`). Versions only other
    instances deployed are theirs to prune, never this deploy's."""
    kept = {v for versions in deployed_by_instance.values() for v in versions[:keep]}
    kept |= set(protected)
    own = deployed_by_instance.get(instance, ())
    return sorted(set(own[keep:]) - kept)
