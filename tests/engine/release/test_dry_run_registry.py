"""`invoke release --dry-run` and `release.status` with a real registry that already holds the
release's image: the registry is read (its digest matches the local image's), nothing changes
in the registry, the engine or the repository (CHECKLIST REL-04)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dockyard.core.config import Config, load_config
from dockyard.registry.client import RegistryClient, push
from dockyard.registry.plan import container_name, local_target, volume_name
from unit.git.gitrepos import clone, commit, git, make_remote, task
from unit.release.repos import INSTANCE, snapshot

from ..registry.test_local_registry import standin, tiny_image
from ..stacks import free_port

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.engine
__all__ = ["standin"]  # the stand-in registry image, built when missing


@pytest.fixture
def work(tmp_path: Path, docker_client: docker.DockerClient, standin: str) -> Iterator[Path]:
    """A clone whose project has a name of its own and a local registry on a free port, up."""
    name = f"dyrel-{uuid.uuid4().hex[:8]}"
    port = free_port()
    remote = make_remote(
        tmp_path,
        extra=f'[tool.dockyard.registry]\nurl = "127.0.0.1:{port}"\nlocal_port = {port}\n'
        "ready_timeout_seconds = 120\n",
    )
    path = clone(remote, "work")
    pyproject = path / "pyproject.toml"
    text = pyproject.read_text().replace('project = "demo"', f'project = "{name}"')
    commit(path, "pyproject.toml", text, "chore: a project of its own")
    git(path, "tag", "-a", "v1.0.0", "-m", "Release 1.0.0")
    git(path, "push", "-q", "origin", "main", "v1.0.0")
    commit(path, "app.py", "print('a')\n", "feat: a feature")
    for port_, instance in ((free_port(), "staging"), (free_port(), "production")):
        target = path / "env" / "instances" / f"{instance}.toml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(INSTANCE.format(port=port_))
    config = load_config(path)
    try:
        task(path, "registry.up", check=True)
        yield path
    finally:
        from docker.errors import NotFound

        with contextlib.suppress(NotFound):
            docker_client.containers.get(container_name(config)).remove(force=True)
        with contextlib.suppress(NotFound):
            docker_client.volumes.get(volume_name(config)).remove()


def release_images(client: docker.DockerClient, config: Config) -> list[tuple[str, str]]:
    """The tags a release of this project could make or remove, and their images (other work
    on the same engine may build or remove images of its own meanwhile)."""
    prefixes = (f"{local_target(config).host}/", f"{config.image}:", "demo:")
    return sorted(
        (tag, str(image.id))
        for image in client.images.list()
        for tag in image.tags
        if tag.startswith(prefixes)
    )


def test_a_dry_run_reads_the_registry_and_changes_nothing_in_it(
    work: Path, docker_client: docker.DockerClient
) -> None:
    config = load_config(work)
    ref = f"{local_target(config).host}/demo:1.1.0"
    tiny_image(docker_client, ref)
    pushed = push(docker_client, ref)
    with RegistryClient(local_target(config)) as api:
        before_registry = api.manifest_digest("demo", "1.1.0")
    images_before = release_images(docker_client, config)
    before = snapshot(work, work.parent / "remote.git")

    done = task(work, "release", "--dry-run", "--json")
    status = task(work, "release.status", "--json")

    assert done.returncode == 0, done.stderr
    assert status.returncode == 0, status.stderr
    assert snapshot(work, work.parent / "remote.git") == before
    assert release_images(docker_client, config) == images_before
    with RegistryClient(local_target(config)) as api:
        assert api.manifest_digest("demo", "1.1.0") == before_registry == pushed
        assert api.manifest_digest("demo", "1.0.0") is None
    for document in (json.loads(done.stdout), json.loads(status.stdout)):
        assert document["problems"] == []
        assert document["writes"]["image"] == ref
        states = {s["step"]: s["state"] for s in document["steps"]}
        assert (states["build"], states["push"], states["verify-digest"]) == (
            "done", "done", "done",
        )  # fmt: skip
        assert (states["commit-tag"], states["publish"]) == ("todo", "todo")
