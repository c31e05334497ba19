"""The reference service, run from its production image against real PostgreSQL and Redis.

Containers run as the production stack runs them: read-only root filesystem, a tmpfs /tmp,
every capability dropped, no new privileges.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
import requests

from .support import (
    RUN_ID,
    App,
    Backing,
    BuiltImage,
    json_lines,
    logs_of,
    start_app,
    wait_for,
)

if TYPE_CHECKING:
    import docker

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def app(
    docker_client: docker.DockerClient, shared_backing: Backing, service_image: BuiltImage
) -> App:
    """One migrated service for the tests that leave its dependencies alone."""
    shared_backing.migrate(service_image.tag)
    return start_app(shared_backing, service_image.tag)


def create(app: App, name: str = "crate of bolts", destination: str = "Oslo") -> dict[str, Any]:
    response = app.post("/api/shipments", json={"name": name, "destination": destination})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# ------------------------------------------------------------------- API ---


def test_a_shipment_is_created_read_through_the_cache_and_listed(app: App) -> None:
    """Create answers 201 with the id; the first read fills the cache, the second hits it."""
    response = app.post("/api/shipments", json={"name": "anchor chain", "destination": "Bergen"})
    assert response.status_code == 201
    created = response.json()
    assert created["name"] == "anchor chain"
    assert created["destination"] == "Bergen"
    assert response.headers["Location"] == f"/api/shipments/{created['id']}"

    first = app.get(f"/api/shipments/{created['id']}")
    second = app.get(f"/api/shipments/{created['id']}")
    assert (first.status_code, first.headers["X-Cache"]) == (200, "miss")
    assert (second.status_code, second.headers["X-Cache"]) == (200, "hit")
    assert second.json()["id"] == first.json()["id"] == created["id"]

    listing = app.get("/api/shipments", params={"limit": 100}).json()
    assert created["id"] in [item["id"] for item in listing["items"]]
    assert app.get("/api/shipments/987654321").status_code == 404


def test_listing_pages_with_limit_and_offset(app: App) -> None:
    ids = [create(app, name=f"pallet {n}")["id"] for n in range(3)]
    everything = [item["id"] for item in app.get("/api/shipments?limit=100").json()["items"]]
    start = everything.index(ids[0])
    page = app.get(f"/api/shipments?limit=2&offset={start + 1}").json()
    assert [item["id"] for item in page["items"]] == ids[1:3]
    assert (page["limit"], page["offset"], page["count"]) == (2, start + 1, 2)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"destination": "Oslo"}, {"name": "is required"}),
        ({"name": "  ", "destination": 7},
         {"name": "must not be empty", "destination": "must be a string"}),
        ({"name": "x", "destination": "y", "weight": 3}, {"weight": "unknown field"}),
        (["not", "an", "object"], {"body": "expected a JSON object"}),
    ],
)  # fmt: skip
def test_a_bad_shipment_is_refused_naming_each_field(
    app: App, body: object, fields: dict[str, str]
) -> None:
    response = app.post("/api/shipments", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": "validation failed", "fields": fields}


def test_bad_paging_is_refused_naming_the_parameter(app: App) -> None:
    response = app.get("/api/shipments?limit=0&offset=x&colour=red")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "limit": "must be 1-100",
        "offset": "must be a whole number",
        "colour": "unknown parameter",
    }


def test_version_reports_what_the_image_was_built_from(app: App, service_image: BuiltImage) -> None:
    args = service_image.result.plan.build_args
    assert app.get("/version").json() == {"version": args["VERSION"], "git_sha": args["REVISION"]}


def test_metrics_count_requests_by_route_method_and_status(app: App) -> None:
    app.get("/health/ready")
    app.get("/api/shipments/424242")
    text = app.get("/metrics").text
    assert (
        'tugboat_http_requests_total{method="GET",route="/api/shipments/<int:shipment_id>",status="404"}'
        in text
    )
    assert "tugboat_http_request_duration_seconds_bucket{" in text
    assert "tugboat_ready 1.0" in text
    assert 'tugboat_dependency_up{dependency="database"} 1.0' in text


def test_logs_are_json_lines_with_request_fields_and_no_secret(
    app: App, shared_backing: Backing
) -> None:
    app.get("/api/shipments?limit=1")
    output = app.logs()
    lines = json_lines(output)
    assert len(lines) == len([line for line in output.splitlines() if line.strip()])
    access = [line for line in lines if line["logger"] == "tugboat.access"]
    assert {"ts", "level", "message", "method", "path", "status", "duration_ms"} <= set(access[-1])
    assert (access[-1]["method"], access[-1]["path"], access[-1]["status"]) == (
        "GET",
        "/api/shipments",
        200,
    )
    assert shared_backing.db_password not in output
    assert shared_backing.redis_password not in output


# ------------------------------------------------------- health and faults ---


def ready_status(app: App) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    response = app.get("/health/ready", timeout=10)
    return response.status_code, response.json(), time.monotonic() - started


@pytest.mark.parametrize(("dependency", "check"), [("postgres", "database"), ("redis", "cache")])
def test_readiness_names_a_stopped_dependency_and_recovers_without_a_restart(
    backing: Backing, service_image: BuiltImage, dependency: str, check: str
) -> None:
    """DEP-01: live stays 200, ready turns 503 naming the dependency, then 200 once it is back."""
    backing.migrate(service_image.tag)
    app = start_app(backing, service_image.tag)
    wait_for("the service ready", lambda: ready_status(app)[0] == 200, timeout=30)
    app.container.reload()
    started_at = app.container.attrs["State"]["StartedAt"]

    container = getattr(backing, dependency)
    container.stop(timeout=10)
    deadline = time.monotonic() + 20
    while True:
        status, body, seconds = ready_status(app)
        assert seconds < 3.0, f"readiness took {seconds:.1f} s with {dependency} down"
        assert app.get("/health/live", timeout=3).status_code == 200
        if status == 503 and check in body["failed"]:
            break
        assert time.monotonic() < deadline, f"readiness never named {check}: {body}"
        time.sleep(0.5)
    assert body["status"] == "unavailable"
    assert body["checks"][check]["ok"] is False

    container.start()
    wait_for(f"readiness back to 200 after {dependency} restarted",
             lambda: ready_status(app)[0] == 200, timeout=60)  # fmt: skip
    app.container.reload()
    assert app.container.attrs["State"]["StartedAt"] == started_at
    assert app.container.attrs["RestartCount"] == 0
    assert create(app)["id"] > 0


def test_readiness_reports_pending_migrations(backing: Backing, service_image: BuiltImage) -> None:
    app = start_app(backing, service_image.tag)
    status, body, _ = ready_status(app)
    assert status == 503
    assert body["failed"] == ["migrations"]
    assert "tugboat.migrate" in body["checks"]["migrations"]["detail"]
    backing.migrate(service_image.tag)
    wait_for("ready after migrating", lambda: ready_status(app)[0] == 200, timeout=15)


# ------------------------------------------------------------- migrations ---


def test_concurrent_migrate_runs_apply_each_migration_exactly_once(
    backing: Backing, service_image: BuiltImage
) -> None:
    from tugboat.migrate import discover

    expected = [migration.label for migration in discover()]
    runs = [
        backing.client.containers.create(
            service_image.tag,
            ["python", "-m", "tugboat.migrate"],
            environment=backing.environment(),
            network=backing.network.name,
            read_only=True,
            labels={"dockyard.test": "migrate"},
        )
        for _ in range(3)
    ]
    backing.started.extend(runs)
    gate = threading.Barrier(len(runs))

    def start(container: Any) -> None:
        gate.wait(timeout=30)
        container.start()

    threads = [threading.Thread(target=start, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    codes = [run.wait(timeout=90)["StatusCode"] for run in runs]
    logs = [json_lines(logs_of(run)) for run in runs]
    assert codes == [0, 0, 0], logs

    applied = [
        line["migration"] for log in logs for line in log if line["message"] == "applied migration"
    ]
    assert sorted(applied) == sorted(expected)
    assert all(any(line["message"] == "schema is current" for line in log) for log in logs)
    rows = backing.psql(
        "SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY 1"
    )
    assert rows.splitlines() == [f"{int(label[:4])}|1" for label in expected]


def test_a_changed_applied_migration_stops_the_run(
    backing: Backing, service_image: BuiltImage
) -> None:
    backing.migrate(service_image.tag)
    backing.psql("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    run = backing.run(service_image.tag, ["python", "-m", "tugboat.migrate"])
    assert run.wait(timeout=60)["StatusCode"] == 1
    reasons = [line.get("reason", "") for line in json_lines(logs_of(run))]
    assert any("0001_create_shipments.sql was changed after it was applied" in r for r in reasons)
    assert backing.db_password not in logs_of(run)


def test_a_wrong_database_password_fails_without_printing_it(
    backing: Backing, service_image: BuiltImage
) -> None:
    wrong = "not-the-password-" + backing.db_password[:6]
    environment = backing.environment(
        DATABASE_URL=backing.database_url.replace(backing.db_password, wrong)
    )
    run = backing.run(
        service_image.tag,
        ["python", "-m", "tugboat.migrate", "--wait", "0"],
        environment=environment,
    )
    assert run.wait(timeout=60)["StatusCode"] == 1
    output = logs_of(run)
    assert "password authentication failed" in output
    assert wrong not in output
    assert backing.db_password not in output


def test_bad_settings_stop_the_service_naming_the_variable(
    backing: Backing, service_image: BuiltImage
) -> None:
    leaked = f"hunter2-{RUN_ID}"
    environment = backing.environment(
        DATABASE_URL=f"mysql://tugboat:{leaked}@db/x", SHUTDOWN_GRACE="soon"
    )
    run = backing.run(service_image.tag, environment=environment)
    assert run.wait(timeout=30)["StatusCode"] == 2
    output = logs_of(run)
    assert "DATABASE_URL: expected a URL with scheme postgresql or postgres" in output
    assert "SHUTDOWN_GRACE: expected a duration like 500ms, 30s, 5m or 1h, got 'soon'" in output
    assert leaked not in output


# ---------------------------------------------------------------- signals ---


def test_sigterm_lets_an_in_flight_request_finish_and_exits_zero(
    backing: Backing, service_image: BuiltImage
) -> None:
    backing.migrate(service_image.tag)
    app = start_app(backing, service_image.tag, APP_ENV="testing", SHUTDOWN_GRACE="20s")
    answers: list[requests.Response] = []

    def slow_request() -> None:
        answers.append(app.get("/api/shipments?delay=3", timeout=30))

    caller = threading.Thread(target=slow_request)
    caller.start()
    wait_for(
        "the slow query running in PostgreSQL",
        lambda: backing.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'"
        ) == "1",
        timeout=10,
        interval=0.05,
    )  # fmt: skip
    stopping = time.monotonic()
    app.container.stop(timeout=30)  # SIGTERM to tini, forwarded to gunicorn
    stopped_after = time.monotonic() - stopping
    caller.join(timeout=30)

    assert answers, "the in-flight request got no answer"
    assert answers[0].status_code == 200
    assert "items" in answers[0].json()
    app.container.reload()
    assert app.container.attrs["State"]["ExitCode"] == 0
    assert 1.5 < stopped_after < 20, f"stopped after {stopped_after:.1f} s"
    messages = [line["message"] for line in json_lines(app.logs())]
    assert "Handling signal: term" in messages
    assert messages.index("Handling signal: term") < len(messages) - 1


# ----------------------------------------------------------------- worker ---


def test_workers_dispatch_each_shipment_once_and_stop_cleanly_on_sigterm(
    backing: Backing, service_image: BuiltImage
) -> None:
    backing.migrate(service_image.tag)
    app = start_app(backing, service_image.tag)
    workers = [backing.run(service_image.tag, ["python", "-m", "tugboat.worker"]) for _ in range(2)]
    ids = [create(app, name=f"barrel {n}")["id"] for n in range(12)]

    def all_dispatched() -> bool:
        pending = backing.psql(
            "SELECT count(*) FROM shipments WHERE status <> 'dispatched' "  # noqa: S608 - ids are ints
            f"AND id BETWEEN {min(ids):d} AND {max(ids):d}"
        )
        return pending == "0"

    wait_for("every shipment dispatched", all_dispatched, timeout=30)
    body = app.get(f"/api/shipments/{ids[0]}").json()
    assert body["status"] == "dispatched"
    assert body["dispatched_at"] is not None

    dispatched: list[int] = []
    for worker in workers:
        code, _ = worker.exec_run(["python", "-m", "tugboat.worker", "--check"])
        assert code == 0  # the container healthcheck passes
        worker.stop(timeout=15)
        worker.reload()
        assert worker.attrs["State"]["ExitCode"] == 0
        lines = json_lines(logs_of(worker))
        dispatched += [
            line["shipment_id"] for line in lines if line["message"] == "dispatched shipment"
        ]
        assert lines[-1]["message"] == "worker stopped"
    assert sorted(dispatched) == sorted(ids)
    assert all(backing.redis_password not in logs_of(worker) for worker in workers)
