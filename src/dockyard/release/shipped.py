"""A published release: the version, its tag and the exact image the registry holds for it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shipped:
    """What the deploy steps of a release ship: published, so every instance gets this digest."""

    version: str
    tag: str
    repository: str  # where the image is: `<registry host>/<prefix>/<image>`
    digest: str  # `sha256:...`, as the registry itself answered it
    changelog: str = ""  # the release's changelog section, for the notification

    @property
    def image(self) -> str:
        """The image by digest: what an instance runs, whatever later happens to the tag."""
        return f"{self.repository}@{self.digest}"
