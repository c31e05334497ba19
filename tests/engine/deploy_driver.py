"""Run a deploy or rollback as `invoke` would, in a process of its own (for the lock, signal
and kill -9 tests): `deploy_driver.py SETTINGS.json deploy|rollback INSTANCE VERSION`, where
SETTINGS.json holds the test's overrides of the repository's configuration."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from dockyard.core.config import Config, load_config
from dockyard.core.errors import DockyardError
from dockyard.core.invocation import Invocation, toolchain_environ
from dockyard.deploy import commands as deploycommands

REPO = Path(__file__).resolve().parents[2]


def config_from(settings: dict[str, Any]) -> Config:
    base = load_config(REPO)
    deploy = dataclasses.replace(base.deploy, **settings["deploy"])
    fields = {k: v for k, v in settings.items() if k != "deploy"}
    return dataclasses.replace(base, deploy=deploy, **fields)


def main(settings: str, action: str, instance: str, version: str) -> int:
    # Ctrl-C as in a terminal, even when whoever started the tests ignores SIGINT (a command a
    # non-interactive shell runs in the background does), which this process would inherit.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    config = config_from(json.loads(Path(settings).read_text(encoding="utf-8")))
    invocation = Invocation(config, toolchain_environ(os.environ), Console(width=200))
    try:
        if action == "deploy":
            return deploycommands.deploy(invocation, instance, version)
        return deploycommands.rollback(invocation, instance, version)
    except DockyardError as error:
        print(f"dockyard: error: {error}", flush=True)
        return int(error.exit_code)
    except KeyboardInterrupt:
        print("dockyard: interrupted", flush=True)
        return 130


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
