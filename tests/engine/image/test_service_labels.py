"""The OCI labels of an image `invoke image.build` builds are dockyard's own: stamped at build
time, whatever the Dockerfile and its base image say."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dockyard.core.config import parse_config
from dockyard.image.build import Facts, plan_build, run_build
from dockyard.image.facts import Revision

from ..stacks import ENVIRON

REVISION = "feedface1234"  # pragma: allowlist secret (a made-up git revision)

if TYPE_CHECKING:
    import docker

pytestmark = [pytest.mark.engine, pytest.mark.image]

# A service's Dockerfile that declares no label at all.
DOCKERFILE = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n"


def test_the_built_image_carries_dockyards_labels_not_its_bases(
    docker_client: docker.DockerClient, stack_ready_images: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    base = stack_ready_images.get("PYTHON_IMAGE") or "python:3.11-slim-bookworm"
    # A base that carries a version of its own, as Debian's images and older local bases do.
    labelled_base = f"dockyard-test/labelled-base:{uuid.uuid4().hex[:12]}"
    docker_client.images.build(
        path=str(_base_context(tmp_path / "base", base)),
        tag=labelled_base,
        rm=True,
    )
    name = f"dockyard-test/labels-{uuid.uuid4().hex[:12]}"
    config = parse_config(
        {"project": "labels", "image": name, "dockerfile": "Dockerfile", "build_context": "."},
        root=tmp_path,
    )
    facts = Facts(
        version="7.7.7",
        revision=Revision(sha=REVISION, dirty=False),
        base_image=labelled_base,
        created="2026-01-02T03:04:05Z",
    )
    plan = plan_build(config, facts)
    try:
        run_build(plan, ENVIRON, timeout=600)
        labels = docker_client.images.get(plan.tags[0]).labels or {}
        assert labels["org.opencontainers.image.version"] == "7.7.7"
        assert labels["org.opencontainers.image.revision"] == REVISION
        assert labels["org.opencontainers.image.created"] == "2026-01-02T03:04:05Z"
        assert labels["org.opencontainers.image.source"] == ""
        assert labels["org.opencontainers.image.title"] == name  # its own, never the base's
        assert labels["org.opencontainers.image.base.name"] == labelled_base
    finally:
        for tag in plan.tags:
            docker_client.images.remove(tag, noprune=False, force=True)
        docker_client.images.remove(labelled_base, noprune=False, force=True)


def _base_context(directory: Path, base: str) -> Path:
    directory.mkdir()
    (directory / "Dockerfile").write_text(
        f'FROM {base}\nLABEL org.opencontainers.image.version="12" '
        'org.opencontainers.image.title="dockyard-base/python" '
        'org.opencontainers.image.source="https://base.example/debian"\n',
        encoding="utf-8",
    )
    return directory
