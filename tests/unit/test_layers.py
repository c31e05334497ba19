"""The package's shape: layers point one way, pure modules touch nothing, task modules stay light.

core ← env, image ← stack ← deploy, with audit, doctor and bootstrap on top. A module may import
its own area and the areas below it, never one above or beside it. The planners and rule
modules decide from data: they import no Docker, process, HTTP, socket or file-locking code, so
their tests are fast and their decisions are testable without the world. A planted violation
in a copy of the package shows each rule really fails.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "dockyard"

# An area may import from the areas of a lower rank, and from itself.
RANK = {
    "core": 0,
    "env": 1,
    "image": 1,
    "gates": 2,  # the sessions drive every area below the deploy
    "ci": 1,
    "stack": 2,
    "registry": 2,
    "deploy": 3,
    "git": 4,
    "audit": 4,
    "doctor": 4,
    "bootstrap": 5,
    "release": 5,
    "scaffold": 4,
}

# Modules that decide from data and never touch the world.
PURE = [
    "core/dependencies.py",
    "core/errors.py",
    "core/ids.py",
    "core/results.py",
    "core/secrets.py",
    "core/suggest.py",
    "core/validate.py",
    "core/configdoc.py",
    "core/configrules.py",
    "env/check.py",
    "env/diff.py",
    "env/mask.py",
    "env/parser.py",
    "env/render.py",
    "env/resolve.py",
    "env/schema.py",
    "stack/compose.py",
    "registry/plan.py",
    "stack/proxyconf.py",
    "ci/normalise.py",
    "ci/rules.py",
    "ci/classify.py",
    "ci/junit.py",
    "ci/render.py",
    "deploy/confirm.py",
    "deploy/plan.py",
    "deploy/target.py",
    "deploy/monitor/policy.py",
    "git/rules.py",
    "release/bump.py",
    "release/changelog.py",
    "release/commits.py",
    "release/plan.py",
    "release/preflight.py",
    "release/versionfile.py",
    "audit/hardening/findings.py",
    "audit/hardening/compose.py",
    "audit/hardening/dockerfile.py",
    "image/dockerfile.py",
    "image/base/debian.py",
    "scaffold/plan.py",
]

# What a pure module may not import: processes, the engine, the network, locks.
ADAPTERS = (
    "subprocess",
    "docker",
    "requests",
    "tenacity",
    "http",
    "urllib.request",
    "socket",
    "fcntl",
    "dockyard.core.proc",
    "dockyard.core.engine",
    "dockyard.core.ports",
)

# A task module is imported by `invoke --list`: at its top level only invoke and the bridge.
TASK_MODULE_IMPORTS = ("__future__", "invoke", "dockyard.core.invocation")
# The package's own `tasks.py` gathers the areas' task modules for a project's tasks.py.
GATHERER_IMPORTS = (*TASK_MODULE_IMPORTS, "pathlib")


def imported(tree: ast.AST, module: str) -> Iterator[tuple[int, str]]:
    """Every module an import statement names (line, dotted name), relative ones resolved."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.rsplit(".", node.level)[0]
                base = f"{parent}.{base}" if base else parent
            yield node.lineno, base
            for alias in node.names:  # `from dockyard.deploy import lock` imports a module
                yield node.lineno, f"{base}.{alias.name}"


def module_name(package: Path, path: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def area_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "dockyard" and parts[1] in RANK else None


def upward_imports(package: Path) -> list[str]:
    """Imports that point up or across the layers, as `file:line: a -> b`, one per statement."""
    found: dict[tuple[Path, int], str] = {}
    for path in sorted(package.rglob("*.py")):
        name = module_name(package, path)
        own = area_of(name)
        if own is None:
            continue
        for line, target in imported(ast.parse(path.read_text()), name):
            other = area_of(target)
            if other is None or other == own:
                continue
            if RANK[other] >= RANK[own]:
                where = f"{path.relative_to(package)}:{line}"
                found.setdefault((path, line), f"{where}: {own} -> {other} ({target})")
    return sorted(found.values())


def adapters_in_pure_modules(package: Path) -> list[str]:
    found: dict[tuple[str, int], str] = {}
    for relative in PURE:
        path = package / relative
        name = module_name(package, path)
        for line, target in imported(ast.parse(path.read_text()), name):
            if any(target == bad or target.startswith(f"{bad}.") for bad in ADAPTERS):
                found.setdefault((relative, line), f"{relative}:{line}: imports {target}")
    return sorted(found.values())


def area_path(target: str) -> Path:
    """`dockyard.stack` or `dockyard.stack.tasks` -> `stack`; else a path no area has."""
    parts = target.removesuffix(".tasks").split(".")
    return Path(*parts[1:]) if len(parts) == 2 and parts[0] == "dockyard" else Path("-")


def heavy_task_imports(package: Path) -> list[str]:
    found: dict[tuple[Path, int], str] = {}
    for path in sorted(package.rglob("tasks.py")):
        tree = ast.parse(path.read_text())
        gatherer = path.parent == package
        for node in tree.body:  # only the top level: imports inside a task run on use
            if isinstance(node, ast.Import | ast.ImportFrom):
                for line, target in imported(node, module_name(package, path)):
                    if gatherer and (package / area_path(target) / "tasks.py").is_file():
                        continue  # `from dockyard.<area> import tasks`
                    allowed = GATHERER_IMPORTS if gatherer else TASK_MODULE_IMPORTS
                    if not target.startswith(allowed):
                        where = f"{path.relative_to(package)}:{line}"
                        found.setdefault((path, line), f"{where}: imports {target}")
    return sorted(found.values())


def test_every_area_is_ranked() -> None:
    areas = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}
    assert areas == set(RANK)


def test_layers_point_one_way() -> None:
    assert upward_imports(PACKAGE) == []


def test_pure_modules_import_no_adapter() -> None:
    assert adapters_in_pure_modules(PACKAGE) == []


def test_task_modules_import_only_invoke_and_the_bridge() -> None:
    """`invoke --list` imports every tasks.py; what they import at the top is paid on each run."""
    assert heavy_task_imports(PACKAGE) == []


def test_package_init_files_are_empty() -> None:
    """Importing an area costs nothing until a command uses it."""
    inits = sorted(PACKAGE.rglob("__init__.py"))
    assert [path for path in inits if path.read_text().strip() and path.parent != PACKAGE] == []


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    copy = tmp_path / "dockyard"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.mark.parametrize(
    ("module", "statement", "expected"),
    [
        ("core/ids.py", "from dockyard.deploy import lock", "core -> deploy"),
        ("env/store.py", "from dockyard.image.overrides import read_overrides", "env -> image"),
        (
            "stack/lifecycle.py",
            "from dockyard.deploy.plan import rollback_target",
            "stack -> deploy",
        ),
        ("deploy/plan.py", "    from dockyard.audit import gates", "deploy -> audit"),
    ],
)
def test_a_planted_upward_import_is_found(
    planted: Path, module: str, statement: str, expected: str
) -> None:
    path = planted / module
    body = f"def planted() -> None:\n{statement}\n" if statement.startswith(" ") else statement
    path.write_text(path.read_text() + "\n" + body + "\n")
    found = upward_imports(planted)
    assert len(found) == 1
    assert found[0].startswith(f"{module}:")
    assert expected in found[0]


@pytest.mark.parametrize(
    "statement", ["import subprocess", "from dockyard.core import proc", "import fcntl"]
)
def test_a_planted_adapter_in_a_pure_module_is_found(planted: Path, statement: str) -> None:
    path = planted / "deploy" / "plan.py"
    path.write_text(path.read_text() + f"\n{statement}\n")
    assert len(adapters_in_pure_modules(planted)) == 1


def test_a_planted_heavy_import_in_a_task_module_is_found(planted: Path) -> None:
    path = planted / "stack" / "tasks.py"
    path.write_text(path.read_text() + "\nimport docker\n")
    assert heavy_task_imports(planted) == [f"stack/tasks.py:{_last_line(path)}: imports docker"]


def _last_line(path: Path) -> int:
    return len(path.read_text().splitlines())
