"""docs/adopting.md lists every `[tool.dockyard]` setting as the configuration model declares it,
and every command it shows exists."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from dockyard.core.config import Config, load_config, parse_config
from dockyard.core.configdoc import NOT_KEYS, render_settings, sections, splice, undocumented
from dockyard.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
PAGE = REPO / "docs" / "adopting.md"


def test_every_setting_has_a_meaning() -> None:
    """A field without a docstring under it fails here, named by its dotted key."""
    assert undocumented() == []


def test_the_page_lists_every_setting_as_the_model_declares_it() -> None:
    """If this fails, run `invoke env.render` and commit the result."""
    config = load_config(REPO)
    assert config.path(config.settings_docs) == PAGE
    page = PAGE.read_text(encoding="utf-8")
    assert page == splice(page, render_settings(sections()), source="docs/adopting.md")
    for section in sections():
        assert f"### `{section.header}`" in page
        for setting in section.settings:
            assert f"| `{setting.key}` |" in page


def test_every_table_of_the_model_is_a_section() -> None:
    headers = [section.header for section in sections()]
    for name in ("services", "health", "images", "deploy", "hardening", "audit", "git", "doctor"):
        assert f"[tool.dockyard.{name}]" in headers
    assert "[[tool.dockyard.smoke]]" in headers
    assert "[[tool.dockyard.hardening.exempt]]" in headers
    assert headers[0] == "[tool.dockyard]"


def test_the_fields_dockyard_fills_itself_are_not_keys() -> None:
    keys = {setting.key for setting in sections()[0].settings}
    for name in NOT_KEYS:
        assert name not in keys
        with pytest.raises(ConfigError, match=f"{name}: unknown key"):
            parse_config({"project": "p", "image": "p", name: "x"}, root=REPO)


def test_a_field_without_a_meaning_is_named() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Table:
        """A table."""

        said: int = 1
        """Documented."""
        unsaid: str = "x"

    assert undocumented(Table) == ["tool.dockyard.unsaid"]


def test_defaults_and_types_read_as_toml() -> None:
    rows = {(s.header, r.key): r for s in sections() for r in s.settings}
    project = rows[("[tool.dockyard]", "project")]
    assert (project.kind, project.default) == ("string", "required")
    compose_files = rows[("[tool.dockyard]", "compose_files")]
    assert compose_files.default == '`["docker-compose.production.yml"]`'
    assert rows[("[tool.dockyard.deploy]", "keep_versions")].kind == "integer"
    assert rows[("[tool.dockyard.audit.accept_unaudited]", "until")].default == "not set"
    assert "\\|" in render_settings(sections())  # the branch pattern's bars do not split the table


def test_a_page_without_markers_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError) as raised:
        splice("# no markers\n", render_settings(sections()), source="docs/x.md")
    assert "invoke env.render" in (raised.value.hint or "")


def test_every_command_the_page_shows_exists() -> None:
    sys.path.insert(0, str(REPO))
    try:
        import tasks
    finally:
        sys.path.remove(str(REPO))
    names = set(tasks.ns.task_names) | {a for al in tasks.ns.task_names.values() for a in al}
    shown = set(re.findall(r"invoke ([a-z][a-z0-9_.-]*[a-z0-9])", PAGE.read_text(encoding="utf-8")))
    assert shown, "the page shows no command"
    assert sorted(shown - names) == []


def test_the_model_is_the_configuration_class() -> None:
    assert sections()[0].meaning == Config.__doc__
