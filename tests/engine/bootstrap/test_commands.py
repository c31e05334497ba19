"""The commands as a user runs them (bootstrap, stack.*, doctor), on a stack of their own."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from rich.console import Console

from dockyard.bootstrap.commands import bootstrap
from dockyard.core.config import Config
from dockyard.core.errors import UnknownNameError
from dockyard.core.invocation import Invocation
from dockyard.doctor import commands
from dockyard.stack import commands as stackcommands
from dockyard.stack import lifecycle as stack
from dockyard.stack import logs as stacklogs
from dockyard.stack.proxyconf import ProxyFiles
from dockyard.stack.proxyfiles import remove_files

from ..stacks import ENVIRON, free_port

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def own_config(
    repo_config: Config,
    docker_client: docker.DockerClient,
    stack_ready_images: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Config]:
    """The repository's configuration under a project name, port and env directory of its own."""
    name = f"dyt-{uuid.uuid4().hex[:8]}"
    env_dir = tmp_path_factory.mktemp("env")
    yield dataclasses.replace(
        repo_config, project=name, ports={"proxy": free_port()}, env_dir=str(env_dir)
    )
    stack.down(docker_client, name, volumes=True)
    remove_files(ProxyFiles.of(repo_config, name))


def invocation(config: Config, *, as_json: bool = False) -> tuple[Invocation, io.StringIO]:
    output = io.StringIO()
    return Invocation(config, ENVIRON, Console(file=output, width=200), as_json), output


def test_bootstrap_takes_a_fresh_setup_to_a_smoke_tested_stack_and_a_rerun_is_quick(
    own_config: Config,
) -> None:
    first_run, output = invocation(own_config)
    started = time.monotonic()
    assert bootstrap(first_run) == 0, output.getvalue()
    first = time.monotonic() - started
    text = output.getvalue()
    assert (Path(own_config.env_dir) / ".env.development").stat().st_mode & 0o777 == 0o600
    assert "POST /api/shipments 201" in text
    assert f"service:     http://127.0.0.1:{own_config.ports['proxy']}" in text
    assert "bootstrap done" in text

    again, output = invocation(own_config)
    started = time.monotonic()
    assert bootstrap(again) == 0, output.getvalue()
    assert time.monotonic() - started < first
    assert ".env.development complete" in output.getvalue()


def test_stack_health_and_ps_report_every_service(
    own_config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    health, _ = invocation(own_config, as_json=True)
    assert stackcommands.health(health) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["through_proxy"] == "ready"
    assert {s["service"]: s["verdict"] for s in report["services"]} == {
        "app": "ready",
        "migrate": "done",
        "postgres": "ready",
        "proxy": "ready",
        "redis": "ready",
        "worker": "ready",
    }
    listing, output = invocation(own_config)
    assert stackcommands.ps(listing) == 0
    assert "worker       ready    2/2 healthy" in output.getvalue()


def test_stack_logs_shows_the_tail_or_saves_every_service_to_files(own_config: Config) -> None:
    showing, _ = invocation(own_config)
    assert stackcommands.logs(showing, service="app", tail=5) == 0
    saving, output = invocation(own_config)
    assert stackcommands.logs(saving, save=True) == 0
    written = [
        own_config.root / line.removeprefix("wrote ")
        for line in output.getvalue().split("\n")
        if line
    ]
    try:
        assert {path.name for path in written} == {
            f"{service}.log"
            for service in ("app", "migrate", "postgres", "proxy", "redis", "worker")
        }
        assert all(path.is_file() for path in written)
    finally:
        shutil.rmtree(written[0].parent)


def test_saved_logs_hold_each_services_output(own_config: Config, tmp_path: Path) -> None:
    project = stackcommands.default_project(invocation(own_config)[0])
    written = stacklogs.save_logs(project, ENVIRON, ["app", "postgres"], tmp_path)
    assert [path.name for path in written] == ["app.log", "postgres.log"]
    assert "GET /health/ready" in written[0].read_text()


def test_an_unknown_profile_is_named_with_the_known_ones(own_config: Config) -> None:
    with pytest.raises(UnknownNameError, match="unknown profile 'staging'"):
        stackcommands.default_project(invocation(own_config)[0], "staging")


def test_doctor_reports_this_machine(
    own_config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    doctor, _ = invocation(own_config, as_json=True)
    code = commands.doctor(doctor)
    report = json.loads(capsys.readouterr().out)
    assert code == (0 if report["ok"] else 1)
    assert {check["name"] for check in report["checks"]} >= {"docker engine", "compose"}


def test_down_keeps_the_data_unless_asked(
    own_config: Config, docker_client: docker.DockerClient
) -> None:
    proxy_files = ProxyFiles.of(own_config, own_config.project).directory
    assert (proxy_files / "compose.yml").is_file()  # kept while the project exists
    down, output = invocation(own_config)
    assert stackcommands.down(down) == 0
    assert "data volumes kept" in output.getvalue()
    assert not proxy_files.exists()  # nothing of the project is left in the state directory
    label = f"com.docker.compose.project={own_config.project}"
    volumes = docker_client.volumes.list(filters={"label": label})
    assert len(volumes) == 2


def test_a_stack_that_is_down_reads_as_down(own_config: Config) -> None:
    """After `stack.down`: ps reports it (exit 0); health is a failed check (exit 1)."""
    down, _ = invocation(own_config)
    stackcommands.down(down)
    ps, said = invocation(own_config)
    assert stackcommands.ps(ps) == 0
    expected = f"stack {own_config.project} is not running; `invoke stack.up` starts it"
    assert said.getvalue().strip() == expected
    health, said = invocation(own_config)
    assert stackcommands.health(health) == 1
    assert said.getvalue().strip() == expected
    health, said = invocation(own_config, as_json=True)
    assert stackcommands.health(health) == 1
