"""Deliver a published release as `invoke release` would, in a process of its own (for the
kill -9 tests): `deliver_driver.py SETTINGS.json SHIPPED.json`, where SETTINGS.json holds the
test's overrides of the repository's configuration and SHIPPED.json the release."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from dockyard.core.config import Config, load_config
from dockyard.core.errors import DockyardError
from dockyard.core.invocation import Invocation, toolchain_environ
from dockyard.release.deliver import deliver
from dockyard.release.shipped import Shipped

REPO = Path(__file__).resolve().parents[3]


def config_from(settings: dict[str, Any]) -> Config:
    """The repository's configuration with the test's overrides (as deploy_driver.py does)."""
    base = load_config(REPO)
    deploy = dataclasses.replace(base.deploy, **settings["deploy"])
    fields = {k: v for k, v in settings.items() if k != "deploy"}
    return dataclasses.replace(base, deploy=deploy, **fields)


def main(settings: str, shipped: str) -> int:
    config = config_from(json.loads(Path(settings).read_text(encoding="utf-8")))
    invocation = Invocation(config, toolchain_environ(os.environ), Console(width=200))
    release = Shipped(**json.loads(Path(shipped).read_text(encoding="utf-8")))
    try:
        return deliver(invocation, release, to="production", yes=True)
    except DockyardError as error:
        print(f"dockyard: error: {error}", flush=True)
        return int(error.exit_code)


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
