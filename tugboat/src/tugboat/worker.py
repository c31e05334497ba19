"""The dispatch worker: `python -m tugboat.worker` marks queued shipments dispatched.

It takes shipment ids from a Redis list with BLPOP, waiting at most a second so that SIGTERM
is noticed promptly; on SIGTERM it finishes the job in hand and exits 0. Any number of
replicas can run: dispatching is one conditional UPDATE, so an id delivered twice is
dispatched once. A periodic sweep dispatches pending shipments whose queue entry was lost
(Redis was down when they were created, or a worker died holding one).

`python -m tugboat.worker --check` is the container healthcheck: it passes while the loop
has beaten recently.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import psycopg
import redis
from psycopg_pool import ConnectionPool, PoolTimeout

from tugboat import cache, store
from tugboat.jsonlog import configure_logging
from tugboat.settings import Settings, SettingsError, load_settings

log = logging.getLogger("tugboat.worker")

HEARTBEAT = Path(tempfile.gettempdir()) / "tugboat-worker.heartbeat"
STALE_AFTER_S = 30.0
WAIT_S = 1
SWEEP_EVERY_S = 15.0
SWEEP_OLDER_THAN_S = 30.0


@dataclass
class Worker:
    """One worker loop; `stop` (set by SIGTERM) ends it after the current job."""

    settings: Settings
    pool: ConnectionPool
    queue: redis.Redis
    stop: threading.Event
    heartbeat: Path = HEARTBEAT
    processed: int = 0

    def run(self) -> None:
        log.info("worker started", extra={"queue": cache.QUEUE})
        next_sweep = time.monotonic()
        while not self.stop.is_set():
            self.beat()
            try:
                if time.monotonic() >= next_sweep:
                    self.sweep()
                    next_sweep = time.monotonic() + SWEEP_EVERY_S
                job = cache.next_job(self.queue, WAIT_S)
                if job is not None:
                    self.dispatch(job)
            except (redis.RedisError, psycopg.Error, PoolTimeout) as error:
                log.warning("dependency unavailable; retrying", extra={"reason": str(error)})
                self.stop.wait(1.0)
        log.info("worker stopped", extra={"processed": self.processed})

    def dispatch(self, shipment_id: int) -> None:
        started = time.monotonic()
        if store.mark_dispatched(self.pool, shipment_id):
            self.processed += 1
            try:
                cache.forget_shipment(self.queue, shipment_id)
            except redis.RedisError as error:
                log.warning("cache entry not cleared", extra={"reason": str(error)})
            log.info(
                "dispatched shipment",
                extra={
                    "shipment_id": shipment_id,
                    "duration_ms": round((time.monotonic() - started) * 1000, 2),
                },
            )
        else:
            log.info("shipment already dispatched or gone", extra={"shipment_id": shipment_id})

    def sweep(self) -> None:
        for shipment_id in store.stale_pending(self.pool, SWEEP_OLDER_THAN_S):
            if self.stop.is_set():
                return
            self.dispatch(shipment_id)

    def beat(self) -> None:
        # A heartbeat that cannot be written fails the healthcheck: that says enough.
        with contextlib.suppress(OSError):
            self.heartbeat.touch()


def check(heartbeat: Path = HEARTBEAT, stale_after: float = STALE_AFTER_S) -> int:
    """0 when the loop beat within `stale_after` seconds, 1 otherwise (the healthcheck)."""
    try:
        age = time.time() - heartbeat.stat().st_mtime
    except FileNotFoundError:
        print(f"no heartbeat at {heartbeat}", file=sys.stderr)
        return 1
    if age > stale_after:
        print(f"last heartbeat {age:.0f} s ago", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tugboat.worker", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 0 if the worker is alive")
    options = parser.parse_args(argv)
    if options.check:
        return check()
    try:
        settings = load_settings(os.environ if environ is None else environ)
    except SettingsError as error:
        print(f"tugboat.worker: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping after the current job", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pool = store.make_pool(settings, name="tugboat-worker", max_size=2)
    queue = cache.make_client(settings, socket_timeout=WAIT_S + 5)
    try:
        Worker(settings, pool, queue, stop).run()
    finally:
        pool.close(timeout=2.0)
        queue.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
