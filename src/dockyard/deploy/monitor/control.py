"""Starting, stopping, listing and cleaning up deployment monitors: what the deploy commands use.

Each monitor is its own detached process (`python -m dockyard.deploy.monitor.watcher ...`) that
polls the instance's readiness URL until the deployment is stable or has failed, and says which
in its status file, read here for `invoke deploy.status` and `deploy.monitors`. A monitor ends
by itself within its policy's `max_seconds`; a process is only ever signalled when its pid is
verified as that instance's monitor (see `files`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dockyard.core.errors import DockyardError, MissingFileError, UnknownNameError
from dockyard.core.files import replace_atomically
from dockyard.core.ids import is_valid_id
from dockyard.deploy.monitor.files import (
    CHILDREN,
    MODULE,
    POLL_SECONDS,
    MonitorFiles,
    files_of,
    gone,
    holding,
    reap,
    running_pid,
    verified_pid,
)
from dockyard.deploy.monitor.policy import WATCHING, Policy
from dockyard.deploy.monitor.status import MonitorStatus, parse, read_document

STOP_REASON = "stopped by `invoke deploy.monitors --stop`"
WEEK_SECONDS = 7 * 24 * 3600.0
START_TIMEOUT = 5.0
SUPERSEDE_TIMEOUT = 10.0
LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class MonitorInfo:
    """A monitor that has just started."""

    instance: str
    pid: int
    status_path: Path
    log_path: Path


# --- reading ---------------------------------------------------------------------------------


def status(state_dir: Path, instance: str) -> MonitorStatus | None:
    """The status of the monitor of `instance`, or None if no monitor ever watched it."""
    reap()
    files = files_of(state_dir, instance)
    live = verified_pid(files)
    document = read_document(files.status)
    if document is None:
        return None
    recorded = parse(document, files.status)
    alive = live is not None and live == recorded.pid
    if recorded.state == WATCHING and not alive:
        return dataclasses.replace(
            recorded,
            state="lost",
            reason=f"monitor process {recorded.pid} ended without a verdict "
            f"(last: {recorded.reason})",
        )
    return dataclasses.replace(recorded, alive=alive)


def list_monitors(state_dir: Path) -> list[MonitorStatus]:
    """Every monitor with a status file in `state_dir`, by instance."""
    if not state_dir.is_dir():
        return []
    names = sorted(path.stem for path in state_dir.glob("*.json") if is_valid_id(path.stem))
    found = (status(state_dir, name) for name in names)
    return [monitor for monitor in found if monitor is not None]


def wait(state_dir: Path, instance: str, *, timeout: float) -> MonitorStatus:
    """The status of `instance`'s monitor once it is no longer watching."""
    deadline = time.monotonic() + timeout
    while True:
        current = status(state_dir, instance)
        if current is None:
            raise UnknownNameError(
                f"no monitor has watched {instance!r} (no {files_of(state_dir, instance).status})",
                hint="a deploy starts one; `invoke deploy.monitors` lists the monitors",
            )
        if current.state != WATCHING:
            return current
        if time.monotonic() >= deadline:
            raise DockyardError(
                f"the monitor of {instance} is still watching after {timeout:g} s: "
                f"{current.reason}",
                hint=f"it ends by itself within {current.policy.max_seconds:g} s of its start",
            )
        time.sleep(POLL_SECONDS)


# --- stopping --------------------------------------------------------------------------------


def stop(
    state_dir: Path, instance: str, *, timeout: float = 10.0, reason: str = STOP_REASON
) -> bool:
    """Stop the running monitor of `instance` and wait until it has exited; True if one ran.

    Its status then says "stopped", with `reason`.
    """
    reap()
    files = files_of(state_dir, instance)
    pid = running_pid(files)
    if pid is None:
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    _await_exit(files, pid, timeout)
    _record_stop_reason(files, pid, reason)
    return True


def _await_exit(files: MonitorFiles, pid: int, timeout: float) -> None:
    """Wait until process `pid`, verified as the monitor before it was signalled, is gone."""
    deadline = time.monotonic() + timeout
    while not gone(pid, files.instance):
        if time.monotonic() >= deadline:
            raise DockyardError(
                f"the monitor of {files.instance} (pid {pid}) did not stop within {timeout:g} s",
                hint=f"end it with `kill -9 {pid}`, then run `invoke deploy.monitors --cleanup`",
            )
        time.sleep(POLL_SECONDS)
        reap()


def _record_stop_reason(files: MonitorFiles, pid: int, reason: str) -> None:
    """Say in the stopped monitor's status who stopped it (unless a new monitor took over)."""
    with holding(files.lock) as held:
        document = read_document(files.status) if held else None
        if document is None or document.get("pid") != pid or document.get("state") != "stopped":
            return
        document["reason"] = reason
        try:
            replace_atomically(files.status, json.dumps(document, indent=2) + "\n", mode=0o600)
        except OSError as error:
            raise DockyardError(
                f"{files.status}: the monitor stopped, but its status cannot be updated: "
                f"{error.strerror}",
                hint=f"check that {files.status.parent} is writable",
            ) from None


# --- starting --------------------------------------------------------------------------------


def start(
    state_dir: Path,
    *,
    instance: str,
    url: str,
    version: str,
    policy: Policy,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
    version_url: str | None = None,
) -> MonitorInfo:
    """Start a detached monitor of `instance`, replacing any monitor already watching it.

    With `policy.expect_commit`, it reads the served commit from `version_url` at each check."""
    files = files_of(state_dir.resolve(), instance)
    stop(
        state_dir,
        instance,
        timeout=SUPERSEDE_TIMEOUT,
        reason=f"superseded by a new deploy of version {version}",
    )
    try:
        files.status.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DockyardError(
            f"{files.status.parent}: cannot create the monitor state directory: {error.strerror}",
            hint="check [tool.dockyard] state_dir and the permissions of its parent",
        ) from None
    command = _command(python, files, url, version, policy)
    if policy.expect_commit is not None and version_url is not None:
        command += ["--commit", policy.expect_commit, "--version-url", version_url]
    process = _spawn(files, command, env)
    _await_start(files, process)
    return MonitorInfo(instance, process.pid, files.status, files.log)


def _command(python: str, files: MonitorFiles, url: str, version: str, policy: Policy) -> list[str]:
    return [
        python,
        "-m",
        MODULE,
        "--instance",
        files.instance,
        "--url",
        url,
        "--version",
        version,
        "--state-dir",
        str(files.status.parent),
        "--settle",
        str(policy.settle_seconds),
        "--interval",
        str(policy.interval_seconds),
        "--failures",
        str(policy.failures_to_fail),
        "--max-seconds",
        str(policy.max_seconds),
    ]


def _spawn(
    files: MonitorFiles, command: list[str], env: Mapping[str, str] | None
) -> subprocess.Popen[bytes]:
    """Run the monitor in its own session, with no terminal, its output going to its log."""
    try:
        with files.log.open("wb") as output:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=dict(env) if env is not None else None,
            )
    except FileNotFoundError:
        raise MissingFileError(
            f"{command[0]}: no such Python interpreter to run the monitor",
            hint="run dockyard from its virtual environment (`uv run invoke ...`)",
        ) from None
    except OSError as error:
        raise DockyardError(
            f"cannot start the monitor of {files.instance}: {error.strerror}",
            hint=f"check that {files.log.parent} is writable",
        ) from None
    CHILDREN.append(process)
    return process


def _await_start(files: MonitorFiles, process: subprocess.Popen[bytes]) -> None:
    """Wait until the new monitor has written its status; fail with its log if it does not."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            raise DockyardError(
                f"the monitor of {files.instance} exited at once (code {code}):\n"
                f"{_log_tail(files.log)}",
                hint=f"the whole log is in {files.log}",
            )
        with contextlib.suppress(DockyardError):  # a status file left from before: not ours yet
            document = read_document(files.status)
            if document is not None and document.get("pid") == process.pid:
                return
        time.sleep(POLL_SECONDS)
    process.terminate()
    try:
        process.wait(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    raise DockyardError(
        f"the monitor of {files.instance} did not start within {START_TIMEOUT:g} s:\n"
        f"{_log_tail(files.log)}",
        hint=f"the whole log is in {files.log}; a busy machine may need another try",
    )


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        return f"(no log: {error.strerror})"
    return "\n".join(lines[-LOG_TAIL_LINES:]) or "(the log is empty)"


# --- cleaning up -----------------------------------------------------------------------------


def cleanup(
    state_dir: Path, *, older_than_seconds: float = WEEK_SECONDS, now: float | None = None
) -> list[Path]:
    """Remove what monitors that no longer run left behind; return the paths removed.

    Pid and lock files go at once; status and log files once older than `older_than_seconds`
    (by `now`, seconds since the epoch). A running monitor's files are never touched.
    """
    reap()
    if not state_dir.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - older_than_seconds
    removed: list[Path] = []
    for instance in _instances(state_dir):
        removed += _clean(files_of(state_dir, instance), cutoff)
    return removed


def _instances(state_dir: Path) -> list[str]:
    """The instances with any file here, including the temporary file of a write that a killed
    monitor left half done (`.<instance>.json.<random>`)."""
    names = {path.name.lstrip(".").split(".")[0] for path in state_dir.iterdir()}
    return sorted(name for name in names if is_valid_id(name))


def _clean(files: MonitorFiles, cutoff: float) -> list[Path]:
    """Clean one instance's files while holding its lock, so no monitor can start meanwhile."""
    removed: list[Path] = []
    had_lock = files.lock.exists()
    with holding(files.lock) as held:
        if not held:
            return removed
        leftovers = sorted(files.lock.parent.glob(f".{files.instance}.*.*"))
        for path in [files.pid, *leftovers]:
            removed += _remove(path)
        for path in (files.status, files.log):
            if path.exists() and path.stat().st_mtime < cutoff:
                removed += _remove(path)
        lock = _remove(files.lock)
    return removed + lock if had_lock else removed


def _remove(path: Path) -> list[Path]:
    try:
        path.unlink()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise DockyardError(
            f"{path}: cannot be removed: {error.strerror}",
            hint=f"check the permissions of {path.parent}",
        ) from None
    return [path]
