"""An instance's proxy during a deploy: which containers it sends requests to, changed without
dropping any.

The new upstream list is checked by nginx itself before it counts; then a graceful reload
(SIGHUP) lets requests in flight finish where they started while new connections go to the new
containers. The switch is confirmed from what dockyard controls: the upstream names only the
new containers, each runs the deployed image, nginx's old workers take no more connections, and
then the readiness URL answers through the proxy several times in a row. A configured version
endpoint is checked as well, on the same answers' terms (see `deploy.confirm`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from dockyard.core.files import replace_atomically
from dockyard.deploy.confirm import (
    MAX_BODY,
    Answer,
    Verdict,
    ready_verdict,
    routed_verdict,
    upstream_names,
    version_verdict,
)
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

    def point_at(self, names: list[str], *, image: str | None, expect: str | None) -> None:
        """Point the proxy at `names`: check the configuration, reload nginx gracefully, and
        confirm that the proxy routes to those containers (running `image`, an image id, when
        given) and that they answer through it (with version `expect` at the configured version
        endpoint, when both are given)."""
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
        self._check_routes(names, image)
        self._confirm(expect)

    def _check_routes(self, names: list[str], image: str | None) -> None:
        """The upstream file names exactly `names`, and the engine runs them on `image`."""
        from docker.errors import NotFound

        upstream = self.target.upstream_dir / "upstream.conf"
        images: dict[str, str | None] = {}
        for name in names:
            try:
                attrs = self.client.api.inspect_container(name)
            except NotFound:
                images[name] = None
                continue
            running = (attrs.get("State") or {}).get("Running", False)
            images[name] = str(attrs.get("Image", "")) if running else None
        written = upstream_names(upstream.read_text(encoding="utf-8"))
        verdict = routed_verdict(written, names, images, image)
        if not verdict.ok:
            raise DeployFailedError(
                f"the proxy does not route to the new containers: {verdict.detail}"
            )

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
        """Answers through the proxy, `switch_confirmations` rounds in a row: the readiness URL
        answers 200, and the version endpoint names `expect` when one is configured."""
        config = self.target.config
        wanted = config.deploy.switch_confirmations
        ready_url = self.target.base_url + config.health.ready_path
        version_path = config.health.version_path
        version_url = self.target.base_url + version_path if version_path and expect else None
        deadline = time.monotonic() + CONFIRM_SECONDS
        streak, last = 0, "no answer yet"
        while streak < wanted:
            verdict = ready_verdict(fetch(ready_url))
            if verdict.ok and version_url is not None and expect is not None:
                verdict = _at(version_path, version_verdict(fetch(version_url), expect))
            if verdict.ok:
                streak += 1
                continue
            streak, last = 0, verdict.detail
            if time.monotonic() >= deadline:
                raise DeployFailedError(
                    f"the proxy did not confirm the switch within {CONFIRM_SECONDS:.0f} s "
                    f"(last answer: {last})",
                    hint=f"`invoke stack.logs {config.services.app}` shows what the service said",
                )
            time.sleep(0.05)


def fetch(url: str, timeout: float = PROBE_TIMEOUT) -> Answer:
    """One GET on a new connection (nginx's new workers take new connections), reading at most
    MAX_BODY bytes of the body; any failure is an `Answer` without a status."""
    import requests

    body = b""
    try:
        with requests.get(
            url, timeout=timeout, headers={"Connection": "close"}, stream=True
        ) as answer:
            for chunk in answer.iter_content(chunk_size=16384):
                body += chunk
                if len(body) > MAX_BODY:
                    break
            status = answer.status_code
    except requests.RequestException as error:
        return Answer(error=type(error).__name__)
    return Answer(status, body[:MAX_BODY], truncated=len(body) > MAX_BODY)


def _at(path: str, verdict: Verdict) -> Verdict:
    return verdict if verdict.ok else Verdict(False, f"{path}: {verdict.detail}")


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
