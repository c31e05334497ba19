"""Finding the service's dependency lock: configured, beside the service's pyproject.toml, then
at the root; each kind; and a gate that fails, never passes, when there is none."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.audit.gates import dependency_gate
from dockyard.core.config import Config
from dockyard.core.dependencies import LockKind, find_lock, poetry_requirements
from dockyard.core.errors import ConfigError, MissingFileError
from dockyard.core.results import Status
from dockyard.image.facts import lock_inputs

HASHED = "idna==3.7 \\\n    --hash=sha256:" + "0" * 64 + "\n"
POETRY = (
    """
[[package]]
name = "idna"
version = "3.7"
files = [{file = "idna-3.7-py3-none-any.whl", hash = "sha256:"""
    + "1" * 64
    + """"}]

[[package]]
name = "service"
version = "0.1.0"
files = []
[package.source]
type = "directory"
url = "service"
"""
)


def project(root: Path, files: dict[str, str], **settings: str) -> Config:
    for name, text in {"service/pyproject.toml": "[project]\n", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return Config(
        root=root, project="shop", image="shop", service_pyproject="service/pyproject.toml",
        **settings,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_uv_lock_beside_the_service_comes_before_the_roots(tmp_path: Path) -> None:
    config = project(tmp_path, {"service/uv.lock": "", "uv.lock": ""})
    lock = find_lock(config)
    assert (lock.kind, lock.relative(tmp_path)) == (LockKind.UV, ["service/uv.lock"])
    assert lock_inputs(config) == ["service/uv.lock"]


def test_the_roots_uv_lock_is_found_when_the_service_has_none(tmp_path: Path) -> None:
    lock = find_lock(project(tmp_path, {"uv.lock": ""}))
    assert (lock.kind, lock.relative(tmp_path)) == (LockKind.UV, ["uv.lock"])


def test_a_poetry_lock_is_found_and_read_as_hashed_requirements(tmp_path: Path) -> None:
    lock = find_lock(project(tmp_path, {"service/poetry.lock": POETRY}))
    assert (lock.kind, lock.relative(tmp_path)) == (LockKind.POETRY, ["service/poetry.lock"])
    assert poetry_requirements(lock.files[0]) == f"idna==3.7 --hash=sha256:{'1' * 64}\n"


def test_a_poetry_package_without_hashes_is_named(tmp_path: Path) -> None:
    broken = POETRY.replace('files = [{file = "idna-3.7-py3-none-any.whl", hash', "x = [{y")
    (tmp_path / "poetry.lock").write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigError, match="package 'idna': expected a name, a version and file"):
        poetry_requirements(tmp_path / "poetry.lock")


def test_hashed_requirements_files_are_found_and_unhashed_ones_skipped(tmp_path: Path) -> None:
    files = {
        "service/requirements.txt": HASHED,
        "service/requirements-dev.txt": HASHED,
        "service/requirements-loose.txt": "idna>=3\n",
    }
    lock = find_lock(project(tmp_path, files))
    assert lock.kind is LockKind.REQUIREMENTS
    assert lock.relative(tmp_path) == [
        "service/requirements-dev.txt", "service/requirements.txt",
    ]  # fmt: skip


def test_the_configured_lock_wins(tmp_path: Path) -> None:
    config = project(tmp_path, {"uv.lock": "", "locks/prod.txt": HASHED}, lock="locks/prod.txt")
    assert lock_inputs(config) == ["locks/prod.txt"]


def test_a_configured_lock_that_is_missing_or_unhashed_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[tool.dockyard\] lock = 'nope.lock': .* not exist"):
        find_lock(project(tmp_path, {}, lock="nope.lock"))
    loose = project(tmp_path, {"req.txt": "idna\n"}, lock="req.txt")
    with pytest.raises(ConfigError, match="pins no hashes, so it is not a lock"):
        find_lock(loose)


def test_no_lock_anywhere_is_named_with_what_was_looked_for(tmp_path: Path) -> None:
    config = project(tmp_path, {"requirements.txt": "idna\n"})
    with pytest.raises(MissingFileError) as raised:
        find_lock(config)
    assert str(tmp_path / "service") in raised.value.message
    assert "requirements.txt pin no hashes" in raised.value.message
    assert lock_inputs(config) == []


def test_the_dependency_gate_fails_when_there_is_no_lock(tmp_path: Path) -> None:
    result = dependency_gate(project(tmp_path, {}), {"PATH": "/usr/bin:/bin"})
    assert result.status is Status.FAIL
    assert "no dependency lock found" in result.summary
    assert "NOT audited" in result.summary
    assert "[tool.dockyard] lock" in (result.fix or "")


def test_the_dependency_gate_fails_on_an_unreadable_poetry_lock(tmp_path: Path) -> None:
    result = dependency_gate(project(tmp_path, {"poetry.lock": "[[package"}), {})
    assert result.status is Status.FAIL
    assert "unreadable as a poetry lock" in result.summary
