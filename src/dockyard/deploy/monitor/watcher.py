"""The deployment monitor's own process: it watches one deployed instance until the deployment
is stable or has failed, recording each step in the instance's status file.

Started detached by `control.start` as `python -m dockyard.deploy.monitor.watcher --instance ID
...`; it holds the instance's monitor lock for its whole life (a second monitor for the same
instance exits with EXIT_LOCKED), records its pid, and ends by itself within its policy's
`max_seconds`, or earlier on SIGTERM or SIGINT, saying so in its status.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import logging
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.core.errors import DockyardError
from dockyard.core.files import replace_atomically
from dockyard.core.signals import StopFlag, on_signals
from dockyard.deploy.monitor.files import (
    LOCK_GRACE,
    MODULE,
    check_instance,
    files_of,
    take_lock_within,
)
from dockyard.deploy.monitor.policy import (
    SUCCEEDED,
    Observation,
    Policy,
    Watch,
    begin,
    next_check_in,
    observe,
)

CHECK_TIMEOUT_MAX = 5.0
EXIT_LOCKED = 3
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

log = logging.getLogger(MODULE)


@dataclass(frozen=True)
class Target:
    """What one monitor process watches, and where it reports."""

    instance: str
    url: str
    version: str
    state_dir: Path
    version_url: str | None = None  # where the served commit is read, when watching for one


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


COMMIT_FIELDS = ("git_sha", "revision", "commit")


def served_commit(url: str, timeout: float) -> tuple[str | None, str]:
    """The commit the instance's version endpoint reports, or None and why there is none."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (http(s) only)
            body = answer.read(64 * 1024)
    except urllib.error.HTTPError as error:
        error.close()
        return None, f"{url}: HTTP {error.code}"
    except urllib.error.URLError as error:
        return None, f"{url}: no answer: {_why(error.reason)}"
    except (OSError, http.client.HTTPException) as error:
        return None, f"{url}: broken answer: {_why(error)}"
    try:
        document = json.loads(body)
    except ValueError:
        return None, f"{url}: not JSON"
    if isinstance(document, dict):
        for name in COMMIT_FIELDS:
            if isinstance(document.get(name), str):
                return document[name], ""
    return None, f"{url}: no {' or '.join(COMMIT_FIELDS)} field"


def with_commit(observation: Observation, version_url: str, timeout: float) -> Observation:
    """The readiness check, with the commit the instance serves."""
    commit, problem = served_commit(version_url, timeout)
    detail = "; ".join(part for part in (observation.detail, problem) if part)
    return Observation(observation.at, observation.healthy, detail, commit)


def _why(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def watch(target: Target, policy: Policy, stopping: StopFlag) -> Watch | None:
    """Check the target until the policy gives a verdict; None if stopped by a signal first."""
    run = _Run(target, policy, os.getpid(), dt.datetime.now(dt.UTC), time.monotonic())
    current = begin(run.started_mono)
    run.record(current)
    timeout = min(CHECK_TIMEOUT_MAX, max(1.0, policy.interval_seconds))
    delay = 0.0
    while not current.done:
        if stopping.wait(delay):
            reason = f"stopped by {stopping.signal_name}"
            run.record(current, state="stopped", reason=reason)
            log.info("%s", reason)
            return None
        observation = check(target.url, timeout)
        if target.version_url is not None:
            observation = with_commit(observation, target.version_url, timeout)
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
    lock = take_lock_within(files.lock, LOCK_GRACE)
    if lock is None:
        log.error(
            "another monitor is already watching %s (%s is held)", target.instance, files.lock
        )
        return EXIT_LOCKED
    # The flag is in place before the pid file names this process: only then may it be
    # signalled (`control.stop`), and a signal then ends the watch with a "stopped" status.
    stopping = StopFlag()
    restore = on_signals(STOP_SIGNALS, flag=stopping)
    try:
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
        restore()
        os.close(lock)
    return 0 if verdict is None or verdict.state in SUCCEEDED else 1


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
    parser.add_argument("--commit", help="watch until the instance serves this commit")
    parser.add_argument("--version-url", type=_http_url, help="where the served commit is read")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one monitor process; see `python -m dockyard.deploy.monitor.watcher --help`."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    target = Target(
        args.instance, args.url, args.version, args.state_dir.resolve(), args.version_url
    )
    try:
        policy = Policy(args.settle, args.interval, args.failures, args.max_seconds, args.commit)
        return serve(target, policy)
    except DockyardError as error:
        log.error("%s", error)  # noqa: TRY400 (a problem to fix, not a bug: no traceback)
        return 2
    except OSError:  # the boundary of a detached process: say why in its log
        log.exception("the monitor of %s cannot go on", target.instance)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
