"""Building the offline base images in the engine: inspect what exists, build what is missing.

Builds go through the docker CLI with BuildKit (`docker build`), inspection through the engine's
API; `dockyard.images` decides what to build and `dockyard.rootfs` makes the Debian base.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard.core import proc
from dockyard.core.config import Config
from dockyard.core.errors import CommandFailedError
from dockyard.image.base.plan import BaseImage, build_command, buildkit_environ

if TYPE_CHECKING:
    import docker

BUILD_TIMEOUT = 1200.0
MB = 1_000_000


@dataclass(frozen=True)
class ImageFacts:
    """What the engine knows about an image that exists."""

    name: str
    id: str
    size_mb: float
    labels: dict[str, str]


def inspect(client: docker.DockerClient, name: str) -> ImageFacts | None:
    """The image called `name`, or None when the engine has none."""
    from docker.errors import ImageNotFound

    try:
        image = client.images.get(name)
    except ImageNotFound:
        return None
    attrs = image.attrs
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return ImageFacts(name, str(image.id), round(int(attrs.get("Size", 0)) / MB, 1), dict(labels))


def build(config: Config, item: BaseImage, environ: Mapping[str, str]) -> None:
    """Make `item` exist in the engine, from debootstrap or from its Dockerfile."""
    if item.imported:
        from dockyard.image.base.rootfs import build_debian

        build_debian(config, item, environ)
        return
    try:
        proc.run(
            build_command(item),
            cwd=config.root,
            env=buildkit_environ(environ),
            timeout=BUILD_TIMEOUT,
        )
    except CommandFailedError as error:
        raise CommandFailedError(
            f"building {item.name} from {item.dockerfile} failed: {error.message}",
            hint=f"fix {item.dockerfile} (or the network to the Debian archive), then run "
            "`invoke image.base` again: images already built are skipped",
        ) from None
