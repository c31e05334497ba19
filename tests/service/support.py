"""Helpers that run the reference service for real: its image, PostgreSQL and Redis containers.

Every container and network gets a unique name and a `dockyard.test` label, is published on
127.0.0.1 only, and is removed afterwards; every wait has a deadline. Images come from the
configuration: the local stand-ins `invoke image.base` recorded, else those it would build,
else the official ones; an image that is not on the engine fails the test with the fix.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from dockyard.core.config import Config

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container
    from docker.models.networks import Network

    from dockyard.image.build import BuildResult

REPO = Path(__file__).resolve().parents[2]
LABEL = "dockyard.test"
RUN_ID = uuid.uuid4().hex[:8]
DB_USER = "tugboat"
DB_NAME = "tugboat"
# Put in front of the CA bundle the image build receives, to find it if any layer kept it.
CA_SENTINEL = f"# dockyard-ca-sentinel-{RUN_ID} (must never appear in an image)"


def unique(prefix: str) -> str:
    return f"dyt-{prefix}-{RUN_ID}-{uuid.uuid4().hex[:6]}"


def wait_for(
    what: str, condition: Callable[[], bool], timeout: float, interval: float = 0.25
) -> None:
    """Poll `condition` until it holds; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (requests.RequestException, OSError):
            pass
        if time.monotonic() >= deadline:
            pytest.fail(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(interval)


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log lines of a container's output (anything else is ignored)."""
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return found


def text_of(output: bytes | Iterator[bytes]) -> str:
    data = output if isinstance(output, bytes) else b"".join(output)
    return data.decode("utf-8", "replace")


def logs_of(container: Container) -> str:
    return bytes(container.logs(stdout=True, stderr=True)).decode("utf-8", "replace")


# ------------------------------------------------------------------ images ---


@dataclass(frozen=True)
class StackImages:
    python: str
    postgres: str
    redis: str


def resolve_images(config: Config, client: docker.DockerClient) -> StackImages:
    """The images the stack would run here: recorded overrides, else local stand-ins if built,
    else the configured official images."""
    from docker.errors import ImageNotFound

    from dockyard.image.base.plan import local_names
    from dockyard.image.overrides import read_overrides

    overrides = read_overrides(config)
    local = local_names(config)

    def present(name: str) -> bool:
        try:
            client.images.get(name)
        except ImageNotFound:
            return False
        return True

    chosen = {}
    for kind, variable, official in (
        ("python", "PYTHON_IMAGE", config.images.python),
        ("postgres", "POSTGRES_IMAGE", config.images.postgres),
        ("redis", "REDIS_IMAGE", config.images.redis),
    ):
        name = overrides.get(variable) or (local[kind] if present(local[kind]) else official)
        if not present(name):
            pytest.fail(
                f"{name} is not on this engine: run `invoke image.base` to build the local "
                "base images (no registry can be reached)",
                pytrace=False,
            )
        chosen[kind] = name
    return StackImages(**chosen)


@dataclass(frozen=True)
class BuiltImage:
    """The service image built once for the session with `invoke image.build`'s own code."""

    tag: str
    result: BuildResult
    ca_bundle: Path
    base_image: str


def build_context_copy(destination: Path) -> Path:
    """The files the image is built from, copied so a test can change them safely."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "uv.lock", "Dockerfile.production", ".dockerignore"):
        shutil.copy2(REPO / name, destination / name)
    shutil.copytree(
        REPO / "tugboat",
        destination / "tugboat",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.egg-info"),
    )
    return destination


def build_service_image(
    config: Config,
    base_image: str,
    ca_bundle: Path | None,
    *,
    name: str,
    no_cache: bool = False,
) -> BuildResult:
    """Build with the product's planner and runner (what `invoke image.build` does)."""
    from dockyard.image.build import Facts, plan_build, run_build
    from dockyard.image.facts import Revision, read_uv_version, read_version

    facts = Facts(
        version=read_version(config),
        revision=Revision(sha=f"test{RUN_ID}"),
        base_image=base_image,
        created="2026-01-02T03:04:05Z",
        uv_version=read_uv_version(config),
        source="https://example.invalid/dockyard",
        ca_bundle=ca_bundle,
    )
    plan = plan_build(config, facts, image=name, no_cache=no_cache)
    return run_build(plan, dict(os.environ))


def host_ca_bundle() -> Path:
    """The CA bundle this machine trusts (behind an intercepting proxy it holds the proxy's CA)."""
    for variable in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT"):
        value = os.environ.get(variable)
        if value and Path(value).is_file():
            return Path(value)
    return Path("/etc/ssl/certs/ca-certificates.crt")


# ----------------------------------------------------------------- backing ---


@dataclass
class Backing:
    """PostgreSQL and Redis on a private network, as the service sees them."""

    client: docker.DockerClient
    network: Network
    postgres: Container
    redis: Container
    db_password: str
    redis_password: str
    started: list[Container] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return f"postgresql://{DB_USER}:{self.db_password}@postgres:5432/{DB_NAME}"

    @property
    def redis_url(self) -> str:
        return f"redis://:{self.redis_password}@redis:6379/0"

    def environment(self, **extra: str) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "APP_ENV": "testing",
            "LOG_LEVEL": "info",
            "WEB_CONCURRENCY": "2",
            "SHUTDOWN_GRACE": "20s",
            **extra,
        }

    def psql(self, sql: str) -> str:
        code, output = self.postgres.exec_run(
            ["psql", "-v", "ON_ERROR_STOP=1", "-U", DB_USER, "-d", DB_NAME, "-tAc", sql]
        )
        text = text_of(output)
        assert code == 0, text
        return text.strip()

    def postgres_ready(self) -> bool:
        code, _ = self.postgres.exec_run(
            ["pg_isready", "-q", "-h", "127.0.0.1", "-U", DB_USER, "-d", DB_NAME]
        )
        return code == 0

    def redis_ready(self) -> bool:
        code, output = self.redis.exec_run(
            ["redis-cli", "ping"], environment={"REDISCLI_AUTH": self.redis_password}
        )
        return code == 0 and "PONG" in text_of(output)

    def wait_ready(self, timeout: float = 90.0) -> None:
        wait_for("PostgreSQL accepting connections", self.postgres_ready, timeout)
        wait_for("Redis answering PING", self.redis_ready, timeout)

    def run(self, image: str, command: list[str] | None = None, **options: Any) -> Container:
        """A hardened service container on the network: read-only, no capabilities."""
        environment = options.pop("environment", None) or self.environment()
        container = self.client.containers.run(
            image,
            command=command,
            name=options.pop("name", unique("svc")),
            detach=True,
            network=self.network.name,
            environment=environment,
            labels={LABEL: RUN_ID},
            read_only=True,
            tmpfs={"/tmp": "rw,size=16m"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            **options,
        )
        self.started.append(container)
        return container

    def migrate(self, image: str, timeout: float = 90.0) -> str:
        container = self.run(image, ["python", "-m", "tugboat.migrate"])
        status = container.wait(timeout=timeout)
        output = logs_of(container)
        assert status["StatusCode"] == 0, output
        return output


def backing_containers(client: docker.DockerClient, images: StackImages) -> Iterator[Backing]:
    network = client.networks.create(unique("net"), driver="bridge", labels={LABEL: RUN_ID})
    created: list[Container] = []
    try:
        db_password = secrets.token_urlsafe(18)
        redis_password = secrets.token_urlsafe(18)
        postgres = client.containers.create(
            images.postgres,
            name=unique("postgres"),
            environment={
                "POSTGRES_USER": DB_USER,
                "POSTGRES_PASSWORD": db_password,
                "POSTGRES_DB": DB_NAME,
            },
            labels={LABEL: RUN_ID},
        )
        created.append(postgres)
        redis = client.containers.create(
            images.redis,
            command=["redis-server", "--requirepass", redis_password, "--appendonly", "yes"],
            name=unique("redis"),
            labels={LABEL: RUN_ID},
        )
        created.append(redis)
        network.connect(postgres, aliases=["postgres"])
        network.connect(redis, aliases=["redis"])
        postgres.start()
        redis.start()
        found = Backing(client, network, postgres, redis, db_password, redis_password)
        found.wait_ready()
        yield found
        created.extend(found.started)
    finally:
        for container in reversed(created):
            container.remove(force=True, v=True)
        network.remove()


# --------------------------------------------------------------------- app ---


@dataclass
class App:
    """A running service container and where it answers on 127.0.0.1."""

    container: Container
    base_url: str

    def get(self, path: str, **options: Any) -> requests.Response:
        return requests.get(self.base_url + path, timeout=options.pop("timeout", 10), **options)

    def post(self, path: str, **options: Any) -> requests.Response:
        return requests.post(self.base_url + path, timeout=options.pop("timeout", 10), **options)

    def logs(self) -> str:
        return logs_of(self.container)


def start_app(backing: Backing, image: str, **environment: str) -> App:
    container = backing.run(
        image,
        environment=backing.environment(**environment),
        ports={"8000/tcp": ("127.0.0.1", None)},
    )
    container.reload()
    bindings = container.ports["8000/tcp"]
    assert bindings, "the service's port is not published"
    port = bindings[0]["HostPort"]
    app = App(container, f"http://127.0.0.1:{port}")

    def live() -> bool:
        container.reload()
        if container.status == "exited":
            pytest.fail(f"the service exited:\n{logs_of(container)}")
        return app.get("/health/live", timeout=2).status_code == 200

    wait_for("the service answering /health/live", live, timeout=30)
    return app


@contextmanager
def captured_logs(environ: Mapping[str, str]) -> Iterator[io.StringIO]:
    """The service's logging configured for `environ`, writing to a string; the root logger's
    handlers and level are restored afterwards."""
    from tugboat.jsonlog import configure_logging
    from tugboat.settings import load_settings

    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging(load_settings(environ), stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in before[0]:
            root.addHandler(handler)
        root.setLevel(before[1])
