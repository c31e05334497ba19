"""An instance's proxy during a deploy: which containers it sends requests to, changed without
dropping any.

The new upstream list is checked by nginx itself before it counts; then a graceful reload
(SIGHUP) lets requests in flight finish where they started while new connections go to the new
containers, and answers through the proxy confirm the version that now serves.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from dockyard.core.files import replace_atomically
from dockyard.deploy.plan import render_upstream
from dockyard.deploy.target import DeployFailedError, Target

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

PROBE_TIMEOUT = 1.0
RELOAD_SECONDS = 10.0
CONFIRM_SECONDS = 15.0


class Proxy:
    """The proxy of one instance, as the deploy's switch points it at containers."""

    def __init__(self, target: Target, client: docker.DockerClient) -> None:
        self.target = target
        self.client = client
        self.service = target.config.services.proxy
        self.port = target.config.deploy.app_port

    def container(self) -> Container | None:
        """The running proxy container, None when there is none."""
        label = [
            f"com.docker.compose.project={self.target.project.name}",
            f"com.docker.compose.service={self.service}",
        ]
        running = self.client.containers.list(filters={"label": label, "status": "running"})
        return running[0] if running else None

    def point_at(self, names: list[str], *, expect: str | None) -> None:
        """Point the proxy at `names`: check the configuration, reload nginx gracefully, and
        confirm through the proxy that the expected version answers."""
        upstream = self.target.upstream_dir / "upstream.conf"
        previous = upstream.read_text(encoding="utf-8") if upstream.exists() else None
        replace_atomically(upstream, render_upstream(names, self.port))
        proxy = self.container()
        if proxy is None:
            raise DeployFailedError(f"the proxy of {self.target.project.name} is not running")
        tested = proxy.exec_run(["nginx", "-t", "-q"])
        if tested.exit_code != 0:
            if previous is not None:
                replace_atomically(upstream, previous)
            said = tested.output if isinstance(tested.output, bytes) else b"".join(tested.output)
            output = said.decode(errors="replace").strip()
            raise DeployFailedError(f"the proxy rejected the new upstream: {output}")
        before = _accepting_workers(proxy)
        proxy.kill(signal="SIGHUP")
        self._await_reload(proxy, before)
        self._confirm(expect)

    def _await_reload(self, proxy: Container, before: set[str]) -> None:
        """Until every nginx worker of the old configuration has stopped taking connections
        (its title says "shutting down") and new ones have: from then on, every new connection
        sees the new upstream."""
        deadline = time.monotonic() + RELOAD_SECONDS
        while True:
            now = _accepting_workers(proxy)
            if now and not now & before:
                return
            if time.monotonic() >= deadline:
                raise DeployFailedError(
                    f"the proxy did not reload within {RELOAD_SECONDS:.0f} s "
                    f"(workers taking connections: {sorted(now)}, before: {sorted(before)})",
                    hint=f"`invoke stack.logs {self.service}` shows nginx's reason",
                )
            time.sleep(0.05)

    def _confirm(self, expect: str | None) -> None:
        import requests

        config = self.target.config
        wanted = config.deploy.switch_confirmations
        url = self.target.base_url + (
            config.health.version_path if expect else config.health.ready_path
        )
        deadline = time.monotonic() + CONFIRM_SECONDS
        streak, last = 0, "no answer yet"
        while streak < wanted:
            try:
                # A new connection each time: nginx's new workers take new connections.
                answer = requests.get(url, timeout=PROBE_TIMEOUT, headers={"Connection": "close"})
                if answer.status_code == 200 and (
                    expect is None or answer.json().get("version") == expect
                ):
                    streak += 1
                    continue
                streak, last = 0, f"HTTP {answer.status_code}: {answer.text.strip()[:200]}"
            except (requests.RequestException, ValueError) as error:
                streak, last = 0, type(error).__name__
            if time.monotonic() >= deadline:
                raise DeployFailedError(
                    f"the proxy did not answer with the new version (last answer: {last})"
                )
            time.sleep(0.05)


def _accepting_workers(proxy: Container) -> set[str]:
    """PIDs of the nginx worker processes that take new connections (the engine's `top`, so
    the image needs no `ps`)."""
    listing = proxy.top()
    titles = listing["Titles"]
    pid, command = titles.index("PID"), titles.index("CMD")
    return {
        row[pid]
        for row in listing["Processes"]
        if row[command].startswith("nginx: worker process") and "shutting down" not in row[command]
    }
