"""What `invoke dockyard.init` writes into a repository, decided from what the repository holds.

Pure: it takes the facts gathered from the repository and the templates shipped in the wheel
(`dockyard/data/init/`) and returns the writes, each a whole file's text, and the reasons to
refuse (a `[tool.dockyard]` table already there). The planned `[tool.dockyard]` table is read
back through the configuration model, so what init writes is a configuration dockyard accepts.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from dockyard.core.config import Config, parse_config
from dockyard.core.configrules import TABLE
from dockyard.core.errors import ConfigError
from dockyard.env.render import render_example
from dockyard.env.schema import parse_schema

# The workflows init writes: this repository's own, with the toolchain installed by uv.
WORKFLOWS = ("test", "deploy", "release", "deploy-instance", "rollback")
# Templates of dockyard/data/init/, by name.
TEMPLATES = (
    "pyproject.toml.tmpl",
    "dependency-groups.toml.tmpl",
    "schema.toml.tmpl",
    "staging.toml.tmpl",
    "tasks.py.tmpl",
    "noxfile.py.tmpl",
    *(f"{name}.yml.tmpl" for name in WORKFLOWS),
    "dockerignore.tmpl",
    "gitignore.tmpl",
    "yamllint.yaml.tmpl",
)
DEFAULT_PYTHON = "3.11"
# A project's tasks.py that gathers dockyard's tasks names this; init keeps such a file.
GATHERER = "dockyard.tasks"
# Preferred first when a repository has several.
_DOCKERFILES = ("Dockerfile.production", "Dockerfile")
_COMPOSE = (
    "docker-compose.production.yml",
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
)
_LOCKS = ("uv.lock", "poetry.lock", "requirements.txt")
_VERSION = re.compile(r"(3\.\d+)")
_MINIMUM = re.compile(r">=\s*(3\.\d+)")


@dataclass(frozen=True)
class Facts:
    """What init reads from the repository; every path relative to its root."""

    directory: str  # the repository directory's name, the project's name without [project]
    pyproject: str  # the text of pyproject.toml
    dockerfiles: Sequence[str] = ()  # Dockerfile* at the root
    compose_files: Sequence[str] = ()  # *compose*.y(a)ml at the root
    locks: Sequence[str] = ()  # uv.lock, poetry.lock, requirements*.txt at the root
    python_version: str | None = None  # .python-version, when there is one
    typed: Sequence[str] = ()  # src, tests and the top-level packages mypy should check
    tasks: str | None = None  # tasks.py, when there is one
    yamllint: bool = False  # whether the project has a yamllint configuration
    dockerignore: str | None = None  # .dockerignore, when there is one
    gitignore: str | None = None  # .gitignore, when there is one


@dataclass(frozen=True)
class Write:
    """One file init writes: `text` is the whole new file; `added` the part that is new."""

    path: str
    text: str
    added: str
    new: bool  # True: the file must not exist yet; False: it grows by `added`

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "action": "create" if self.new else "append", "text": self.added}


@dataclass(frozen=True)
class Plan:
    """Every write, the configuration they make, and why init must refuse (if it must)."""

    writes: tuple[Write, ...]
    config: Config
    refusals: tuple[str, ...]
    notes: tuple[str, ...]


def project_name(facts: Facts, document: Mapping[str, object]) -> str:
    """`[project].name` (else the directory's name) as a compose project and image name."""
    project = document.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    raw = name if isinstance(name, str) and name else facts.directory
    slug = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"app-{slug}".strip("-")
    return slug[:63].rstrip("-")


def python_version(facts: Facts, document: Mapping[str, object]) -> str:
    """The service's Python as MAJOR.MINOR: `.python-version`, else the lowest that
    `[project].requires-python` allows, else 3.11."""
    if facts.python_version and (found := _VERSION.match(facts.python_version.strip())):
        return found.group(1)
    project = document.get("project")
    requires = project.get("requires-python") if isinstance(project, dict) else None
    if isinstance(requires, str) and (found := _MINIMUM.search(requires)):
        return found.group(1)
    return DEFAULT_PYTHON


def first(found: Sequence[str], preferred: Sequence[str]) -> str | None:
    """The preferred name among `found`, else the first found in name order."""
    for name in preferred:
        if name in found:
            return name
    return min(found, default=None)


def plan_init(facts: Facts, templates: Mapping[str, str], *, root: Path) -> Plan:
    """Everything init writes for the repository at `root`, and whatever makes it refuse."""
    pyproject_source = "pyproject.toml"
    try:
        document = tomllib.loads(facts.pyproject)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            pyproject_source, [f"not valid TOML: {error}"], hint="fix pyproject.toml first"
        ) from None
    refusals: list[str] = []
    notes: list[str] = []
    tool = document.get("tool")
    if isinstance(tool, dict) and "dockyard" in tool:
        refusals.append(f"pyproject.toml: already has a [{TABLE}] table")
    dockerfile = first(facts.dockerfiles, _DOCKERFILES) or "Dockerfile"
    compose = first(facts.compose_files, _COMPOSE)
    if compose is None:
        compose = _COMPOSE[0]
        notes.append(
            f"no compose file found: write {compose} (docs/adopting.md says what it reads)"
        )
    lock = first(facts.locks, _LOCKS)
    if lock is None:
        notes.append("no lock found (uv.lock, poetry.lock, requirements.txt): the audit needs one")
    python = python_version(facts, document)
    name = project_name(facts, document)
    table = Template(templates["pyproject.toml.tmpl"]).substitute(
        project=_toml(name),
        dockerfile=_toml(dockerfile),
        compose_files=_toml([compose]),
        lock=f"lock = {_toml(lock)}\n" if lock else "",
        python_image=_toml(f"python:{python}-slim-bookworm"),
        typed=_toml([*facts.typed, "tasks.py", "noxfile.py"]),
    )
    grown = _ended(facts.pyproject)
    added = table
    if "dependency-groups" not in document:
        added += templates["dependency-groups.toml.tmpl"]
        notes.append("added [dependency-groups] for the gates: run `uv lock`")
    config = _config(table, document, root)
    writes = [] if refusals else [_appended(grown, added)]
    writes += _env_files(config, templates)
    if facts.tasks is None:
        writes.append(_new("tasks.py", templates["tasks.py.tmpl"]))
    elif GATHERER in facts.tasks:
        notes.append(f"tasks.py: kept, it already gathers dockyard's tasks ({GATHERER})")
    else:
        refusals.append(f"tasks.py: already exists, without dockyard's tasks ({GATHERER})")
    writes += [
        _new("noxfile.py", templates["noxfile.py.tmpl"]),
        *(
            _new(f".github/workflows/{name}.yml", templates[f"{name}.yml.tmpl"])
            for name in WORKFLOWS
        ),
    ]
    if facts.python_version is None:
        writes.append(_new(".python-version", f"{python}\n"))
    if not facts.yamllint:
        writes.append(_new(".yamllint.yaml", templates["yamllint.yaml.tmpl"]))
    writes += [
        w
        for w in (
            _lines(".dockerignore", facts.dockerignore, templates["dockerignore.tmpl"]),
            _lines(".gitignore", facts.gitignore, templates["gitignore.tmpl"]),
        )
        if w is not None
    ]
    return Plan(tuple(writes), config, tuple(refusals), tuple(notes))


def _config(table: str, document: Mapping[str, object], root: Path) -> Config:
    """The configuration the planned table makes, validated as dockyard will read it."""
    project = document.get("project")
    requires = project.get("requires-python") if isinstance(project, dict) else None
    return parse_config(
        tomllib.loads(table)["tool"]["dockyard"],
        root=root,
        source="the planned [tool.dockyard] table",
        requires_python=requires if isinstance(requires, str) else ">=3.11",
    )


def _appended(pyproject: str, added: str) -> Write:
    """pyproject.toml with the tables appended, its own text untouched; refused when the two
    cannot be one TOML document (a table declared twice)."""
    try:
        tomllib.loads(pyproject + added)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            "pyproject.toml",
            [f"the [{TABLE}] tables cannot be appended to it: {error}"],
            hint="declare [tool] tables with headers, not as an inline table, then run init again",
        ) from None
    return Write("pyproject.toml", pyproject + added, added, new=False)


def _env_files(config: Config, templates: Mapping[str, str]) -> list[Write]:
    """The env schema, each profile's committed example made from it, and the staging instance."""
    schema_text = templates["schema.toml.tmpl"]
    schema = parse_schema(
        tomllib.loads(schema_text), source=config.env_schema, profiles=tuple(config.profiles)
    )
    env_dir = config.env_dir.rstrip("/")
    examples = [
        _new(f"{env_dir}/.env.{profile}.example", render_example(schema, profile))
        for profile in config.profiles
    ]
    staging = f"{config.instances_dir.rstrip('/')}/staging.toml"
    return [
        _new(config.env_schema, schema_text),
        *examples,
        _new(staging, templates["staging.toml.tmpl"]),
    ]


def _new(path: str, text: str) -> Write:
    return Write(path, text, text, new=True)


def _lines(path: str, existing: str | None, wanted: str) -> Write | None:
    """Create `path` with `wanted`, or append the lines of `wanted` it lacks (none: no write)."""
    if existing is None:
        return _new(path, wanted)
    present = {line.strip() for line in existing.splitlines()}
    missing = [
        line
        for line in wanted.splitlines()
        if line.strip() and not line.startswith("#") and line.strip() not in present
    ]
    if not missing:
        return None
    comment = next(line for line in wanted.splitlines() if line.startswith("#"))
    added = "\n".join(["", comment, *missing]) + "\n"
    return Write(path, _ended(existing) + added, added, new=False)


def _ended(text: str) -> str:
    """`text` ending in a newline, unless it is empty."""
    return text if text.endswith("\n") or not text else text + "\n"


def _toml(value: str | list[str]) -> str:
    """A string or a list of strings as TOML writes it (JSON's escapes are TOML's)."""
    return json.dumps(value)
