"""The deploy commands' refusals and bookkeeping, without an engine: an unsafe instance id never
reaches a path or a command; history and unlock read and write the real state files."""

from __future__ import annotations

import dataclasses
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from dockyard.core.config import Config
from dockyard.core.errors import DockyardError, ExitCode
from dockyard.core.ids import InvalidInstanceIdError
from dockyard.core.invocation import Invocation
from dockyard.deploy import commands as deploycommands
from dockyard.deploy import history as deployhistory
from dockyard.deploy import lock as deploylock

UNSAFE = ["../x", "a;rm -rf /", "a b", "$(id)", "'--", "", "A", "x\n"]


@pytest.fixture
def config(repo_config: Config, tmp_path: Path) -> Config:
    (tmp_path / "instances").mkdir()
    return dataclasses.replace(
        repo_config,
        instances_dir=str(tmp_path / "instances"),
        deploy=dataclasses.replace(repo_config.deploy, state_dir=str(tmp_path / "state")),
    )


def invocation(config: Config, *, as_json: bool = False) -> tuple[Invocation, io.StringIO]:
    output = io.StringIO()
    return Invocation(config, dict(os.environ), Console(file=output, width=200), as_json), output


COMMANDS: dict[str, Callable[[Invocation, str], int]] = {
    "deploy": deploycommands.deploy,
    "rollback": deploycommands.rollback,
    "unlock": deploycommands.unlock,
    "history": deploycommands.history,
    "status": deploycommands.status,
    "monitors --stop": lambda inv, instance: deploycommands.monitors(inv, stop=instance),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("instance", UNSAFE)
def test_an_unsafe_instance_id_is_refused_before_anything_happens(
    config: Config, command: str, instance: str
) -> None:
    inv, _ = invocation(config)
    with pytest.raises(InvalidInstanceIdError) as failure:
        COMMANDS[command](inv, instance)
    assert failure.value.exit_code is ExitCode.CONFIG
    assert repr(instance)[:20] in str(failure.value)
    assert not Path(config.deploy.state_dir).exists(), "no state was written"


def test_an_unknown_instance_lists_the_known_ones(config: Config) -> None:
    (Path(config.instances_dir) / "staging.toml").write_text('profile = "testing"\nport = 18081\n')
    inv, _ = invocation(config)
    with pytest.raises(DockyardError) as failure:
        deploycommands.deploy(inv, "prod")
    assert failure.value.exit_code is ExitCode.UNKNOWN_NAME
    assert "staging" in str(failure.value)


def record(instance: str, version: str, result: deployhistory.Result) -> deployhistory.Record:
    return deployhistory.Record(
        instance=instance, action="deploy", version=version, previous=None, user="ann",
        started="2026-11-23T10:00:00Z", duration_seconds=12.34, result=result,
    )  # fmt: skip


def test_history_prints_every_record_and_filters_by_instance(config: Config) -> None:
    path = Path(config.deploy.state_dir) / "history.jsonl"
    deployhistory.append(path, record("staging", "1.4.0", "succeeded"))
    deployhistory.append(path, record("production", "1.3.0", "failed"))
    inv, output = invocation(config)
    deploycommands.history(inv, None)
    shown = output.getvalue()
    assert "1.4.0" in shown
    assert "1.3.0" in shown
    assert "12.3s" in shown
    inv, _ = invocation(config, as_json=True)
    captured = io.StringIO()
    from contextlib import redirect_stdout

    with redirect_stdout(captured):
        deploycommands.history(inv, "production")
    data = json.loads(captured.getvalue())
    assert [(r["instance"], r["version"], r["result"]) for r in data] == [
        ("production", "1.3.0", "failed")
    ]


def test_unlock_removes_a_lock_whose_process_is_gone_and_refuses_a_live_one(
    config: Config,
) -> None:
    locks = Path(config.deploy.state_dir) / "locks"
    dead = dataclasses.replace(
        deploylock.current_holder("staging", "deploy 1.4.0", user="ann"), pid=2**22 - 1
    )
    deploylock.acquire(locks, dead)
    inv, output = invocation(config)
    deploycommands.unlock(inv, "staging")
    assert "removed the lock" in output.getvalue()
    assert deploylock.read(locks, "staging") is None
    live = deploylock.current_holder("staging", "deploy 1.5.0", user="bob")
    deploylock.acquire(locks, live)
    with pytest.raises(deploylock.LockHeldError) as refused:
        deploycommands.unlock(inv, "staging")
    assert "deploy 1.5.0 by bob" in str(refused.value)
    deploycommands.unlock(inv, "staging", force=True)
    assert deploylock.read(locks, "staging") is None


def test_deploy_all_with_no_instances_deploys_nothing(config: Config) -> None:
    inv, output = invocation(config)
    assert deploycommands.deploy_all(inv) == 0
    assert "instance" in output.getvalue()
