"""Support for deploy tests: a private deploy world (own project name, instances, state and env
dir), service versions told apart by `/version`, a steady load through the proxy, a webhook."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from rich.console import Console

from dockyard.core.config import Config
from dockyard.core.invocation import Invocation
from dockyard.env.commands import ensure_profile
from dockyard.stack import lifecycle as stack
from dockyard.stack.health import closed_unanswered

from .stacks import ENVIRON, PROFILE, free_port

if TYPE_CHECKING:
    import docker

REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("deploy_driver.py")


def build_version(base: str, tag: str, version: str, *, command: str | None = None) -> None:
    """An image of the service that answers `/version` with `version`, or runs `command`
    instead of the service (a JSON array: `["sleep", "3600"]` never gets ready)."""
    lines = [
        f"FROM {base}",
        f"ENV APP_VERSION={version}",
        f'LABEL org.opencontainers.image.version="{version}"',
    ]
    if command is not None:
        lines.append(f"CMD {command}")
    subprocess.run(
        ["docker", "build", "--quiet", "--tag", tag, "-"],
        input="\n".join(lines) + "\n",
        text=True,
        check=True,
        capture_output=True,
        env=ENVIRON,
    )


def settings_for(config: Config) -> dict[str, Any]:
    """What a separate process needs to rebuild this world's configuration."""
    return {
        "project": config.project,
        "env_dir": config.env_dir,
        "instances_dir": config.instances_dir,
        "deploy": dataclasses.asdict(config.deploy),
    }


@dataclass
class World:
    """Instances of one test module, with their own state; everything removed at the end."""

    config: Config
    client: docker.DockerClient
    directory: Path
    versions: dict[str, str] = field(default_factory=dict)  # name -> image tag
    output: io.StringIO = field(default_factory=io.StringIO)

    @classmethod
    def make(cls, repo_config: Config, client: docker.DockerClient, directory: Path) -> World:
        name = f"dyd{uuid.uuid4().hex[:6]}"
        deploy = dataclasses.replace(
            repo_config.deploy,
            state_dir=str(directory / "state"),
            ready_timeout_seconds=25.0,
            drain_seconds=15.0,
            monitor_settle_seconds=2.0,
            monitor_interval_seconds=0.5,
            monitor_max_seconds=30.0,
            webhook_timeout_seconds=1.0,
            webhook_attempts=2,
        )
        (directory / "env").mkdir()
        (directory / "instances").mkdir()
        config = dataclasses.replace(
            repo_config,
            project=name,
            env_dir=str(directory / "env"),
            instances_dir=str(directory / "instances"),
            deploy=deploy,
        )
        ensure_profile(config, PROFILE)
        return cls(config, client, directory)

    def add_version(self, base: str, name: str, *, command: str | None = None) -> str:
        tag = f"{self.config.project}-{name}"
        build_version(base, f"{self.config.image}:{tag}", tag, command=command)
        self.versions[name] = tag
        return tag

    def add_instance(self, instance: str, *, replicas: int = 1) -> int:
        port = free_port()
        (Path(self.config.instances_dir) / f"{instance}.toml").write_text(
            f'profile = "{PROFILE}"\nport = {port}\nreplicas = {replicas}\nworker_replicas = 1\n',
            encoding="utf-8",
        )
        return port

    def invocation(self, **environ: str) -> Invocation:
        console = Console(file=self.output, width=200)
        return Invocation(self.config, {**ENVIRON, **environ}, console)

    def url(self, instance: str) -> str:
        text = (Path(self.config.instances_dir) / f"{instance}.toml").read_text(encoding="utf-8")
        port = next(
            line.split("=")[1].strip() for line in text.splitlines() if line.startswith("port")
        )
        return f"http://127.0.0.1:{port}"

    def live_version(self, instance: str) -> str:
        return str(requests.get(self.url(instance) + "/version", timeout=5).json()["version"])

    def project_name(self, instance: str) -> str:
        return f"{self.config.project}-{instance}"

    def app_containers(self, instance: str) -> list[str]:
        states = stack.project_containers(self.client, self.project_name(instance))
        return sorted(s.name for s in states if s.service == self.config.services.app)

    def driver(self, *args: str, gate: Path | None = None) -> subprocess.Popen[str]:
        """`invoke deploy`'s code in a process of its own, for locks, signals and kill -9;
        with `gate`, it waits where it would take the lock until `gate` exists."""
        settings = self.directory / "settings.json"
        settings.write_text(json.dumps(settings_for(self.config)), encoding="utf-8")
        gated = {"DEPLOY_DRIVER_GATE": str(gate)} if gate is not None else {}
        return subprocess.Popen(
            [sys.executable, str(DRIVER), str(settings), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**ENVIRON, **gated},
            cwd=REPO,
        )

    def remove(self) -> None:
        from dockyard.deploy.monitor import control as monitor

        for path in Path(self.config.instances_dir).glob("*.toml"):
            monitor.stop(self.directory / "state" / "monitors", path.stem)
            stack.down(self.client, self.project_name(path.stem), volumes=True)
        from docker.errors import ImageNotFound

        for tag in self.versions.values():
            try:
                self.client.images.remove(f"{self.config.image}:{tag}", force=True)
            except ImageNotFound:
                continue  # pruned by a deploy


def read_version(answer: requests.Response) -> str:
    """The version a `/version` answer names, or why the request failed."""
    if answer.status_code != 200:
        return f"error: HTTP {answer.status_code}"
    return str(answer.json()["version"])


@dataclass
class Load:
    """Steady requests through a proxy from a few clients (keep-alive sessions, like real
    clients), recording when each request started, and what it got."""

    url: str
    clients: int = 4
    path: str = "/version"
    # What an answer says: its version by default; an "error: ..." marks it failed.
    read: Callable[[requests.Response], str] = read_version
    results: list[tuple[float, str]] = field(default_factory=list)  # (start, version or error)
    retried: int = 0  # requests sent again after a keep-alive connection closed unanswered
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Load:
        for _ in range(self.clients):
            thread = threading.Thread(target=self._run, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self) -> None:
        with requests.Session() as http:
            while not self._stop.is_set():
                began = time.monotonic()
                try:
                    got = self.read(self._get(http))
                except (requests.RequestException, ValueError) as error:
                    got = f"error: {type(error).__name__}: {error}"
                with self._lock:
                    self.results.append((began, got))
                time.sleep(0.01)

    def _get(self, http: requests.Session) -> requests.Response:
        try:
            return http.get(self.url + self.path, timeout=10)
        except requests.ConnectionError as error:
            if not closed_unanswered(error):
                raise
        with self._lock:
            self.retried += 1
        return http.get(self.url + self.path, timeout=10)

    @property
    def failures(self) -> list[str]:
        return [got for _, got in self.results if got.startswith("error")]

    def versions_since(self, moment: float) -> set[str]:
        return {got for began, got in self.results if began >= moment}


class Webhook:
    """A local HTTP receiver that records every JSON body posted to it."""

    def __init__(self) -> None:
        bodies: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                return

        self.bodies = bodies
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)
