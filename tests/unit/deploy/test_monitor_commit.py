"""The monitor after a push: waiting for a commit to be served, then judging it."""

from __future__ import annotations

import pytest

from dockyard.core.errors import ConfigError
from dockyard.deploy.monitor.policy import Observation, Policy, begin, observe, same_commit

NEW = "3c4d5e6f" + "0" * 32
OLD = "1a2b3c4d" + "0" * 32
RULES = Policy(
    settle_seconds=10, interval_seconds=1, failures_to_fail=2, max_seconds=100, expect_commit=NEW
)


def seen(at: float, commit: str | None, healthy: bool = True, detail: str = "") -> Observation:
    return Observation(at, healthy, detail or ("HTTP 200" if healthy else "HTTP 503"), commit)


def test_the_old_version_is_waited_out_however_it_answers() -> None:
    """Before the new commit arrives, answers of the old one (even failing ones) fail nothing."""
    watch = begin(0)
    for at in range(1, 20):
        watch = observe(RULES, watch, seen(at, OLD, healthy=at % 2 == 0))
    assert watch.state == "watching"
    assert watch.failures == 0
    assert "waiting for 3c4d5e6f0000" in watch.reason


def test_deployed_once_the_commit_is_served_healthy_for_the_settle_period() -> None:
    watch = observe(RULES, begin(0), seen(1, OLD))
    watch = observe(RULES, watch, seen(5, NEW[:7]))  # an abbreviated sha counts
    watch = observe(RULES, watch, seen(14, NEW))
    assert watch.state == "watching"
    watch = observe(RULES, watch, seen(15, NEW))
    assert (watch.state, watch.reason) == ("deployed", "healthy continuously for 10 s")


def test_failed_when_the_new_commit_fails_its_checks_with_the_last_answer() -> None:
    watch = observe(RULES, begin(0), seen(1, NEW, healthy=False, detail="HTTP 503: db down"))
    watch = observe(RULES, watch, seen(2, NEW, healthy=False, detail="HTTP 503: db down"))
    assert watch.state == "failed"
    assert watch.last_error == "HTTP 503: db down"


def test_going_back_to_another_commit_after_the_new_one_counts_as_failing() -> None:
    watch = observe(RULES, begin(0), seen(1, NEW))
    watch = observe(RULES, watch, seen(2, OLD))
    watch = observe(RULES, watch, seen(3, OLD))
    assert watch.state == "failed"
    assert "serves 1a2b3c4d" in watch.reason


def test_not_deployed_when_the_commit_never_arrives_by_the_deadline() -> None:
    watch = observe(RULES, begin(0), seen(50, OLD))
    watch = observe(RULES, watch, seen(100, OLD))
    assert watch.state == "not-deployed"
    assert "was not served within 100 s" in watch.reason


def test_seen_but_never_settled_by_the_deadline_is_failed() -> None:
    watch = observe(RULES, begin(0), seen(95, NEW))
    watch = observe(RULES, watch, seen(100, NEW))
    assert watch.state == "failed"


@pytest.mark.parametrize(
    ("reported", "expected", "same"),
    [(NEW, NEW, True), (NEW[:7], NEW, True), (NEW[:12], NEW[:7], True), (NEW[:6], NEW, False),
     ("unknown", NEW, False), (OLD, NEW, False), (NEW.upper(), NEW, True)],
)  # fmt: skip
def test_commits_match_by_prefix_of_at_least_seven_digits(
    reported: str, expected: str, same: bool
) -> None:
    assert same_commit(reported, expected) is same


def test_a_commit_that_is_not_a_sha_is_refused() -> None:
    with pytest.raises(ConfigError, match="expect_commit"):
        Policy(expect_commit="main")
