"""The configuration is loaded once, validated whole, and every problem names its dotted path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dockyard.core.config import Config, load_config, parse_config
from dockyard.core.errors import ConfigError, ExitCode, MissingFileError, UnreadableFileError
from dockyard.core.suggest import did_you_mean

MINIMAL = {"project": "shop", "image": "acme/shop"}


def problems_of(table: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(table, root=Path("/project"))
    assert caught.value.exit_code is ExitCode.CONFIG
    return caught.value.problems


def test_the_repository_configuration_loads(repo_config: Config) -> None:
    """The shipped [tool.dockyard] table is valid and describes the reference service."""
    assert repo_config.project == "tugboat"
    assert repo_config.ports["proxy"] == 8080
    assert repo_config.requires_python == ">=3.11"


def test_defaults_fill_everything_not_given() -> None:
    """Only `project` and `image` are required; the rest has working defaults."""
    config = parse_config(MINIMAL, root=Path("/project"))
    assert config.services.database == "postgres"
    assert config.health.ready_path == "/health/ready"
    assert config.compose_files == ["docker-compose.production.yml"]
    assert config.path("env") == Path("/project/env")


def test_unknown_keys_are_named_with_a_suggestion() -> None:
    """A typo in a key is reported with its dotted path and the key it probably meant."""
    problems = problems_of({**MINIMAL, "helth": {}, "services": {"databse": "pg"}})
    assert "tool.dockyard.helth: unknown key (did you mean 'health'?)" in problems
    assert "tool.dockyard.services.databse: unknown key (did you mean 'database'?)" in problems


def test_wrong_types_say_what_was_expected() -> None:
    """Each wrong value is reported with what was expected and what was found."""
    problems = problems_of(
        {
            **MINIMAL,
            "health": {"timeout_seconds": "soon"},
            "ports": {"proxy": "8080"},
            "compose_files": "docker-compose.yml",
            "doctor": {"required_env": [1]},
        }
    )
    assert problems == [
        "tool.dockyard.compose_files: expected a list, got 'docker-compose.yml' (a string)",
        "tool.dockyard.health.timeout_seconds: expected a number, got 'soon' (a string)",
        "tool.dockyard.ports.proxy: expected an integer, got '8080' (a string)",
        "tool.dockyard.doctor.required_env[0]: expected a string, got 1 (int)",
    ]


def test_missing_required_keys_are_all_reported() -> None:
    assert problems_of({}) == [
        "tool.dockyard.project: required key is missing",
        "tool.dockyard.image: required key is missing",
    ]


def test_values_are_checked_beyond_their_types() -> None:
    problems = problems_of(
        {
            "project": "My Shop",
            "image": "Shop:latest",
            "ports": {"proxy": 70000},
            "health": {"ready_path": "health/ready", "timeout_seconds": 0},
            "doctor": {"min_free_disk_gb": 20, "warn_free_disk_gb": 10, "tls_probe": "pypi.org"},
        }
    )
    assert len(problems) == 7
    assert any(p.startswith("tool.dockyard.project: expected a lowercase name") for p in problems)
    assert "tool.dockyard.ports.proxy: expected a port 1-65535, got 70000" in problems
    assert "tool.dockyard.doctor.tls_probe: expected HOST:PORT, got 'pypi.org'" in problems


def test_booleans_are_not_integers() -> None:
    """TOML `true` is not accepted where a port number is expected."""
    assert problems_of({**MINIMAL, "ports": {"proxy": True}}) == [
        "tool.dockyard.ports.proxy: expected an integer, got True (a boolean)"
    ]


def test_dates_and_nested_tables_are_parsed() -> None:
    config = parse_config(
        {
            **MINIMAL,
            "audit": {
                "accept_unaudited": {"reason": "offline", "until": "2030-01-31"},
                "ignore": [
                    {"id": "PYSEC-1", "reason": "unused path", "until": dt.date(2030, 1, 1)}
                ],
            },
        },
        root=Path("/project"),
    )
    assert config.audit.accept_unaudited is not None
    assert config.audit.accept_unaudited.until == dt.date(2030, 1, 31)
    assert config.audit.ignore[0].id == "PYSEC-1"
    assert problems_of({**MINIMAL, "audit": {"ignore": [{"id": "X", "until": "soon"}]}}) == [
        "tool.dockyard.audit.ignore[0].reason: required key is missing",
        "tool.dockyard.audit.ignore[0].until: "
        "expected a date like 2027-01-31, got 'soon' (a string)",
    ]


def test_a_missing_pyproject_is_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match=r"pyproject\.toml: not found"):
        load_config(tmp_path)


def test_a_pyproject_without_the_table_says_what_to_add(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'pyproject.toml'}: no [tool.dockyard] table")
    assert "`project` and `image`" in str(caught.value)


def test_invalid_toml_names_the_file_and_position(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dockyard]\nproject = \n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: not valid TOML: .*line 2"):
        load_config(tmp_path)


def test_an_unreadable_pyproject_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").mkdir()
    with pytest.raises(UnreadableFileError, match=r"pyproject\.toml: cannot be read"):
        load_config(tmp_path)
    (tmp_path / "pyproject.toml").rmdir()
    (tmp_path / "pyproject.toml").write_bytes(b"[tool.dockyard]\nproject = '\xff'\n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: not UTF-8 text \(byte 27\)"):
        load_config(tmp_path)


def test_an_odd_unknown_key_is_quoted_in_its_path() -> None:
    assert problems_of({**MINIMAL, "ports": {"a.b": "x"}}) == [
        "tool.dockyard.ports.'a.b': expected an integer, got 'x' (a string)"
    ]


def test_a_suggestion_is_offered_only_when_a_known_name_is_close() -> None:
    assert did_you_mean("helth", ["health", "images"]) == " (did you mean 'health'?)"
    names = ["REDIS_PASSWORD", "DATABASE_URL"]
    assert did_you_mean("DATABSE_URL", names, cutoff=0.75, quote=False) == (
        " (did you mean DATABASE_URL?)"
    )
    assert did_you_mean("EXTRA_PASSWORD", names) == " (did you mean 'REDIS_PASSWORD'?)"
    assert did_you_mean("EXTRA_PASSWORD", names, cutoff=0.75) == ""
