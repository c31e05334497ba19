"""Doctor against the live Docker engine, and through the `invoke doctor` command a user runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from dockyard.core.config import Config
from dockyard.core.results import Status
from dockyard.doctor.checks import Host, check_buildkit, check_compose, check_engine, run_doctor

REPO = Path(__file__).resolve().parents[3]
INVOKE = Path(sys.executable).with_name("invoke")

pytestmark = pytest.mark.engine


def invoke_doctor(environ: dict[str, str]) -> tuple[int, dict[str, dict[str, str]]]:
    done = subprocess.run(
        [str(INVOKE), "doctor", "--json"],
        cwd=REPO, env=environ, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    checks = {check["name"]: check for check in json.loads(done.stdout)["checks"]}
    assert "Traceback" not in done.stderr
    return done.returncode, checks


def test_the_engine_check_reports_the_live_engine_version(
    docker_client: docker.DockerClient,
) -> None:
    result = check_engine(Host(dict(os.environ), REPO), "1.41")
    assert result.status is Status.OK
    assert result.summary.startswith(f"engine {docker_client.version()['Version']} (API ")


def test_compose_v2_and_buildkit_are_usable(docker_client: docker.DockerClient) -> None:
    host = Host(dict(os.environ), REPO)
    assert check_compose(host, "2.20").status is Status.OK
    assert check_buildkit(host).status is Status.OK


def test_doctor_measures_disk_where_the_engine_keeps_its_data(
    docker_client: docker.DockerClient, repo_config: Config
) -> None:
    results = {r.name: r for r in run_doctor(repo_config, Host(dict(os.environ), REPO))}
    root_dir = docker_client.info()["DockerRootDir"]
    assert results["disk"].summary.endswith(f"GiB free at {root_dir}")


def test_invoke_doctor_json_reports_every_check(docker_client: docker.DockerClient) -> None:
    code, checks = invoke_doctor(dict(os.environ))
    assert checks["docker engine"]["status"] == "ok"
    assert set(checks) >= {"python", "git", "compose", "buildkit", "disk", "port 8080", "ca bundle"}
    assert code == (1 if any(c["status"] == "fail" for c in checks.values()) else 0)


def test_invoke_doctor_fails_with_the_fix_when_the_engine_is_unreachable(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    """Pointed at a socket where no engine runs: exit 1 and the fix, no traceback."""
    code, checks = invoke_doctor({**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/docker.sock"})
    assert code == 1
    engine = checks["docker engine"]
    assert engine["status"] == "fail"
    assert engine["fix"].startswith(f"DOCKER_HOST=unix://{tmp_path}/docker.sock names a socket")
