"""The service's settings: read once from the environment, every problem named at once."""

from __future__ import annotations

import secrets
import tomllib
from collections.abc import Iterator, Mapping

import pytest

from tugboat.settings import (
    Settings,
    SettingsError,
    load_settings,
    parse_duration,
    redact_url,
)

from .support import REPO

DB_LOGIN = f"pg-{secrets.token_hex(6)}"
CACHE_LOGIN = f"redis-{secrets.token_hex(6)}"
VALID = {
    "DATABASE_URL": f"postgresql://tugboat:{DB_LOGIN}@postgres:5432/tugboat",
    "REDIS_URL": f"redis://:{CACHE_LOGIN}@redis:6379/0",
}


class Recording(Mapping[str, str]):
    """An environment that remembers which variables were asked for."""

    def __init__(self, data: dict[str, str]) -> None:
        self.data = data
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def test_only_the_connection_urls_are_required() -> None:
    settings = load_settings(VALID)
    assert settings == Settings(
        database_url=VALID["DATABASE_URL"],
        redis_url=VALID["REDIS_URL"],
        app_env="production",
        log_level="info",
        app_port=8000,
        web_concurrency=2,
        shutdown_grace=30.0,
        app_version="unknown",
        git_sha="unknown",
    )


def test_every_value_is_read_and_converted() -> None:
    settings = load_settings(
        {
            **VALID,
            "APP_ENV": "testing",
            "LOG_LEVEL": "DEBUG",
            "APP_PORT": "9000",
            "WEB_CONCURRENCY": "4",
            "SHUTDOWN_GRACE": "1500ms",
            "APP_VERSION": "1.2.3",
            "GIT_SHA": "abc123",
        }
    )
    assert (settings.app_env, settings.log_level, settings.app_port) == ("testing", "debug", 9000)
    assert (settings.web_concurrency, settings.shutdown_grace) == (4, 1.5)
    assert (settings.app_version, settings.git_sha) == ("1.2.3", "abc123")
    assert settings.testing


def test_every_problem_is_reported_at_once_naming_its_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {
                "REDIS_URL": f"http://:{CACHE_LOGIN}@redis:6379/0",
                "APP_ENV": "prod",
                "LOG_LEVEL": "verbose",
                "APP_PORT": "eighty",
                "WEB_CONCURRENCY": "0",
                "SHUTDOWN_GRACE": "20 seconds",
            }
        )
    assert caught.value.problems == [
        "DATABASE_URL: required but not set",
        "REDIS_URL: expected a URL with scheme redis or rediss, got scheme 'http'",
        "APP_ENV: expected one of development, testing, production, got 'prod'",
        "LOG_LEVEL: expected one of debug, info, warning, error, got 'verbose'",
        "APP_PORT: expected a whole number, got 'eighty'",
        "WEB_CONCURRENCY: expected 1-64, got 0",
        "SHUTDOWN_GRACE: expected a duration like 500ms, 30s, 5m or 1h, got '20 seconds'",
    ]
    assert str(caught.value).startswith("invalid settings (7 problems):\n  - DATABASE_URL")


def test_a_bad_url_is_named_without_repeating_its_password() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**VALID, "DATABASE_URL": f"mysql://tugboat:{DB_LOGIN}@db/x"})
    assert caught.value.problems == [
        "DATABASE_URL: expected a URL with scheme postgresql or postgres, got scheme 'mysql'"
    ]
    with pytest.raises(SettingsError) as caught:
        load_settings({**VALID, "REDIS_URL": f"redis://:{CACHE_LOGIN}@redis:port/0"})
    assert CACHE_LOGIN not in str(caught.value)
    assert caught.value.problems[0].startswith("REDIS_URL: not a valid URL")


def test_the_settings_never_show_their_urls_in_repr() -> None:
    text = repr(load_settings(VALID))
    assert DB_LOGIN not in text
    assert CACHE_LOGIN not in text


@pytest.mark.parametrize(
    ("text", "seconds"), [("500ms", 0.5), ("20s", 20.0), ("5m", 300.0), ("1h", 3600.0)]
)
def test_durations_follow_the_env_schema(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_redacted_urls_keep_everything_but_the_password() -> None:
    login = f"p%40{secrets.token_hex(3)}"
    assert redact_url(f"postgresql://u:{login}@db:5432/x?sslmode=require") == (
        "postgresql://u:***@db:5432/x?sslmode=require"
    )
    assert redact_url(f"redis://:{login}@redis:6379/0") == "redis://:***@redis:6379/0"
    assert redact_url("redis://redis:6379/0") == "redis://redis:6379/0"


def test_the_service_reads_only_variables_the_env_schema_describes() -> None:
    """env/schema.toml is the one list of variables; the two the image bakes in are the rest."""
    schema = tomllib.loads((REPO / "env/schema.toml").read_text(encoding="utf-8"))["variables"]
    environ = Recording(dict(VALID))
    load_settings(environ)
    baked_into_the_image = {"APP_VERSION", "GIT_SHA"}
    assert environ.asked - baked_into_the_image <= set(schema)
    assert tuple(schema["LOG_LEVEL"]["choices"]) == ("debug", "info", "warning", "error")
    assert tuple(schema["APP_ENV"]["choices"]) == ("development", "testing", "production")
    assert schema["DATABASE_URL"]["schemes"] == ["postgresql"]
    assert schema["SHUTDOWN_GRACE"]["type"] == "duration"
