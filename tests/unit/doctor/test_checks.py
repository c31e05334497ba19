"""Each doctor check, against the real condition it looks for."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.core.results import Status
from dockyard.doctor.checks import (
    Host,
    check_buildkit,
    check_compose,
    check_disk,
    check_engine,
    check_git,
    check_port,
    check_python,
    check_required_env,
)


@pytest.fixture
def empty_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH holds nothing: no git, no docker."""
    bin_dir = tmp_path / "empty-bin"
    bin_dir.mkdir()
    return {"PATH": str(bin_dir), "HOME": str(tmp_path)}


def fake_tool(directory: Path, name: str, script: str) -> None:
    """An executable on a test PATH, for versions that cannot be installed here (an old Compose)."""
    directory.mkdir(exist_ok=True)
    tool = directory / name
    tool.write_text(f"#!/bin/sh\n{script}\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)


def test_python_that_satisfies_requires_python_is_ok() -> None:
    assert check_python(">=3.11", "3.11.7").status is Status.OK


def test_python_too_old_fails_naming_the_pinned_version_file() -> None:
    result = check_python(">=3.11", "3.10.13")
    assert result.status is Status.FAIL
    assert result.summary == "3.10.13 does not satisfy the project's requires-python >=3.11"
    assert result.fix is not None
    assert ".python-version" in result.fix


def test_git_missing_from_path_fails_with_the_install_command(
    empty_path: dict[str, str], tmp_path: Path
) -> None:
    result = check_git(Host(empty_path, tmp_path))
    assert (result.status, result.summary) == (Status.FAIL, "git is not on PATH")
    assert result.fix == "install git (`sudo apt-get install git`)"


def test_git_outside_a_work_tree_warns(tmp_path: Path) -> None:
    result = check_git(Host(dict(os.environ), tmp_path))
    assert result.status is Status.WARN
    assert "is not a git work tree" in result.summary


def test_git_inside_a_work_tree_is_ok(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = check_git(Host(dict(os.environ), tmp_path))
    assert result.status is Status.OK
    assert result.summary.startswith("git 2.")


def test_engine_check_fails_without_the_docker_command(
    empty_path: dict[str, str], tmp_path: Path
) -> None:
    result = check_engine(Host(empty_path, tmp_path), "1.41")
    assert result.status is Status.FAIL
    assert result.summary == "the docker command is not on PATH"
    assert result.fix is not None
    assert "scripts/provision-docker.sh" in result.fix


def test_engine_check_names_a_docker_host_socket_that_does_not_exist(tmp_path: Path) -> None:
    environ = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/nowhere.sock"}
    result = check_engine(Host(environ, tmp_path), "1.41")
    assert result.status is Status.FAIL
    assert result.summary == (
        f"no Docker engine answers at unix://{tmp_path}/nowhere.sock: the socket does not exist"
    )
    assert result.fix == (
        f"DOCKER_HOST=unix://{tmp_path}/nowhere.sock names a socket that does not exist: "
        "unset DOCKER_HOST to use unix:///var/run/docker.sock, or point it at a running engine"
    )


def test_engine_check_reports_a_socket_nobody_listens_on(tmp_path: Path) -> None:
    """A stale socket file (dockerd died) is a refused connection, not a missing socket."""
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(stale))  # bound, never listening: connections are refused
        result = check_engine(
            Host({**os.environ, "DOCKER_HOST": f"unix://{stale}"}, tmp_path), "1.41"
        )
    assert result.status is Status.FAIL
    assert result.summary.endswith("connection refused")


def test_compose_missing_fails_with_how_to_install(
    empty_path: dict[str, str], tmp_path: Path
) -> None:
    fake_tool(Path(empty_path["PATH"]), "docker", "exit 1")
    result = check_compose(Host(empty_path, tmp_path), "2.20")
    assert (result.status, result.summary) == (
        Status.FAIL,
        "`docker compose` (v2) is not installed",
    )
    assert result.fix is not None
    assert "provision-docker.sh" in result.fix


def test_compose_older_than_the_minimum_fails(empty_path: dict[str, str], tmp_path: Path) -> None:
    fake_tool(Path(empty_path["PATH"]), "docker", 'echo "v2.12.2"')
    result = check_compose(Host(empty_path, tmp_path), "2.20")
    assert (result.status, result.summary) == (Status.FAIL, "Compose 2.12.2 is older than 2.20")


def test_buildkit_turned_off_fails(tmp_path: Path) -> None:
    result = check_buildkit(Host({**os.environ, "DOCKER_BUILDKIT": "0"}, tmp_path))
    assert (result.status, result.fix) == (Status.FAIL, "unset DOCKER_BUILDKIT")


def test_buildkit_without_buildx_fails(empty_path: dict[str, str], tmp_path: Path) -> None:
    fake_tool(Path(empty_path["PATH"]), "docker", "exit 1")
    result = check_buildkit(Host(empty_path, tmp_path))
    assert result.status is Status.FAIL
    assert "buildx plugin is missing" in result.summary


def test_disk_below_the_thresholds_fails_or_warns(tmp_path: Path) -> None:
    assert check_disk(tmp_path, 1e9, 2e9).status is Status.FAIL
    assert check_disk(tmp_path, 0, 1e9).status is Status.WARN
    result = check_disk(tmp_path, 0, 0)
    assert result.status is Status.OK
    assert result.summary.endswith(f"GiB free at {tmp_path}")


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port this test process really listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_port_in_use_fails_naming_the_process_that_holds_it(listening_port: int) -> None:
    result = check_port("proxy", listening_port)
    assert result.status is Status.FAIL
    assert result.summary.startswith(f"127.0.0.1:{listening_port} (proxy) is already in use by ")
    assert f"(pid {os.getpid()})" in result.summary
    assert result.fix is not None
    assert "[tool.dockyard.ports] proxy = ..." in result.fix


def test_a_free_port_is_ok() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert check_port("proxy", port).status is Status.OK


def test_a_port_held_by_the_project_itself_is_ok(listening_port: int) -> None:
    result = check_port("proxy", listening_port, owner="container tugboat-proxy-1")
    assert result.status is Status.OK
    assert result.summary.endswith("is held by this project's container tugboat-proxy-1")


def test_required_variables_are_listed_with_their_export_lines() -> None:
    result = check_required_env({"A": "1", "B": ""}, ["A", "B", "C"])
    assert (result.status, result.summary) == (Status.FAIL, "required variables not set: B, C")
    assert result.fix == "export B=... ; export C=..."
    assert check_required_env({"A": "1"}, ["A"]).status is Status.OK
