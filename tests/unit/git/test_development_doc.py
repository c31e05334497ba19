"""docs/development.md: every command it shows runs, the hooks section's in order in a clone."""

from __future__ import annotations

import re
from pathlib import Path

from .gitrepos import REPO, clone, commit, make_remote, task

DOC = REPO / "docs" / "development.md"


def commands() -> list[str]:
    blocks = re.findall(r"```\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.startswith("invoke ")]


def test_every_command_of_the_page_is_a_real_task() -> None:
    shown = commands()
    assert "invoke hooks.install" in shown
    for line in shown:
        name = line.split()[1]
        assert task(REPO, "--help", name).returncode == 0, line


def test_the_hooks_and_pushing_commands_run_in_a_clone(tmp_path: Path) -> None:
    path = clone(make_remote(tmp_path), "dev")
    (path / "docker-compose.production.yml").write_text("services: {}\n")
    commit(path, "a.txt", "a")
    section = DOC.read_text().split("## Hooks and pushing", 1)[1]
    for line in commands():
        if line in section:
            done = task(path, *line.split()[1:])
            assert done.returncode == 0, f"{line}: {done.stderr}"
    for line in ("invoke hooks.install --force", "invoke hooks.uninstall"):
        assert line in section
        assert task(path, *line.split()[1:]).returncode == 0
