"""Readiness: which dependencies failed, decided fast even when one of them hangs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tugboat.health import Outcome, Readiness, decide


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # let a hung probe's thread end


def test_all_dependencies_answering_is_ready() -> None:
    status, body = decide([Outcome("database", True, "SELECT 1 ok", 0.002)])
    assert status == 200
    assert body == {
        "status": "ready",
        "checks": {"database": {"ok": True, "detail": "SELECT 1 ok", "ms": 2.0}},
    }


def test_each_failed_dependency_is_named() -> None:
    status, body = decide(
        [
            Outcome("database", False, "PoolTimeout: no connection", 1.0),
            Outcome("cache", True, "PING ok", 0.001),
            Outcome("migrations", False, "migration 0002 is not applied", 0.0),
        ]
    )
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["failed"] == ["database", "migrations"]
    assert body["checks"]["cache"]["ok"] is True


def test_a_hanging_dependency_fails_at_the_deadline(release: threading.Event) -> None:
    readiness = Readiness(
        {"database": lambda: "ok", "cache": lambda: str(release.wait(30))}, deadline=0.3
    )
    started = time.monotonic()
    outcomes = {outcome.name: outcome for outcome in readiness.run()}
    assert time.monotonic() - started < 1.0
    assert outcomes["database"].ok
    assert not outcomes["cache"].ok
    assert outcomes["cache"].detail == "no answer within 0.3 s"
    readiness.close()


def test_a_probe_error_is_the_failure_detail_and_recovery_needs_no_reset() -> None:
    up = threading.Event()

    def database() -> str:
        if not up.is_set():
            raise ConnectionRefusedError("connection refused")
        return "SELECT 1 ok"

    readiness = Readiness({"database": database}, deadline=1.0)
    (down,) = readiness.run()
    assert (down.ok, down.detail) == (False, "ConnectionRefusedError: connection refused")
    up.set()
    (back,) = readiness.run()
    assert (back.ok, back.detail) == (True, "SELECT 1 ok")
    readiness.close()
