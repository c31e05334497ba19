"""Readiness and smoke checks against a real local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dockyard.core.config import SmokeRequest
from dockyard.stack.health import NotReadyError, SmokeTestError, smoke_test, wait_ready


class Service(BaseHTTPRequestHandler):
    """Answers 503 on /ready until `ready_after` probes, and a tiny JSON API."""

    probes = 0
    ready_after = 3

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/ready":
            type(self).probes += 1
            ready = self.probes > self.ready_after
            self.reply(200 if ready else 503, {"failed": [] if ready else ["database"]})
        elif self.path == "/items/7":
            self.reply(200, {"id": 7})
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        self.reply(201 if body.get("name") else 400, {"id": 7})


@pytest.fixture
def base_url() -> Iterator[str]:
    Service.probes = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def test_wait_ready_returns_once_the_endpoint_answers_200(base_url: str) -> None:
    seconds = wait_ready(f"{base_url}/ready", timeout=10)
    assert Service.probes == Service.ready_after + 1
    assert seconds < 5


def test_wait_ready_gives_up_at_its_deadline_with_the_last_answer(base_url: str) -> None:
    Service.ready_after = 10_000
    try:
        with pytest.raises(NotReadyError, match=r"not ready after 1 s \(last answer: HTTP 503"):
            wait_ready(f"{base_url}/ready", timeout=1)
    finally:
        Service.ready_after = 3


def test_smoke_test_chains_requests_through_previous_answers(base_url: str) -> None:
    steps = [
        SmokeRequest("/items", method="POST", json={"name": "x"}, expect=201),
        SmokeRequest("/items/{id}"),
    ]
    results = smoke_test(base_url, steps)
    assert [(r.method, r.path, r.status) for r in results] == [
        ("POST", "/items", 201),
        ("GET", "/items/7", 200),
    ]


def test_smoke_test_names_the_request_that_got_the_wrong_status(base_url: str) -> None:
    with pytest.raises(SmokeTestError, match=r"^GET /missing: expected HTTP 200, got 404"):
        smoke_test(base_url, [SmokeRequest("/missing")])


def test_smoke_test_reports_a_placeholder_the_previous_answer_lacks(base_url: str) -> None:
    with pytest.raises(SmokeTestError, match=r"needs name from the previous answer"):
        smoke_test(base_url, [SmokeRequest("/items/7"), SmokeRequest("/items/{name}")])


def test_only_a_keep_alive_connection_closed_unanswered_counts_as_safe_to_resend() -> None:
    import http.client

    import requests
    import urllib3

    from dockyard.stack.health import closed_unanswered

    closed = urllib3.exceptions.ProtocolError(
        "Connection aborted.", http.client.RemoteDisconnected("closed without response")
    )
    refused = ConnectionRefusedError(111, "Connection refused")
    assert closed_unanswered(requests.ConnectionError(closed))
    assert not closed_unanswered(requests.ConnectionError(refused))
    assert not closed_unanswered(requests.ReadTimeout("read timed out"))
