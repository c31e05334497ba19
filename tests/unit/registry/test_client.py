"""The registry client against real HTTP servers on 127.0.0.1 that answer like a registry, like
a web page, with garbage, or not at all: every answer is a value or one clear RegistryError."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dockyard.registry.client import RegistryClient
from dockyard.registry.plan import MANIFEST_TYPES, Credentials, RegistryError, target

DIGEST = "sha256:" + "c" * 64

Handler = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], str]]:
    """Start a server whose every GET and HEAD is answered by a handler; its HOST:PORT."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Handler) -> str:
        class Answer(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answer(self)

            def do_HEAD(self) -> None:
                answer(self)

            def log_message(self, *_: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def reply(status: int, headers: dict[str, str], body: bytes = b"") -> Handler:
    def answer(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        for key, value in headers.items():
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)

    return answer


def refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def client(host: str, **options: object) -> RegistryClient:
    return RegistryClient(target(host), timeout=3.0, **options)  # type: ignore[arg-type]


def test_a_registry_answers_its_ping_and_gives_the_manifest_digest(
    serve: Callable[[Handler], str],
) -> None:
    seen: list[str] = []

    def registry(request: BaseHTTPRequestHandler) -> None:
        seen.append(request.headers.get("Accept", ""))
        if request.path == "/v2/":
            reply(200, {"Docker-Distribution-Api-Version": "registry/2.0"}, b"{}")(request)
        elif request.path == "/v2/team/shop/manifests/1.0.0":
            reply(200, {"Docker-Content-Digest": DIGEST})(request)
        else:
            reply(404, {"Content-Type": "application/json"}, b'{"errors":[]}')(request)

    host = serve(registry)
    with client(host) as api:
        assert api.ping() == 200
        assert api.manifest_digest("team/shop", "1.0.0") == DIGEST
        assert api.manifest_digest("team/shop", "9.9.9") is None
    assert all(kind in seen[1] for kind in MANIFEST_TYPES)


def test_a_registry_that_wants_credentials_still_answers_its_ping(
    serve: Callable[[Handler], str],
) -> None:
    host = serve(reply(401, {"WWW-Authenticate": 'Basic realm="r"'}))
    with client(host) as api:
        assert api.ping() == 401
        with pytest.raises(RegistryError, match="access denied"):
            api.manifest_digest("shop", "1")


def test_a_bearer_token_is_fetched_with_the_credentials(serve: Callable[[Handler], str]) -> None:
    seen: list[str] = []

    def registry(request: BaseHTTPRequestHandler) -> None:
        authorization = request.headers.get("Authorization", "")
        seen.append(authorization)
        if request.path.startswith("/token"):
            reply(200, {"Content-Type": "application/json"}, b'{"token": "t0k"}')(request)
        elif authorization == "Bearer t0k":
            reply(200, {"Docker-Content-Digest": DIGEST})(request)
        else:
            realm = f'Bearer realm="http://{request.headers["Host"]}/token",service="reg"'
            reply(401, {"WWW-Authenticate": realm})(request)

    host = serve(registry)
    with client(host, credentials=Credentials("ci", "pw")) as api:
        assert api.manifest_digest("shop", "1") == DIGEST
    assert seen[1].startswith("Basic ")  # the token service gets the credentials


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (
            reply(200, {"Content-Type": "text/html"}, b"<html>welcome</html>"),
            "Docker-Content-Digest",
        ),
        (reply(200, {"Docker-Content-Digest": "garbage"}), "got 'garbage'"),
        (reply(500, {"Content-Type": "text/html"}, b"<h1>oops</h1>"), "HTTP 500 (text/html)"),
    ],
)
def test_a_server_that_is_not_a_registry_is_one_clear_error(
    serve: Callable[[Handler], str], answer: Handler, words: str
) -> None:
    host = serve(answer)
    with client(host) as api, pytest.raises(RegistryError) as raised:
        api.manifest_digest("shop", "1")
    assert words in raised.value.message
    assert f"http://{host}/v2/shop/manifests/1" in raised.value.message


def test_a_web_page_at_v2_is_not_a_registry(serve: Callable[[Handler], str]) -> None:
    host = serve(reply(404, {"Content-Type": "text/html"}, b"<html>not found</html>"))
    with client(host) as api, pytest.raises(RegistryError) as raised:
        api.ping()
    assert raised.value.message == (
        f"http://{host}/v2/ answered HTTP 404 (text/html): not a registry's API"
    )


def test_nobody_listening_is_one_line_naming_the_url_and_the_fix() -> None:
    host = f"127.0.0.1:{refused_port()}"
    with client(host) as api, pytest.raises(RegistryError) as raised:
        api.ping()
    assert raised.value.message == f"no registry answers at http://{host}/v2/: connection refused"
    assert raised.value.hint is not None
    assert "invoke registry.up" in raised.value.hint


def test_a_server_that_never_answers_times_out_within_the_bound() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        host = f"127.0.0.1:{silent.getsockname()[1]}"
        with (
            RegistryClient(target(host), timeout=0.5) as api,
            pytest.raises(RegistryError) as raised,
        ):
            api.ping()
    assert "did not answer within" in raised.value.message
