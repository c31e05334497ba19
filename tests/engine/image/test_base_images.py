"""The offline base images, built for real from Debian packages and run the way the stack runs them.

One session-scoped build under a prefix unique to this run (so nothing left by an earlier run
is reused or disturbed); every container, network and volume a test creates is removed in its
fixture, and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from dockyard.core.config import Config, Images, load_config
from dockyard.core.console import make_console
from dockyard.core.invocation import Invocation, toolchain_environ
from dockyard.core.results import Status
from dockyard.image.base.plan import (
    FINGERPRINT_LABEL,
    RELEASE_LABEL,
    local_names,
    local_overrides,
    read_overrides,
)
from dockyard.image.commands import base
from dockyard.image.scan import scan_image

REPO = Path(__file__).resolve().parents[3]
RUN = uuid.uuid4().hex[:8]
# Throwaway credentials, fresh for each run.
PG_PASSWORD = f"pg-{uuid.uuid4().hex}"
REDIS_PASSWORD = f"redis-{uuid.uuid4().hex}"
HARDENED: dict[str, Any] = {
    "read_only": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
}

pytestmark = [pytest.mark.engine, pytest.mark.image]


@dataclasses.dataclass(frozen=True)
class Built:
    config: Config
    names: dict[str, str]
    seconds: float


def invocation_for(config: Config, *, as_json: bool = False) -> Invocation:
    return Invocation(
        config=config,
        environ=toolchain_environ(os.environ),
        console=make_console(io.StringIO()),
        as_json=as_json,
    )


@pytest.fixture(scope="session")
def built(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    """Every base image, built once by `image.base` in a copy of this project."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "docker/base", root / "docker/base", symlinks=True)
    shutil.copy(REPO / ".hadolint.yaml", root / ".hadolint.yaml")
    repo_config = load_config(REPO)
    images = dataclasses.replace(repo_config.images, local_prefix=f"dockyard-test-{RUN}")
    config = dataclasses.replace(repo_config, root=root, images=images)
    names = local_names(config)
    started = time.monotonic()
    try:
        assert base(invocation_for(config)) == 0
        yield Built(config, names, time.monotonic() - started)
    finally:
        for name in reversed(list(names.values())):
            with contextlib.suppress(docker.errors.ImageNotFound):
                docker_client.images.remove(name, force=True)


@pytest.fixture
def cleanup(docker_client: docker.DockerClient) -> Iterator[list[Any]]:
    """Containers, networks and volumes to remove after the test, whatever happens."""
    created: list[Any] = []
    yield created
    for thing in reversed(created):
        try:
            if isinstance(thing, Container):
                thing.remove(force=True, v=False)
            else:
                thing.remove()
        except docker.errors.NotFound:
            pass


def unique(kind: str) -> str:
    return f"dockyard-test-{kind}-{RUN}-{uuid.uuid4().hex[:6]}"


def wait_healthy(container: Container, timeout: float = 90.0) -> None:
    """Until the image's own healthcheck passes; fail fast when the container stops."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs["State"]
        if state["Status"] in {"exited", "dead"}:
            pytest.fail(f"{container.name} exited:\n{logs(container)}")
        if state.get("Health", {}).get("Status") == "healthy":
            return
        time.sleep(0.5)
    pytest.fail(f"{container.name} not healthy within {timeout:.0f} s:\n{logs(container)}")


def logs(container: Container) -> str:
    return bytes(container.logs()).decode(errors="replace")[-3000:]


def run_once(
    client: docker.DockerClient,
    cleanup: list[Any],
    image: str,
    command: list[str],
    timeout: float = 60.0,
    **options: Any,
) -> tuple[int, str]:
    """Run a short-lived container to completion; its exit code and output."""
    container = client.containers.run(image, command, detach=True, name=unique("run"), **options)
    cleanup.append(container)
    status = container.wait(timeout=timeout)
    return int(status["StatusCode"]), logs(container)


def execute(container: Container, command: list[str], **options: Any) -> tuple[int, str]:
    code, output = container.exec_run(command, **options)
    assert code is not None
    assert isinstance(output, bytes)
    return int(code), output.decode(errors="replace")


# ---------------------------------------------------------------- image.base ---


def test_a_second_run_skips_every_image_and_records_the_overrides(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing changed, nothing rebuilt: the warm run takes seconds and lists every image."""
    started = time.monotonic()
    assert base(invocation_for(built.config, as_json=True)) == 0
    seconds = time.monotonic() - started
    summary = json.loads(capsys.readouterr().out)
    assert [image["built"] for image in summary["images"]] == [False] * len(built.names)
    assert all(image["reason"].startswith("up to date") for image in summary["images"])
    assert seconds < 15, f"warm run took {seconds:.1f} s (cold: {built.seconds:.1f} s)"
    assert read_overrides(built.config) == local_overrides(built.config)
    assert summary["overrides"] == local_overrides(built.config)


def test_every_image_carries_its_fingerprint_and_oci_labels(
    built: Built, docker_client: docker.DockerClient
) -> None:
    for key, name in built.names.items():
        labels = docker_client.images.get(name).labels
        assert len(labels[FINGERPRINT_LABEL]) == 64, name
        assert labels["org.opencontainers.image.source"] == f"docker/base/{key}"
        assert labels["org.opencontainers.image.created"].endswith("Z")
        # No OCI version for the service images built FROM it to inherit as their own.
        assert "org.opencontainers.image.version" not in labels, name
    postgres = docker_client.images.get(built.names["postgres"]).labels
    assert postgres[RELEASE_LABEL] == "15"
    assert "NOT 16" in postgres["org.opencontainers.image.description"]


def test_service_images_declare_a_complete_healthcheck(
    built: Built, docker_client: docker.DockerClient
) -> None:
    for key in ("postgres", "redis", "nginx", "registry"):
        check = docker_client.images.get(built.names[key]).attrs["Config"]["Healthcheck"]
        assert check["Test"][0] == "CMD", key
        assert all(check.get(field) for field in ("Interval", "Timeout", "StartPeriod", "Retries"))


def test_the_debian_base_is_small_and_trimmed(
    built: Built, docker_client: docker.DockerClient, cleanup: list[Any]
) -> None:
    image = docker_client.images.get(built.names["debian"])
    assert image.attrs["Size"] < 90_000_000
    script = (
        "find /usr/share/doc -type f ! -name copyright | wc -l; "
        "find /usr/share/man /usr/share/info -type f 2>/dev/null | wc -l; "
        "find /var/lib/apt/lists /var/cache/apt -type f | wc -l; "
        "find /usr/share/locale -mindepth 1 ! -name locale.alias | wc -l; ls /usr/lib/locale"
    )
    code, output = run_once(docker_client, cleanup, built.names["debian"], ["sh", "-c", script])
    assert code == 0, output
    assert output.split() == ["0", "0", "0", "0", "C.utf8"]


# ------------------------------------------------------------------- python ---


def test_python_base_makes_a_venv_with_pip_like_the_official_slim_image(
    built: Built, docker_client: docker.DockerClient, cleanup: list[Any]
) -> None:
    script = "python --version && python3 -m venv /opt/venv && /opt/venv/bin/pip --version"
    code, output = run_once(
        docker_client, cleanup, built.names["python"], ["sh", "-c", script], timeout=120
    )
    assert code == 0, output
    assert "Python 3.11." in output
    assert "pip " in output
    assert "(python 3.11)" in output


# ----------------------------------------------------------------- postgres ---


@pytest.fixture
def postgres(
    built: Built, docker_client: docker.DockerClient, cleanup: list[Any], tmp_path: Path
) -> tuple[Container, str]:
    """PostgreSQL as a compose file runs it: hardened, read-only, a named volume, an init script."""
    network_name = unique("net")
    network = docker_client.networks.create(network_name)
    cleanup.append(network)
    volume = docker_client.volumes.create(unique("pgdata"))
    cleanup.append(volume)
    initdb = tmp_path / "initdb"
    initdb.mkdir()
    (initdb / "10-schema.sql").write_text(
        "CREATE TABLE seeded (id int); INSERT INTO seeded VALUES (7);\n"
    )
    initdb.chmod(0o755)
    (initdb / "10-schema.sql").chmod(0o644)
    container = docker_client.containers.run(
        built.names["postgres"],
        detach=True,
        name=unique("postgres"),
        network=network_name,
        environment={
            "POSTGRES_USER": "tugboat",
            "POSTGRES_PASSWORD": PG_PASSWORD,
            "POSTGRES_DB": "tugboat_db",
        },
        volumes={
            volume.name: {"bind": "/var/lib/postgresql/data", "mode": "rw"},
            str(initdb): {"bind": "/docker-entrypoint-initdb.d", "mode": "ro"},
        },
        tmpfs={"/var/run/postgresql": "", "/tmp": ""},
        **HARDENED,
    )
    cleanup.append(container)
    wait_healthy(container)
    return container, network_name


def psql(
    built: Built,
    client: docker.DockerClient,
    cleanup: list[Any],
    *,
    network: str,
    host: str,
    password: str,
    sql: str,
) -> tuple[int, str]:
    """psql from a separate client container on the same network, with a password."""
    return run_once(
        client, cleanup, built.names["postgres"],
        ["psql", "--host", host, "--username", "tugboat", "--dbname", "tugboat_db",
         "--no-align", "--tuples-only", "--command", sql],
        network=network, environment={"PGPASSWORD": password},
    )  # fmt: skip


def test_postgres_initialises_from_the_env_and_accepts_a_password_over_the_network(
    built: Built,
    docker_client: docker.DockerClient,
    cleanup: list[Any],
    postgres: tuple[Container, str],
) -> None:
    """POSTGRES_USER/PASSWORD/DB create the cluster, init scripts run, clients need the password."""
    container, network = postgres
    sql = "SELECT current_user, current_database(), (SELECT id FROM seeded), version()"
    args = {"network": network, "host": str(container.name)}
    code, output = psql(built, docker_client, cleanup, **args, password=PG_PASSWORD, sql=sql)
    assert code == 0, output
    assert output.startswith("tugboat|tugboat_db|7|PostgreSQL 15.")
    code, output = psql(built, docker_client, cleanup, **args, password="wrong", sql="SELECT 1")
    assert code != 0
    assert 'password authentication failed for user "tugboat"' in output


def test_postgres_runs_as_999_on_a_read_only_root_without_capabilities(
    postgres: tuple[Container, str],
) -> None:
    container, _ = postgres
    assert execute(container, ["id", "-u"]) == (0, "999\n")
    assert execute(container, ["id", "-g"]) == (0, "999\n")
    code, output = execute(container, ["touch", "/probe"])
    assert code != 0
    assert "Read-only file system" in output
    status = execute(container, ["grep", "-E", "^(CapEff|NoNewPrivs)", "/proc/1/status"])[1]
    assert "CapEff:\t0000000000000000" in status
    assert "NoNewPrivs:\t1" in status


@pytest.mark.parametrize("stop", ["SIGTERM", "docker stop"])
def test_postgres_stops_cleanly_within_10_seconds(
    stop: str,
    built: Built,
    docker_client: docker.DockerClient,
    cleanup: list[Any],
    tmp_path: Path,
) -> None:
    """Also initialised from POSTGRES_PASSWORD_FILE, as with a Docker secret."""
    secret = tmp_path / "password"
    secret.write_text("from-a-file\n")
    secret.chmod(0o644)
    volume = docker_client.volumes.create(unique("pgdata"))
    cleanup.append(volume)
    container = docker_client.containers.run(
        built.names["postgres"],
        detach=True,
        name=unique("postgres"),
        environment={"POSTGRES_PASSWORD_FILE": "/run/secrets/password"},
        volumes={
            volume.name: {"bind": "/var/lib/postgresql/data", "mode": "rw"},
            str(secret): {"bind": "/run/secrets/password", "mode": "ro"},
        },
        tmpfs={"/var/run/postgresql": "", "/tmp": ""},
        **HARDENED,
    )
    cleanup.append(container)
    wait_healthy(container)
    sql = ["psql", "--host=127.0.0.1", "--username=postgres", "--tuples-only", "-c", "SELECT 42"]
    code, output = execute(container, sql, environment={"PGPASSWORD": "from-a-file"})
    assert (code, output.strip()) == (0, "42"), output
    if stop == "SIGTERM":
        container.kill(signal="SIGTERM")
    else:
        container.stop(timeout=60)
    # Exit status 0 is PostgreSQL's own clean shutdown; a SIGKILL at the stop timeout is 137.
    status = container.wait(timeout=90)
    assert status["StatusCode"] == 0, logs(container)
    assert "database system is shut down" in logs(container)


# -------------------------------------------------------------------- redis ---


def start_redis(
    built: Built, client: docker.DockerClient, cleanup: list[Any], volume: str
) -> Container:
    container = client.containers.run(
        built.names["redis"],
        ["redis-server", "--requirepass", REDIS_PASSWORD, "--appendonly", "yes"],
        detach=True,
        name=unique("redis"),
        volumes={volume: {"bind": "/data", "mode": "rw"}},
        **HARDENED,
    )
    cleanup.append(container)
    wait_healthy(container, timeout=60)
    return container


def test_redis_requires_the_password_and_keeps_data_in_its_volume(
    built: Built, docker_client: docker.DockerClient, cleanup: list[Any]
) -> None:
    """appendonly data outlives the container: a new one on the same volume still has it."""
    volume = docker_client.volumes.create(unique("redisdata"))
    cleanup.append(volume)
    first = start_redis(built, docker_client, cleanup, volume.name)
    assert execute(first, ["id", "-u"]) == (0, "999\n")
    assert "NOAUTH" in execute(first, ["redis-cli", "ping"])[1]
    auth = {"REDISCLI_AUTH": REDIS_PASSWORD}
    assert execute(first, ["redis-cli", "set", "greeting", "ahoy"], environment=auth)[1] == "OK\n"
    assert execute(first, ["touch", "/probe"])[0] != 0
    first.stop(timeout=10)
    assert first.wait(timeout=15)["StatusCode"] == 0
    first.remove()
    second = start_redis(built, docker_client, cleanup, volume.name)
    assert execute(second, ["redis-cli", "get", "greeting"], environment=auth) == (0, "ahoy\n")
    assert "appendonlydir" in execute(second, ["ls", "/data"])[1]


# -------------------------------------------------------------------- nginx ---

SITE = """server {
    listen 8080;
    location = /probe { default_type text/plain; return 200 "served by the mounted config\\n"; }
}
"""


def test_nginx_serves_a_mounted_config_unprivileged_on_8080_read_only(
    built: Built, docker_client: docker.DockerClient, cleanup: list[Any], tmp_path: Path
) -> None:
    site = tmp_path / "default.conf"
    site.write_text(SITE)
    site.chmod(0o644)
    network = docker_client.networks.create(unique("net"))
    cleanup.append(network)
    proxy = docker_client.containers.run(
        built.names["nginx"],
        detach=True,
        name=unique("nginx"),
        network=network.name,
        volumes={str(site): {"bind": "/etc/nginx/conf.d/default.conf", "mode": "ro"}},
        tmpfs={"/tmp": ""},
        **HARDENED,
    )
    cleanup.append(proxy)
    wait_healthy(proxy, timeout=60)
    fetch = f"import urllib.request as u; print(u.urlopen('http://{proxy.name}:8080/probe').read())"
    code, output = run_once(
        docker_client, cleanup, built.names["python"], ["python3", "-c", fetch],
        network=network.name,
    )  # fmt: skip
    assert code == 0, output
    assert "served by the mounted config" in output
    workers = execute(proxy, ["sh", "-c", "grep -h '^Uid:' /proc/[0-9]*/status | sort -u"])[1]
    assert workers.split() == ["Uid:", "101", "101", "101", "101"]
    assert execute(proxy, ["touch", "/etc/nginx/probe"])[0] != 0
    assert "GET /probe" in logs(proxy)


# --------------------------------------------------------------------- scan ---


def test_scan_reports_size_packages_and_lint_of_a_base_image(built: Built) -> None:
    results = {
        r.name: r
        for r in scan_image(built.config, toolchain_environ(os.environ), built.names["redis"])
    }
    assert set(results) == {"size", "debian packages", "python packages", "hadolint"}
    assert results["size"].status is Status.OK
    assert "budget 200 MB" in results["size"].summary
    assert any(
        line.startswith("redis-server 5:7.0.") for line in results["debian packages"].details
    )
    assert results["python packages"].summary == "none (no python3 in the image)"
    assert results["hadolint"].status is Status.OK


def test_scan_fails_an_image_over_its_size_budget(built: Built) -> None:
    tight = dataclasses.replace(built.config, images=Images(size_budget_mb=10))
    results = scan_image(tight, toolchain_environ(os.environ), built.names["debian"])
    size = next(r for r in results if r.name == "size")
    assert size.status is Status.FAIL
    assert "size_budget_mb" in (size.fix or "")
