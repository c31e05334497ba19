"""When a deployment counts as stable or failed: the monitor's rules, free of clocks and processes.

The monitor feeds each readiness check in as an Observation (monotonic time, healthy or not, and
what was seen) and gets back a Watch that says where things stand. A deployment is stable once
it has answered healthy continuously for `settle_seconds`; it has failed after
`failures_to_fail` failed checks in a row, or when it has not settled within `max_seconds`.

Watching for a commit (`expect_commit`, after a push of the main branch) waits first for the
instance to report that commit (each Observation carries the commit it reported): until then
answers from the old version or none at all are only waited out, and reaching `max_seconds`
without it is "not-deployed". Once the commit is served, the same rules give "deployed" or
"failed".
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Literal

from dockyard.core.errors import ConfigError

State = Literal["watching", "stable", "failed", "deployed", "not-deployed"]
WATCHING: State = "watching"
STABLE: State = "stable"
FAILED: State = "failed"
DEPLOYED: State = "deployed"
NOT_DEPLOYED: State = "not-deployed"
SUCCEEDED: frozenset[str] = frozenset({STABLE, DEPLOYED})
SHORT_SHA = 7


@dataclass(frozen=True)
class Policy:
    """How long a deployment must stay healthy, and how much failure ends the watch."""

    settle_seconds: float = 60.0
    interval_seconds: float = 2.0
    failures_to_fail: int = 3
    max_seconds: float = 600.0
    # Watch for this commit to be served (a full or abbreviated sha); None watches a deploy.
    expect_commit: str | None = None

    def __post_init__(self) -> None:
        problems = policy_problems(self)
        if problems:
            raise ConfigError(
                "monitor policy",
                problems,
                hint="use a settle time shorter than the maximum, and positive interval and counts",
            )

    def as_dict(self) -> dict[str, float | int | str | None]:
        """The policy as it is recorded in a monitor's status file."""
        return dataclasses.asdict(self)


def policy_problems(policy: Policy) -> list[str]:
    """Every reason the policy could never give a verdict, or would poll without pause."""
    problems = []
    if not policy.settle_seconds >= 0:
        problems.append(f"settle_seconds must be 0 or more, not {policy.settle_seconds}")
    if not policy.interval_seconds > 0:
        problems.append(f"interval_seconds must be more than 0, not {policy.interval_seconds}")
    if policy.failures_to_fail < 1:
        problems.append(f"failures_to_fail must be 1 or more, not {policy.failures_to_fail}")
    if not policy.max_seconds > policy.settle_seconds:
        problems.append(
            f"max_seconds ({policy.max_seconds}) must be longer than settle_seconds "
            f"({policy.settle_seconds}), or the deployment could never settle"
        )
    commit = policy.expect_commit
    if commit is not None and not re.fullmatch(r"[0-9a-f]{7,64}", commit):
        problems.append(f"expect_commit must be a commit sha (7-64 hex digits), not {commit!r}")
    return problems


def same_commit(reported: str, expected: str) -> bool:
    """True when the sha an instance reports names `expected`: either may be abbreviated, to
    no fewer than 7 digits."""
    reported = reported.strip().lower()
    if len(reported) < SHORT_SHA or len(expected) < SHORT_SHA:
        return False
    return expected.startswith(reported) or reported.startswith(expected)


@dataclass(frozen=True)
class Observation:
    """One readiness check: when it finished (monotonic seconds), its outcome and what was seen,
    and the commit the instance reported (None when it reported none)."""

    at: float
    healthy: bool
    detail: str = ""
    commit: str | None = None


@dataclass(frozen=True)
class Watch:
    """Where a watch stands after the checks so far; times are monotonic seconds."""

    started: float
    state: State = WATCHING
    reason: str = "waiting for the first check"
    checks: int = 0
    failures: int = 0
    healthy_since: float | None = None
    last_error: str | None = None
    seen_commit: bool = False  # the expected commit has been served (commit mode)

    @property
    def done(self) -> bool:
        """True once the watch has a verdict; later observations change nothing."""
        return self.state != WATCHING


def begin(now: float) -> Watch:
    """A watch that starts at monotonic time `now`."""
    return Watch(started=now)


def observe(policy: Policy, watch: Watch, observation: Observation) -> Watch:
    """The watch after one more check."""
    if watch.done:
        return watch
    counted = dataclasses.replace(watch, checks=watch.checks + 1)
    if policy.expect_commit is not None:
        after = _commit(policy, policy.expect_commit, counted, observation)
    elif observation.healthy:
        after = _healthy(policy, counted, observation.at)
    else:
        after = _unhealthy(policy, counted, observation)
    if after.done or observation.at - watch.started < policy.max_seconds:
        return after
    if policy.expect_commit is not None and not after.seen_commit:
        return dataclasses.replace(
            after,
            state=NOT_DEPLOYED,
            reason=f"{policy.expect_commit[:12]} was not served within {policy.max_seconds:g} s; "
            f"last: {observation.detail or 'no answer'}",
        )
    last = f"; last error: {after.last_error}" if after.last_error else ""
    return dataclasses.replace(
        after, state=FAILED, reason=f"never settled within {policy.max_seconds:g} s{last}"
    )


def _commit(policy: Policy, commit: str, watch: Watch, observation: Observation) -> Watch:
    """A check while watching for `commit`: the old version is waited out, the new one judged."""
    served = observation.commit is not None and same_commit(observation.commit, commit)
    if not served and not watch.seen_commit:
        seen = f"serves {observation.commit}" if observation.commit else observation.detail
        return dataclasses.replace(
            watch, reason=f"waiting for {commit[:12]}: the instance {seen or 'did not answer'}"
        )
    seen_watch = dataclasses.replace(watch, seen_commit=True)
    if served and observation.healthy:
        return _healthy(policy, seen_watch, observation.at, success=DEPLOYED)
    if not served:
        observation = dataclasses.replace(
            observation,
            detail=f"serves {observation.commit or 'no commit'} instead of {commit[:12]}"
            + (f" ({observation.detail})" if observation.detail else ""),
        )
    return _unhealthy(policy, seen_watch, observation)


def _healthy(policy: Policy, watch: Watch, at: float, success: State = STABLE) -> Watch:
    since = at if watch.healthy_since is None else watch.healthy_since
    healthy_for = at - since
    if healthy_for >= policy.settle_seconds:
        state: State = success
        reason = f"healthy continuously for {policy.settle_seconds:g} s"
    else:
        state = WATCHING
        reason = f"healthy for {healthy_for:.1f} s of {policy.settle_seconds:g} s"
    return dataclasses.replace(watch, state=state, reason=reason, failures=0, healthy_since=since)


def _unhealthy(policy: Policy, watch: Watch, observation: Observation) -> Watch:
    failures = watch.failures + 1
    detail = observation.detail or "unhealthy"
    if failures >= policy.failures_to_fail:
        state: State = FAILED
        reason = f"{failures} failed checks in a row; last: {detail}"
    else:
        state = WATCHING
        reason = f"{failures} of {policy.failures_to_fail} failed checks in a row: {detail}"
    return dataclasses.replace(
        watch,
        state=state,
        reason=reason,
        failures=failures,
        healthy_since=None,
        last_error=detail,
    )


def next_check_in(policy: Policy, watch: Watch, now: float) -> float:
    """Seconds to wait before the next check: one interval, but never past the deadline, so the
    watch ends on time."""
    remaining = watch.started + policy.max_seconds - now
    return max(0.0, min(policy.interval_seconds, remaining))
