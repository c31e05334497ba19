"""env.diff shows what a promotion changes without showing a secret; env.rotate replaces one
secret in place, atomically, keeps the file's mode and records who did it and when."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from dockyard.core.errors import DockyardError, NotASecretError, UnknownNameError
from dockyard.env import commands as envcommands

from .support import Project


def values(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^([A-Z_]+)=(.*)$", path.read_text(), flags=re.MULTILINE))


@pytest.fixture
def initialised(project: Project) -> Project:
    for profile in ("development", "production"):
        project.run(envcommands.init, profile=profile)
    return project


def test_diff_lists_missing_extra_and_different_keys_and_hides_secrets(
    initialised: Project,
) -> None:
    code, output = initialised.run(envcommands.diff, a="development", b="production")
    assert code == 0
    assert output.splitlines() == [
        "env/.env.development (development) -> env/.env.production (production)",
        "only in production (2)",
        "  DEPLOY_READY_TIMEOUT: '90s'",
        "  NOTIFY_WEBHOOK_URL: ''",
        "differ (8)",
        "  APP_ENV: 'development' -> 'production'",
        "  LOG_LEVEL: 'debug' -> 'info'",
        "  WEB_CONCURRENCY: '1' -> '2'",
        "  POSTGRES_PASSWORD: differs (secret)",
        "  DATABASE_URL: differs (secret)",
        "  REDIS_PASSWORD: differs (secret)",
        "  REDIS_URL: differs (secret)",
        "  SECRET_KEY: differs (secret)",
        "same (4)",
        "  APP_PORT: '8000'",
        "  POSTGRES_DB: 'tugboat'",
        "  POSTGRES_USER: 'tugboat'",
        "  SHUTDOWN_GRACE: '30s'",
    ]


def test_diff_as_json_says_same_or_differs_for_secrets_and_nothing_more(
    initialised: Project,
) -> None:
    dev = initialised.env("development")
    dev.write_text(dev.read_text() + "EXTRA_TOKEN=abc\n")
    prod = values(initialised.env("production"))
    dev.write_text(dev.read_text().replace(values(dev)["SECRET_KEY"], prod["SECRET_KEY"]))
    code, output = initialised.run(envcommands.diff, as_json=True, a="development", b="production")
    assert code == 0
    report = json.loads(output)
    keys = {entry["key"]: entry for entry in report["keys"]}
    assert keys["SECRET_KEY"] == {
        "key": "SECRET_KEY",
        "change": "same",
        "secret": True,
        "a": None,
        "b": None,
    }
    assert keys["EXTRA_TOKEN"] == {
        "key": "EXTRA_TOKEN",
        "change": "only_in_a",
        "secret": True,
        "a": None,
        "b": None,
    }
    assert keys["APP_ENV"]["a"] == "'development'"
    assert report["summary"] == {"only_in_a": 1, "only_in_b": 2, "differs": 7, "same": 5}
    for secret in (*prod.values(), "abc"):
        if len(secret) > 20:
            assert secret not in output


def test_diff_refuses_files_with_unreadable_lines(initialised: Project) -> None:
    initialised.write("production", "APP_ENV: production\n")
    with pytest.raises(DockyardError) as raised:
        initialised.run(envcommands.diff, a="development", b="production")
    assert str(raised.value) == (
        "env/.env.production: cannot be compared until these lines are fixed:\n"
        "  env/.env.production:1:1: 'APP_ENV: ...' is YAML, not an env file line: "
        "write APP_ENV=value\n"
        "    > APP_ENV: production\n"
        "  fix: `invoke env.check --profile production` lists every problem"
    )


def test_rotate_replaces_one_secret_and_nothing_else(initialised: Project) -> None:
    path = initialised.env("production")
    path.chmod(0o640)
    before = path.read_text().splitlines(keepends=True)
    old = values(path)["POSTGRES_PASSWORD"]
    code, output = initialised.run(
        envcommands.rotate, key="POSTGRES_PASSWORD", profile="production"
    )
    assert code == 0
    after = path.read_text().splitlines(keepends=True)
    changed = [i for i, (x, y) in enumerate(zip(before, after, strict=True)) if x != y]
    assert len(changed) == 1
    new = values(path)["POSTGRES_PASSWORD"]
    assert new != old
    assert len(new) >= 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert output.splitlines() == [
        "rotated POSTGRES_PASSWORD in env/.env.production (DATABASE_URL refers to it and "
        "changes with it)",
        "recorded in env/.rotations.log, without the value",
        "the running stack keeps the old value until the next deploy applies the new one",
    ]
    assert initialised.run(envcommands.check, profile="production")[0] == 0


def test_the_rotation_log_records_who_and_when_but_no_value(initialised: Project) -> None:
    initialised.run(envcommands.rotate, key="SECRET_KEY", profile="production")
    initialised.environ.pop("USER")
    initialised.environ["LOGNAME"] = "deployer"
    initialised.run(envcommands.rotate, key="SECRET_KEY", profile="production")
    log = initialised.root / "env" / ".rotations.log"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["key"], r["profile"], r["who"], r["file"]) for r in records] == [
        ("SECRET_KEY", "production", "tester", "env/.env.production"),
        ("SECRET_KEY", "production", "deployer", "env/.env.production"),
    ]
    assert all(set(r) == {"key", "profile", "file", "when", "who"} for r in records)
    assert all(r["when"].endswith("+00:00") for r in records)
    assert values(initialised.env("production"))["SECRET_KEY"] not in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_rotate_keeps_export_and_crlf(project: Project) -> None:
    path = project.write("testing", "export SECRET_KEY=old-value\r\nAPP_ENV=testing\r\n")
    project.run(envcommands.rotate, key="SECRET_KEY", profile="testing")
    lines = path.read_bytes().split(b"\r\n")
    assert lines[0].startswith(b"export SECRET_KEY=")
    assert lines[0] != b"export SECRET_KEY=old-value"
    assert lines[1:] == [b"APP_ENV=testing", b""]


def test_rotate_refuses_what_is_not_a_secret(initialised: Project) -> None:
    with pytest.raises(NotASecretError) as raised:
        initialised.run(envcommands.rotate, key="APP_PORT", profile="production")
    assert str(raised.value) == (
        "APP_PORT is a port, not a secret, in env/schema.toml: only secrets are rotated\n"
        "  fix: edit APP_PORT in the env file by hand; the secrets are: POSTGRES_PASSWORD, "
        "REDIS_PASSWORD, SECRET_KEY"
    )
    assert raised.value.exit_code == 2
    with pytest.raises(UnknownNameError) as unknown:
        initialised.run(envcommands.rotate, key="SECRET_KY", profile="production")
    assert str(unknown.value) == (
        "SECRET_KY: no such variable in env/schema.toml (did you mean SECRET_KEY?)\n"
        "  fix: the secrets that can be rotated: POSTGRES_PASSWORD, REDIS_PASSWORD, SECRET_KEY"
    )
    assert not (initialised.root / "env" / ".rotations.log").exists()


def test_rotate_of_a_secret_the_file_lacks_says_to_init(project: Project) -> None:
    project.write("testing", "APP_ENV=testing\n")
    with pytest.raises(DockyardError) as raised:
        project.run(envcommands.rotate, key="SECRET_KEY", profile="testing")
    assert str(raised.value) == (
        "env/.env.testing: SECRET_KEY is not set, so there is nothing to rotate\n"
        "  fix: run `invoke env.init --profile testing` to add it with a generated value"
    )


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(
    initialised: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk cannot be made on demand, so the rename fails by hand here."""
    path = initialised.env("production")
    before = path.read_bytes()

    def full_disk(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", full_disk)
    with pytest.raises(DockyardError) as raised:
        initialised.run(envcommands.rotate, key="SECRET_KEY", profile="production")
    assert str(raised.value) == (
        "env/.env.production: cannot write: No space left on device; the file is unchanged"
    )
    assert path.read_bytes() == before
    assert sorted(
        p.name for p in path.parent.iterdir() if p.name.startswith(".env.production")
    ) == [
        ".env.production",
        ".env.production.example",
    ]
    assert not (initialised.root / "env" / ".rotations.log").exists()
