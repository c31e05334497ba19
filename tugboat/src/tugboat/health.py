"""Readiness: can this process serve? Each dependency is probed at once, under one deadline.

A probe is a function that returns a short detail when its dependency is usable and raises
when it is not. They run concurrently, and one that does not answer within the deadline
counts as failed, so `/health/ready` answers within about a second and a half even when a
dependency hangs. Nothing is cached across calls except "migrations are current" (a schema
does not go back), so readiness turns green again by itself when a dependency returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

DEADLINE_S = 1.5

Probe = Callable[[], str]


@dataclass(frozen=True)
class Outcome:
    """The result of one probe."""

    name: str
    ok: bool
    detail: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, "ms": round(self.seconds * 1000, 1)}


def decide(outcomes: Sequence[Outcome]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body of `/health/ready` for these outcomes."""
    checks = {outcome.name: outcome.as_dict() for outcome in outcomes}
    failed = [outcome.name for outcome in outcomes if not outcome.ok]
    if failed:
        return 503, {"status": "unavailable", "failed": failed, "checks": checks}
    return 200, {"status": "ready", "checks": checks}


class Readiness:
    """Runs named probes concurrently and reports each one's outcome within `deadline`."""

    def __init__(self, probes: Mapping[str, Probe], deadline: float = DEADLINE_S) -> None:
        self.probes = dict(probes)
        self.deadline = deadline
        # Room for a round of hung probes to linger while the next round runs.
        self._executor = ThreadPoolExecutor(
            max_workers=max(4, 3 * len(self.probes)), thread_name_prefix="readiness"
        )

    def run(self) -> list[Outcome]:
        futures = {
            name: self._executor.submit(_attempt, name, probe)
            for name, probe in self.probes.items()
        }
        wait(futures.values(), timeout=self.deadline)
        return [
            future.result()
            if future.done()
            else Outcome(
                name,
                ok=False,
                detail=f"no answer within {self.deadline:g} s",
                seconds=self.deadline,
            )
            for name, future in futures.items()
        ]

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _attempt(name: str, probe: Probe) -> Outcome:
    started = time.monotonic()
    try:
        detail = probe()
    except Exception as error:  # noqa: BLE001 - any failure of a probe is a failed dependency
        return Outcome(name, ok=False, detail=describe(error), seconds=time.monotonic() - started)
    return Outcome(name, ok=True, detail=detail, seconds=time.monotonic() - started)


def describe(error: BaseException) -> str:
    """A one-line reason for a failed probe (exception messages carry no credentials here)."""
    text = " ".join(str(error).split())
    name = type(error).__name__
    return f"{name}: {text[:200]}" if text else name
