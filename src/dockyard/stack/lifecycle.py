"""The compose stack: bring it up and wait until it is healthy, take it down, show and save logs.

`up` validates the compose files first (compose's own message on a mistake),
checks the published ports, starts the services, then watches every container
against a monotonic deadline: it reports each service as it becomes ready and
stops at the first that fails, showing that service's health output and logs.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core import proc
from dockyard.core.config import Config
from dockyard.core.errors import CommandFailedError, DockyardError, MissingFileError
from dockyard.core.ports import find_listener, port_is_free
from dockyard.image.build import image_ref
from dockyard.stack.compose import (
    DEPENDS_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    ComposeProject,
    ContainerState,
    ServicePlan,
    ServiceState,
    Verdict,
    assess,
    check_named_services,
    container_state,
    observe,
    plan_services,
    still_starting,
    stop_order,
)
from dockyard.stack.logs import diagnose
from dockyard.stack.proxyconf import port_variables
from dockyard.stack.proxyfiles import compose_config, shown_path, with_proxy

if TYPE_CHECKING:
    import docker
    from rich.console import Console

POLL_SECONDS = 0.2
STACK_PORTS = "[tool.dockyard.ports] in pyproject.toml"


class StackFailedError(DockyardError):
    """A service did not become healthy; the message holds its health output and logs."""


@dataclass(frozen=True)
class Probe:
    """A direct readiness check (an HTTP request through the proxy, say) that vouches for some
    services sooner than the engine's healthcheck interval would."""

    services: frozenset[str]
    check: Callable[[], bool]
    label: str


@dataclass(frozen=True)
class Readiness:
    """How long each service took, for the summary and the benchmarks."""

    seconds: float
    services: dict[str, float]  # seconds from `began` until each service was ready
    began: float = 0.0  # time.monotonic() when the wait began


def project_for(
    config: Config,
    profile: str = "development",
    overrides: Mapping[str, str] | None = None,
    *,
    environ: Mapping[str, str],
    dev: bool = False,
    env_file: Path | None = None,
    name: str | None = None,
) -> ComposeProject:
    """The compose project of the default stack: config's files (plus the development
    override with `dev`) and dockyard's proxy after them, and the profile's env file (or
    `env_file`, e.g. its example). Compose renders the project's own files once (with
    `environ`) to place the proxy on the service's networks."""
    names = [*config.compose_files, *(config.dev_compose_files if dev else [])]
    files = tuple(config.path(name) for name in names)
    for path in files:
        if not path.is_file():
            raise MissingFileError(
                f"{path}: compose file not found",
                hint="check [tool.dockyard] compose_files in pyproject.toml",
            )
    env_file = env_file or config.path(config.env_dir) / f".env.{profile}"
    if not env_file.is_file():
        raise MissingFileError(
            f"{env_file}: not found", hint=f"run `invoke env.init --profile {profile}`"
        )
    variables = port_variables(config)
    variables["APP_IMAGE"] = image_ref(config, "latest")
    variables.update(overrides or {})
    own = ComposeProject(name or config.project, config.root, files, env_file, variables)
    return with_proxy(config, own, environ)


def validate(
    project: ComposeProject,
    environ: Mapping[str, str],
    named: Mapping[str, str] | None = None,
) -> list[ServicePlan]:
    """`docker compose config`: compose's own message, verbatim, when a file is wrong (BAD-05);
    and every service in `named` (`Services.named()`) must be one the files define."""
    plans = plan_services(compose_config(project, environ))
    if named is not None:
        files = ", ".join(shown_path(path, project.directory) for path in project.files)
        check_named_services(named, [plan.name for plan in plans], files)
    return plans


def check_ports(
    ports: Mapping[str, int], owned: Callable[[int], bool], *, setting: str = STACK_PORTS
) -> None:
    """Every published port must be free, or already ours; name the holder otherwise, and
    `setting`, where the port is set."""
    busy = []
    for name, port in ports.items():
        if port_is_free(port) or owned(port):
            continue
        holder = find_listener(port)
        busy.append(f"port {port} ({name}) is in use" + (f" by {holder}" if holder else ""))
    if busy:
        raise DockyardError(
            "; ".join(busy) + "; nothing was started",
            hint=f"stop what holds it, or set another port in {setting}",
        )


def up(
    project: ComposeProject,
    environ: Mapping[str, str],
    client: docker.DockerClient,
    console: Console,
    *,
    timeout: float,
    ports: Mapping[str, int],
    probe: Probe | None = None,
    port_setting: str = STACK_PORTS,
    named: Mapping[str, str] | None = None,
) -> Readiness:
    """Validate (with the configured service names, `named`), start and wait until every
    service is healthy (or a one-shot has completed)."""
    plans = validate(project, environ, named)
    check_ports(ports, lambda port: _published_by(client, project.name, port), setting=port_setting)
    # Compose itself waits for `depends_on` conditions; it runs in the background while the
    # wait below reports every service's progress and explains a failure.
    with tempfile.TemporaryFile("w+", prefix="dockyard-compose-") as output:
        starter = proc.spawn(
            project.command("up", "--detach", "--no-build", "--remove-orphans"),
            env=project.environ(environ),
            output=output,
        )
        try:
            return wait_ready(
                project, client, plans, console, timeout=timeout, starter=starter, probe=probe
            )
        except StackFailedError as failure:
            output.seek(0)
            compose_said = output.read().strip().splitlines()[-5:]
            raise StackFailedError(
                failure.message + "\ncompose said:\n" + "\n".join(f"  {x}" for x in compose_said)
            ) from None
        finally:
            if starter.poll() is None:
                starter.terminate()
            starter.wait(timeout=30)


def wait_ready(
    project: ComposeProject,
    client: docker.DockerClient,
    plans: list[ServicePlan],
    console: Console,
    *,
    timeout: float,
    starter: subprocess.Popen[str] | None = None,
    probe: Probe | None = None,
) -> Readiness:
    """Poll the containers until all services are ready; fail fast on exited, restarting or
    unhealthy containers, or when compose gives up; stop at a monotonic deadline."""
    started = time.monotonic()
    since = time.time() - 1  # containers created from here on are this run's
    deadline = started + timeout
    reached: dict[str, float] = {}
    shown: dict[str, str] = {}
    while True:
        settled = starter is None or starter.poll() is not None
        containers = project_containers(client, project.name)
        states = [assess(plan, containers, settled=settled, since=since) for plan in plans]
        if probe is not None:
            states = _vouch(states, probe)
        for state in states:
            if shown.get(state.name) != state.detail:
                shown[state.name] = state.detail
                console.print(f"  {state.name:<12} {state.verdict.value:<8} {state.detail}")
            if state.verdict in (Verdict.READY, Verdict.DONE):
                reached.setdefault(state.name, time.monotonic() - started)
            else:
                reached.pop(state.name, None)  # replaced by compose: not ready after all
        failed = next((s for s in states if s.verdict is Verdict.FAILED), None)
        if failed is None and starter is not None and starter.poll() not in (None, 0):
            failed = next((s for s in states if s.verdict is Verdict.WAITING), states[0])
        if failed is not None:
            raise StackFailedError(diagnose(client, failed, "failed"))
        # Ready only once compose has finished too (until then it may still replace containers
        # that look healthy now), and once no container's own healthcheck is still starting.
        starting = still_starting(states)
        if len(reached) == len(plans) and (starter is None or starter.poll() == 0):
            if not starting:
                return Readiness(time.monotonic() - started, reached, started)
            _show_starting(console, starting, shown)
        if time.monotonic() >= deadline:
            waiting = (
                s for s in states if s.name not in reached or set(s.containers) & set(starting)
            )
            late = next(waiting, states[0])
            raise StackFailedError(diagnose(client, late, f"not ready after {timeout:.0f} s"))
        time.sleep(POLL_SECONDS)


def _show_starting(console: Console, starting: list[ContainerState], shown: dict[str, str]) -> None:
    for each in (c for c in starting if shown.get(c.name) != "starting"):
        shown[each.name] = "starting"
        console.print(f"  {each.service:<12} waiting  {each.name}: healthcheck starting")


def _vouch(states: list[ServiceState], probe: Probe) -> list[ServiceState]:
    """Mark the probe's services ready when their containers run and the probe passes."""
    covered = [s for s in states if s.name in probe.services]
    running = all(
        s.verdict is not Verdict.FAILED
        and s.containers
        and all(c.status == "running" for c in s.containers)
        for s in covered
    )
    if not covered or not running or not probe.check():
        return states
    return [
        replace(s, verdict=Verdict.READY, detail=f"ready ({probe.label})")
        if s in covered and s.verdict is Verdict.WAITING
        else s
        for s in states
    ]


def down(client: docker.DockerClient, name: str, *, volumes: bool) -> int:
    """Stop and remove the project's containers (dependants first, each within its own stop
    grace period) and its networks; data volumes stay unless `volumes`. Return how many
    containers were removed.

    The project is found by compose's labels, not through `docker compose down`: that needs
    either the compose files and env file (which may be broken or gone) or, by project name
    alone, every service's containers (it fails with "could not find migrate" once a one-shot's
    container has been removed)."""
    from concurrent.futures import ThreadPoolExecutor

    from docker.errors import DockerException

    where = {"label": f"{PROJECT_LABEL}={name}"}
    try:
        found = client.api.containers(all=True, filters=where)
        by_service: dict[str, list[str]] = {}
        labels: dict[str, str] = {}
        for summary in found:
            service = (summary.get("Labels") or {}).get(SERVICE_LABEL, "")
            by_service.setdefault(service, []).append(summary["Id"])
            labels[service] = (summary.get("Labels") or {}).get(DEPENDS_LABEL, "")
        with ThreadPoolExecutor(max_workers=8) as pool:
            for wave in stop_order(labels):
                ids = [each for service in wave for each in by_service[service]]
                list(pool.map(lambda each: _remove_container(client, each, volumes), ids))
        for network in client.api.networks(filters=where):
            client.api.remove_network(network["Id"])
        if volumes:
            for volume in client.api.volumes(filters=where).get("Volumes") or []:
                client.api.remove_volume(volume["Name"])
    except DockerException as error:
        raise CommandFailedError(
            f"could not take down {name}: {error}",
            hint="see what holds it with `docker ps -a --filter label="
            f"{PROJECT_LABEL}={name}`, then run the command again",
        ) from None
    return len(found)


def _remove_container(client: docker.DockerClient, container: str, volumes: bool) -> None:
    """Stop a container within its own grace period (compose's stop_grace_period), remove it."""
    from docker.errors import NotFound

    try:
        grace = client.api.inspect_container(container)["Config"].get("StopTimeout")
        client.api.stop(container, timeout=int(grace) if grace is not None else 10)
        client.api.remove_container(container, v=volumes, force=True)
    except NotFound:
        return  # gone meanwhile: what down wants


def service_states(
    project: ComposeProject, environ: Mapping[str, str], client: docker.DockerClient
) -> list[ServiceState]:
    """Every service's current state, for `stack.ps` and `stack.health`."""
    plans = validate(project, environ)
    return observe(plans, project_containers(client, project.name))


def project_containers(client: docker.DockerClient, project: str) -> list[ContainerState]:
    """The project's service containers (not `compose run` one-offs), fully inspected."""
    from docker.errors import DockerException, NotFound

    label = f"com.docker.compose.project={project}"
    states = []
    try:
        for summary in client.api.containers(all=True, filters={"label": label}):
            if summary.get("Labels", {}).get("com.docker.compose.oneoff") == "True":
                continue
            try:
                states.append(container_state(client.api.inspect_container(summary["Id"])))
            except NotFound:
                continue  # removed between the listing and the inspection
    except DockerException as error:
        raise CommandFailedError(f"could not list the containers of {project}: {error}") from None
    return states


def _published_by(client: docker.DockerClient, project: str, port: int) -> bool:
    """Whether a container of the project holds `port`: also one that is restarting after a
    failed start, which a re-run replaces."""
    from docker.errors import NotFound

    from dockyard.stack.compose import publishes

    label = f"com.docker.compose.project={project}"
    for summary in client.api.containers(all=True, filters={"label": label}):
        try:
            attrs = client.api.inspect_container(summary["Id"])
        except NotFound:
            continue  # removed meanwhile
        if publishes(attrs, port):
            return True
    return False
