"""Posting a JSON message to a webhook: bounded in time, retried, and never showing the secret.

A notification is a courtesy, never a gate: a webhook that refuses, fails or hangs is
reported through `log` and in the returned `Delivery`, and `send` returns within its time
budget whatever the receiver does. Connection failures, timeouts, 429 and 5xx are retried
with exponential backoff, or after what the receiver's `Retry-After` asks. The webhook URL
is a secret (Slack puts a token in its path), so messages only ever show its scheme, host
and port.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_exponential

NOT_CONFIGURED = "no webhook configured"
HIDDEN_URL = "(URL hidden)"
# How much longer than its budget `send` may take: the time to notice an attempt overran.
SLACK_SECONDS = 0.2
# An attempt is only worth starting with at least this much of the budget left.
_MIN_ATTEMPT_SECONDS = 0.1


@dataclass(frozen=True)
class Delivery:
    """How posting a notification went; `error` is safe to print (the URL's secret is not in it)."""

    delivered: bool
    attempts: int
    seconds: float
    error: str | None
    status: int | None  # the last HTTP status received, None when there was no answer


def validate_url(url: str) -> str | None:
    """None when `url` can receive notifications (or is empty: no webhook), else what is wrong,
    worded to follow the variable's name: "NOTIFY_WEBHOOK_URL is not an http(s) URL: ...".
    The message never repeats the URL, which is a secret."""
    if not url:
        return None
    if any(character.isspace() or ord(character) < 32 for character in url):
        return "not an http(s) URL: it contains spaces or control characters"
    try:
        parts = urlsplit(url)
        has_host = bool(parts.hostname)
        _ = parts.port
    except ValueError:
        return "not an http(s) URL: its host or port cannot be parsed"
    if parts.scheme not in ("http", "https"):
        return "not an http(s) URL: it must start with https:// or http://"
    if not has_host:
        return "not an http(s) URL: it has no host"
    return None


def redact(url: str) -> str:
    """`url` reduced to what may be printed: scheme://host[:port], without user, path or query."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return HIDDEN_URL
    if not parts.scheme or not host:
        return HIDDEN_URL
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}" + ("" if port is None else f":{port}")


def send(
    url: str,
    body: Mapping[str, object],
    *,
    timeout: float = 3.0,
    attempts: int = 3,
    backoff: float = 0.5,
    budget: float = 10.0,
    session: requests.Session | None = None,
    log: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST `body` as JSON to `url`, retrying connection failures, timeouts, 429 and 5xx.

    Never raises for a network or HTTP problem and returns within `budget` seconds (plus
    SLACK_SECONDS), even when the receiver accepts the connection and never answers, or DNS
    hangs. Retries wait `backoff`, then twice that, and so on, or what the receiver's
    `Retry-After` asks, but never past the budget. `log` gets one line per failed attempt and
    a final line when the notification was not delivered.
    """
    if attempts < 1 or timeout <= 0 or budget <= 0 or backoff < 0:
        raise ValueError(f"send: invalid limits {attempts=} {timeout=} {budget=} {backoff=}")
    started = time.monotonic()
    if not url:
        return Delivery(delivered=False, attempts=0, seconds=0.0, error=NOT_CONFIGURED, status=None)
    say = log or _quiet
    problem = validate_url(url)
    if problem is not None:
        error = f"the webhook URL is {problem}"
        say(f"notification not delivered: {error}")
        return Delivery(False, 0, time.monotonic() - started, error, None)
    data = json.dumps(body).encode("utf-8")
    http = session or requests.Session()
    try:
        post = _poster(http, url, data)
        limits = _Limits(timeout, attempts, backoff, budget)
        return _deliver(post, limits, _Reporter(url, say), sleep, started)
    finally:
        if session is None:
            http.close()


@dataclass(frozen=True)
class _Limits:
    timeout: float
    attempts: int
    backoff: float
    budget: float


@dataclass(frozen=True)
class _Answer:
    """The outcome of one attempt. `problem` is None when the receiver took the message."""

    problem: str | None
    status: int | None = None
    retry: bool = False
    retry_after: float | None = None


@dataclass(frozen=True)
class _Reporter:
    """Words attempts for the log without ever showing the secret parts of the URL."""

    url: str
    say: Callable[[str], None]

    def problem(self, answer: _Answer) -> str:
        return _scrub(str(answer.problem), self.url)

    def attempt(self, number: int, limits: _Limits, answer: _Answer, wait: float | None) -> None:
        then = "" if wait is None else f"; retrying in {wait:.1f}s"
        self.say(f"attempt {number}/{limits.attempts}: {self.problem(answer)}{then}")

    def gave_up(self, number: int, answer: _Answer, why: str) -> str:
        error = self.problem(answer)
        plural = "" if number == 1 else "s"
        ending = f"; {why}" if why else ""
        self.say(f"notification not delivered after {number} attempt{plural}: {error}{ending}")
        return error


def _deliver(
    post: Callable[[float], _Answer],
    limits: _Limits,
    report: _Reporter,
    sleep: Callable[[float], None],
    started: float,
) -> Delivery:
    """Attempt until delivered, or until an answer is final, the attempts are spent or the next
    wait would not leave time for an attempt within the budget."""
    deadline = started + limits.budget
    budget = _Budget(deadline)
    made = 0

    def attempt() -> _Answer:
        nonlocal made
        made += 1
        seconds = max(min(limits.timeout, deadline - time.monotonic()), _MIN_ATTEMPT_SECONDS)
        return _attempt(post, seconds, deadline, redact(report.url))

    retrying = Retrying(
        retry=retry_if_result(lambda answer: answer.retry),
        wait=_RetryAfter(wait_exponential(multiplier=limits.backoff, exp_base=2)),
        stop=stop_after_attempt(limits.attempts) | budget,
        before_sleep=lambda state: report.attempt(
            state.attempt_number, limits, _answer(state), state.upcoming_sleep
        ),
        retry_error_callback=_answer,
        sleep=sleep,
    )
    answer = retrying(attempt)
    if answer.problem is None:
        return Delivery(True, made, time.monotonic() - started, None, answer.status)
    report.attempt(made, limits, answer, None)
    error = report.gave_up(made, answer, budget.why)
    return Delivery(False, made, time.monotonic() - started, error, answer.status)


def _answer(state: RetryCallState) -> _Answer:
    """The answer of the attempt just made: an attempt reports its problem, it does not raise."""
    if state.outcome is None:
        raise RuntimeError("no attempt has been made yet")
    answer: _Answer = state.outcome.result()
    return answer


class _RetryAfter(wait_base):
    """Waits what the receiver's Retry-After asks, else what `otherwise` (the backoff) says."""

    def __init__(self, otherwise: wait_base) -> None:
        self.otherwise = otherwise

    def __call__(self, retry_state: RetryCallState) -> float:
        asked = _answer(retry_state).retry_after
        return self.otherwise(retry_state) if asked is None else asked


class _Budget(stop_base):
    """Stops when the coming wait and one useful attempt no longer fit before the deadline;
    `why` then says so, for the log."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.why = ""

    def __call__(self, retry_state: RetryCallState) -> bool:
        wait = retry_state.upcoming_sleep
        left = self.deadline - time.monotonic()
        if wait + _MIN_ATTEMPT_SECONDS <= left:
            return False
        asked = (
            "the receiver asked to wait"
            if _answer(retry_state).retry_after is not None
            else "a retry waits"
        )
        self.why = f"{asked} {wait:.1f}s, and {max(left, 0.0):.1f}s of the budget is left"
        return True


def _attempt(
    post: Callable[[float], _Answer], seconds: float, deadline: float, where: str
) -> _Answer:
    """Run one POST in a worker thread and wait for it no later than the deadline: request
    timeouts bound each read, not name resolution nor a receiver that trickles its answer."""
    outcome: Future[_Answer] = Future()

    def run() -> None:
        try:
            outcome.set_result(post(seconds))
        except Exception as error:  # noqa: BLE001 - handed to the waiting thread, which re-raises
            outcome.set_exception(error)

    threading.Thread(target=run, name="dockyard-notify", daemon=True).start()
    try:
        return outcome.result(timeout=max(deadline - time.monotonic(), 0.0) + SLACK_SECONDS)
    except TimeoutError:
        return _Answer(f"no complete answer within the time budget from {where}")


def _poster(http: requests.Session, url: str, data: bytes) -> Callable[[float], _Answer]:
    where = redact(url)

    def post(seconds: float) -> _Answer:
        try:
            with http.post(
                url,
                data=data,
                headers={"Content-Type": "application/json"},
                timeout=(seconds, seconds),
                allow_redirects=False,
                stream=True,
            ) as response:
                return _judge(response, where)
        except requests.RequestException as error:
            return _Answer(_describe(error, seconds, where), retry=True)

    return post


def _judge(response: requests.Response, where: str) -> _Answer:
    """Whether an HTTP answer means delivered, worth retrying, or final."""
    status = response.status_code
    if 200 <= status < 300:
        return _Answer(None, status)
    said = f"{status} {(response.reason or '').strip()[:80]}".strip() + f" from {where}"
    if status == 429 or status >= 500:
        after = _retry_after(response.headers.get("Retry-After"))
        return _Answer(said, status, retry=True, retry_after=after)
    return _Answer(said, status)


def _retry_after(value: str | None) -> float | None:
    """A Retry-After header given in seconds; other forms (an HTTP date) are not honoured."""
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _describe(error: requests.RequestException, seconds: float, where: str) -> str:
    """What went wrong, from the exception's type and the operating system's reason only:
    requests' own messages quote the URL's path, which carries the webhook's token."""
    if isinstance(error, requests.ConnectTimeout):
        return f"could not connect to {where} within {seconds:.1f}s"
    if isinstance(error, requests.Timeout):
        return f"no answer within {seconds:.1f}s from {where}"
    if isinstance(error, requests.exceptions.SSLError):
        return f"TLS handshake with {where} failed"
    if isinstance(error, requests.ConnectionError):
        cause = _os_reason(error) or "connection failed"
        return f"cannot connect to {where}: {cause}"
    return f"request to {where} failed ({type(error).__name__})"


def _os_reason(error: BaseException) -> str | None:
    """The first operating-system reason (e.g. "Connection refused") in an exception's chain."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        pending.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        pending.extend(argument for argument in current.args if isinstance(argument, BaseException))
    return None


def _scrub(text: str, url: str) -> str:
    """`text` without any secret part of `url`, in case a receiver echoes it back."""
    try:
        parts = urlsplit(url)
        secrets = [url, parts.path, parts.query, parts.username, parts.password]
    except ValueError:
        secrets = [url]
    for secret in secrets:
        if secret and len(secret) > 1:
            text = text.replace(secret, "…")
    return text


def _quiet(line: str) -> None:
    """Drops a log line: the caller did not ask for them."""
