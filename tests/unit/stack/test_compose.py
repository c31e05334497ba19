"""What the stack's wait decides from container states: ready, still starting, or failed fast."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from dockyard.stack.compose import (
    ComposeProject,
    ContainerState,
    ServicePlan,
    Verdict,
    assess,
    container_state,
    observe,
    plan_services,
    publishes,
    still_starting,
    stop_order,
)

WEB = ServicePlan("web", replicas=2)
MIGRATE = ServicePlan("migrate", one_shot=True, has_healthcheck=False)


def running(service: str, name: str, health: str = "healthy") -> ContainerState:
    return ContainerState(service, name, "running", health)


def test_the_command_names_project_files_and_env_file() -> None:
    project = ComposeProject(
        "shop", Path("/srv"), (Path("/srv/a.yml"), Path("/srv/b.yml")), Path("/srv/env/.env.dev")
    )
    assert project.command("up", "--detach") == [
        "docker", "compose", "--project-name", "shop", "--project-directory", "/srv",
        "--file", "/srv/a.yml", "--file", "/srv/b.yml", "--env-file", "/srv/env/.env.dev",
        "up", "--detach",
    ]  # fmt: skip


def test_project_variables_override_the_callers_environment() -> None:
    project = ComposeProject("p", Path("/"), (), Path("/e"), {"PROXY_PORT": "9000"})
    environ = project.environ({"PROXY_PORT": "1", "PATH": "/bin"})
    assert environ == {"PROXY_PORT": "9000", "PATH": "/bin", "DOCKYARD_ENV_FILE": "/e"}


def test_a_service_waits_until_all_its_replicas_exist_and_are_healthy() -> None:
    assert assess(WEB, [running("web", "web-1")]).verdict is Verdict.WAITING
    starting = assess(WEB, [running("web", "web-1"), running("web", "web-2", "starting")])
    assert (starting.verdict, starting.detail) == (Verdict.WAITING, "1/2 healthy, starting")
    ready = assess(WEB, [running("web", "web-1"), running("web", "web-2")])
    assert (ready.verdict, ready.detail) == (Verdict.READY, "2/2 healthy")


def test_unhealthy_exited_or_restarting_containers_fail_at_once() -> None:
    cases = {
        ContainerState("web", "web-2", "running", "unhealthy"): "web-2 is unhealthy",
        ContainerState("web", "web-2", "exited", "", exit_code=3): "web-2 exited with code 3",
        ContainerState("web", "web-2", "restarting", "starting", restart_count=2): (
            "web-2 is restarting (restarted 2 times)"
        ),
    }
    for broken, detail in cases.items():
        state = assess(WEB, [running("web", "web-1"), broken])
        assert (state.verdict, state.detail) == (Verdict.FAILED, detail)


def test_a_service_without_healthcheck_is_ready_when_running() -> None:
    plan = ServicePlan("cron", has_healthcheck=False)
    state = assess(plan, [ContainerState("cron", "cron-1", "running", "")])
    assert (state.verdict, state.detail) == (Verdict.READY, "1/1 running")


def test_a_one_shot_is_done_when_it_exits_zero_and_failed_otherwise() -> None:
    assert assess(MIGRATE, [ContainerState("migrate", "m-1", "running", "")]).verdict is (
        Verdict.WAITING
    )
    assert assess(MIGRATE, [ContainerState("migrate", "m-1", "exited", "")]).verdict is Verdict.DONE
    failed = assess(MIGRATE, [ContainerState("migrate", "m-1", "exited", "", exit_code=1)])
    assert (failed.verdict, failed.detail) == (Verdict.FAILED, "m-1 exited with code 1")


def test_other_services_containers_are_not_counted() -> None:
    state = assess(WEB, [running("db", "db-1"), running("web", "web-1")])
    assert state.detail == "1/2 created"


def test_the_plan_comes_from_compose_config_json() -> None:
    config = {
        "services": {
            "app": {"restart": "unless-stopped", "healthcheck": {"test": ["CMD", "true"]}},
            "migrate": {"restart": "no", "healthcheck": {"disable": True}},
            "worker": {"deploy": {"replicas": 3}, "restart": "unless-stopped"},
        }
    }
    assert plan_services(json.dumps(config)) == [
        ServicePlan("app", 1, one_shot=False, has_healthcheck=True),
        ServicePlan("migrate", 1, one_shot=True, has_healthcheck=False),
        ServicePlan("worker", 3, one_shot=False, has_healthcheck=False),
    ]


def test_container_state_reads_the_engines_inspect_data() -> None:
    attrs = {
        "Name": "/shop-web-1",
        "RestartCount": 1,
        "State": {"Status": "running", "ExitCode": 0, "Health": {"Status": "starting"}},
        "Config": {"Labels": {"com.docker.compose.service": "web"}},
    }
    assert container_state(attrs) == ContainerState(
        "web", "shop-web-1", "running", "starting", 0, 1
    )


def test_while_compose_works_only_containers_of_this_run_are_judged() -> None:
    """Compose stops the containers it replaces; an old stopped one is not a failure then."""
    old = ContainerState("web", "web-1", "exited", "", exit_code=0, created=100.0)
    new = ContainerState("web", "web-1", "running", "starting", created=200.0)
    state = assess(ServicePlan("web"), [old, new], settled=False, since=150.0)
    assert state.verdict is Verdict.WAITING
    crashed = ContainerState("web", "web-1", "restarting", "", restart_count=1, created=200.0)
    state = assess(ServicePlan("web"), [old, crashed], settled=False, since=150.0)
    assert (state.verdict, state.detail) == (
        Verdict.FAILED,
        "web-1 is restarting (restarted 1 times)",
    )
    assert assess(ServicePlan("web"), [old], settled=True).verdict is Verdict.FAILED


def test_container_creation_times_are_read_to_the_microsecond() -> None:
    attrs = {"Created": "2026-11-23T20:25:41.123456789Z", "State": {}, "Config": {}}
    assert container_state(attrs).created == 1795465541.123456


def test_a_service_without_a_container_is_down_not_about_to_start() -> None:
    plans = [ServicePlan("app"), ServicePlan("migrate", one_shot=True, has_healthcheck=False)]
    assert [(s.name, s.verdict, s.detail) for s in observe(plans, [])] == [
        ("app", Verdict.DOWN, "not running"),
        ("migrate", Verdict.DOWN, "not running"),
    ]
    running = [ContainerState("app", "p-app-1", "running", "healthy")]
    assert [s.verdict for s in observe(plans, running)] == [Verdict.READY, Verdict.DOWN]


def test_dependants_stop_before_what_they_depend_on_and_a_missing_one_is_no_reason_to_wait() -> (
    None
):
    labels = {
        "proxy": "app:service_started:false",
        "app": "migrate:service_completed_successfully:false,postgres:service_healthy:false",
        "worker": "migrate:service_completed_successfully:false,redis:service_healthy:false",
        "postgres": "",
        "redis": "",
    }
    assert stop_order(labels) == [["proxy", "worker"], ["app", "redis"], ["postgres"]]
    assert stop_order({"a": "b:x:false", "b": "a:x:false"}) == [["a", "b"]]


def test_a_container_whose_own_healthcheck_is_starting_is_not_ready() -> None:
    """An image's HEALTHCHECK counts even where compose declares none: while it is starting,
    the service waits, so `stack.health` does not fail right after `stack.up` said ready."""
    plan = ServicePlan("cron", has_healthcheck=False)
    state = assess(plan, [ContainerState("cron", "cron-1", "running", "starting")])
    assert state.verdict is Verdict.WAITING
    healthy = assess(plan, [ContainerState("cron", "cron-1", "running", "healthy")])
    assert healthy.verdict is Verdict.READY


def test_containers_still_starting_are_found_across_services() -> None:
    web = assess(WEB, [running("web", "web-1"), running("web", "web-2", "starting")])
    cron = assess(ServicePlan("cron"), [ContainerState("cron", "cron-1", "exited", "starting")])
    assert [c.name for c in still_starting([web, cron])] == ["web-2"]


def _container(status: str, bindings: Mapping[str, object]) -> dict[str, object]:
    return {
        "State": {"Running": status == "running", "Restarting": status == "restarting"},
        "HostConfig": {"PortBindings": bindings},
    }


PROXY = {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "19080"}]}


def test_a_restarting_container_still_holds_its_published_port() -> None:
    """A re-run after a failed start recognises the port its own crash-looping proxy holds
    (its state then lists no port at all)."""
    assert publishes(_container("restarting", PROXY), 19080)
    assert publishes(_container("running", PROXY), 19080)


def test_a_stopped_container_or_another_port_holds_nothing() -> None:
    assert not publishes(_container("exited", PROXY), 19080)
    assert not publishes(_container("running", PROXY), 8080)
    assert not publishes(_container("running", {"8080/tcp": None}), 19080)
    assert not publishes({}, 19080)
