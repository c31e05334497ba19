"""`invoke image.base --if-needed` probes the engine for the official images and says which
path it takes: the official images where the engine has them or can pull them, the local
stand-ins where it cannot (no registry can be reached from the machines this runs on)."""

from __future__ import annotations

import dataclasses
import io
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from dockyard.core.config import Config
from dockyard.core.console import make_console
from dockyard.core.invocation import Invocation
from dockyard.image.base.plan import official_images
from dockyard.image.commands import base, probe_official
from dockyard.image.source import choose

from ..stacks import ENVIRON

pytestmark = pytest.mark.engine


def invocation(config: Config) -> tuple[Invocation, io.StringIO]:
    out = io.StringIO()
    return Invocation(config, ENVIRON, make_console(out)), out


@pytest.fixture
def present(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """Four images the engine has: an empty filesystem imported under unique names."""
    empty = io.BytesIO()
    with tarfile.open(fileobj=empty, mode="w"):
        pass
    run = uuid.uuid4().hex[:8]
    names = [f"dockyard-test-official-{kind}:{run}" for kind in ("py", "pg", "redis", "proxy")]
    for name in names:
        repository, tag = name.split(":")
        docker_client.api.import_image_from_data(empty.getvalue(), repository=repository, tag=tag)
    yield names
    for name in names:
        docker_client.images.remove(name, force=True)


def test_without_a_registry_the_probe_finds_no_official_image_and_chooses_the_stand_ins(
    repo_config: Config, docker_client: docker.DockerClient
) -> None:
    wanted = sorted(set(official_images(repo_config).values()))
    here = [name for name in wanted if docker_client.images.list(name=name)]
    assert here == [], "this test needs an engine without the official images and no registry"
    began = time.monotonic()
    probes = probe_official(repo_config, ENVIRON)
    assert time.monotonic() - began < 120
    assert [probe.image for probe in probes] == wanted
    assert all(not probe.available and probe.error for probe in probes)
    choice = choose(probes)
    assert not choice.official
    assert choice.missing == tuple(wanted)


def test_the_command_takes_the_stand_in_path_and_says_so(
    repo_config: Config, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    """Without a registry it says which path it took and why, builds (or finds up to date) the
    stand-ins from the contexts dockyard ships, and points the project's stack at them."""
    config = dataclasses.replace(repo_config, root=tmp_path)
    call, out = invocation(config)
    assert base(call, if_needed=True) == 0
    said = out.getvalue()
    assert not docker_client.images.list(name=official_images(repo_config)["POSTGRES_IMAGE"])
    assert "image.base: building the local stand-ins, the official images cannot be pulled" in said
    assert official_images(repo_config)["POSTGRES_IMAGE"] in said
    recorded = (tmp_path / ".dockyard" / "images.env").read_text()
    assert "POSTGRES_IMAGE=" in recorded


def test_official_images_the_engine_has_mean_no_stand_in_is_built(
    repo_config: Config, present: list[str], tmp_path: Path
) -> None:
    images = dataclasses.replace(
        repo_config.images,
        python=present[0],
        postgres=present[1],
        redis=present[2],
        proxy=present[3],
    )
    config = dataclasses.replace(repo_config, root=tmp_path, images=images)
    call, out = invocation(config)
    assert base(call, if_needed=True) == 0
    said = out.getvalue()
    assert "image.base: using the official images, every one is available" in said
    assert all(f"{name} (present)" in said for name in present)
    assert not (tmp_path / ".dockyard").exists(), "no stand-in is recorded for the stack"
