"""The service's settings: read from the environment once, validated, then passed around.

Names and formats follow `env/schema.toml`, the one description of every variable the
stack uses. Every problem is reported at once, each naming its variable, and a value that
may carry a secret (a URL with a password) is never repeated in a message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

ENVIRONMENTS = ("development", "testing", "production")
LOG_LEVELS = ("debug", "info", "warning", "error")
_DURATION = re.compile(r"^([0-9]+)(ms|s|m|h)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class SettingsError(Exception):
    """The environment does not describe a service that can start; `problems` lists each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid settings ({len(problems)} problems):\n{listed}")


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    database_url: str = field(repr=False)
    redis_url: str = field(repr=False)
    app_env: str = "production"
    log_level: str = "info"
    app_port: int = 8000
    web_concurrency: int = 2
    shutdown_grace: float = 30.0
    app_version: str = "unknown"
    git_sha: str = "unknown"

    @property
    def testing(self) -> bool:
        return self.app_env == "testing"

    @property
    def safe_database_url(self) -> str:
        return redact_url(self.database_url)

    @property
    def safe_redis_url(self) -> str:
        return redact_url(self.redis_url)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build the settings from `environ`; raise SettingsError naming every bad variable."""
    problems: list[str] = []
    reader = _Reader(environ, problems)
    settings = Settings(
        database_url=reader.url("DATABASE_URL", ("postgresql", "postgres")),
        redis_url=reader.url("REDIS_URL", ("redis", "rediss")),
        app_env=reader.choice("APP_ENV", ENVIRONMENTS, default="production"),
        log_level=reader.choice("LOG_LEVEL", LOG_LEVELS, default="info"),
        app_port=reader.integer("APP_PORT", default=8000, low=1, high=65535),
        web_concurrency=reader.integer("WEB_CONCURRENCY", default=2, low=1, high=64),
        shutdown_grace=reader.duration("SHUTDOWN_GRACE", default="30s"),
        app_version=reader.text("APP_VERSION", default="unknown"),
        git_sha=reader.text("GIT_SHA", default="unknown"),
    )
    if problems:
        raise SettingsError(problems)
    return settings


def parse_duration(text: str) -> float:
    """Seconds in a duration like 500ms, 30s, 5m or 1h (the schema's `duration` type)."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"expected a duration like 500ms, 30s, 5m or 1h, got {text!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def redact_url(url: str) -> str:
    """`url` with any password replaced by `***`, safe for logs and error messages."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable URL>"
    if password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    netloc = f"{user}:***@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class _Reader:
    """Reads one variable at a time, recording what is wrong instead of raising."""

    def __init__(self, environ: Mapping[str, str], problems: list[str]) -> None:
        self.environ = environ
        self.problems = problems

    def _get(self, name: str) -> str | None:
        value = self.environ.get(name)
        return value if value is not None and value.strip() != "" else None

    def text(self, name: str, *, default: str) -> str:
        return self._get(name) or default

    def url(self, name: str, schemes: tuple[str, ...]) -> str:
        value = self._get(name)
        if value is None:
            self.problems.append(f"{name}: required but not set")
            return ""
        try:
            parts = urlsplit(value)
            _ = parts.port
        except ValueError:
            self.problems.append(f"{name}: not a valid URL (expected {schemes[0]}://HOST/...)")
            return ""
        if parts.scheme not in schemes:
            self.problems.append(
                f"{name}: expected a URL with scheme {' or '.join(schemes)}, "
                f"got scheme {parts.scheme or 'none'!r}"
            )
        elif not parts.hostname:
            self.problems.append(f"{name}: the URL names no host")
        return value

    def choice(self, name: str, choices: tuple[str, ...], *, default: str) -> str:
        value = self._get(name)
        if value is None:
            return default
        if value.lower() not in choices:
            self.problems.append(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
            return default
        return value.lower()

    def integer(self, name: str, *, default: int, low: int, high: int) -> int:
        value = self._get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            self.problems.append(f"{name}: expected a whole number, got {value!r}")
            return default
        if not low <= number <= high:
            self.problems.append(f"{name}: expected {low}-{high}, got {number}")
            return default
        return number

    def duration(self, name: str, *, default: str) -> float:
        value = self._get(name) or default
        try:
            return parse_duration(value)
        except ValueError as error:
            self.problems.append(f"{name}: {error}")
            return parse_duration(default)
