"""The schema is the single source: it loads clean, rejects mistakes all at once, and what is
generated from it (examples, docs) is what the repository holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.core.config import Config
from dockyard.core.errors import ConfigError, MissingFileError
from dockyard.env import commands as envcommands
from dockyard.env.gate import shipped_problems
from dockyard.env.render import render_docs, render_example
from dockyard.env.schema import Schema, load_schema, parse_schema
from dockyard.env.store import schema_of

from .support import PROFILES, REPO, Project


@pytest.fixture(scope="module")
def schema(repo_config: Config) -> Schema:
    return schema_of(repo_config)


def test_the_shipped_schema_describes_the_reference_service(schema: Schema) -> None:
    assert schema.secrets() == ["POSTGRES_PASSWORD", "REDIS_PASSWORD", "SECRET_KEY"]
    assert {"APP_ENV", "DATABASE_URL", "REDIS_URL", "APP_PORT"} <= set(schema.variables)
    assert schema.strict_profiles == ("production",)
    assert all(v.description.endswith(".") for v in schema.variables.values())


@pytest.mark.parametrize("profile", PROFILES)
def test_the_committed_examples_are_generated_from_the_schema(schema: Schema, profile: str) -> None:
    """If this fails, run `invoke env.render` and commit the result."""
    committed = (REPO / "env" / f".env.{profile}.example").read_text(encoding="utf-8")
    assert committed == render_example(schema, profile)


def test_the_docs_table_is_generated_from_the_schema(schema: Schema, repo_config: Config) -> None:
    """If this fails, run `invoke env.render` and commit the result."""
    committed = repo_config.path(repo_config.env_docs).read_text(encoding="utf-8")
    assert committed == render_docs(schema)
    for name in schema.variables:
        assert f"| `{name}` |" in committed


def test_examples_hold_only_placeholders_for_secrets(schema: Schema) -> None:
    for profile in PROFILES:
        text = render_example(schema, profile)
        for name in schema.secrets():
            assert f"\n{name}={schema.placeholder}\n" in text


def test_render_writes_only_what_changed(project: Project) -> None:
    (project.root / "env" / ".env.testing.example").write_text("stale\n")
    code, output = project.run(envcommands.render)
    assert code == 0
    assert output.splitlines() == ["wrote env/.env.testing.example", "wrote docs/env-variables.md"]
    assert project.run(envcommands.render)[1] == (
        "examples and docs are up to date with the schema\n"
    )


def test_every_schema_mistake_is_reported_at_once() -> None:
    document = {
        "settings": {"strict_profiles": ["prod"]},
        "variables": {
            "GOOD": {"type": "str", "description": "Fine."},
            "NO_TYPE": {"description": "Missing its type."},
            "BAD-NAME": {"type": "str", "description": "Dash."},
            "TYPO": {"type": "int", "descripton": "Misspelt.", "default": "x"},
            "KEY": {"type": "secret", "description": "Has a default.", "default": "abc"},
            "MODE": {"type": "enum", "description": "No choices."},
            "PORT": {"type": "port", "description": "Bad value.", "values": {"staging": "1"}},
            "WHEN": {"type": "duration", "description": "Both.", "required": True, "default": "1s"},
        },
    }
    with pytest.raises(ConfigError) as raised:
        parse_schema(document, source="env/schema.toml", profiles=PROFILES)
    assert raised.value.problems == [
        "settings.strict_profiles: 'prod' is not a profile "
        "(('development', 'testing', 'production'))",
        "variables.NO_TYPE.type: expected one of str, int, bool, url, port, duration, enum, "
        "secret, got None",
        "variables.BAD-NAME: invalid name; use letters, digits and '_'",
        "variables.TYPO.descripton: unknown field (did you mean 'description'?)",
        "variables.TYPO.description: expected a one-line description",
        "variables.KEY: a secret has no default, value or values; env.init generates it",
        "variables.MODE.choices: an enum needs its list of choices",
        "variables.PORT.values.staging: 'staging' is not a profile",
        "variables.WHEN: a required variable has no default; drop one of them",
    ]
    assert raised.value.exit_code == 2


def test_a_default_of_the_wrong_type_is_caught_in_the_schema() -> None:
    document = {"variables": {"N": {"type": "int", "description": "A number.", "default": "x"}}}
    with pytest.raises(ConfigError) as raised:
        parse_schema(document, source="env/schema.toml", profiles=PROFILES)
    assert raised.value.problems == ["variables.N.default: 'x': expected a whole number"]


def test_a_missing_or_broken_schema_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError) as missing:
        load_schema(tmp_path / "schema.toml", PROFILES, shown_as="env/schema.toml")
    assert str(missing.value) == (
        "env/schema.toml: the env schema is missing\n"
        "  fix: restore it from git, or point [tool.dockyard] env_schema at it"
    )
    (tmp_path / "schema.toml").write_text("[variables.A\n")
    with pytest.raises(ConfigError) as broken:
        load_schema(tmp_path / "schema.toml", PROFILES, shown_as="env/schema.toml")
    assert str(broken.value).startswith("env/schema.toml: not valid TOML: ")


@pytest.mark.parametrize(
    ("kind", "extra", "good", "bad", "expected"),
    [
        ("int", {"min": 1, "max": 4}, "3", "5", "expected a whole number in 1..4"),
        ("bool", {}, "true", "yes", "expected true or false"),
        (
            "url",
            {"schemes": ["https"]},
            "https://h:1/p",
            "http://h",
            "expected a URL like scheme://host:port/path with scheme https",
        ),
        (
            "url",
            {},
            "redis://:pw@redis:6379/0",
            "redis://h:99999",
            "expected a URL like scheme://host:port/path",
        ),
        ("port", {}, "65535", "0", "expected a port number 1-65535"),
        ("duration", {}, "500ms", "1.5s", "expected a duration like 500ms, 30s, 5m or 1h"),
        ("enum", {"choices": ["a", "b"]}, "b", "c", "expected one of a, b"),
    ],
)
def test_each_type_says_what_it_expected(
    kind: str, extra: dict[str, object], good: str, bad: str, expected: str
) -> None:
    document = {"variables": {"V": {"type": kind, "description": "V.", **extra}}}
    variable = parse_schema(document, source="s", profiles=PROFILES).variables["V"]
    assert variable.check(good) is None
    assert variable.check(bad) == expected


def test_the_shipped_env_files_pass_the_audit(repo_config: Config) -> None:
    assert shipped_problems(repo_config) == []


def test_a_drifted_or_broken_example_fails_the_audit(project: Project) -> None:
    project.run(envcommands.render)
    example = project.root / "env" / ".env.testing.example"
    example.write_text(example.read_text() + "APP_PORT=eighty\n")
    (project.root / "env" / ".env.production.example").unlink()
    assert shipped_problems(project.config) == [
        "env/.env.testing.example: differs from what env/schema.toml generates; "
        "run `invoke env.render` and commit the result",
        "env/.env.testing.example:41: APP_PORT is set 2 times (lines 13, 41); python-dotenv and "
        "Compose use the last one, line 41: delete the others\n    > APP_PORT=eighty",
        "env/.env.testing.example:41: APP_PORT: expected a port number 1-65535, got 'eighty'\n"
        "    > APP_PORT=eighty",
        "env/.env.production.example: missing; run `invoke env.render` and commit the result",
    ]
