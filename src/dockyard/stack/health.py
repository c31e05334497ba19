"""Readiness over HTTP and the smoke test: what a user of the service would see, not just what
the container engine thinks of it."""

from __future__ import annotations

import json
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from dockyard.core.config import SmokeRequest
from dockyard.core.errors import DockyardError

POLL_SECONDS = 0.1


class NotReadyError(DockyardError):
    """The service did not answer its readiness check in time."""


class SmokeTestError(DockyardError):
    """A smoke-test request got an answer other than the one expected."""


@dataclass(frozen=True)
class SmokeResult:
    method: str
    path: str
    status: int
    seconds: float


def wait_ready(url: str, timeout: float, *, session: requests.Session | None = None) -> float:
    """Poll `url` until it answers 200; return the seconds it took. Bounded by a monotonic
    deadline; each probe has a short timeout so a hung server cannot stall the wait."""
    http = session or requests.Session()
    started = time.monotonic()
    deadline = started + timeout
    last = "no answer yet"
    while True:
        try:
            answer = http.get(url, timeout=min(1.0, max(0.1, deadline - time.monotonic())))
            if answer.status_code == 200:
                return time.monotonic() - started
            last = f"HTTP {answer.status_code}: {answer.text.strip()[:300]}"
        except requests.RequestException as error:
            last = type(error).__name__
        if time.monotonic() >= deadline:
            raise NotReadyError(
                f"{url} was not ready after {timeout:.0f} s (last answer: {last})",
                hint="`invoke stack.health` shows each service; `invoke stack.logs` their logs",
            )
        time.sleep(POLL_SECONDS)


def ready_answers(url: str, timeout: float = 1.0) -> bool:
    """One readiness probe: True when `url` answers 200 right now."""
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def smoke_test(
    base_url: str, requests_to_make: list[SmokeRequest], *, timeout: float = 10.0
) -> list[SmokeResult]:
    """Make each request in order and check its status. A path may use fields of the previous
    JSON answer, e.g. `/api/items/{id}` after a POST that answered `{"id": 7}`."""
    results = []
    previous: Mapping[str, Any] = {}
    with requests.Session() as http:
        for step in requests_to_make:
            path = _fill(step.path, previous)
            started = time.monotonic()
            try:
                answer = http.request(
                    step.method, base_url + path, json=step.json or None, timeout=timeout
                )
            except requests.RequestException as error:
                raise SmokeTestError(f"{step.method} {path}: no answer ({error})") from None
            if answer.status_code != step.expect:
                raise SmokeTestError(
                    f"{step.method} {path}: expected HTTP {step.expect}, "
                    f"got {answer.status_code}: {answer.text.strip()[:300]}"
                )
            results.append(
                SmokeResult(step.method, path, answer.status_code, time.monotonic() - started)
            )
            previous = _json_object(answer)
    return results


def _fill(path: str, previous: Mapping[str, Any]) -> str:
    fields = [name for _, name, _, _ in string.Formatter().parse(path) if name]
    missing = [name for name in fields if name not in previous]
    if missing:
        raise SmokeTestError(
            f"smoke path {path!r} needs {', '.join(missing)} from the previous answer, "
            "which did not have it",
            hint="check [tool.dockyard.smoke] in pyproject.toml",
        )
    return path.format(**previous)


def _json_object(answer: requests.Response) -> Mapping[str, Any]:
    try:
        body = answer.json()
    except json.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def closed_unanswered(error: BaseException) -> bool:
    """A keep-alive connection the server closed as the request went out (RFC 9112 9.3.1):
    nothing was processed, and clients such as browsers, curl and Go retry it once."""
    import http.client

    pending: list[object] = [error]
    while pending:
        item = pending.pop()
        if isinstance(item, http.client.RemoteDisconnected):
            return True
        if isinstance(item, BaseException):
            pending.extend(item.args)
    return False
