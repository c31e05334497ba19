"""`invoke dockyard.init`: a repository with a pyproject.toml and a Dockerfile made ready for
dockyard, writing nothing over anything that is there.

It gathers what the repository holds, asks the planner (`dockyard.scaffold.plan`) what to write,
refuses at once, naming every file in the way, when anything it would create exists, and
otherwise writes each file whole (`core.files.replace_atomically`; new files exclusively).
Last, the developer's own env file is written as `invoke env.init` writes it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.core.console import print_json
from dockyard.core.errors import DockyardError, ExitCode, MissingFileError, UnreadableFileError
from dockyard.core.files import replace_atomically
from dockyard.core.packagedata import data_path
from dockyard.env.commands import ensure_profile
from dockyard.env.store import env_path, shown
from dockyard.gates.steps import YAMLLINT_CONFIGS
from dockyard.scaffold.plan import TEMPLATES, Facts, Plan, Write, plan_init

if TYPE_CHECKING:
    from rich.console import Console

NEXT = (
    "uv add dockyard (if it is not a dependency yet), then uv lock",
    "invoke env.check --profile development",
    "invoke --list; nox -l",
    "invoke doctor, then invoke bootstrap",
)


def init(root: Path, console: Console, as_json: bool, dry_run: bool = False) -> int:
    """Write dockyard's starting files into the repository at `root`, or say why not."""
    plan = plan_init(gather(root), templates(), root=root)
    in_the_way = [
        f"{write.path}: already exists"
        for write in plan.writes
        if write.new and os.path.lexists(root / write.path)
    ]
    refusals = [*plan.refusals, *in_the_way]
    if refusals:
        listed = "\n".join(f"  - {refusal}" for refusal in refusals)
        raise DockyardError(
            f"dockyard.init: nothing written; in the way:\n{listed}",
            hint="move these files aside (and a [tool.dockyard] table out of pyproject.toml), "
            "then run `invoke dockyard.init` again, or add what is missing by hand "
            "(docs/adopting.md)",
        )
    env_file = shown(plan.config, env_path(plan.config, plan.config.profiles[0]))
    if not dry_run:
        for write in sorted(plan.writes, key=lambda w: (not w.new, w.path == "pyproject.toml")):
            _write(root, write)
        ensure_profile(plan.config, plan.config.profiles[0])
    document = {
        "ok": True,
        "dry_run": dry_run,
        "files": [write.as_dict() for write in plan.writes],
        "env_file": env_file,
        "notes": list(plan.notes),
        "next": list(NEXT),
    }
    if as_json:
        print_json(document)
    else:
        _print(console, plan, env_file, dry_run=dry_run)
    return ExitCode.OK


def templates() -> dict[str, str]:
    """The init templates shipped in the wheel, by name."""
    return {name: data_path("init", name).read_text(encoding="utf-8") for name in TEMPLATES}


def gather(root: Path) -> Facts:
    """What the planner needs to know about the repository at `root`."""
    pyproject = _read(root / "pyproject.toml")
    if pyproject is None:
        raise MissingFileError(
            f"{root / 'pyproject.toml'}: not found",
            hint="run `invoke dockyard.init` at the root of the service's repository",
        )
    names = sorted(path.name for path in root.iterdir() if path.is_file())
    dockerfiles = [name for name in names if name.startswith("Dockerfile")]
    if not dockerfiles:
        raise MissingFileError(
            f"{root}: no Dockerfile at the repository's root",
            hint="add the service's Dockerfile (dockyard builds the image from it), then run "
            "`invoke dockyard.init` again",
        )
    packages = sorted(
        path.name
        for path in root.iterdir()
        if (path / "__init__.py").is_file() and path.name != "tests"
    )
    typed = ["src"] if (root / "src").is_dir() else packages
    return Facts(
        directory=root.resolve().name,
        pyproject=pyproject,
        dockerfiles=dockerfiles,
        compose_files=[
            name for name in names if "compose" in name and name.endswith((".yml", ".yaml"))
        ],
        locks=[
            name
            for name in names
            if name in ("uv.lock", "poetry.lock")
            or (name.startswith("requirements") and name.endswith(".txt"))
        ],
        python_version=_read(root / ".python-version"),
        tasks=_read(root / "tasks.py"),
        yamllint=any((root / name).exists() for name in YAMLLINT_CONFIGS),
        typed=[*typed, *(["tests"] if (root / "tests").is_dir() else [])],
        dockerignore=_read(root / ".dockerignore"),
        gitignore=_read(root / ".gitignore"),
    )


def _read(path: Path) -> str | None:
    """A text file's content, or None when there is no such file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise UnreadableFileError(
            f"{path}: cannot be read: {error}", hint=f"make {path.name} a readable text file"
        ) from None


def _write(root: Path, write: Write) -> None:
    """One planned file, whole; a file that grows must still be as it was when planned."""
    path = root / write.path
    try:
        if write.new:
            replace_atomically(path, write.text, exclusive=True)
            return
        before = write.text[: len(write.text) - len(write.added)]
        if (_read(path) or "").rstrip("\n") != before.rstrip("\n"):
            raise DockyardError(
                f"{write.path}: changed while init ran; left as it is",
                hint="run `invoke dockyard.init --dry-run` to see what it adds",
            )
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
        replace_atomically(path, write.text, mode=mode)
    except FileExistsError:
        raise DockyardError(
            f"{write.path}: was created by someone else while init ran; it is kept as it is",
            hint="move it aside and run `invoke dockyard.init` again",
        ) from None
    except OSError as error:
        raise DockyardError(
            f"{write.path}: cannot write: {error.strerror}",
            hint=f"make {path.parent} writable, then run `invoke dockyard.init` again",
        ) from None


def _print(console: Console, plan: Plan, env_file: str, *, dry_run: bool) -> None:
    if dry_run:
        for write in plan.writes:
            action = "create" if write.new else "append to"
            console.print(f"--- would {action} {write.path}", markup=False)
            console.print(write.added.rstrip("\n"), markup=False)
        console.print(f"--- would then write {env_file} (as `invoke env.init`)", markup=False)
    else:
        for write in plan.writes:
            verb = "created " if write.new else "appended"
            console.print(f"{verb}  {write.path}", markup=False)
        console.print(f"created   {env_file} (secrets generated; git-ignored)", markup=False)
    for note in plan.notes:
        console.print(f"note: {note}", markup=False)
    console.print("next: " + "; ".join(NEXT), markup=False)
