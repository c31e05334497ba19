"""Fixtures of the env tests: a throwaway project with the repository's schema and examples."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .support import PROFILES, REPO, Project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "project"
    (root / "env").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.dockyard]\nproject = "tugboat"\nimage = "tugboat"\n', encoding="utf-8"
    )
    shutil.copy(REPO / "env" / "schema.toml", root / "env" / "schema.toml")
    for profile in PROFILES:
        example = REPO / "env" / f".env.{profile}.example"
        shutil.copy(example, root / "env" / example.name)
    return Project(root, {"USER": "tester", "PATH": "/usr/bin:/bin"})
