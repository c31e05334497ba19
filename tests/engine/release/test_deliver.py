"""A published release delivered to real instances (staging and production of the reference
service) from a real registry, by digest: a staging that never gets ready leaves production
untouched; a production whose smoke test fails goes back with 0 failed requests, and the
history and the webhook say so; a release goes to both by digest, and running it again
changes nothing."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dockyard.core.config import Config, load_config
from dockyard.deploy import commands as deploycommands
from dockyard.deploy import history as deployhistory
from dockyard.registry.client import push
from dockyard.registry.plan import container_name, local_target, volume_name
from dockyard.release import announce, deliver
from dockyard.release.shipped import Shipped
from dockyard.release.world import instance_facts

from ..deploys import Load, Webhook, World, settings_for
from ..registry.test_local_registry import standin
from ..stacks import ENVIRON, free_port

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.engine
__all__ = ["standin"]

REPO = Path(__file__).resolve().parents[3]
INVOKE = Path(sys.executable).with_name("invoke")
PRODUCTION_MEMORY = 400 * 1024 * 1024

# A version that gets ready and answers reads everywhere, but fails every write where its
# memory limit is production's (400M): staging's smoke test passes, production's fails.
WRITES_BROKEN_IN_PRODUCTION = f"""
import http.server, json, os
def limit():
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            return int(open(path).read().strip())
        except (OSError, ValueError):
            continue
    return 0
BROKEN = limit() == {PRODUCTION_MEMORY}
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
            self.answer(200, {{"version": os.environ["APP_VERSION"]}})
        else:
            self.answer(200, {{"status": "ready", "id": 1}})
    def do_POST(self):
        if BROKEN:
            self.answer(500, {{"error": "writes are broken here"}})
        else:
            self.answer(201, {{"id": 1}})
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
"""


@dataclasses.dataclass
class Setting:
    world: World
    registry: str  # 127.0.0.1:<port>
    shipped: dict[str, Shipped]

    def history(self) -> tuple[deployhistory.Record, ...]:
        path = Path(self.world.config.deploy.state_dir) / "history.jsonl"
        return deployhistory.read(path).records


@pytest.fixture(scope="module")
def registry(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient, standin: str
) -> Iterator[str]:
    """A real registry, started by `invoke registry.up` in a project of its own."""
    root = tmp_path_factory.mktemp("registry")
    name = f"dyd-{uuid.uuid4().hex[:8]}"
    shutil.copy(REPO / "tasks.py", root / "tasks.py")
    (root / "pyproject.toml").write_text(
        f'[tool.dockyard]\nproject = "{name}"\nimage = "{name}"\n'
        f"[tool.dockyard.registry]\nlocal_port = {free_port()}\nready_timeout_seconds = 120\n"
    )
    config = load_config(root)
    try:
        done = subprocess.run(
            [str(INVOKE), "registry.up"], cwd=root, capture_output=True, text=True,
            env={**os.environ, "INVOKE_DOCKYARD_ROOT": str(root)}, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        yield local_target(config).host
    finally:
        from docker.errors import NotFound

        with contextlib.suppress(NotFound):
            docker_client.containers.get(container_name(config)).remove(force=True)
        with contextlib.suppress(NotFound):
            docker_client.volumes.get(volume_name(config)).remove()


@pytest.fixture(scope="module")
def setting(
    repo_config: Config,
    docker_client: docker.DockerClient,
    stack_ready_images: dict[str, str],
    registry: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Setting]:
    """Staging and production serving v1; v2, a version that never gets ready and one whose
    writes fail in production only, each pushed to the registry and known by its digest."""
    from dockyard.image.build import tag_safe
    from dockyard.image.facts import read_version

    world = World.make(repo_config, docker_client, tmp_path_factory.mktemp("release"))
    base = f"{repo_config.image}:{tag_safe(read_version(repo_config))}"
    repository = f"{registry}/{world.config.project}"
    shipped: dict[str, Shipped] = {}
    try:
        for name, command in (
            ("v1", None), ("v2", None), ("broken", '["sleep", "3600"]'),
            ("prodbad", json.dumps(["python", "-c", WRITES_BROKEN_IN_PRODUCTION])),
        ):  # fmt: skip
            tag = world.add_version(base, name, command=command)
            ref = f"{repository}:{tag}"
            docker_client.images.get(f"{world.config.image}:{tag}").tag(repository, tag)
            digest = push(docker_client, ref)
            docker_client.images.remove(ref)  # the engine must pull it by digest
            section = f"## {tag}\n\n### Features\n\n- {name}\n"
            shipped[name] = Shipped(tag, f"v{tag}", repository, digest, section)
        # A first deploy brings the whole stack up: patient on a loaded machine; later
        # switches start one container, and the version that never gets ready waits this long.
        patient = dataclasses.replace(world.config.deploy, ready_timeout_seconds=180.0)
        world.config = dataclasses.replace(world.config, deploy=patient)
        for instance, memory in (("staging", "300M"), ("production", "400M")):
            world.add_instance(instance)
            path = Path(world.config.instances_dir) / f"{instance}.toml"
            path.write_text(path.read_text() + f'\n[resources]\nmemory = "{memory}"\n')
            # by digest, as `invoke deploy --image <registry>/<name>@sha256:...`: pulled
            deploycommands.deploy(world.invocation(), instance, shipped["v1"].image)
        switches = dataclasses.replace(patient, ready_timeout_seconds=45.0)
        world.config = dataclasses.replace(world.config, deploy=switches)
        yield Setting(world, registry, shipped)
    finally:
        world.remove()


def serving(setting: Setting) -> dict[str, str]:
    return {i: setting.world.live_version(i) for i in ("staging", "production")}


def test_a_staging_that_never_gets_ready_leaves_production_untouched(setting: Setting) -> None:
    world, shipped = setting.world, setting.shipped["broken"]
    before = serving(setting)
    production = world.app_containers("production")
    with pytest.raises(deliver.ReleaseDeliveryError) as failed:
        deliver.deliver(world.invocation(), shipped, to="production", yes=True)
    assert "did not go live on staging" in failed.value.message
    assert "the next release supersedes" in (failed.value.hint or "")
    assert serving(setting) == before
    assert world.app_containers("production") == production
    facts = instance_facts(world.config, ENVIRON, shipped)
    assert not facts.serves("staging")
    assert "staging" in facts.recorded.failed
    releases = [r for r in setting.history() if r.action == "release"]
    assert (releases[-1].instance, releases[-1].result) == ("staging", "failed")
    assert not [r for r in setting.history() if r.instance == "production" and r.version
                == shipped.version]  # fmt: skip


def test_a_failed_production_smoke_test_rolls_back_with_no_failed_request(
    setting: Setting,
) -> None:
    world, shipped = setting.world, setting.shipped["prodbad"]
    v1 = world.versions["v1"]
    with Webhook() as hook, Load(world.url("production")) as load:
        invocation = world.invocation(NOTIFY_WEBHOOK_URL=hook.url)
        with pytest.raises(deliver.ReleaseDeliveryError) as failed:
            deliver.deliver(invocation, shipped, to="production", yes=True)
    assert "did not go live on production" in failed.value.message
    assert load.failures == [], f"{len(load.failures)} of {len(load.results)} failed"
    assert len(load.results) > 50
    assert serving(setting) == {"staging": shipped.version, "production": v1}
    production = [r for r in setting.history() if r.instance == "production"]
    assert (production[-2].action, production[-2].result) == ("deploy", "failed")
    assert (production[-1].action, production[-1].result) == ("release", "failed")
    assert production[-1].reason.startswith("rolled back: ")
    facts = instance_facts(world.config, ENVIRON, shipped)
    assert facts.serves("staging")
    assert not facts.serves("production")
    releases = [b["dockyard"] for b in hook.bodies if b["dockyard"]["kind"] == "release"]
    assert len(releases) == 1
    assert releases[0]["result"] == "rolled back"
    assert releases[0]["image"] == shipped.image
    assert (
        "smoke" in releases[0]["instances"]["production"]
        or "deploy failed" in (releases[0]["instances"]["production"])
    )


def test_a_release_goes_to_both_by_digest_and_again_changes_nothing(setting: Setting) -> None:
    world, shipped = setting.world, setting.shipped["v2"]
    with Load(world.url("production")) as load:
        assert deliver.deliver(world.invocation(), shipped, to="production", yes=True) == 0
    assert load.failures == []
    assert serving(setting) == {"staging": shipped.version, "production": shipped.version}
    facts = instance_facts(world.config, ENVIRON, shipped)
    assert facts.serves("staging")
    assert facts.serves("production")
    assert facts.digests == {"staging": shipped.digest, "production": shipped.digest}
    assert facts.recorded.smoke_passed == {"staging", "production"}
    assert facts.recorded.notified == {"production"}
    containers = {i: world.app_containers(i) for i in ("staging", "production")}
    records = len(setting.history())
    assert deliver.deliver(world.invocation(), shipped, to="production", yes=True) == 0
    assert {i: world.app_containers(i) for i in ("staging", "production")} == containers
    added = setting.history()[records:]
    assert [(r.action, r.instance) for r in added] == [("release", "production")]
    assert announce.read(setting.history(), shipped.version).failed == {}


def test_promotion_without_a_terminal_or_yes_is_refused_after_staging(setting: Setting) -> None:
    world, shipped = setting.world, setting.shipped["v1"]
    production = world.app_containers("production")
    with pytest.raises(deliver.ConfirmationNeededError) as refused:
        deliver.deliver(world.invocation(), shipped, to="production", yes=False)
    assert refused.value.exit_code == 2
    assert "invoke release --resume --yes" in (refused.value.hint or "")
    assert world.app_containers("production") == production
    assert serving(setting)["staging"] == shipped.version


DRIVER = Path(__file__).with_name("deliver_driver.py")
BOUNDARIES = ("deploy staging", "smoke staging", "deploy production", "smoke production")


def end_state(setting: Setting, shipped: Shipped) -> tuple[object, ...]:
    facts = instance_facts(setting.world.config, ENVIRON, shipped)
    return (
        serving(setting), dict(facts.digests), facts.serves("staging"),
        facts.serves("production"), facts.recorded.smoke_passed, facts.recorded.notified,
    )  # fmt: skip


def kill_at(setting: Setting, shipped: Shipped, boundary: str) -> None:
    """Deliver `shipped` in a process of its own, killed with SIGKILL once it says the step
    `boundary` is done."""
    world = setting.world
    settings = world.directory / "settings.json"
    settings.write_text(json.dumps(settings_for(world.config)), encoding="utf-8")
    release = world.directory / "shipped.json"
    release.write_text(json.dumps(dataclasses.asdict(shipped)), encoding="utf-8")
    said: list[str] = []
    with subprocess.Popen(
        [sys.executable, str(DRIVER), str(settings), str(release)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        text=True, env=ENVIRON, cwd=REPO,
    ) as process:  # fmt: skip
        try:
            assert process.stdout is not None
            for line in process.stdout:  # bounded: the process ends, or is killed below
                said.append(line)
                if line.startswith(f"{boundary}: done"):
                    process.kill()
                    break
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=60)
    assert process.returncode == -9, "".join(said)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_a_release_resumed_after_kill_9_ends_as_an_uninterrupted_one(
    setting: Setting, boundary: str
) -> None:
    world = setting.world
    v1, v2 = setting.shipped["v1"], setting.shipped["v2"]
    deliver.deliver(world.invocation(), v1, to="production", yes=True)
    deliver.deliver(world.invocation(), v2, to="production", yes=True)
    uninterrupted = end_state(setting, v2)
    deliver.deliver(world.invocation(), v1, to="production", yes=True)

    kill_at(setting, v2, boundary)
    assert deliver.deliver(world.invocation(), v2, to="production", yes=True) == 0

    assert end_state(setting, v2) == uninterrupted
