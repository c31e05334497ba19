"""The background deployment monitor: after a deploy it watches the instance until it is stable or
has failed, and says which in a status file that `invoke deploy.status` reads.

Each monitor is its own detached process (`python -m dockyard.monitor ...`) that polls the
instance's readiness URL. Its files live in the state directory, named after the instance:

- `<instance>.json`  the status, rewritten in one step at every check and kept after the end;
- `<instance>.pid`   the monitor's process id, removed when it exits;
- `<instance>.lock`  locked (flock) by the monitor for its whole life: a second monitor for the
                     same instance cannot take it, so there is never more than one;
- `<instance>.log`   what the monitor printed.

A monitor ends by itself within its policy's `max_seconds`. A process is only ever signalled
when the pid file names it, the lock is held, and (where /proc exists) it really is the monitor
of that instance, so a reused pid is never hit.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import fcntl
import http.client
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Literal, TypeVar

from dockyard.core.errors import ConfigError, DockyardError, MissingFileError, UnknownNameError
from dockyard.core.files import replace_atomically
from dockyard.deploy.monitor.policy import (
    STABLE,
    WATCHING,
    Observation,
    Policy,
    Watch,
    begin,
    next_check_in,
    observe,
)

MonitorState = Literal["watching", "stable", "failed", "stopped", "lost"]
FINISHED: frozenset[str] = frozenset({"stable", "failed", "stopped", "lost"})
RECORDED_STATES: frozenset[str] = frozenset({"watching", "stable", "failed", "stopped"})
MODULE = "dockyard.deploy.monitor.watcher"
STOP_REASON = "stopped by `invoke deploy.monitors --stop`"
WEEK_SECONDS = 7 * 24 * 3600.0
START_TIMEOUT = 5.0
SUPERSEDE_TIMEOUT = 10.0
LOCK_GRACE = 1.0
POLL_SECONDS = 0.05
CHECK_TIMEOUT_MAX = 5.0
LOG_TAIL_LINES = 20
EXIT_LOCKED = 3

_SLUG = re.compile(r"^[a-z][a-z0-9-]*$")
_PROC = Path("/proc")
_CHILDREN: list[subprocess.Popen[bytes]] = []
T = TypeVar("T")

log = logging.getLogger(MODULE)


# --- names and files -------------------------------------------------------------------------


def check_instance(instance: str) -> str:
    """`instance` itself, once it is known to be safe in a file name (callers validate it first)."""
    if not _SLUG.fullmatch(instance):
        raise ValueError(f"instance id {instance!r} is not a slug like 'web' or 'staging-2'")
    return instance


@dataclass(frozen=True)
class MonitorFiles:
    """The files of one instance's monitor in the state directory."""

    status: Path
    pid: Path
    lock: Path
    log: Path

    @property
    def instance(self) -> str:
        return self.status.stem


def files_of(state_dir: Path, instance: str) -> MonitorFiles:
    """Where the monitor of `instance` keeps its status, pid, lock and log."""
    base = state_dir / check_instance(instance)
    return MonitorFiles(
        status=base.with_suffix(".json"),
        pid=base.with_suffix(".pid"),
        lock=base.with_suffix(".lock"),
        log=base.with_suffix(".log"),
    )


# --- the lock and the pid --------------------------------------------------------------------


def _lock_held(path: Path) -> bool:
    """True while some process holds the monitor lock at `path`."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (opened.st_dev, opened.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _take_lock(path: Path) -> int | None:
    """Lock `path` (created if needed); the open descriptor, or None if another process holds it.

    If the file was removed and re-created by someone else after it was opened, the lock taken is
    on a file nobody else will ever see, so it is dropped and the new file is locked instead.
    """
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return None
        if _same_file(descriptor, path):
            return descriptor
        os.close(descriptor)


def _take_lock_within(path: Path, seconds: float) -> int | None:
    """Like _take_lock, retrying for a moment: another command may be probing the lock."""
    deadline = time.monotonic() + seconds
    while (descriptor := _take_lock(path)) is None:
        if time.monotonic() >= deadline:
            return None
        time.sleep(POLL_SECONDS)
    return descriptor


@contextlib.contextmanager
def _holding(path: Path) -> Iterator[bool]:
    """Hold the monitor lock for a moment; yields False (and holds nothing) if a monitor runs."""
    descriptor = _take_lock(path)
    try:
        yield descriptor is not None
    finally:
        if descriptor is not None:
            os.close(descriptor)


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isascii() and text.isdigit() and int(text) > 1 else None


def _runs_monitor(pid: int, instance: str) -> bool:
    """True if process `pid` is the monitor of `instance`. Without /proc, only that it exists."""
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except FileNotFoundError:
        return not (_PROC / "self").is_dir() and _exists(pid)
    except PermissionError:
        return False
    args = raw.split(b"\0")
    wanted = [b"--instance", instance.encode()]
    pairs = [args[index : index + 2] for index in range(len(args) - 1)]
    return MODULE.encode() in args and wanted in pairs


def _gone(pid: int, instance: str) -> bool:
    """True once the monitor `pid` has finished exiting: no process, a zombie, or the pid now
    runs something else. A process still tearing down has an empty command line but has not
    gone yet."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except FileNotFoundError:
        # No /proc entry: gone, unless there is no /proc at all (then ask the kernel).
        return (_PROC / "self").is_dir() or not _exists(pid)
    except PermissionError:
        return True
    if stat.rpartition(")")[2].split()[0] in {"Z", "X"}:
        return True
    return bool(raw) and not _runs_monitor(pid, instance)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: never a monitor this user started
    return True


def _verified_pid(files: MonitorFiles) -> int | None:
    """The pid of the running monitor: its lock is held and its pid file names it."""
    if not _lock_held(files.lock):
        return None
    pid = _read_pid(files.pid)
    if pid is None or not _runs_monitor(pid, files.instance):
        return None
    return pid


def _running_pid(files: MonitorFiles) -> int | None:
    """The verified pid of the running monitor, allowing a starting one a moment to record it."""
    deadline = time.monotonic() + LOCK_GRACE
    while (pid := _verified_pid(files)) is None and _lock_held(files.lock):
        if time.monotonic() >= deadline:
            raise DockyardError(
                f"{files.lock}: held, but {files.pid} does not name a running monitor "
                f"of {files.instance}",
                hint=f"find it with `pgrep -af '{MODULE} --instance {files.instance}'` and end it",
            )
        time.sleep(POLL_SECONDS)
    return pid


def _reap() -> None:
    """Collect monitors this process started that have exited, so none lingers as a zombie."""
    _CHILDREN[:] = [child for child in _CHILDREN if child.poll() is None]


# --- status files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitorInfo:
    """A monitor that has just started."""

    instance: str
    pid: int
    status_path: Path
    log_path: Path


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


def _read_document(path: Path) -> dict[str, Any] | None:
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
        )
    except ConfigError as error:
        raise _not_a_status(path, "; ".join(error.problems)) from None


def _state(document: Mapping[str, Any], path: Path) -> MonitorState:
    state = _field(document, "state", str, path)
    if state not in RECORDED_STATES:
        raise _not_a_status(path, f"unknown state {state!r}")
    return state  # type: ignore[return-value]  # one of RECORDED_STATES


def _parse(document: Mapping[str, Any], path: Path) -> MonitorStatus:
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


# --- the API for the task layer --------------------------------------------------------------


def status(state_dir: Path, instance: str) -> MonitorStatus | None:
    """The status of the monitor of `instance`, or None if no monitor ever watched it."""
    _reap()
    files = files_of(state_dir, instance)
    live = _verified_pid(files)
    document = _read_document(files.status)
    if document is None:
        return None
    recorded = _parse(document, files.status)
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
    names = sorted(path.stem for path in state_dir.glob("*.json") if _SLUG.fullmatch(path.stem))
    found = (status(state_dir, name) for name in names)
    return [monitor for monitor in found if monitor is not None]


def stop(
    state_dir: Path, instance: str, *, timeout: float = 10.0, reason: str = STOP_REASON
) -> bool:
    """Stop the running monitor of `instance` and wait until it has exited; True if one ran.

    Its status then says "stopped", with `reason`.
    """
    _reap()
    files = files_of(state_dir, instance)
    pid = _running_pid(files)
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
    while not _gone(pid, files.instance):
        if time.monotonic() >= deadline:
            raise DockyardError(
                f"the monitor of {files.instance} (pid {pid}) did not stop within {timeout:g} s",
                hint=f"end it with `kill -9 {pid}`, then run `invoke deploy.monitors --cleanup`",
            )
        time.sleep(POLL_SECONDS)
        _reap()


def _record_stop_reason(files: MonitorFiles, pid: int, reason: str) -> None:
    """Say in the stopped monitor's status who stopped it (unless a new monitor took over)."""
    with _holding(files.lock) as held:
        document = _read_document(files.status) if held else None
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


def start(
    state_dir: Path,
    *,
    instance: str,
    url: str,
    version: str,
    policy: Policy,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
) -> MonitorInfo:
    """Start a detached monitor of `instance`, replacing any monitor already watching it."""
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
    process = _spawn(files, _command(python, files, url, version, policy), env)
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
    _CHILDREN.append(process)
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
            document = _read_document(files.status)
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


def cleanup(
    state_dir: Path, *, older_than_seconds: float = WEEK_SECONDS, now: float | None = None
) -> list[Path]:
    """Remove what monitors that no longer run left behind; return the paths removed.

    Pid and lock files go at once; status and log files once older than `older_than_seconds`
    (by `now`, seconds since the epoch). A running monitor's files are never touched.
    """
    _reap()
    if not state_dir.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - older_than_seconds
    removed: list[Path] = []
    for instance in _instances(state_dir):
        removed += _clean(files_of(state_dir, instance), cutoff)
    return removed


def _instances(state_dir: Path) -> list[str]:
    names = {path.name.lstrip(".").split(".")[0] for path in state_dir.iterdir()}
    return sorted(name for name in names if _SLUG.fullmatch(name))


def _clean(files: MonitorFiles, cutoff: float) -> list[Path]:
    """Clean one instance's files while holding its lock, so no monitor can start meanwhile."""
    removed: list[Path] = []
    had_lock = files.lock.exists()
    with _holding(files.lock) as held:
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


# --- the monitor process ---------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What one monitor process watches, and where it reports."""

    instance: str
    url: str
    version: str
    state_dir: Path


class _Stopping:
    """Set by SIGTERM or SIGINT; the watch loop waits on it between checks."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name = ""

    def install(self) -> None:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._handle)

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(number).name
        self.event.set()


@dataclass(frozen=True)
class _Run:
    """One monitor run: turns the watch into the status file's contents."""

    target: Target
    policy: Policy
    pid: int
    started_wall: dt.datetime
    started_mono: float

    def wall(self, mono: float) -> str:
        moment = self.started_wall + dt.timedelta(seconds=mono - self.started_mono)
        return moment.isoformat(timespec="milliseconds")

    def document(
        self, watch: Watch, *, state: str | None = None, reason: str | None = None
    ) -> dict[str, object]:
        return {
            "instance": self.target.instance,
            "version": self.target.version,
            "url": self.target.url,
            "pid": self.pid,
            "state": state or watch.state,
            "reason": reason or watch.reason,
            "started": self.wall(self.started_mono),
            "updated": self.wall(time.monotonic()),
            "healthy_since": None
            if watch.healthy_since is None
            else self.wall(watch.healthy_since),
            "checks": watch.checks,
            "failures": watch.failures,
            "last_error": watch.last_error,
            "policy": self.policy.as_dict(),
        }

    def record(self, watch: Watch, *, state: str | None = None, reason: str | None = None) -> None:
        files = files_of(self.target.state_dir, self.target.instance)
        text = json.dumps(self.document(watch, state=state, reason=reason), indent=2) + "\n"
        replace_atomically(files.status, text, mode=0o600)


def check(url: str, timeout: float) -> Observation:
    """One readiness check: HTTP 200 is healthy; any other answer, or none, is not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (http(s) only)
            code = answer.status
    except urllib.error.HTTPError as error:
        with error:
            body = error.read(200).decode("utf-8", errors="replace").strip()
        detail = f"HTTP {error.code}: {body}" if body else f"HTTP {error.code}"
        return Observation(time.monotonic(), False, detail)
    except urllib.error.URLError as error:
        return Observation(time.monotonic(), False, f"no answer: {_why(error.reason)}")
    except TimeoutError:
        return Observation(time.monotonic(), False, f"no answer within {timeout:g} s")
    except (OSError, http.client.HTTPException) as error:
        return Observation(time.monotonic(), False, f"broken answer: {_why(error)}")
    return Observation(time.monotonic(), code == 200, f"HTTP {code}")


def _why(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def watch(target: Target, policy: Policy, stopping: _Stopping) -> Watch | None:
    """Check the target until the policy gives a verdict; None if stopped by a signal first."""
    run = _Run(target, policy, os.getpid(), dt.datetime.now(dt.UTC), time.monotonic())
    current = begin(run.started_mono)
    run.record(current)
    timeout = min(CHECK_TIMEOUT_MAX, max(1.0, policy.interval_seconds))
    delay = 0.0
    while not current.done:
        if stopping.event.wait(delay):
            reason = f"stopped by {stopping.signal_name}"
            run.record(current, state="stopped", reason=reason)
            log.info("%s", reason)
            return None
        observation = check(target.url, timeout)
        if not observation.healthy:
            log.warning("check %d failed: %s", current.checks + 1, observation.detail)
        current = observe(policy, current, observation)
        run.record(current)
        delay = next_check_in(policy, current, time.monotonic())
    log.info("%s: %s", current.state, current.reason)
    return current


def serve(target: Target, policy: Policy) -> int:
    """Hold the instance's lock, record the pid and watch; 0 when stable or stopped."""
    files = files_of(target.state_dir, target.instance)
    target.state_dir.mkdir(parents=True, exist_ok=True)
    lock = _take_lock_within(files.lock, LOCK_GRACE)
    if lock is None:
        log.error(
            "another monitor is already watching %s (%s is held)", target.instance, files.lock
        )
        return EXIT_LOCKED
    try:
        stopping = _Stopping()
        stopping.install()
        replace_atomically(files.pid, f"{os.getpid()}\n", mode=0o600)
        try:
            log.info(
                "watching %s for %s version %s (%s)",
                target.url,
                target.instance,
                target.version,
                policy,
            )
            verdict = watch(target, policy, stopping)
        finally:
            files.pid.unlink(missing_ok=True)
    finally:
        os.close(lock)
    return 0 if verdict is None or verdict.state == STABLE else 1


def _slug(text: str) -> str:
    try:
        return check_instance(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _http_url(text: str) -> str:
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL")
    return text


def _parser() -> argparse.ArgumentParser:
    defaults = Policy()
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description="Watch a deployed instance until it is stable or has failed.",
    )
    parser.add_argument("--instance", required=True, type=_slug)
    parser.add_argument("--url", required=True, type=_http_url, help="the readiness URL")
    parser.add_argument("--version", required=True)
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--settle", type=float, default=defaults.settle_seconds)
    parser.add_argument("--interval", type=float, default=defaults.interval_seconds)
    parser.add_argument("--failures", type=int, default=defaults.failures_to_fail)
    parser.add_argument("--max-seconds", type=float, default=defaults.max_seconds)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one monitor process; see `python -m dockyard.monitor --help`."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    target = Target(args.instance, args.url, args.version, args.state_dir.resolve())
    try:
        policy = Policy(args.settle, args.interval, args.failures, args.max_seconds)
        return serve(target, policy)
    except DockyardError as error:
        log.error("%s", error)  # noqa: TRY400 (a problem to fix, not a bug: no traceback)
        return 2
    except OSError:  # the boundary of a detached process: say why in its log
        log.exception("the monitor of %s cannot go on", target.instance)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
