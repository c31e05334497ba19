"""Structured logs: one JSON object per line, and no secret in any of them."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator

import pytest

from tugboat.jsonlog import JsonFormatter, url_secrets

from .support import captured_logs

# Made per run, so no credential-like literal sits in the tree for the secret scan to flag.
DB_LOGIN = f"pg-{secrets.token_hex(6)}/with+chars"
CACHE_LOGIN = f"redis-{secrets.token_hex(6)}"
TOKEN = f"ghp_{secrets.token_hex(8)}"
ENVIRON = {
    "DATABASE_URL": f"postgresql://tugboat:{DB_LOGIN.replace('/', '%2F')}@postgres:5432/tugboat",
    "REDIS_URL": f"redis://:{CACHE_LOGIN}@redis:6379/0",
    "LOG_LEVEL": "info",
}


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    with captured_logs(ENVIRON) as output:
        yield output


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_is_one_json_line_with_its_extra_fields(stream: io.StringIO) -> None:
    logging.getLogger("tugboat.access").info(
        "GET /api/shipments 200",
        extra={"method": "GET", "path": "/api/shipments", "status": 200, "duration_ms": 1.5},
    )
    (entry,) = lines(stream)
    assert entry["level"] == "info"
    assert entry["logger"] == "tugboat.access"
    assert entry["message"] == "GET /api/shipments 200"
    assert (entry["method"], entry["path"], entry["status"], entry["duration_ms"]) == (
        "GET", "/api/shipments", 200, 1.5
    )  # fmt: skip
    assert str(entry["ts"]).endswith("+00:00")


def test_records_below_the_level_are_dropped(stream: io.StringIO) -> None:
    logging.getLogger("tugboat").debug("not shown")
    assert stream.getvalue() == ""


def unreachable(url: str) -> None:
    raise ConnectionError(f"cannot reach {url}")


def test_passwords_never_reach_the_log_whatever_carries_them(stream: io.StringIO) -> None:
    log = logging.getLogger("tugboat.test")
    log.warning("connecting to %s", ENVIRON["DATABASE_URL"])
    log.warning("the password is %s", DB_LOGIN)
    log.warning("redis said", extra={"reason": f"auth failed for {CACHE_LOGIN}"})
    try:
        unreachable(ENVIRON["REDIS_URL"])
    except ConnectionError:
        log.exception("failed")
    log.warning("some url", extra={"url": f"https://deploy:{TOKEN}@example.com/x"})
    text = stream.getvalue()
    assert len(lines(stream)) == 5  # the traceback stays inside its line
    for secret in (
        DB_LOGIN,
        DB_LOGIN.replace("/", "%2F"),
        CACHE_LOGIN,
        TOKEN,
    ):
        assert secret not in text
    assert "postgresql://tugboat:***@postgres:5432/tugboat" in text
    assert "https://deploy:***@example.com/x" in text


def test_the_secrets_come_from_the_connection_urls() -> None:
    found = url_secrets(ENVIRON["DATABASE_URL"], ENVIRON["REDIS_URL"], "redis://redis:6379/0")
    assert set(found) == {DB_LOGIN, DB_LOGIN.replace("/", "%2F"), CACHE_LOGIN}
    formatter = JsonFormatter(found)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (CACHE_LOGIN,), None)
    assert json.loads(formatter.format(record))["message"] == "***"
