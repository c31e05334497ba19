"""The local registry's container in the engine: find it, start it, wait for it, remove it.

`dockyard.registry.plan` decides (its options, its image, what `up` does); this module acts
through docker-py and asks the registry's HTTP API whether it answers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard.registry.client import RegistryClient
from dockyard.registry.plan import (
    SPEC_LABEL,
    Action,
    Found,
    LocalRegistry,
    RegistryError,
    Target,
)

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

STOP_SECONDS = 10
POLL_SECONDS = 0.5
LOG_LINES = 20


@dataclass(frozen=True)
class Status:
    """The local registry as the engine and its API see it."""

    container: str
    state: str  # "running", "exited", ... or "absent"
    health: str  # the image's healthcheck: "healthy", "starting", ... or "" without one
    image: str
    volume: str
    volume_exists: bool
    answers: bool
    detail: str


def find(client: docker.DockerClient, name: str) -> Found | None:
    """The container called `name`, or None."""
    container = _container(client, name)
    if container is None:
        return None
    labels = container.labels or {}
    image = str((container.attrs.get("Config") or {}).get("Image", ""))
    return Found(status=str(container.status), image=image, spec=labels.get(SPEC_LABEL, ""))


def available(client: docker.DockerClient, image: str) -> bool:
    """Whether the engine has `image` or can pull it now."""
    from docker.errors import DockerException, ImageNotFound

    try:
        client.images.get(image)
    except ImageNotFound:
        try:
            client.images.pull(image)
        except DockerException:
            return False
    return True


def apply(client: docker.DockerClient, wanted: LocalRegistry, action: Action) -> None:
    """Do what `decide_up` decided."""
    from docker.errors import DockerException

    try:
        if action is Action.RECREATE:
            remove(client, wanted.name)
        if action in (Action.CREATE, Action.RECREATE):
            client.containers.run(wanted.image, detach=True, **wanted.options())
        elif action is Action.START:
            client.containers.get(wanted.name).start()
    except DockerException as error:
        text = str(error)
        hint = "stop whatever holds the port, or set [tool.dockyard.registry] local_port"
        if "port is already allocated" in text or "address already in use" in text:
            raise RegistryError(
                f"cannot start {wanted.name}: 127.0.0.1:{wanted.port} is taken", hint=hint
            ) from None
        raise RegistryError(f"cannot start {wanted.name}: {text.splitlines()[0]}") from None


def wait_ready(client: docker.DockerClient, name: str, where: Target, timeout: float) -> float:
    """Seconds until `GET /v2/` answers; a RegistryError with the logs when the container
    stops or the deadline (monotonic) passes first."""
    started = time.monotonic()
    deadline = started + timeout
    last = ""
    with RegistryClient(where, timeout=min(5.0, timeout)) as api:
        for _ in range(int(timeout / POLL_SECONDS) + 2):
            container = _container(client, name)
            if container is None or container.status in ("exited", "dead"):
                raise RegistryError(
                    f"{name} stopped before its registry answered:\n{_logs(container)}",
                    hint="read the log above; `invoke registry.down` then `invoke registry.up`",
                )
            try:
                api.ping()
                return time.monotonic() - started
            except RegistryError as error:
                last = error.message
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS)
    raise RegistryError(
        f"{name}: {where.api}/v2/ did not answer within {timeout:.0f} s ({last}):\n"
        f"{_logs(_container(client, name))}",
        hint="raise [tool.dockyard.registry] ready_timeout_seconds on a slow machine, "
        "or read the log above",
    )


def remove(client: docker.DockerClient, name: str) -> bool:
    """Stop and remove the container; False when there was none."""
    from docker.errors import NotFound

    container = _container(client, name)
    if container is None:
        return False
    try:
        container.stop(timeout=STOP_SECONDS)
        container.remove(v=False)
    except NotFound:
        return False
    return True


def remove_volume(client: docker.DockerClient, volume: str) -> bool:
    """Remove the data volume; False when there was none."""
    from docker.errors import NotFound

    try:
        client.volumes.get(volume).remove()
    except NotFound:
        return False
    return True


def status(client: docker.DockerClient, name: str, volume: str, where: Target) -> Status:
    from docker.errors import NotFound

    container = _container(client, name)
    try:
        client.volumes.get(volume)
        volume_exists = True
    except NotFound:
        volume_exists = False
    if container is None:
        return Status(name, "absent", "", "", volume, volume_exists, False, "not started")
    state = container.attrs.get("State") or {}
    health = str((state.get("Health") or {}).get("Status", ""))
    image = str((container.attrs.get("Config") or {}).get("Image", ""))
    answers, detail = False, f"{where.api}/v2/"
    if container.status == "running":
        try:
            with RegistryClient(where, timeout=5.0) as api:
                api.ping()
            answers = True
        except RegistryError as error:
            detail = error.message
    return Status(
        name, str(container.status), health, image, volume, volume_exists, answers, detail
    )


def _container(client: docker.DockerClient, name: str) -> Container | None:
    from docker.errors import NotFound

    try:
        return client.containers.get(name)
    except NotFound:
        return None


def _logs(container: Container | None) -> str:
    if container is None:
        return "  (the container is gone)"
    text = bytes(container.logs(tail=LOG_LINES)).decode(errors="replace").rstrip()
    return "\n".join(f"  {line}" for line in text.splitlines()) or "  (no output)"
