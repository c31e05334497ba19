"""Deploys and rollbacks against the real stack: zero failed requests under load, a version that
never gets ready, concurrent deploys, kill -9 and SIGTERM midway, data kept, instances apart."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from dockyard.core.config import Config
from dockyard.core.errors import DockyardError, UnknownNameError
from dockyard.deploy import commands as deploycommands
from dockyard.deploy import history as deployhistory
from dockyard.deploy import lock as deploylock
from dockyard.deploy.monitor import control as monitor
from dockyard.deploy.target import DeployFailedError
from dockyard.stack import lifecycle as stack

from ..deploys import Load, Webhook, World, wait_for
from ..stacks import free_port

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.engine

# How long a deploy process, or the monitor it starts, may take: generous, for a loaded machine.
PATIENCE = 300.0

# A version that gets ready and answers /version, but fails every write: the smoke test after
# the switch catches it.
NO_WRITES = """
import http.server, json, os
class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        if self.path == "/version":
            self.answer(200, {"version": os.environ["APP_VERSION"]})
        else:
            self.answer(200, {"status": "ready"})
    def do_POST(self):
        self.answer(500, {"error": "writes are broken in this version"})
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
"""


@pytest.fixture(scope="module")
def world(
    repo_config: Config,
    docker_client: docker.DockerClient,
    stack_ready_images: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    """Instance "alpha" serving v1, with v2 and a broken version built beside it."""
    from dockyard.image.build import tag_safe
    from dockyard.image.facts import read_version

    made = World.make(repo_config, docker_client, tmp_path_factory.mktemp("deploys"))
    base = f"{repo_config.image}:{tag_safe(read_version(repo_config))}"
    try:
        made.add_version(base, "v1")
        made.add_version(base, "v2")
        made.add_version(base, "broken", command='["sleep", "3600"]')
        made.add_version(base, "crashing", command='["false"]')
        made.add_version(base, "no-writes", command=json.dumps(["python", "-c", NO_WRITES]))
        made.add_instance("alpha")
        deploycommands.deploy(made.invocation(), "alpha", made.versions["v1"])
        yield made
    finally:
        made.remove()


def history(world: World, instance: str) -> tuple[deployhistory.Record, ...]:
    path = Path(world.config.deploy.state_dir) / "history.jsonl"
    return deployhistory.read(path, instance=instance).records


def locks(world: World) -> Path:
    return Path(world.config.deploy.state_dir) / "locks"


def test_a_deploy_under_load_drops_nothing_and_switches_every_request(
    world: World, docker_client: docker.DockerClient
) -> None:
    v1, v2 = world.versions["v1"], world.versions["v2"]
    assert world.live_version("alpha") == v1
    row = requests.post(
        world.url("alpha") + "/api/shipments",
        json={"name": "kept", "destination": "across deploys"},
        timeout=5,
    ).json()
    with Load(world.url("alpha")) as load:
        time.sleep(1)
        began = time.monotonic()
        deploycommands.deploy(world.invocation(), "alpha", v2)
        took = time.monotonic() - began
        time.sleep(1)
    records = history(world, "alpha")
    assert load.failures == [], f"{len(load.failures)} of {len(load.results)} failed"
    assert len(load.results) > 100
    last = records[-1]
    assert (last.action, last.version, last.previous, last.result) == (
        "deploy",
        v2,
        v1,
        "succeeded",
    )
    # every request that started once the deploy had returned got the new version
    assert load.versions_since(began + took) == {v2}
    assert world.live_version("alpha") == v2
    assert len(world.app_containers("alpha")) == 1, "the old version's container is gone"
    watched = monitor.wait(
        Path(world.config.deploy.state_dir) / "monitors", "alpha", timeout=PATIENCE
    )
    assert (watched.state, watched.version) == ("stable", v2)
    # rollback to v1, under load as well; the row written before both is still there
    with Load(world.url("alpha")) as load:
        began = time.monotonic()
        deploycommands.rollback(world.invocation(), "alpha")
        took = time.monotonic() - began
        time.sleep(1)
    assert load.failures == []
    assert load.versions_since(began + took) == {v1}
    assert history(world, "alpha")[-1].action == "rollback"
    kept = requests.get(f"{world.url('alpha')}/api/shipments/{row['id']}", timeout=5)
    assert kept.status_code == 200
    assert kept.json()["name"] == "kept"


def test_a_version_that_never_gets_ready_is_removed_and_the_old_one_keeps_serving(
    world: World,
) -> None:
    live = world.live_version("alpha")
    before = world.app_containers("alpha")
    run = "https://github.com/acme/tugboat/actions/runs/42"
    with Webhook() as webhook, Load(world.url("alpha")) as load:
        began = time.monotonic()
        with pytest.raises(DeployFailedError) as failure:
            deploycommands.deploy(
                world.invocation(NOTIFY_WEBHOOK_URL=webhook.url, DOCKYARD_RUN_URL=run),
                "alpha",
                world.versions["broken"],
            )
        took = time.monotonic() - began
    message = str(failure.value)
    assert f"{live} is still serving" in message
    assert "not ready after 25 s" in message
    assert "log lines" in message, "the failure shows the new containers' logs"
    assert took < world.config.deploy.ready_timeout_seconds + 20
    assert load.failures == []
    assert load.versions_since(0) == {live}
    assert world.app_containers("alpha") == before
    last = history(world, "alpha")[-1]
    assert (last.version, last.result) == (world.versions["broken"], "failed")
    assert "not ready" in last.reason
    assert webhook.bodies, "the failure was notified"
    assert webhook.bodies[-1]["dockyard"]["result"] == "failed"
    assert webhook.bodies[-1]["dockyard"]["run_url"] == run, "it links to the CI run"
    assert "/services/T000" not in world.output.getvalue(), "the webhook's secret path is not shown"
    assert not list(locks(world).glob("*.lock")), "the lock is released after a failure"


def test_rollback_to_an_unknown_version_changes_nothing(world: World) -> None:
    live = world.live_version("alpha")
    count = len(history(world, "alpha"))
    with pytest.raises(UnknownNameError) as failure:
        deploycommands.rollback(world.invocation(), "alpha", "no-such-version")
    assert "retained versions" in str(failure.value)
    assert world.versions["v1"] in str(failure.value)
    assert world.live_version("alpha") == live
    assert len(history(world, "alpha")) == count


def test_two_deploys_at_once_one_runs_and_the_other_names_the_holder(world: World) -> None:
    target = (
        world.versions["v2"]
        if world.live_version("alpha") != world.versions["v2"]
        else world.versions["v1"]
    )
    first = world.driver("deploy", "alpha", target)
    wait_for(lambda: any(locks(world).glob("alpha.lock")), PATIENCE, "the first deploy's lock")
    second = world.driver("deploy", "alpha", target)
    said, _ = second.communicate(timeout=PATIENCE)
    assert second.returncode != 0
    assert "alpha" in said
    assert f"pid {first.pid}" in said, said
    out, _ = first.communicate(timeout=PATIENCE)
    assert first.returncode == 0, out
    assert world.live_version("alpha") == target


def test_a_rollback_decides_its_target_once_it_holds_the_lock(world: World, tmp_path: Path) -> None:
    v1, v2 = world.versions["v1"], world.versions["v2"]
    if world.live_version("alpha") != v2:
        deploycommands.deploy(world.invocation(), "alpha", v2)
    # v2 is live after v1: chosen now, the rollback would go to v1. It waits at the lock while
    # another process deploys v1; from v1, going back is going to v2.
    gate = tmp_path / "gate"
    rollback = world.driver("rollback", "alpha", "", gate=gate)
    waiting = tmp_path / "gate.waiting"
    wait_for(waiting.exists, PATIENCE, "the rollback to reach the lock")
    deploy = world.driver("deploy", "alpha", v1)
    said, _ = deploy.communicate(timeout=PATIENCE)
    assert deploy.returncode == 0, said
    gate.touch()
    said, _ = rollback.communicate(timeout=PATIENCE)
    assert rollback.returncode == 0, said
    last = history(world, "alpha")[-1]
    assert (last.action, last.previous, last.version) == ("rollback", v1, v2)
    assert world.live_version("alpha") == v2


def test_a_busy_port_of_an_instance_names_its_instance_file(world: World) -> None:
    port = world.add_instance("busy")
    try:
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", port))
            holder.listen()
            with pytest.raises(DockyardError) as failure:
                deploycommands.deploy(world.invocation(), "busy", world.versions["v1"])
    finally:
        (Path(world.config.instances_dir) / "busy.toml").unlink()
    assert f"port {port} (proxy) is in use" in failure.value.message
    assert failure.value.hint is not None
    assert "busy.toml" in failure.value.hint
    assert "[tool.dockyard.ports]" not in failure.value.hint
    assert world.app_containers("busy") == []


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_a_deploy_stopped_midway_leaves_the_old_version_serving(
    world: World, how: signal.Signals
) -> None:
    live = world.live_version("alpha")
    serving = world.app_containers("alpha")
    stopped = world.driver("deploy", "alpha", world.versions["broken"])
    wait_for(
        lambda: len(world.app_containers("alpha")) > len(serving), PATIENCE, "the new container"
    )
    os.kill(stopped.pid, how)
    out, _ = stopped.communicate(timeout=PATIENCE)
    assert world.live_version("alpha") == live
    if how is signal.SIGTERM:
        assert stopped.returncode == 130, out
        assert not list(locks(world).glob("alpha.lock")), "released on SIGTERM"
        assert world.app_containers("alpha") == serving, "the new container was removed"
        assert history(world, "alpha")[-1].result == "interrupted"
        return
    holder = deploylock.read(locks(world), "alpha")
    assert holder is not None
    assert holder.pid == stopped.pid
    # the next deploy reports the stale lock, clears it, removes the orphan and succeeds
    target = world.versions["v1"] if live != world.versions["v1"] else world.versions["v2"]
    deploycommands.deploy(world.invocation(), "alpha", target)
    assert "stale" in world.output.getvalue()
    assert world.live_version("alpha") == target
    assert len(world.app_containers("alpha")) == 1, world.app_containers("alpha")
    assert any("stale" in note for note in history(world, "alpha")[-1].notes)


def test_two_instances_share_no_volumes_networks_or_ports(
    world: World, docker_client: docker.DockerClient
) -> None:
    world.add_instance("beta")
    deploycommands.deploy(world.invocation(), "beta", world.versions["v2"])
    assert world.live_version("beta") == world.versions["v2"]
    assert world.url("beta") != world.url("alpha")

    def owned(kind: str, instance: str) -> set[str]:
        label = f"com.docker.compose.project={world.project_name(instance)}"
        if kind == "volumes":
            return {str(v.name) for v in docker_client.volumes.list(filters={"label": label})}
        return {str(n.name) for n in docker_client.networks.list(filters={"label": label})}

    for kind in ("volumes", "networks"):
        alpha, beta = owned(kind, "alpha"), owned(kind, "beta")
        assert alpha
        assert beta
        assert not alpha & beta
    # a row in one is not in the other
    row = requests.post(
        world.url("beta") + "/api/shipments",
        json={"name": "only beta", "destination": "b"},
        timeout=5,
    ).json()
    other = requests.get(f"{world.url('alpha')}/api/shipments/{row['id']}", timeout=5)
    assert other.status_code == 404 or other.json()["name"] != "only beta"


def test_deploy_all_stops_at_a_failure_unless_told_to_keep_going(world: World) -> None:
    if not (Path(world.config.instances_dir) / "beta.toml").exists():
        world.add_instance("beta")
        deploycommands.deploy(world.invocation(), "beta", world.versions["v2"])
    live = {name: world.live_version(name) for name in ("alpha", "beta")}
    crashing = world.versions["crashing"]
    started = len(world.output.getvalue())
    assert deploycommands.deploy_all(world.invocation(), crashing) == 1
    table = world.output.getvalue()[started:]
    assert "skipped" in table, "beta was not attempted after alpha failed"
    reason = history(world, "alpha")[-1].reason
    assert "exited with code 1" in reason or "is restarting" in reason, reason
    assert [r.version for r in history(world, "beta")].count(crashing) == 0
    assert deploycommands.deploy_all(world.invocation(), crashing, keep_going=True) == 1
    assert [r.result for r in history(world, "beta") if r.version == crashing] == ["failed"]
    assert {name: world.live_version(name) for name in ("alpha", "beta")} == live


def test_a_version_that_fails_the_check_after_the_switch_is_switched_back(world: World) -> None:
    live = world.live_version("alpha")
    before = world.app_containers("alpha")
    with Load(world.url("alpha")) as load:
        with pytest.raises(DeployFailedError) as failure:
            deploycommands.deploy(world.invocation(), "alpha", world.versions["no-writes"])
        returned = time.monotonic()
        time.sleep(1)
    assert "expected HTTP 201, got 500" in str(failure.value)
    assert f"{live} is still serving" in str(failure.value)
    assert load.failures == []
    assert load.versions_since(returned) == {live}
    assert world.app_containers("alpha") == before
    assert history(world, "alpha")[-1].result == "failed"


def test_images_beyond_the_retained_versions_are_pruned(
    world: World, docker_client: docker.DockerClient
) -> None:
    """Runs last: it prunes versions the other tests deploy."""
    from docker.errors import ImageNotFound

    from dockyard.image.build import tag_safe
    from dockyard.image.facts import read_version

    base = f"{world.config.image}:{tag_safe(read_version(world.config))}"
    fresh = [world.add_version(base, name) for name in ("p1", "p2")]
    keep_two = dataclasses.replace(
        world.config, deploy=dataclasses.replace(world.config.deploy, keep_versions=2)
    )
    invocation = dataclasses.replace(world.invocation(), config=keep_two)
    for version in fresh:
        deploycommands.deploy(invocation, "alpha", version)
    for version in fresh:
        docker_client.images.get(f"{world.config.image}:{version}")  # both retained
    # v1 went live on alpha only, before them: nothing keeps it now
    with pytest.raises(ImageNotFound):
        docker_client.images.get(f"{world.config.image}:{world.versions['v1']}")
    # v2 is still what beta runs
    docker_client.images.get(f"{world.config.image}:{world.versions['v2']}")
    with pytest.raises(UnknownNameError) as refused:
        deploycommands.rollback(invocation, "alpha", world.versions["v1"])
    assert f"retained versions (newest first): {fresh[1]}, {fresh[0]}" in str(refused.value)
    assert world.live_version("alpha") == fresh[1]


def test_status_tells_serving_down_and_never_deployed_apart_and_down_needs_no_migrate(
    world: World, docker_client: docker.DockerClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """Runs last: it takes alpha down."""
    later = Path(world.config.instances_dir) / "later.toml"
    later.write_text(f'profile = "production"\nport = {free_port()}\n', encoding="utf-8")
    as_json = dataclasses.replace(world.invocation(), as_json=True)
    try:
        capsys.readouterr()
        assert deploycommands.status(as_json) == 0
        rows = {row["instance"]: row for row in json.loads(capsys.readouterr().out)}
        assert rows["alpha"]["state"] == "serving"
        assert rows["alpha"]["version"] == world.live_version("alpha")
        assert rows["later"]["state"] == "never deployed"
        assert rows["later"]["detail"].startswith("not set up: ")
        assert (
            "/.env.production not found; run `invoke env.init --profile production`"
            in (rows["later"]["detail"])
        )
    finally:
        later.unlink()
    # compose's own `down -p NAME` fails with "could not find migrate" here
    docker_client.containers.get(f"{world.project_name('alpha')}-migrate-1").remove()
    stack.down(docker_client, world.project_name("alpha"), volumes=False)
    label = f"com.docker.compose.project={world.project_name('alpha')}"
    assert docker_client.containers.list(all=True, filters={"label": label}) == []
    assert deploycommands.status(as_json, "alpha") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["state"] == "down"
