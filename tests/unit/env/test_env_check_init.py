"""env.init writes complete, private files with strong secrets; env.check passes them and catches
weak production secrets, unknown profiles and files that are gone."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Callable

import pytest

from dockyard.core.errors import MissingFileError, UnknownNameError
from dockyard.env import commands as envcommands
from dockyard.env.commands import ensure_profile

from .support import PROFILES, Project

SECRETS = ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "SECRET_KEY")


def values(text: str) -> dict[str, str]:
    return dict(re.findall(r"^([A-Z_]+)=(.*)$", text, flags=re.MULTILINE))


@pytest.mark.parametrize("profile", PROFILES)
def test_init_then_check_passes_from_templates_only(project: Project, profile: str) -> None:
    """From an env/ holding only the schema and the examples, every profile comes out valid."""
    assert not project.env(profile).exists()
    code, output = project.run(envcommands.init, profile=profile)
    assert code == 0
    assert output.startswith(f"env/.env.{profile}: created with APP_ENV, LOG_LEVEL, ")
    assert project.run(envcommands.check, profile=profile) == (
        0,
        f"ok    env/.env.{profile} ({len(values(project.env(profile).read_text()))} variables)\n",
    )


def test_a_new_env_file_is_private_and_its_secrets_strong_and_distinct(project: Project) -> None:
    project.run(envcommands.init, profile="production")
    path = project.env("production")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = values(path.read_text())
    generated = [written[name] for name in SECRETS]
    assert len(set(generated)) == 3
    assert all(
        len(secret) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", secret) for secret in generated
    )
    assert written["APP_ENV"] == "production"


def test_init_is_idempotent(project: Project) -> None:
    project.run(envcommands.init, profile="development")
    before = project.env("development").read_bytes()
    code, output = project.run(envcommands.init, profile="development")
    assert (code, output) == (0, "env/.env.development: unchanged\n")
    assert project.env("development").read_bytes() == before
    assert ensure_profile(project.config, "development") == []


def test_init_adds_only_what_is_missing_and_keeps_every_value_and_the_mode(
    project: Project,
) -> None:
    """Existing lines, even odd ones, stay byte for byte; new keys are appended."""
    own = "my-own-key-kept-as-it-is-0123456789"
    existing = f"# mine\r\nSECRET_KEY={own}\r\nAPP_PORT=9000"
    path = project.write("development", existing)
    path.chmod(0o640)
    added = ensure_profile(project.config, "development")
    assert "SECRET_KEY" not in added
    assert "APP_PORT" not in added
    assert added[0] == "APP_ENV"
    text = path.read_bytes().decode()
    assert text.startswith(existing + "\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert values(text.replace("\r", ""))["SECRET_KEY"] == own
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_check_reports_weak_production_secrets_without_showing_them(project: Project) -> None:
    project.run(envcommands.init, profile="production")
    path = project.env("production")
    text = path.read_text()
    current = values(text)
    text = text.replace(current["POSTGRES_PASSWORD"], "change-me")
    text = text.replace(current["REDIS_PASSWORD"], "Password123!")
    text = text.replace(current["SECRET_KEY"], "short-but-random-7Q")
    path.write_text(text + "EXTRA_PASSWORD=" + current["SECRET_KEY"] + "\n")
    code, output = project.run(envcommands.check, as_json=True, profile="production")
    assert code == 1
    problems = json.loads(output)["files"][0]["problems"]
    assert [(p["key"], p["message"], p["text"]) for p in problems] == [
        (
            "POSTGRES_PASSWORD",
            "POSTGRES_PASSWORD is still the example's placeholder, which the production profile "
            "does not accept: run `invoke env.rotate POSTGRES_PASSWORD --profile production`",
            "POSTGRES_PASSWORD=****",
        ),
        (
            "REDIS_PASSWORD",
            "REDIS_PASSWORD is a common word or pattern, which the production profile does not "
            "accept: run `invoke env.rotate REDIS_PASSWORD --profile production`",
            "REDIS_PASSWORD=****",
        ),
        (
            "SECRET_KEY",
            "SECRET_KEY is too short (19 characters; at least 32), which the production profile "
            "does not accept: run `invoke env.rotate SECRET_KEY --profile production`",
            "SECRET_KEY=****",
        ),
        (
            "EXTRA_PASSWORD",
            "unknown key EXTRA_PASSWORD: env/schema.toml does not describe it; remove it, "
            "or add it to the schema",
            "EXTRA_PASSWORD=****",
        ),
    ]
    for secret in ("change-me", "Password123!", "short-but-random-7Q", current["SECRET_KEY"]):
        assert secret not in output


def test_development_accepts_what_production_refuses(project: Project) -> None:
    """The example's placeholders are fine on a laptop: only strict profiles judge strength."""
    example = (project.root / "env" / ".env.development.example").read_text()
    project.write("development", example)
    assert project.run(envcommands.check, profile="development")[0] == 0
    project.write("production", (project.root / "env" / ".env.production.example").read_text())
    code, output = project.run(envcommands.check, profile="production")
    assert code == 1
    assert output.count("is still the example's placeholder") == 3


def test_reused_production_secrets_are_reported(project: Project) -> None:
    project.run(envcommands.init, profile="production")
    path = project.env("production")
    current = values(path.read_text())
    path.write_text(
        path.read_text().replace(current["REDIS_PASSWORD"], current["POSTGRES_PASSWORD"])
    )
    code, output = project.run(envcommands.check, profile="production")
    assert code == 1
    assert (
        "REDIS_PASSWORD has the same value as POSTGRES_PASSWORD: give each secret its own" in output
    )


def test_check_without_a_profile_checks_every_file_there_is(project: Project) -> None:
    project.run(envcommands.init, profile="development")
    project.write("testing", "APP_ENV=testing\nAPP_PORT=http\n")
    code, output = project.run(envcommands.check)
    assert code == 1
    lines = output.splitlines()
    assert lines[0].startswith("ok    env/.env.development (")
    assert lines[1] == "fail  env/.env.testing: 2 problems"
    assert "  env/.env.testing:2: APP_PORT: expected a port number 1-65535, got 'http'" in lines
    assert lines[-1] == "env.check: 2 problems; the file names and lines are above"


def test_check_with_no_env_file_at_all_says_how_to_make_one(project: Project) -> None:
    with pytest.raises(MissingFileError) as raised:
        project.run(envcommands.check)
    assert str(raised.value) == (
        "env: no env file to check (.env.<profile>)\n"
        "  fix: run `invoke env.init --profile development`"
    )


@pytest.mark.parametrize("command", [envcommands.check, envcommands.init])
def test_an_unknown_profile_lists_the_known_ones(
    project: Project, command: Callable[..., int]
) -> None:
    with pytest.raises(UnknownNameError) as raised:
        project.run(command, profile="staging")
    assert str(raised.value) == (
        "unknown env profile 'staging'\n"
        "  fix: use one of: development, testing, production ([tool.dockyard] profiles)"
    )
    assert raised.value.exit_code == 5
    assert not project.env("staging").exists()
