"""Run a deploy or rollback as `invoke` would, in a process of its own (for the lock, signal
and kill -9 tests): `deploy_driver.py SETTINGS.json deploy|rollback INSTANCE VERSION`, where
SETTINGS.json holds the test's overrides of the repository's configuration. An empty VERSION
rolls back to the previous version. With DEPLOY_DRIVER_GATE=PATH in the environment the run
stops where it would take the instance's lock, creates PATH.waiting, and goes on once PATH
exists: a test lines up a race with another process there."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console

from dockyard.core.config import Config, load_config
from dockyard.core.errors import DockyardError
from dockyard.core.invocation import Invocation, toolchain_environ
from dockyard.deploy import commands as deploycommands
from dockyard.deploy import lock as deploylock

GATE_SECONDS = 600.0

REPO = Path(__file__).resolve().parents[2]


def config_from(settings: dict[str, Any]) -> Config:
    base = load_config(REPO)
    deploy = dataclasses.replace(base.deploy, **settings["deploy"])
    fields = {k: v for k, v in settings.items() if k != "deploy"}
    return dataclasses.replace(base, deploy=deploy, **fields)


def gate_the_lock(gate: Path) -> None:
    """Wait at the gate before the lock is taken (for at most GATE_SECONDS)."""
    held = deploylock.held

    @contextmanager
    def gated(*args: Any, **kwargs: Any) -> Iterator[deploylock.Acquired]:
        gate.with_name(gate.name + ".waiting").touch()
        deadline = time.monotonic() + GATE_SECONDS
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        with held(*args, **kwargs) as acquired:
            yield acquired

    deploylock.held = gated


def main(settings: str, action: str, instance: str, version: str) -> int:
    # Ctrl-C as in a terminal, even when whoever started the tests ignores SIGINT (a command a
    # non-interactive shell runs in the background does), which this process would inherit.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    config = config_from(json.loads(Path(settings).read_text(encoding="utf-8")))
    invocation = Invocation(config, toolchain_environ(os.environ), Console(width=200))
    if "DEPLOY_DRIVER_GATE" in os.environ:
        gate_the_lock(Path(os.environ["DEPLOY_DRIVER_GATE"]))
    try:
        if action == "deploy":
            return deploycommands.deploy(invocation, instance, version)
        return deploycommands.rollback(invocation, instance, version or None)
    except DockyardError as error:
        print(f"dockyard: error: {error}", flush=True)
        return int(error.exit_code)
    except KeyboardInterrupt:
        print("dockyard: interrupted", flush=True)
        return 130


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
