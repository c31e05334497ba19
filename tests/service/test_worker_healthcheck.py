"""The worker's healthcheck gives it time a loaded machine needs: its first heartbeat comes only
once Python has started and imported the worker, and its loop beats at least every few
seconds, well inside the staleness window the check reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML (from yamllint) has no stubs here

from tugboat import worker

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.production.yml"


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)s", value)
    assert match, value
    return float(match.group(1))


def healthcheck() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    check: dict[str, Any] = document["services"]["worker"]["healthcheck"]
    return check


def test_the_worker_has_a_minute_to_write_its_first_heartbeat() -> None:
    """A worker that needs 20 s to start on two busy cores is not marked unhealthy."""
    check = healthcheck()
    assert seconds(check["start_period"]) >= 60
    # once started, a few slow checks in a row are not yet a failure
    assert check["retries"] * seconds(check["interval"]) >= 10
    assert seconds(check["timeout"]) >= 5


def test_the_check_reads_the_workers_own_staleness_window_and_heartbeat_file() -> None:
    command = " ".join(healthcheck()["test"])
    assert str(worker.HEARTBEAT) in command
    assert f"-newermt '-{worker.STALE_AFTER_S:.0f} seconds'" in command
    # the loop beats every WAIT_S (an empty queue) or after a 1 s back-off; a sweep runs
    # every SWEEP_EVERY_S: the window holds several beats even when one is late
    assert worker.STALE_AFTER_S >= 2 * worker.SWEEP_EVERY_S >= 10 * worker.WAIT_S
