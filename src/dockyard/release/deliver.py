"""After publication: staging, its smoke test, the promotion to production, the notification."""

from __future__ import annotations

from dockyard.core.errors import DockyardError
from dockyard.core.invocation import Invocation
from dockyard.release.shipped import Shipped

TARGETS = ("staging", "production")


def deliver(invocation: Invocation, shipped: Shipped, *, to: str, yes: bool) -> int:  # noqa: ARG001
    """Deploy `shipped` to staging and smoke-test it; with `to="production"`, promote it after
    confirmation (`yes` for pipelines). Returns the exit code."""
    raise DockyardError(
        f"release {shipped.version} is published, but deploying it to {to} is not wired yet",
        hint=f"deploy it by hand: invoke deploy --instance staging --image {shipped.image}",
    )
