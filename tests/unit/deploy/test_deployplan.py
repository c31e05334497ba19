"""What a deploy decides: what serves, what is left over, where a rollback goes, what to prune."""

from __future__ import annotations

import pytest

from dockyard.core.errors import UnknownNameError
from dockyard.deploy.plan import (
    Serving,
    judge,
    leftovers,
    prunable,
    render_upstream,
    rollback_target,
    started_by_deploy,
)
from dockyard.stack.compose import ContainerState


def container(name: str, **state: object) -> ContainerState:
    defaults: dict[str, object] = {"service": "app", "status": "running", "health": "starting"}
    return ContainerState(name=name, **{**defaults, **state})  # type: ignore[arg-type]


def test_the_upstream_names_exactly_the_live_containers() -> None:
    text = render_upstream(["t-app-3", "t-app-4"], 8000)
    servers = [line for line in text.splitlines() if line.startswith("server")]
    assert servers == ["server t-app-3:8000 max_fails=0;", "server t-app-4:8000 max_fails=0;"]


def test_serving_round_trips_through_its_file() -> None:
    serving = Serving("1.4.0", ("t-app-3",), "2026-11-23T10:00:00Z")
    assert Serving.from_json(serving.to_json()) == serving


def test_containers_the_proxy_does_not_send_to_are_left_over() -> None:
    serving = Serving("1.4.0", ("t-app-3",))
    found = [container("t-app-3"), container("t-app-5"), container("t-app-6")]
    assert leftovers(found, serving) == ["t-app-5", "t-app-6"]
    assert leftovers(found, None) == [], "without a record of what serves, nothing is removed"


def test_scaling_up_adds_only_the_new_containers() -> None:
    after = [container("t-app-1"), container("t-app-2"), container("t-app-3")]
    assert started_by_deploy(["t-app-1"], after) == ["t-app-2", "t-app-3"]


@pytest.mark.parametrize(
    ("state", "answered", "expected"),
    [
        ({"status": "exited", "exit_code": 3}, False, "exited with code 3"),
        ({"status": "restarting"}, False, "is restarting"),
        ({"restart_count": 1}, True, "is restarting"),
        ({"health": "unhealthy"}, False, "is unhealthy"),
    ],
)
def test_a_new_container_that_cannot_get_ready_fails_at_once(
    state: dict[str, object], answered: bool, expected: str
) -> None:
    check = judge(container("t-app-2", **state), answered, "no answer")
    assert check.failed is not None
    assert expected in check.failed
    assert not check.ready


def test_a_new_container_is_ready_when_it_answers_and_waits_otherwise() -> None:
    assert judge(container("t-app-2"), True, "ready").ready
    waiting = judge(container("t-app-2"), False, "no answer (ConnectionError)")
    assert not waiting.ready
    assert waiting.failed is None
    assert "ConnectionError" in waiting.waiting


def test_rollback_goes_to_the_newest_retained_version_that_is_not_live() -> None:
    deployed = ["1.3.0", "1.2.0", "1.1.0"]  # newest first
    assert rollback_target(deployed, "1.3.0", None, deployed) == "1.2.0"
    assert rollback_target(deployed, "1.3.0", "1.1.0", deployed) == "1.1.0"
    # an image that is gone is not a choice
    assert rollback_target(deployed, "1.3.0", None, ["1.3.0", "1.1.0"]) == "1.1.0"


@pytest.mark.parametrize(
    ("to", "retained", "message"),
    [
        ("9.9.9", ["1.3.0", "1.2.0"], "'9.9.9' is not a retained version"),
        ("1.3.0", ["1.3.0", "1.2.0"], "already live"),
        (None, ["1.3.0"], "no earlier version"),
        ("1.1.0", ["1.3.0", "1.2.0"], "'1.1.0' is not a retained version"),
    ],
)
def test_an_impossible_rollback_names_the_versions_there_are(
    to: str | None, retained: list[str], message: str
) -> None:
    with pytest.raises(UnknownNameError) as failure:
        rollback_target(["1.3.0", "1.2.0", "1.1.0"], "1.3.0", to, retained)
    assert message in str(failure.value)
    assert "1.3.0" in str(failure.value)


def test_images_are_pruned_only_when_no_instance_keeps_them() -> None:
    deployed = {
        "staging": ["1.5.0", "1.4.0", "1.3.0", "1.2.0", "1.1.0"],
        "production": ["1.3.0", "1.2.0"],
    }
    assert prunable(deployed, "staging", 3, protected=set()) == ["1.1.0"]
    assert prunable(deployed, "staging", 2, protected=set()) == ["1.1.0"], (
        "production keeps 1.3.0, 1.2.0"
    )
    assert prunable(deployed, "staging", 2, protected={"1.1.0"}) == []


def test_a_deploy_prunes_only_the_versions_of_its_own_instance() -> None:
    """Deploying staging never removes what only production (or no instance) deployed."""
    deployed = {
        "staging": ["2.1.0", "2.0.0", "1.9.0"],
        "production": ["1.5.0", "1.4.0", "0.9.0"],
    }
    assert prunable(deployed, "staging", 2, protected=set()) == ["1.9.0"]
    assert prunable(deployed, "production", 2, protected=set()) == ["0.9.0"]
    assert prunable(deployed, "review", 2, protected=set()) == []
