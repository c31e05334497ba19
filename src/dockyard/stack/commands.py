"""`invoke stack.*`: up, down, ps, health and logs of the compose stack."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from dockyard.core.config import Config
from dockyard.core.engine import connect
from dockyard.core.errors import ExitCode, UnknownNameError
from dockyard.core.invocation import Invocation
from dockyard.core.output import show
from dockyard.stack import lifecycle as stack
from dockyard.stack import logs as stacklogs
from dockyard.stack.compose import ComposeProject, ServiceState, Verdict
from dockyard.stack.health import NotReadyError, ready_answers, wait_ready
from dockyard.stack.proxyconf import ProxyFiles, published_port, published_ports
from dockyard.stack.proxyfiles import remove_files

if TYPE_CHECKING:
    from rich.console import Console

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
VERDICT_STYLE = {
    "ready": "green",
    "done": "green",
    "waiting": "yellow",
    "failed": "bold red",
    "down": "bold red",
}
START_HINT = "`invoke stack.up` starts it"


def base_url(config: Config) -> str:
    """Where the stack answers on this machine: the proxy's published port on 127.0.0.1
    (`[tool.dockyard.ports] <proxy>`, 8080 when not set: the proxy is always published)."""
    return f"http://127.0.0.1:{published_port(config)}"


def default_project(
    invocation: Invocation, profile: str = "development", *, dev: bool = False
) -> ComposeProject:
    from dockyard.image.overrides import read_overrides

    config = invocation.config
    if profile not in config.profiles:
        raise UnknownNameError(
            f"unknown profile {profile!r}", hint=f"use one of: {', '.join(config.profiles)}"
        )
    return stack.project_for(
        config, profile, read_overrides(config), environ=invocation.environ, dev=dev
    )


def start(
    invocation: Invocation, profile: str = "development", *, dev: bool = False
) -> stack.Readiness:
    """Bring the stack up and wait until every service is ready; the service and its proxy
    count as ready as soon as the service's readiness answers 200 through the proxy.
    Shared by `stack.up` and `bootstrap`."""
    config = invocation.config
    project = default_project(invocation, profile, dev=dev)
    client = connect(invocation.environ)
    ready_url = base_url(config) + config.health.ready_path
    probe = stack.Probe(
        frozenset({config.services.app, config.services.proxy}),
        lambda: ready_answers(ready_url),
        f"{config.health.ready_path} answers 200 through the proxy",
    )
    return stack.up(
        project,
        invocation.environ,
        client,
        invocation.console,
        timeout=config.health.timeout_seconds,
        ports=published_ports(config),
        probe=probe,
        named=config.services.named(),
    )


def up(invocation: Invocation, profile: str = "development", dev: bool = False) -> int:
    readiness = start(invocation, profile, dev=dev)
    slowest = max(readiness.services.values(), default=0.0)
    url = base_url(invocation.config)

    def lines(console: Console) -> None:
        console.print(f"[green]stack is up[/] and ready in {slowest:.1f} s")
        console.print(f"  {url}")

    document = {"ok": True, "seconds": round(readiness.seconds, 2), "services": readiness.services}
    show(invocation, document, lines)
    return ExitCode.OK


def down(invocation: Invocation, volumes: bool = False) -> int:
    config = invocation.config
    removed = stack.down(connect(invocation.environ), config.project, volumes=volumes)
    remove_files(ProxyFiles.of(config, config.project))
    kept = "data volumes removed" if volumes else "data volumes kept (--volumes removes them)"
    was = "" if removed else " (no container of it was running)"
    invocation.console.print(f"stack {config.project} is down{was}; {kept}")
    return ExitCode.OK


def health(invocation: Invocation) -> int:
    """Every service's state and, through the proxy, the service's own readiness answer."""
    project = default_project(invocation)
    states = stack.service_states(project, invocation.environ, connect(invocation.environ))
    url = base_url(invocation.config)
    ready: str | None = None
    running = not _is_down(states)
    if running:
        try:
            wait_ready(url + invocation.config.health.ready_path, timeout=2)
            ready = "ready"
        except NotReadyError as error:
            ready = error.message
    failed = any(s.verdict in (Verdict.FAILED, Verdict.WAITING, Verdict.DOWN) for s in states) or (
        ready not in (None, "ready")
    )

    def lines(console: Console) -> None:
        _print_states(console, states, project.name)
        if ready is not None:
            style = "green" if ready == "ready" else "bold red"
            console.print(f"  {'(proxy)':<12} [{style}]{ready}[/]")

    document = {
        "ok": not failed,
        "running": running,
        "services": [_as_dict(state) for state in states],
        "through_proxy": ready,
    }
    show(invocation, document, lines)
    return ExitCode.FAILED if failed else ExitCode.OK


def ps(invocation: Invocation) -> int:
    """Every service's state; a report, so it exits 0 also when the stack is down."""
    project = default_project(invocation)
    states = stack.service_states(project, invocation.environ, connect(invocation.environ))
    show(
        invocation,
        [_as_dict(state) for state in states],
        lambda console: _print_states(console, states, project.name),
    )
    return ExitCode.OK


def logs(invocation: Invocation, service: str = "", save: bool = False, tail: int = 100) -> int:
    """Show the tail of the logs, or with `save` write every service's full log to files."""
    project = default_project(invocation)
    services = [service] if service else _service_names(invocation, project)
    if save:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        directory = invocation.config.path(".dockyard/logs") / stamp
        for path in stacklogs.save_logs(project, invocation.environ, services, directory):
            invocation.console.print(f"wrote {path.relative_to(invocation.config.root)}")
        return ExitCode.OK
    from dockyard.core import proc

    shown = proc.run(
        project.command("logs", "--no-color", "--tail", str(tail), *services),
        env=project.environ(invocation.environ),
        timeout=60,
    )
    print(ANSI_ESCAPE.sub("", shown.stdout), end="")
    return ExitCode.OK


def _service_names(invocation: Invocation, project: ComposeProject) -> list[str]:
    return [plan.name for plan in stack.validate(project, invocation.environ)]


def _as_dict(state: ServiceState) -> dict[str, object]:
    return {
        "service": state.name,
        "verdict": state.verdict.value,
        "detail": state.detail,
        "containers": [
            {"name": c.name, "status": c.status, "health": c.health} for c in state.containers
        ],
    }


def _is_down(states: list[ServiceState]) -> bool:
    return bool(states) and all(state.verdict is Verdict.DOWN for state in states)


def _print_states(console: Console, states: list[ServiceState], name: str) -> None:
    if _is_down(states):
        console.print(f"stack {name} is [bold red]not running[/]; {START_HINT}")
        return
    for state in states:
        style = VERDICT_STYLE[state.verdict.value]
        console.print(f"  {state.name:<12} [{style}]{state.verdict.value:<8}[/] {state.detail}")
