"""Where the stack's images come from: the official ones, or the local stand-ins.

A machine that has the configured official images, or can pull them, uses them and builds no
stand-in (a hosted CI runner: no root, no debootstrap, but a registry). A machine that cannot
builds the stand-ins from Debian packages (`invoke image.base`), as offline machines must. The
probe (`dockyard.image.commands.probe_official`) finds the facts; `choose` decides from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Probe:
    """What the engine said about one official image."""

    image: str
    present: bool  # the engine had it already
    pulled: bool  # the engine pulled it within the probe's timeout
    error: str = ""  # why it could not, first line

    @property
    def available(self) -> bool:
        return self.present or self.pulled


@dataclass(frozen=True)
class Choice:
    """Official images or stand-ins, and why, in words for the log."""

    official: bool
    reason: str
    missing: tuple[str, ...]


def choose(probes: Sequence[Probe]) -> Choice:
    """Official images when every one is available; else the stand-ins, naming what is missing
    and the engine's own reason."""
    missing = tuple(probe.image for probe in probes if not probe.available)
    if not missing:
        how = ", ".join(
            f"{probe.image} ({'present' if probe.present else 'pulled'})" for probe in probes
        )
        return Choice(True, f"using the official images, every one is available: {how}", ())
    why = "; ".join(
        f"{probe.image}: {probe.error or 'not available'}"
        for probe in probes
        if not probe.available
    )
    return Choice(
        False, f"building the local stand-ins, the official images cannot be pulled: {why}", missing
    )
