"""Deploy notifications against a real local webhook receiver."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar, Literal

import pytest
import requests

from dockyard.deploy.notify import RUN_URL_VARIABLE, Event, payload, run_url
from dockyard.deploy.webhook import Delivery, redact, send, validate_url

SECRET_PATH = "/services/T0001/B0002/tokenSECRET"
# Made-up secrets that must never show in output.
SECRET_QUERY = "key=querySECRET"  # pragma: allowlist secret

# One scripted answer of the receiver: a status and its headers, or a way of not answering.
Answer = tuple[int, dict[str, str]] | Literal["hang", "trickle"]


@dataclass
class Got:
    """One request the receiver got."""

    path: str
    content_type: str | None
    body: bytes


@dataclass
class Script:
    """What the receiver answers, request by request (the last answer repeats)."""

    answers: list[Answer]
    got: list[Got] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


class Receiver(ThreadingHTTPServer):
    script: Script


class Hook(BaseHTTPRequestHandler):
    """A webhook receiver that records each POST and answers as its script says."""

    server: Receiver

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        script = self.server.script
        body = self.rfile.read(int(self.headers["Content-Length"]))
        script.got.append(Got(self.path, self.headers["Content-Type"], body))
        answer = script.answers[min(len(script.got), len(script.answers)) - 1]
        if answer == "hang":
            script.stop.wait(10)
        elif answer == "trickle":
            self.trickle(script.stop)
        else:
            status, headers = answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    def trickle(self, stop: threading.Event) -> None:
        """Starts an answer and sends one byte of a header at a time, never finishing it."""
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not stop.wait(0.05):
                self.wfile.write(b"a")
                self.wfile.flush()
        except OSError:
            return


@dataclass(frozen=True)
class Hooked:
    """A running receiver: its secret-bearing webhook URL and its script."""

    url: str
    base: str
    script: Script


@pytest.fixture
def hook() -> Iterator[Hooked]:
    server = Receiver(("127.0.0.1", 0), Hook)
    server.script = Script(answers=[(200, {})])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield Hooked(f"{base}{SECRET_PATH}?{SECRET_QUERY}", base, server.script)
    server.script.stop.set()
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


class Sleeps:
    """Stands in for time.sleep: records each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


EVENT = Event(
    kind="deploy",
    result="succeeded",
    instance="staging",
    version="1.4.0",
    previous="1.3.0",
    duration_seconds=23.14,
    user="ana",
    reason="",
    host="build-01",
)
BODY = payload(EVENT, project="tugboat")


def assert_no_secret(delivery: Delivery, lines: list[str]) -> None:
    for text in [str(delivery.error), *lines]:
        assert "SECRET" not in text
        assert "/services" not in text


# --- the message ---------------------------------------------------------------------------


def test_a_successful_deploy_reads_as_one_line_with_the_previous_version() -> None:
    assert BODY["text"] == (
        ":white_check_mark: tugboat staging: deploy of 1.4.0 succeeded in 23.1s (was 1.3.0)"
    )


def test_a_failure_says_why() -> None:
    failed = Event(**{**EVENT.__dict__, "result": "failed", "reason": "not ready after 60 s"})
    assert payload(failed, project="tugboat")["text"] == (
        ":x: tugboat staging: deploy of 1.4.0 failed in 23.1s (was 1.3.0): not ready after 60 s"
    )


def test_blocks_show_who_deployed_what_and_for_how_long() -> None:
    blocks = BODY["blocks"]
    assert isinstance(blocks, list)
    assert [block["type"] for block in blocks] == ["section", "section", "context"]
    fields = "\n".join(item["text"] for item in blocks[1]["fields"])
    for shown in ("staging", "1.4.0", "1.3.0", "ana on build-01", "23.1s"):
        assert shown in fields


def test_the_raw_facts_travel_in_a_machine_readable_object() -> None:
    assert BODY["dockyard"] == {"project": "tugboat", **EVENT.__dict__}


def test_user_text_cannot_form_slack_links_or_mentions() -> None:
    hostile = Event(
        **{**EVENT.__dict__, "result": "failed", "reason": "<!channel> a&b <http://x|click>"}
    )
    body = payload(hostile, project="tugboat")
    shown = json.dumps([body["text"], body["blocks"]])
    assert "<" not in shown
    assert ">" not in shown
    assert "&lt;!channel&gt; a&amp;b &lt;http://x|click&gt;" in str(body["text"])
    assert body["dockyard"]["reason"] == "<!channel> a&b <http://x|click>"  # type: ignore[index]


def test_a_ci_run_is_linked_from_the_message_and_the_facts() -> None:
    run = "https://github.com/acme/tugboat/actions/runs/42?a=1&b=2"
    body = payload(EVENT, project="tugboat", run=run)
    context = json.dumps(body["blocks"][-1])  # type: ignore[index]
    assert "<https://github.com/acme/tugboat/actions/runs/42?a=1&amp;b=2|CI run>" in context
    assert body["dockyard"]["run_url"] == run  # type: ignore[index]
    assert "run_url" not in BODY["dockyard"]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("environ", "found"),
    [
        (
            {RUN_URL_VARIABLE: "https://github.com/a/b/actions/runs/7"},
            "https://github.com/a/b/actions/runs/7",
        ),
        ({RUN_URL_VARIABLE: " http://ci.local/run/7 \n"}, "http://ci.local/run/7"),
        ({}, None),
        ({RUN_URL_VARIABLE: ""}, None),
        ({RUN_URL_VARIABLE: "javascript:alert(1)"}, None),
        ({RUN_URL_VARIABLE: "https://x/y|click here"}, None),
        ({RUN_URL_VARIABLE: "https://x/<!channel>"}, None),
    ],
)
def test_the_run_link_comes_from_the_environment_only_as_a_plain_http_url(
    environ: dict[str, str], found: str | None
) -> None:
    assert run_url(environ) == found


# --- the URL -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T/B/token", "https://hooks.slack.com"),
        (
            "https://user:pw@hooks.example.com:8443/x?key=1",  # pragma: allowlist secret
            "https://hooks.example.com:8443",
        ),
        ("http://[::1]:9000/hook", "http://[::1]:9000"),
        ("hooks.slack.com/services/T/B/token", "(URL hidden)"),
    ],
)
def test_redact_keeps_only_scheme_host_and_port(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://hooks.slack.com/services/T/B/token", None),
        ("", None),
        ("ftp://hooks.example.com/x", "must start with https:// or http://"),
        ("hooks.slack.com/services/T/B/token", "must start with https:// or http://"),
        ("https:///services/T/B/token", "has no host"),
        ("https://hooks.example.com:port/x", "cannot be parsed"),
        ("https://hooks.slack.com/services/T/B/token\n", "spaces or control characters"),
    ],
)
def test_validate_url_accepts_only_http_urls_with_a_host(url: str, problem: str | None) -> None:
    message = validate_url(url)
    if problem is None:
        assert message is None
    else:
        assert message is not None
        assert message.startswith("not an http(s) URL: ")
        assert problem in message
        assert "token" not in message


def test_an_empty_url_means_not_configured_and_sends_nothing() -> None:
    class Recording(requests.Session):
        calls: ClassVar[list[tuple[object, ...]]] = []

        def request(self, *args: object, **kwargs: object) -> requests.Response:
            self.calls.append(args)
            return super().request(*args, **kwargs)  # type: ignore[arg-type]

    with Recording() as session:
        delivery = send("", BODY, session=session)
    assert session.calls == []
    assert delivery == Delivery(False, 0, 0.0, "no webhook configured", None)


def test_an_invalid_url_is_reported_without_a_request() -> None:
    lines: list[str] = []
    delivery = send("ftp://hooks.example.com/tokenSECRET", BODY, log=lines.append)
    assert not delivery.delivered
    assert delivery.attempts == 0
    assert lines == [f"notification not delivered: {delivery.error}"]
    assert_no_secret(delivery, lines)


# --- delivery ------------------------------------------------------------------------------


def test_the_receiver_gets_the_payload_as_json(hook: Hooked) -> None:
    delivery = send(hook.url, BODY)
    assert delivery.delivered
    assert (delivery.attempts, delivery.status, delivery.error) == (1, 200, None)
    [got] = hook.script.got
    assert got.path == f"{SECRET_PATH}?{SECRET_QUERY}"
    assert got.content_type == "application/json"
    assert json.loads(got.body) == json.loads(json.dumps(BODY))


def test_a_server_error_is_retried_until_delivered(hook: Hooked) -> None:
    hook.script.answers[:] = [(500, {}), (200, {})]
    sleeps, lines = Sleeps(), list[str]()
    delivery = send(hook.url, BODY, sleep=sleeps, log=lines.append)
    assert delivery.delivered
    assert delivery.attempts == 2
    assert sleeps.waits == [0.5]
    assert lines == [f"attempt 1/3: 500 Internal Server Error from {hook.base}; retrying in 0.5s"]


def test_a_failing_receiver_never_fails_the_caller(hook: Hooked) -> None:
    hook.script.answers[:] = [(503, {})]
    sleeps, lines = Sleeps(), list[str]()
    delivery = send(hook.url, BODY, attempts=3, backoff=0.5, sleep=sleeps, log=lines.append)
    assert not delivery.delivered
    assert (delivery.attempts, delivery.status) == (3, 503)
    assert len(hook.script.got) == 3
    assert sleeps.waits == [0.5, 1.0]
    assert delivery.error == f"503 Service Unavailable from {hook.base}"
    assert len(lines) == 4
    assert lines[-1] == (
        f"notification not delivered after 3 attempts: 503 Service Unavailable from {hook.base}"
    )
    assert_no_secret(delivery, lines)


def test_a_client_error_is_not_retried(hook: Hooked) -> None:
    hook.script.answers[:] = [(404, {})]
    sleeps, lines = Sleeps(), list[str]()
    delivery = send(hook.url, BODY, sleep=sleeps, log=lines.append)
    assert not delivery.delivered
    assert (delivery.attempts, delivery.status) == (1, 404)
    assert len(hook.script.got) == 1
    assert sleeps.waits == []
    assert (
        lines[-1] == f"notification not delivered after 1 attempt: 404 Not Found from {hook.base}"
    )
    assert_no_secret(delivery, lines)


def test_retry_after_sets_the_wait_before_the_next_attempt(hook: Hooked) -> None:
    hook.script.answers[:] = [(429, {"Retry-After": "2"}), (200, {})]
    sleeps = Sleeps()
    delivery = send(hook.url, BODY, sleep=sleeps)
    assert delivery.delivered
    assert delivery.attempts == 2
    assert sleeps.waits == [2.0]


def test_retry_after_beyond_the_budget_gives_up_at_once(hook: Hooked) -> None:
    hook.script.answers[:] = [(429, {"Retry-After": "120"})]
    sleeps, lines = Sleeps(), list[str]()
    delivery = send(hook.url, BODY, budget=5.0, sleep=sleeps, log=lines.append)
    assert not delivery.delivered
    assert (delivery.attempts, delivery.status) == (1, 429)
    assert sleeps.waits == []
    assert "the receiver asked to wait 120.0s" in lines[-1]


def test_a_receiver_that_never_answers_costs_at_most_the_budget(hook: Hooked) -> None:
    hook.script.answers[:] = ["hang"]
    lines: list[str] = []
    started = time.monotonic()
    delivery = send(hook.url, BODY, timeout=60.0, budget=1.5, log=lines.append)
    # One attempt alone could wait 60 s: ending in a few seconds is the budget at work (the
    # margin is for a loaded machine's scheduling, not for the sender).
    assert time.monotonic() - started < 10.0
    assert not delivery.delivered
    assert delivery.status is None
    error = str(delivery.error)
    assert error.startswith(("no answer within 1.5s", "no complete answer within"))
    assert error.endswith(f"from {hook.base}")
    assert_no_secret(delivery, lines)


def test_a_receiver_that_trickles_its_answer_costs_at_most_the_budget(hook: Hooked) -> None:
    hook.script.answers[:] = ["trickle"]
    started = time.monotonic()
    delivery = send(hook.url, BODY, timeout=0.5, budget=1.0)
    # The trickle never ends and never idles for the 0.5 s read timeout: only the budget stops it.
    assert time.monotonic() - started < 10.0
    assert not delivery.delivered
    assert delivery.error == f"no complete answer within the time budget from {hook.base}"


def test_a_refused_connection_is_reported_not_raised() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}{SECRET_PATH}"
    sleeps, lines = Sleeps(), list[str]()
    delivery = send(url, BODY, attempts=2, sleep=sleeps, log=lines.append)
    assert not delivery.delivered
    assert (delivery.attempts, delivery.status) == (2, None)
    assert delivery.error == f"cannot connect to http://127.0.0.1:{port}: Connection refused"
    assert sleeps.waits == [0.5]
    assert_no_secret(delivery, lines)


def test_a_body_that_is_not_json_is_a_bug_and_raises(hook: Hooked) -> None:
    with pytest.raises(TypeError):
        send(hook.url, {"when": object()})
    assert hook.script.got == []


def test_a_backoff_beyond_the_budget_gives_up_and_says_why(hook: Hooked) -> None:
    hook.script.answers[:] = [(502, {})]
    sleeps, lines = Sleeps(), list[str]()
    delivery = send(hook.url, BODY, backoff=30.0, budget=5.0, sleep=sleeps, log=lines.append)
    assert not delivery.delivered
    assert (delivery.attempts, delivery.status) == (1, 502)
    assert sleeps.waits == []
    assert lines[0] == f"attempt 1/3: 502 Bad Gateway from {hook.base}"
    assert "a retry waits 30.0s, and " in lines[-1]
    assert lines[-1].endswith("s of the budget is left")


def test_a_fault_in_the_sender_itself_is_raised_not_retried(hook: Hooked) -> None:
    class Broken(requests.Session):
        calls = 0

        def post(self, *_: object, **__: object) -> requests.Response:
            Broken.calls += 1
            raise RuntimeError("a bug, not a network problem")

    sleeps = Sleeps()
    with Broken() as session, pytest.raises(RuntimeError, match="a bug"):
        send(hook.url, BODY, session=session, sleep=sleeps)
    assert Broken.calls == 1
    assert sleeps.waits == []
