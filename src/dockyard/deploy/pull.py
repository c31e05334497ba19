"""Deploying an image by digest: `invoke deploy --image <repository>@sha256:<digest>`.

The engine pulls the reference from its registry when it lacks it; the version is the one the
image's own label names, and the image is also tagged `<image>:<version>` here, so that a later
rollback to that version finds it like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard.core.errors import DockyardError, UnknownNameError
from dockyard.deploy.plan import VERSION_LABEL
from dockyard.image.build import tag_safe

if TYPE_CHECKING:
    import docker

    from dockyard.core.config import Config

_DIGEST = re.compile(r"^(?P<repository>[^@\s]+)@(?P<digest>sha256:[0-9a-f]{64})$")


@dataclass(frozen=True)
class Pinned:
    """An image named by digest, present on this engine: its version and its reference."""

    version: str
    reference: str  # `<repository>@sha256:...`
    pulled: bool  # False: the engine already had it


def is_digest_reference(image: str) -> bool:
    """Whether `image` names an image by digest (`repository@sha256:<64 hex>`)."""
    return _DIGEST.match(image) is not None


def pin(
    client: docker.DockerClient, config: Config, reference: str, *, version: str | None = None
) -> Pinned:
    """The image `reference` on this engine (pulled when absent), its version (`version`, else
    its version label) and the local tag `<image>:<version>` pointing at it."""
    from docker.errors import DockerException, ImageNotFound
    from requests import RequestException

    found = _DIGEST.match(reference)
    if found is None:
        raise UnknownNameError(
            f"--image {reference!r} is not a reference by digest",
            hint="name it as <registry>/<name>@sha256:<64 hex digits>",
        )
    pulled = False
    try:
        image = client.images.get(reference)
    except ImageNotFound:
        try:
            image = client.images.pull(reference)
        except (DockerException, RequestException) as error:
            raise UnknownNameError(
                f"image {reference} is not on this engine and pulling it failed: "
                f"{getattr(error, 'explanation', None) or error}",
                hint="check that the registry answers (`invoke registry.status`) and holds "
                "this digest; nothing was changed",
            ) from None
        pulled = True
    labelled = (image.labels or {}).get(VERSION_LABEL)
    chosen = version or labelled
    if not chosen:
        raise DockyardError(
            f"image {reference} has no {VERSION_LABEL} label, so its version is unknown",
            hint="deploy an image built by `invoke image.build`, which stamps its version",
        )
    tag = tag_safe(chosen)
    try:
        image.tag(config.image, tag)
    except DockerException as error:
        raise DockyardError(
            f"could not tag {reference} as {config.image}:{tag}: {error}",
            hint="check the engine (`invoke doctor`); nothing was deployed",
        ) from None
    return Pinned(tag, reference, pulled)
