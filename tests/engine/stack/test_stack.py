"""The compose stack for real: up until healthy, faults named, data kept, dependencies survived."""

from __future__ import annotations

import dataclasses
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from dockyard.core.config import Config
from dockyard.core.errors import ConfigError, DockyardError
from dockyard.env.commands import ensure_profile
from dockyard.stack import lifecycle as stack
from dockyard.stack.lifecycle import StackFailedError

from ..stacks import ENVIRON, RunningStack

pytestmark = pytest.mark.engine

MakeStack = Callable[..., RunningStack]


def wait_for_status(url: str, status: int, timeout: float = 30) -> requests.Response:
    """Poll `url` until it answers `status`; bounded."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = requests.get(url, timeout=2)
            if answer.status_code == status:
                return answer
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer {status} within {timeout} s")
        time.sleep(0.2)


def test_up_waits_until_every_service_is_ready_and_the_service_answers(
    make_stack: MakeStack, docker_client: object
) -> None:
    running = make_stack()
    readiness = running.up()
    assert set(readiness.services) == {"app", "migrate", "postgres", "proxy", "redis", "worker"}
    progress = running.output.getvalue()
    assert "worker       ready    2/2 healthy" in progress
    assert "migrate      done     completed" in progress
    assert requests.get(f"{running.url}/health/ready", timeout=5).status_code == 200


def test_data_written_through_the_api_survives_down_and_up(make_stack: MakeStack) -> None:
    running = make_stack()
    running.up()
    created = requests.post(
        f"{running.url}/api/shipments", json={"name": "keel", "destination": "Oslo"}, timeout=5
    )
    assert created.status_code == 201
    running.down()
    running.up()
    again = requests.get(f"{running.url}/api/shipments/{created.json()['id']}", timeout=5)
    assert again.status_code == 200
    assert again.json()["name"] == "keel"


def test_down_with_volumes_removes_the_data(make_stack: MakeStack, docker_client: object) -> None:
    running = make_stack()
    running.up()
    running.down(volumes=True)
    volumes = running.client.volumes.list(filters={"name": running.project.name})
    assert volumes == []


def test_down_works_when_a_one_shot_container_is_already_gone(make_stack: MakeStack) -> None:
    running = make_stack()
    running.up()
    running.container("migrate").remove()
    running.down()
    label = f"com.docker.compose.project={running.project.name}"
    assert running.client.containers.list(all=True, filters={"label": label}) == []
    assert running.client.networks.list(filters={"label": label}) == []
    assert len(running.client.volumes.list(filters={"label": label})) == 2, "the data stays"


def test_postgres_outage_turns_ready_503_naming_the_database_and_back_without_restart(
    make_stack: MakeStack,
) -> None:
    running = make_stack()
    running.up()
    app = running.container("app")
    started_at = app.attrs["State"]["StartedAt"]
    postgres = running.container("postgres")
    postgres.stop(timeout=20)
    try:
        down = wait_for_status(f"{running.url}/health/ready", 503)
        assert "database" in down.json()["failed"]
        assert requests.get(f"{running.url}/health/live", timeout=5).status_code == 200
    finally:
        postgres.start()
    wait_for_status(f"{running.url}/health/ready", 200, timeout=60)
    app.reload()
    assert app.attrs["State"]["StartedAt"] == started_at
    assert app.attrs["RestartCount"] == 0


def test_a_service_that_never_becomes_healthy_fails_with_its_health_output_and_logs(
    make_stack: MakeStack, tmp_path: Path
) -> None:
    override = tmp_path / "sick-redis.yml"
    override.write_text(
        "services:\n"
        "  redis:\n"
        "    healthcheck:\n"
        '      test: ["CMD-SHELL", "echo cache is sick; exit 1"]\n'
        "      interval: 1s\n"
        "      timeout: 2s\n"
        "      start_period: 0s\n"
        "      retries: 2\n"
    )
    running = make_stack((override,))
    with pytest.raises(StackFailedError) as failure:
        running.up(timeout=300)
    message = failure.value.message
    # Failing fast: the verdict names the sick service, not the deadline.
    assert message.startswith("service redis failed: ")
    assert "cache is sick" in message  # the last health-check output
    assert f"last 40 log lines of {running.project.name}-redis-1:" in message
    assert "left running for inspection" in message
    assert running.container("postgres").status == "running"


def test_a_published_port_in_use_is_named_before_anything_starts(make_stack: MakeStack) -> None:
    running = make_stack()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", running.config.ports["proxy"]))
        squatter.listen()
        with pytest.raises(DockyardError) as failure:
            running.up()
    port = running.config.ports["proxy"]
    assert failure.value.message.startswith(f"port {port} (proxy) is in use by ")
    assert "(pid " in failure.value.message
    assert failure.value.message.endswith("nothing was started")
    assert (
        running.client.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={running.project.name}"}
        )
        == []
    )


def test_an_invalid_compose_file_shows_composes_own_message_and_the_file(
    make_stack: MakeStack, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("services:\n  app:\n    restrat: always\n")
    with pytest.raises(ConfigError) as failure:  # rendered once to place dockyard's proxy
        make_stack((broken,))
    text = str(failure.value)
    assert "Additional property restrat is not allowed" in text
    assert "broken.yml" in text
    assert "Traceback" not in text


def test_a_missing_required_secret_stops_compose_with_its_message(make_stack: MakeStack) -> None:
    running = make_stack()
    env_file = running.project.env_file
    kept = [line for line in env_file.read_text().splitlines() if "POSTGRES_PASSWORD=" not in line]
    env_file.write_text("\n".join(kept) + "\n")
    with pytest.raises(ConfigError) as failure:
        running.up()
    assert "POSTGRES_PASSWORD is not set; run `invoke env.init`" in str(failure.value)


def test_the_development_override_mounts_the_source_and_reloads(
    repo_config: Config, docker_client: object
) -> None:
    """`stack.up --dev` runs the same hardened services with the source bind-mounted read-only
    and gunicorn reloading on changes."""
    import json

    from dockyard.core import proc

    with tempfile.TemporaryDirectory() as scratch:
        own = dataclasses.replace(repo_config, env_dir=scratch)
        ensure_profile(own, "development")
        project = stack.project_for(own, "development", environ=ENVIRON, dev=True)
        rendered = proc.run(
            project.command("config", "--format", "json"), env=project.environ(ENVIRON)
        )
    app = json.loads(rendered.stdout)["services"]["app"]
    assert "--reload" in app["command"]
    (mount,) = app["volumes"]
    assert (mount["type"], mount["read_only"]) == ("bind", True)
    assert mount["source"] == str(repo_config.root / "tugboat" / "src" / "tugboat")
    assert app["read_only"] is True
    assert app["cap_drop"] == ["ALL"]
