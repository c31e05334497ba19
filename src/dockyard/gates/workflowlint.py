"""The workflow and script linters of `nox -s lint`: what runs on which files, as data.

- zizmor (`--offline`): the workflows' security: script injection (`${{ }}` inside `run:`),
  actions not pinned to a commit hash, credentials left to later steps, excessive permissions.
- check-jsonschema with its vendored GitHub workflow schema: the workflows' structure (the keys,
  the inputs and their types), offline.
- shellcheck: every shell script in the project, found by name (`*.sh`) or by its `#!` line.

`plan` decides from a list of files and their first bytes; `checks` gathers them from git.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

WORKFLOW_DIR = ".github/workflows"
WORKFLOW_SCHEMA = "vendor.github-workflows"
# A shell interpreter named by a `#!` line: /bin/sh, /usr/bin/env bash, /bin/dash -e, ...
SHEBANG = re.compile(rb"^#!\s*(?:/usr/bin/env\s+(?:-\S+\s+)*)?(?:\S*/)?(?:ba|da|k|)sh(?:\s|$)")
HEAD_BYTES = 128


@dataclass(frozen=True)
class Check:
    """One linter run: its name, its command line, and the files it is given (also in the
    command line, last)."""

    name: str
    command: tuple[str, ...]
    files: tuple[str, ...]


def is_workflow(name: str) -> bool:
    path = PurePosixPath(name)
    return str(path.parent) == WORKFLOW_DIR and path.suffix in (".yml", ".yaml")


def is_shell_script(name: str, head: bytes) -> bool:
    """A file named `*.sh`, or one whose first line runs a POSIX shell or bash."""
    return name.endswith(".sh") or SHEBANG.match(head) is not None


def plan(files: Sequence[str], head: Callable[[str], bytes]) -> list[Check]:
    """The linter runs for `files` (paths relative to the project root); `head(name)` gives a
    file's first bytes. A linter with no file to read is left out."""
    workflows = tuple(sorted(name for name in files if is_workflow(name)))
    scripts = tuple(
        sorted(
            name for name in files if not is_workflow(name) and is_shell_script(name, head(name))
        )
    )
    checks = []
    if workflows:
        checks += [
            Check("zizmor", ("zizmor", "--offline", "--no-progress", *workflows), workflows),
            Check(
                "workflow schema",
                ("check-jsonschema", "--builtin-schema", WORKFLOW_SCHEMA, *workflows),
                workflows,
            ),
        ]
    if scripts:
        checks.append(Check("shellcheck", ("shellcheck", *scripts), scripts))
    return checks


def checks(root: Path, environ: Mapping[str, str] | None = None) -> list[Check]:
    """The linter runs for the project at `root`: its files as git lists them (tracked, and
    new ones not ignored)."""
    from dockyard.core.files import git_files

    def head(name: str) -> bytes:
        path = root / name
        if not path.is_file():  # a tracked file deleted in the work tree, or a submodule
            return b""
        with path.open("rb") as file:
            return file.read(HEAD_BYTES)

    return plan(git_files(root, environ), head)
