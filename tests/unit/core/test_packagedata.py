"""The files dockyard needs at run time travel inside its wheel, and an installed copy finds
them: a project that depends on dockyard needs none of them in its own tree."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from dockyard.core.invocation import toolchain_environ
from dockyard.core.packagedata import data_path
from dockyard.image.base.plan import KINDS, tree_digest

REPO = Path(__file__).resolve().parents[3]
ENVIRON = toolchain_environ(os.environ)
SHIPPED = sorted(
    path.relative_to(data_path()).as_posix() for path in data_path().rglob("*") if path.is_file()
)


def run(*args: str | Path, cwd: Path = REPO, environ: dict[str, str] = ENVIRON) -> str:
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The wheel built from this checkout, installed (without its dependencies) into a new
    virtual environment: (the wheel, the environment's python)."""
    out = tmp_path_factory.mktemp("wheel")
    run("uv", "build", "--wheel", "--out-dir", out)
    [wheel] = out.glob("dockyard-*.whl")
    venv = tmp_path_factory.mktemp("venv") / "venv"
    run("uv", "venv", "--quiet", venv)
    python = venv / "bin" / "python"
    run("uv", "pip", "install", "--quiet", "--no-deps", "--python", python, wheel)
    return wheel, python


def test_the_shipped_files_are_the_base_contexts_and_the_proxy() -> None:
    assert "proxy/default.conf" in SHIPPED
    for kind in KINDS:
        assert any(name.startswith(f"base/{kind.key}/") for name in SHIPPED), kind.key
    assert "base/python/Dockerfile" in SHIPPED


def test_the_wheel_holds_every_shipped_file_with_its_mode(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    with zipfile.ZipFile(wheel) as archive:
        entries = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    for name in SHIPPED:
        mode = entries.get(f"dockyard/data/{name}")
        assert mode is not None, f"{name} is not in {wheel.name}"
        executable = os.access(data_path(name), os.X_OK)
        assert bool(mode & 0o100) == executable, name


def test_an_installed_copy_finds_its_files_outside_any_checkout(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, python = installed
    found = run(
        python,
        "-c",
        "from dockyard.core.packagedata import data_path; "
        "print(data_path('proxy', 'default.conf')); print(data_path('base'))",
        cwd=tmp_path,
        environ={k: v for k, v in ENVIRON.items() if k != "PYTHONPATH"},  # the installed copy
    ).split()
    conf, base = Path(found[0]), Path(found[1])
    assert conf.is_relative_to(python.parent.parent)  # the environment's, not this checkout's
    assert conf.read_text(encoding="utf-8") == data_path("proxy", "default.conf").read_text()
    # The same build contexts, byte for byte and bit for bit: base images built from a
    # checkout stay current when built from an installed copy.
    for kind in KINDS:
        assert tree_digest(base / kind.key) == tree_digest(data_path("base", kind.key)), kind.key
