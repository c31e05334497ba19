"""The switch's confirmation: a verdict for every answer a service can give, and the proxy's
confirmation through a real local HTTP server that answers like a service with no version
endpoint (its readiness route answers the bare JSON value `true`)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

from dockyard.core.config import parse_config
from dockyard.core.errors import ConfigError
from dockyard.deploy import proxy as proxy_module
from dockyard.deploy.confirm import (
    MAX_BODY,
    Answer,
    ready_verdict,
    routed_verdict,
    upstream_names,
    version_verdict,
)
from dockyard.deploy.plan import render_upstream
from dockyard.deploy.proxy import Proxy, fetch
from dockyard.deploy.target import DeployFailedError, Target
from dockyard.stack.compose import ComposeProject

if TYPE_CHECKING:
    import docker

HUGE = b'{"version": "1.0.0", "padding": "' + b"x" * (2 * MAX_BODY) + b'"}'


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html><body>OK</body></html>", "not JSON: <html><body>OK</body></html>"),
        (b"", "not JSON: (empty body)"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"true", "a bare JSON value (true), not an object"),
        (b"null", "a bare JSON value (null)"),
        (b'"1.0.0"', "a bare JSON value"),
        (b'[{"version": "1.0.0"}]', "a list ("),
        (b'{"status": "ok"}', 'a JSON object without a "version" key (keys: status)'),
        (b'{"version": 1}', '"version" is 1, not a string'),
        (b'{"version": {"major": 1}}', '"version" is {"major": 1}, not a string'),
        (b'{"version": "0.9.0"}', "version '0.9.0' answers, expected '1.0.0'"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
    ],
)
def test_every_answer_but_the_expected_version_is_a_clear_no(body: bytes, says: str) -> None:
    verdict = version_verdict(Answer(200, body), "1.0.0")
    assert not verdict.ok
    assert says in verdict.detail
    assert len(verdict.detail) < 400


def test_a_huge_body_is_cut_off_and_judged_without_parsing() -> None:
    verdict = version_verdict(Answer(200, HUGE[:MAX_BODY], truncated=True), "1.0.0")
    assert (verdict.ok, verdict.detail) == (
        False,
        f"an answer over {MAX_BODY} bytes, not a version document",
    )


def test_the_expected_version_is_a_yes() -> None:
    assert version_verdict(Answer(200, b'{"version": "1.0.0", "x": [1]}'), "1.0.0").ok


def test_readiness_is_any_200_whatever_its_body() -> None:
    for body in (b"true", b"OK", b"", b"[1, 2]", HUGE[:MAX_BODY]):
        assert ready_verdict(Answer(200, body)).ok
    assert ready_verdict(Answer(503, b'{"ready": false}')).detail == 'HTTP 503: {"ready": false}'
    assert ready_verdict(Answer(error="ConnectionError")).detail == "no answer (ConnectionError)"
    # A failed readiness answer is the version check's verdict too: no parsing of an error page.
    assert version_verdict(Answer(502, b"<html>Bad Gateway</html>"), "1.0.0").detail.startswith(
        "HTTP 502"
    )


def test_the_upstream_written_is_read_back_as_its_containers() -> None:
    text = render_upstream(["shop-app-3", "shop-app-4"], 8000)
    assert upstream_names(text) == ["shop-app-3", "shop-app-4"]


def test_the_switch_is_confirmed_only_when_the_proxy_routes_to_new_containers_of_the_image() -> (
    None
):
    new = ["shop-app-3", "shop-app-4"]
    images: dict[str, str | None] = {
        "shop-app-3": "sha256:" + "b" * 64,
        "shop-app-4": "sha256:" + "b" * 64,
    }
    assert routed_verdict(new, new, images, "sha256:" + "b" * 64).ok
    assert routed_verdict(new, new, images, None).ok
    stale = routed_verdict(["shop-app-1"], new, images, None)
    assert (stale.ok, stale.detail) == (
        False,
        "the upstream names shop-app-1, not shop-app-3, shop-app-4",
    )
    wrong = routed_verdict(new, new, images, "sha256:" + "a" * 64)
    assert (wrong.ok, wrong.detail) == (False, f"shop-app-3 runs image {'b' * 12}, not {'a' * 12}")
    gone = routed_verdict(new, new, {**images, "shop-app-4": None}, None)
    assert (gone.ok, gone.detail) == (False, "shop-app-4 is not running")
    assert not routed_verdict([], [], {}, None).ok


# ------------------------------------------------ through a real HTTP server ---

ROUTES: dict[str, tuple[int, bytes]] = {
    "/health/ready": (200, b"true"),
    "/huge": (200, HUGE),
    "/version": (200, b'{"version": "1.0.0"}'),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/hang-up":
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        status, body = ROUTES.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_answers_are_read_as_they_come_and_a_huge_body_only_in_part(service: str) -> None:
    ready = fetch(service + "/health/ready", timeout=10)
    assert (ready.status, ready.body, ready.truncated) == (200, b"true", False)
    huge = fetch(service + "/huge", timeout=10)
    assert (huge.status, len(huge.body), huge.truncated) == (200, MAX_BODY, True)
    hung_up = fetch(service + "/hang-up", timeout=10)
    assert hung_up.status is None
    assert hung_up.error == "ConnectionError"


def _proxy(tmp_path: Path, base_url: str, **health: str) -> Proxy:
    config = parse_config(
        {
            "project": "shop",
            "image": "acme/shop",
            "health": {"ready_path": "/health/ready", **health},
            "deploy": {"switch_confirmations": 3},
        },
        root=tmp_path,
    )
    project = ComposeProject("shop", tmp_path, (), tmp_path / "env")
    target = Target(config, "main", project, base_url, tmp_path)
    return Proxy(target, cast("docker.DockerClient", None))


def test_a_service_without_a_version_endpoint_confirms_by_readiness(
    service: str, tmp_path: Path
) -> None:
    proxy = _proxy(tmp_path, service)
    assert proxy.target.config.health.version_path == ""
    proxy._confirm(expect="1.0.0")  # no version endpoint configured: readiness alone decides
    _proxy(tmp_path, service, version_path="/version")._confirm(expect="1.0.0")


def test_a_version_endpoint_answering_a_bare_value_fails_the_switch_with_a_reason(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(proxy_module, "CONFIRM_SECONDS", 1.0)
    proxy = _proxy(tmp_path, service, version_path="/health/ready")
    with pytest.raises(DeployFailedError) as failed:
        proxy._confirm(expect="1.0.0")
    assert "/health/ready: a bare JSON value (true), not an object" in failed.value.message
    with pytest.raises(DeployFailedError) as failed:
        _proxy(tmp_path, service, version_path="/huge")._confirm(expect="1.0.0")
    assert f"/huge: an answer over {MAX_BODY} bytes" in failed.value.message


def test_version_path_is_optional_but_a_set_one_is_a_path(tmp_path: Path) -> None:
    assert parse_config({"project": "s", "image": "s"}, root=tmp_path).health.version_path == ""
    with pytest.raises(ConfigError, match="version_path"):
        parse_config({"project": "s", "image": "s", "health": {"version_path": "v"}}, root=tmp_path)
