"""A real registry started by `invoke registry.up` (the official image, or offline the Debian
stand-in, built for real): pushes are confirmed by the registry's own digest, a second `up`
changes nothing, and the data outlives `down`."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dockyard.core.config import Config, load_config
from dockyard.image.base.build import build, inspect
from dockyard.image.base.plan import decide, plan_base_images
from dockyard.registry.client import RegistryClient, local_digest, push, verify_pushed
from dockyard.registry.plan import (
    RegistryError,
    container_name,
    image_ref,
    local_target,
    repository,
    volume_name,
)

from ..stacks import ENVIRON, free_port

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[3]
INVOKE = Path(sys.executable).with_name("invoke")


@pytest.fixture(scope="module")
def standin(docker_client: docker.DockerClient) -> str:
    """The Debian stand-in (and its Debian parent) as `invoke image.base` builds them."""
    config = load_config(REPO)
    wanted = [item for item in plan_base_images(config, "") if item.key in {"debian", "registry"}]
    for item in wanted:
        found = inspect(docker_client, item.name)
        if decide(item, found.labels if found else None, rebuild=False).build:
            build(config, item, ENVIRON)
    return wanted[-1].name


@dataclass(frozen=True)
class Project:
    root: Path
    config: Config

    def invoke(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(INVOKE), *args],
            cwd=self.root,
            env={**os.environ, "INVOKE_DOCKYARD_ROOT": str(self.root)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


@pytest.fixture
def project(tmp_path: Path, docker_client: docker.DockerClient, standin: str) -> Iterator[Project]:
    """A project of its own: a unique name (so container and volume) and a free port."""
    name = f"dyr-{uuid.uuid4().hex[:8]}"
    shutil.copy(REPO / "tasks.py", tmp_path / "tasks.py")
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.dockyard]\nproject = "{name}"\nimage = "{name}"\n'
        f"[tool.dockyard.registry]\nlocal_port = {free_port()}\n"
        'repository_prefix = "team"\nready_timeout_seconds = 120\n'
    )
    config = load_config(tmp_path)
    try:
        yield Project(tmp_path, config)
    finally:
        from docker.errors import NotFound

        with contextlib.suppress(NotFound):
            docker_client.containers.get(container_name(config)).remove(force=True)
        with contextlib.suppress(NotFound):
            docker_client.volumes.get(volume_name(config)).remove()


def up(project: Project) -> dict[str, object]:
    done = project.invoke("registry.up", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert isinstance(document, dict)
    return document


def tiny_image(client: docker.DockerClient, ref: str) -> None:
    """A one-file image of its own content, so its digest is new on every run."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        payload = uuid.uuid4().hex.encode()
        info = tarfile.TarInfo("marker")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    repository_, _, tag = ref.rpartition(":")
    client.api.import_image_from_data(data.getvalue(), repository=repository_, tag=tag)


def test_up_starts_a_hardened_registry_and_a_second_up_changes_nothing(
    project: Project, docker_client: docker.DockerClient
) -> None:
    first = up(project)
    assert first["action"] == "create"
    container = docker_client.containers.get(container_name(project.config))
    started = container.attrs["State"]["StartedAt"]
    host = container.attrs["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert {b["HostIp"] for b in host["PortBindings"]["5000/tcp"]} == {"127.0.0.1"}
    with RegistryClient(local_target(project.config)) as api:
        assert api.ping() == 200

    second = up(project)
    assert second["action"] == "none"
    container.reload()
    assert container.attrs["State"]["StartedAt"] == started
    status = project.invoke("registry.status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["local"]["answers"] is True


def test_a_pushed_image_has_the_registrys_digest_and_survives_down_and_up(
    project: Project, docker_client: docker.DockerClient
) -> None:
    up(project)
    where = local_target(project.config)
    ref = image_ref(where, repository(project.config), "1.0.0")
    tiny_image(docker_client, ref)
    try:
        pushed = push(docker_client, ref)
        assert local_digest(docker_client, ref) == pushed
        with RegistryClient(where) as api:
            assert api.manifest_digest("team/" + project.config.image, "1.0.0") == pushed
            assert verify_pushed(api, docker_client, ref, pushed) == pushed
            assert api.manifest_digest("team/" + project.config.image, "no-such-tag") is None

        down = project.invoke("registry.down")
        assert down.returncode == 0, down.stderr
        assert "kept" in down.stdout
        assert docker_client.volumes.get(volume_name(project.config))
        with RegistryClient(where, timeout=3.0) as api, pytest.raises(RegistryError) as raised:
            api.manifest_digest("team/" + project.config.image, "1.0.0")
        assert "\n" not in raised.value.message
        assert where.api in raised.value.message
        assert raised.value.hint is not None
        assert "invoke registry.up" in raised.value.hint

        assert up(project)["action"] == "create"
        with RegistryClient(where) as api:
            assert api.manifest_digest("team/" + project.config.image, "1.0.0") == pushed
    finally:
        docker_client.images.remove(ref, force=True)

    gone = project.invoke("registry.down", "--volumes", "--json")
    assert gone.returncode == 0, gone.stderr
    assert json.loads(gone.stdout)["volume_removed"] is True


def test_status_of_a_registry_that_is_down_fails_with_one_line(project: Project) -> None:
    done = project.invoke("registry.status")
    assert done.returncode == 1
    assert "absent" in done.stdout
    assert "Traceback" not in done.stderr


def test_every_command_docs_registry_md_shows_runs_in_order(project: Project) -> None:
    """The page's commands, as written: up, status, down, down --volumes, each exit 0."""
    page = (REPO / "docs" / "registry.md").read_text(encoding="utf-8")
    shown = [
        line.split("#", 1)[0].split()[1:]
        for line in page.splitlines()
        if line.startswith("invoke registry.")
    ]
    assert [args[0] for args in shown] == [
        "registry.up", "registry.status", "registry.down", "registry.down",
    ]  # fmt: skip
    for args in shown:
        done = project.invoke(*args)
        assert done.returncode == 0, f"invoke {' '.join(args)}:\n{done.stderr}"
        assert "Traceback" not in done.stderr
    assert "removed" in done.stdout
