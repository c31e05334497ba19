"""What a failed or finished stack leaves to read: a failed service's health output and the tail
of its logs, and every service's full log saved to files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core import proc
from dockyard.stack.compose import ComposeProject, ServiceState

if TYPE_CHECKING:
    import docker

LOG_TAIL = 40


def diagnose(client: docker.DockerClient, state: ServiceState, what: str) -> str:
    """The failed service's last health-check output and the tail of its logs."""
    lines = [f"service {state.name} {what}: {state.detail}"]
    from docker.errors import NotFound

    for container in state.containers:
        try:
            attrs = client.api.inspect_container(container.name)
        except NotFound:
            continue  # replaced by compose meanwhile
        probes = (attrs.get("State", {}).get("Health") or {}).get("Log") or []
        if probes:
            last = probes[-1]
            lines.append(f"last health check of {container.name} (exit {last.get('ExitCode')}):")
            lines += [f"  {line}" for line in str(last.get("Output", "")).strip().splitlines()]
        logs = client.api.logs(container.name, tail=LOG_TAIL).decode(errors="replace")
        lines.append(f"last {LOG_TAIL} log lines of {container.name}:")
        lines += [f"  {line}" for line in logs.rstrip().splitlines()] or ["  (no output)"]
    lines.append(
        f"the other services are left running for inspection; `invoke stack.logs {state.name}` "
        "shows more, `invoke stack.down` stops everything"
    )
    return "\n".join(lines)


def save_logs(
    project: ComposeProject, environ: Mapping[str, str], services: list[str], directory: Path
) -> list[Path]:
    """Write each service's full log to `directory/<service>.log`; return the files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for service in services:
        found = proc.run(
            project.command("logs", "--no-color", "--timestamps", service),
            env=project.environ(environ),
            timeout=120,
        )
        path = directory / f"{service}.log"
        path.write_text(found.stdout, encoding="utf-8")
        written.append(path)
    return written
