"""Real git repositories for the git tests: a bare "remote" and clones of it in a temporary
directory, each with its own identity, and dockyard's tasks run against a clone for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast

REPO = Path(__file__).resolve().parents[3]
INVOKE = str(Path(sys.executable).parent / "invoke")
SRC = str(REPO / "src")

PYPROJECT = """\
[project]
name = "demo"
version = "1.0.0"

[tool.dockyard]
project = "demo"
image = "demo"

[tool.dockyard.health]
version_path = "/version"

[tool.dockyard.deploy]
monitor_settle_seconds = 0.5
monitor_interval_seconds = 0.1
monitor_failures = 3

[tool.dockyard.git]
push_attempts = 8
push_max_seconds = 120
{extra}
"""


def environ() -> dict[str, str]:
    """The environment git and the tasks run with: this checkout's code, no user git config."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("GIT_", "INVOKE_"))
    }
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = SRC + (os.pathsep + path if path else "")
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=environ(), capture_output=True, text=True, check=check,
        timeout=120,
    )  # fmt: skip


def sha(cwd: Path, ref: str = "HEAD") -> str:
    return git(cwd, "rev-parse", ref).stdout.strip()


def commit(cwd: Path, name: str, text: str, message: str = "") -> str:
    """Write `name` (appending to nothing: the whole text) and commit it."""
    path = cwd / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    git(cwd, "add", name)
    git(cwd, "commit", "-q", "-m", message or f"change {name}")
    return sha(cwd)


def identify(cwd: Path, who: str) -> None:
    git(cwd, "config", "user.name", who)
    git(cwd, "config", "user.email", f"{who}@example.test")


def make_remote(base: Path, extra: str = "") -> Path:
    """A bare repository whose main branch has a project with a [tool.dockyard] table."""
    remote = base / "remote.git"
    git(base, "init", "-q", "--bare", "-b", "main", str(remote))
    seed = base / "seed"
    git(base, "clone", "-q", str(remote), str(seed))
    identify(seed, "seed")
    git(seed, "checkout", "-q", "-b", "main")
    (seed / ".gitignore").write_text(".dockyard/\nenv/\n")
    (seed / "pyproject.toml").write_text(PYPROJECT.format(extra=extra))
    (seed / "README.md").write_text("first line\nsecond line\n")
    (seed / "CHANGELOG.md").write_text("# Changes\n\n")
    git(seed, "add", ".")
    git(seed, "commit", "-q", "-m", "the project")
    git(seed, "push", "-q", "origin", "main")
    return remote


def clone(remote: Path, name: str) -> Path:
    path = remote.parent / name
    git(remote.parent, "clone", "-q", str(remote), str(path))
    identify(path, name)
    return path


def task(
    clone: Path, *args: str, check: bool = False, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `invoke <args>` for real, for the project in `clone` (`extra`: more environment)."""
    env = environ() | {"INVOKE_DOCKYARD_ROOT": str(clone)} | (extra or {})
    done = subprocess.run(
        [INVOKE, "-r", str(REPO), *args], cwd=clone, env=env, capture_output=True, text=True,
        check=False, timeout=300,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def task_popen(clone: Path, *args: str) -> subprocess.Popen[str]:
    env = environ() | {"INVOKE_DOCKYARD_ROOT": str(clone)}
    return subprocess.Popen(
        [INVOKE, "-r", str(REPO), *args], cwd=clone, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def state(cwd: Path) -> tuple[str, str, str]:
    """HEAD, the index and the work tree as git sees them: equal before and after means nothing
    changed (CHECKLIST GIT-02)."""
    index = git(cwd, "ls-files", "--stage").stdout
    tree = git(cwd, "status", "--porcelain", "--untracked-files=all").stdout
    return sha(cwd), index, tree


# --- an instance that reports its commit --------------------------------------------------------


class Instance(ThreadingHTTPServer):
    """Serves `/version` with `commit` and `/health/ready` with `ready` (an HTTP status)."""

    commit = "0" * 40
    ready = 200


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        server = cast(Instance, self.server)
        if self.path == "/version":
            code, body = 200, json.dumps({"version": "1.0.0", "git_sha": server.commit}).encode()
        else:
            code = server.ready
            body = b"ready" if code == 200 else b"database unreachable"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def instance() -> Iterator[Instance]:
    server = Instance(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def watch(clone: Path, server: Instance, name: str = "staging") -> None:
    """Describe the watched instance in `clone` (git-ignored): it answers on the server's port."""
    path = clone / "env" / "instances" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'profile = "testing"\nport = {server.server_address[1]}\n')
