"""The HTTP app with its dependencies unreachable (nothing listens on port 1): it still starts,
stays live, says which dependencies are missing, and validates requests without them."""

from __future__ import annotations

import io
import json
import secrets
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tugboat.app import create_app, services_of
from tugboat.settings import load_settings

from .support import captured_logs

DB_LOGIN = f"unit-db-{secrets.token_hex(6)}"
CACHE_LOGIN = f"unit-cache-{secrets.token_hex(6)}"
ENVIRON = {
    "DATABASE_URL": f"postgresql://tugboat:{DB_LOGIN}@127.0.0.1:1/tugboat",
    "REDIS_URL": f"redis://:{CACHE_LOGIN}@127.0.0.1:1/0",
    "APP_VERSION": "9.8.7",
    "GIT_SHA": "0123456789ab",
}


@pytest.fixture(scope="module")
def log_stream() -> Iterator[io.StringIO]:
    with captured_logs(ENVIRON) as stream:
        yield stream


@pytest.fixture(scope="module")
def app(log_stream: io.StringIO) -> Iterator[Flask]:
    application = create_app(load_settings(ENVIRON))
    yield application
    services_of(application).close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_live_answers_without_any_dependency(client: FlaskClient) -> None:
    response = client.get("/health/live")
    assert (response.status_code, response.json) == (200, {"status": "alive"})


def test_ready_names_every_missing_dependency_quickly(client: FlaskClient) -> None:
    started = time.monotonic()
    response = client.get("/health/ready")
    # Bounded by the app's own 1 s connection timeouts, well inside a prober's 5 s default.
    assert time.monotonic() - started < 5.0
    assert response.status_code == 503
    body = response.json
    assert body is not None
    assert body["status"] == "unavailable"
    assert set(body["failed"]) == {"database", "cache", "migrations"}
    assert all(not check["ok"] for check in body["checks"].values())


def test_version_comes_from_the_environment(client: FlaskClient) -> None:
    assert client.get("/version").json == {"version": "9.8.7", "git_sha": "0123456789ab"}


def test_validation_needs_no_database(client: FlaskClient) -> None:
    response = client.post("/api/shipments", json={"name": "", "destination": "x" * 201})
    assert response.status_code == 400
    assert response.json == {
        "error": "validation failed",
        "fields": {"name": "must not be empty", "destination": "must be at most 200 characters"},
    }


def test_delay_is_refused_outside_testing(client: FlaskClient) -> None:
    response = client.get("/api/shipments?delay=2")
    assert response.status_code == 400
    assert response.json == {"error": "validation failed", "fields": {"delay": "unknown parameter"}}


def test_a_missing_database_is_a_503_not_a_crash(client: FlaskClient) -> None:
    response = client.get("/api/shipments/1")
    assert response.status_code == 503
    assert response.json == {"error": "database unavailable"}
    assert response.headers["Retry-After"] == "5"


def test_unknown_routes_answer_json(client: FlaskClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json is not None
    assert response.json["error"] == "not found"


def test_access_log_lines_carry_the_request_and_no_secret(
    client: FlaskClient, log_stream: io.StringIO
) -> None:
    client.post("/api/shipments", json={}, headers={"X-Request-ID": "req-42"})
    entries = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    access = [e for e in entries if e["logger"] == "tugboat.access" and e["request_id"] == "req-42"]
    assert access[-1]["method"] == "POST"
    assert access[-1]["path"] == "/api/shipments"
    assert access[-1]["status"] == 400
    assert isinstance(access[-1]["duration_ms"], float)
    text = log_stream.getvalue()
    assert DB_LOGIN not in text
    assert CACHE_LOGIN not in text


def test_metrics_are_prometheus_text(client: FlaskClient) -> None:
    client.get("/health/live")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    assert 'tugboat_http_requests_total{method="GET",route="/health/live",status="200"}' in text
    assert "# TYPE tugboat_ready gauge" in text
