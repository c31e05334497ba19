"""The version written where the service declares it: that one value changes, nothing else."""

from __future__ import annotations

import pytest

from dockyard.core.errors import ConfigError
from dockyard.release.versionfile import replace_on_line, set_project_version

PYPROJECT = (
    "# the service\r\n"
    "[tool.other]\r\n"
    'version = "9.9.9"\r\n'
    "\r\n"
    "[ project ]  # ours\r\n"
    'name = "demo"\r\n'
    "version   =   '0.1.0'   # released by invoke release\r\n"
    "\r\n"
    "[project.urls]\r\n"
    'version = "not this one"\r\n'
)


def test_only_the_project_version_changes_byte_for_byte() -> None:
    text, edit = set_project_version(PYPROJECT, "0.2.0", source="pyproject.toml")
    assert text == PYPROJECT.replace("'0.1.0'", "'0.2.0'")
    assert edit.line == 7
    assert edit.diff() == (
        "pyproject.toml:7\n"
        "-version   =   '0.1.0'   # released by invoke release\n"
        "+version   =   '0.2.0'   # released by invoke release\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        '[project]\nname = "demo"\ndynamic = ["version"]\n',
        '[tool.x]\nversion = "1.0.0"\n',
        "",
    ],
)
def test_no_static_project_version_is_a_clear_error(text: str) -> None:
    with pytest.raises(ConfigError, match="no static `version"):
        set_project_version(text, "1.0.0", source="pyproject.toml")


def test_another_file_changes_on_the_one_line_its_marker_picks() -> None:
    text = '"""Demo."""\n__version__ = "0.1.0"  # 0.1.0\nOTHER = "0.1.0"\n'
    edited, edit = replace_on_line(text, "__version__", "0.1.0", "0.2.0", source="demo.py")
    assert edited == '"""Demo."""\n__version__ = "0.2.0"  # 0.1.0\nOTHER = "0.1.0"\n'
    assert edit.line == 2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('A = "0.1.0"\n', "found no line"),
        ('__version__ = "0.1.0"\n__version__ = "0.1.0"\n', "found 2 lines"),
        ('__version__ = "0.0.9"\n', "does not contain the current version '0.1.0'"),
    ],
)
def test_a_marker_that_picks_no_single_line_is_refused(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        replace_on_line(text, "__version__", "0.1.0", "0.2.0", source="demo.py")


def test_the_lock_entry_of_the_service_moves_with_its_version() -> None:
    from dockyard.release.versionfile import set_lock_version

    lock = (
        'version = 1\n\n[[package]]\nname = "dockyard"\nversion = "0.1.0"\n'
        'source = { editable = "." }\n\n[[package]]\nname = "tugboat"\nversion = "0.1.0"\n'
        'source = { editable = "tugboat" }\ndependencies = [\n    { name = "tugboat" },\n]\n'
    )
    edited = set_lock_version(lock, "Tugboat", "0.2.0", source="uv.lock")
    assert edited is not None
    text, edit = edited
    assert text == lock.replace('"tugboat"\nversion = "0.1.0"', '"tugboat"\nversion = "0.2.0"')
    assert text.count('version = "0.1.0"') == 1  # the other package's is kept
    assert (edit.line, edit.after) == (10, 'version = "0.2.0"')
    assert set_lock_version(lock, "absent", "0.2.0", source="uv.lock") is None
