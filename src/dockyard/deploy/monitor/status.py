"""Reading a monitor's status file: what the monitor last recorded, checked field by field.

The monitor rewrites `<instance>.json` in one step at every check (see `watcher`); a file that
is not such a document is reported with its path and what to do about it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from dockyard.core.errors import ConfigError, DockyardError
from dockyard.deploy.monitor.policy import Policy

MonitorState = Literal[
    "watching", "stable", "failed", "stopped", "lost", "deployed", "not-deployed"
]
VERDICTS = frozenset({"stable", "failed", "deployed", "not-deployed"})
FINISHED: frozenset[str] = VERDICTS | {"stopped", "lost"}
RECORDED_STATES: frozenset[str] = VERDICTS | {"watching", "stopped"}
T = TypeVar("T")


@dataclass(frozen=True)
class MonitorStatus:
    """What a monitor's status file says, and whether its process is still running.

    A monitor that was still watching when its process went away is reported as "lost".
    """

    instance: str
    version: str
    url: str
    pid: int
    state: MonitorState
    reason: str
    started: dt.datetime
    updated: dt.datetime
    healthy_since: dt.datetime | None
    checks: int
    failures: int
    last_error: str | None
    policy: Policy
    alive: bool
    path: Path

    @property
    def finished(self) -> bool:
        """True once the monitor has a verdict or has ended."""
        return self.state in FINISHED


def read_document(path: Path) -> dict[str, Any] | None:
    """The JSON object in a status file, or None when there is no such file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise DockyardError(f"{path}: cannot be read: {error.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise _not_a_status(path, f"not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(document, dict):
        raise _not_a_status(path, "not a JSON object")
    return document


def parse(document: Mapping[str, Any], path: Path) -> MonitorStatus:
    """The status a document records (its process not checked: `alive` is False)."""
    return MonitorStatus(
        instance=_field(document, "instance", str, path),
        version=_field(document, "version", str, path),
        url=_field(document, "url", str, path),
        pid=_field(document, "pid", int, path),
        state=_state(document, path),
        reason=_field(document, "reason", str, path),
        started=_time(document, "started", path),
        updated=_time(document, "updated", path),
        healthy_since=_optional_time(document, "healthy_since", path),
        checks=_field(document, "checks", int, path),
        failures=_field(document, "failures", int, path),
        last_error=_optional_text(document, "last_error", path),
        policy=_policy(document, path),
        alive=False,
        path=path,
    )


def _not_a_status(path: Path, problem: str) -> DockyardError:
    return DockyardError(
        f"{path}: not a monitor status file: {problem}",
        hint=f"remove {path}; the next deploy of {path.stem} writes a new one",
    )


def _field(document: Mapping[str, Any], key: str, kind: type[T], path: Path) -> T:
    value = document.get(key)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise _not_a_status(path, f"{key!r} should be {kind.__name__}, not {value!r}")
    return value


def _optional_text(document: Mapping[str, Any], key: str, path: Path) -> str | None:
    return None if document.get(key) is None else _field(document, key, str, path)


def _time(document: Mapping[str, Any], key: str, path: Path) -> dt.datetime:
    text = _field(document, key, str, path)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise _not_a_status(path, f"{key!r} is not a time: {text!r}") from None


def _optional_time(document: Mapping[str, Any], key: str, path: Path) -> dt.datetime | None:
    return None if document.get(key) is None else _time(document, key, path)


def _policy(document: Mapping[str, Any], path: Path) -> Policy:
    values = _field(document, "policy", dict, path)
    try:
        return Policy(
            settle_seconds=_field(values, "settle_seconds", float, path),
            interval_seconds=_field(values, "interval_seconds", float, path),
            failures_to_fail=_field(values, "failures_to_fail", int, path),
            max_seconds=_field(values, "max_seconds", float, path),
            expect_commit=_optional_text(values, "expect_commit", path),
        )
    except ConfigError as error:
        raise _not_a_status(path, "; ".join(error.problems)) from None


def _state(document: Mapping[str, Any], path: Path) -> MonitorState:
    state = _field(document, "state", str, path)
    if state not in RECORDED_STATES:
        raise _not_a_status(path, f"unknown state {state!r}")
    return state  # type: ignore[return-value]  # one of RECORDED_STATES
