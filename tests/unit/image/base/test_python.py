"""Which Python the local stand-in carries: the service's own, from the Debian release that
ships it, or one message saying what can be built offline."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dockyard.core.config import Config
from dockyard.core.errors import ConfigError
from dockyard.image.base.plan import local_names, plan_base_images
from dockyard.image.base.python import choose_python

SHIPPED = {"bookworm": "3.11", "trixie": "3.13"}
OFFICIAL = "python:3.11-slim-bookworm"


def test_python_version_beside_the_service_wins() -> None:
    """`.python-version` is the exact pin: it beats the image's tag and requires-python."""
    choice = choose_python(
        SHIPPED, "bookworm", OFFICIAL, ("3.13.2\n", "svc/.python-version"), (">=3.11", "p")
    )
    assert (choice.version, choice.suite, choice.source) == (
        "3.13",
        "trixie",
        "svc/.python-version",
    )


def test_the_configured_images_python_is_kept_while_requires_python_allows_it() -> None:
    choice = choose_python(SHIPPED, "bookworm", OFFICIAL, None, (">=3.11", "svc/pyproject.toml"))
    assert (choice.version, choice.suite) == ("3.11", "bookworm")


def test_requires_python_that_excludes_the_image_picks_the_newest_debian_python() -> None:
    choice = choose_python(SHIPPED, "bookworm", OFFICIAL, None, (">=3.12", "svc/pyproject.toml"))
    assert (choice.version, choice.suite) == ("3.13", "trixie")
    assert choice.source == "svc/pyproject.toml (requires-python >=3.12)"


def test_without_pins_the_version_in_the_images_tag_is_used() -> None:
    choice = choose_python(SHIPPED, "bookworm", "registry.local/python:3.13-slim", None, None)
    assert (choice.version, choice.suite) == ("3.13", "trixie")


def test_a_python_debian_does_not_ship_says_what_can_be_built_and_what_to_do() -> None:
    with pytest.raises(ConfigError) as raised:
        choose_python(SHIPPED, "bookworm", OFFICIAL, ("3.12\n", "svc/.python-version"), None)
    message = raised.value.message
    assert "svc/.python-version" in message
    assert "Python 3.12" in message
    assert "3.11 (bookworm), 3.13 (trixie)" in message
    assert 'python = "python:3.12-slim"' in (raised.value.hint or "")


def test_a_requires_python_no_debian_release_meets_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"Python 3\.14"):
        choose_python(SHIPPED, "bookworm", OFFICIAL, None, (">=3.14", "svc/pyproject.toml"))


def test_an_unreadable_pin_names_its_file() -> None:
    with pytest.raises(ConfigError, match=r"svc/\.python-version"):
        choose_python(SHIPPED, "bookworm", OFFICIAL, ("pypy\n", "svc/.python-version"), None)


def test_a_313_service_adds_only_a_trixie_base_and_its_python(
    tmp_path: Path, repo_config: Config
) -> None:
    """The data services, the proxy and the registry stay on the configured release; only
    Python moves."""
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/pyproject.toml").write_text('[project]\nname = "s"\n', encoding="utf-8")
    (tmp_path / "svc/.python-version").write_text("3.13\n", encoding="utf-8")
    config = dataclasses.replace(repo_config, root=tmp_path, service_pyproject="svc/pyproject.toml")
    plan = plan_base_images(config, "2026-01-01T00:00:00Z")
    assert [(i.key, i.suite, i.parent) for i in plan] == [
        ("debian", "bookworm", None),
        ("debian-trixie", "trixie", None),
        ("python", "trixie", "dockyard-base/debian:trixie"),
        ("postgres", "bookworm", "dockyard-base/debian:bookworm"),
        ("redis", "bookworm", "dockyard-base/debian:bookworm"),
        ("nginx", "bookworm", "dockyard-base/debian:bookworm"),
        ("registry", "bookworm", "dockyard-base/debian:bookworm"),
    ]
    assert local_names(config)["python"] == "dockyard-base/python:3.13-trixie"
