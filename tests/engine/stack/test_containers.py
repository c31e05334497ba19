"""The running stack's containers, inspected from the inside with testinfra (I5, IMG-*, RT-*)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import testinfra

from ..stacks import RunningStack

pytestmark = [pytest.mark.engine, pytest.mark.image]

# service -> the TCP ports it may listen on, and nothing else
LISTENING = {"app": {8000}, "proxy": {8080}, "postgres": {5432}, "redis": {6379}, "worker": set()}
SERVICE_IMAGE = ("app", "worker")
# setuid/setgid files a runtime may keep; the service's image keeps none
SETUID_ALLOWED: set[str] = set()
DOCKER_DNS = "0B00007F"  # 127.0.0.11 as /proc/net/tcp writes it


@pytest.fixture(scope="module")
def running(
    make_module_stack: Callable[..., RunningStack],
) -> RunningStack:
    stack = make_module_stack()
    stack.up()
    return stack


@pytest.fixture(scope="module")
def host(running: RunningStack) -> Callable[[str], Any]:
    def get(service: str) -> Any:
        return testinfra.get_host(f"docker://{running.project.name}-{service}-1")

    return get


def listening_ports(host: Any) -> set[int]:
    """TCP ports in LISTEN state, read from /proc (slim images have no ss or netstat), less
    Docker's embedded DNS resolver, which listens on 127.0.0.11 in every container."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not host.file(table).exists:
            continue
        for line in host.file(table).content_string.splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and address != DOCKER_DNS:
                ports.add(int(port, 16))
    return ports


@pytest.mark.parametrize("service", sorted(LISTENING))
def test_no_container_runs_as_root(host: Callable[[str], Any], service: str) -> None:
    assert host(service).user().uid != 0


@pytest.mark.parametrize("service", sorted(LISTENING))
def test_only_the_expected_ports_listen(host: Callable[[str], Any], service: str) -> None:
    assert listening_ports(host(service)) == LISTENING[service]


@pytest.mark.parametrize("service", sorted(LISTENING))
def test_the_root_filesystem_is_read_only(host: Callable[[str], Any], service: str) -> None:
    probe = host(service).run("touch /dockyard-write-probe")
    assert probe.rc != 0
    assert "Read-only file system" in probe.stderr


@pytest.mark.parametrize("service", SERVICE_IMAGE)
def test_pid_1_is_the_init_process(host: Callable[[str], Any], service: str) -> None:
    cmdline = host(service).file("/proc/1/cmdline").content_string.split("\0")
    assert cmdline[0].endswith("tini")


@pytest.mark.parametrize("service", SERVICE_IMAGE)
def test_no_compiler_or_package_caches_in_the_service_image(
    host: Callable[[str], Any], service: str
) -> None:
    inside = host(service)
    for tool in ("gcc", "cc", "g++", "make"):
        assert not inside.exists(tool), f"{tool} is in the runtime image"
    caches = inside.run("find / -xdev -type d -path '*/.cache/*' -prune -print 2>/dev/null")
    assert caches.stdout.strip() == ""
    assert not inside.file("/root/.cache/pip").exists


@pytest.mark.parametrize("service", SERVICE_IMAGE)
def test_no_setuid_or_setgid_files_beyond_the_allowlist(
    host: Callable[[str], Any], service: str
) -> None:
    found = host(service).run("find / -xdev -perm /6000 -type f 2>/dev/null").stdout.split()
    assert set(found) <= SETUID_ALLOWED


def test_the_service_cannot_change_its_own_code(host: Callable[[str], Any]) -> None:
    app = host("app")
    venv = app.file("/opt/venv")
    assert (venv.user, venv.group) == ("root", "root")
    assert app.run("touch /opt/venv/probe").rc != 0


def test_every_container_is_healthy_with_limits_in_effect(running: RunningStack) -> None:
    containers = running.client.containers.list(
        filters={"label": f"com.docker.compose.project={running.project.name}"}
    )
    assert len(containers) == 6  # app, postgres, redis, proxy and two workers
    for container in containers:
        state, limits = container.attrs["State"], container.attrs["HostConfig"]
        assert state["Health"]["Status"] == "healthy", container.name
        assert limits["Memory"] > 0, container.name
        assert limits["NanoCpus"] > 0, container.name
        assert (limits["PidsLimit"] or 0) > 0, container.name
        assert limits["ReadonlyRootfs"] is True, container.name
        assert limits["CapDrop"] == ["ALL"], container.name
        assert "no-new-privileges:true" in limits["SecurityOpt"], container.name
