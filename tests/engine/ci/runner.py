"""Run a workflow's steps the way a hosted runner would, as far as this machine allows.

What is real: a clean clone of HEAD, a user that is not root (in the docker group), the variables
a runner sets, each `run:` step's own shell, environment and working directory, in order, with
the install steps (`scripts/bootstrap.sh --toolchain-only`) run for real.

What is substituted, and why:
- `uses:` steps. `actions/checkout` is the clone itself; `actions/setup-python` is the system's
  Python 3.11 (what `.python-version` pins); `actions/upload-artifact` becomes a check that the
  path it uploads exists. None of them can run outside GitHub.
- A step's call of `nox` or `invoke` (whole pipelines: every gate, a release, a deploy) becomes
  `SHIM`: it checks that the nox session is listed by `nox -l`, or that the invoke task exists and
  its arguments parse (invoke's own parser, on the project's own tasks), without running it.
  `invoke ci.doctor`, which only reads files, runs for real.
- `${{ }}` expressions take the values of `EXPRESSIONS` (inputs as a person would type them,
  secrets empty); an expression it does not know is an error, so a new one is seen here first.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML (from yamllint) has no stubs here

USER = "dockyard-runner"
EXPRESSIONS = {
    "github.server_url": "https://github.com",
    "github.repository": "acme/tugboat",
    "github.run_id": "4242",
    "github.ref": "refs/heads/main",
    "inputs.instance": "staging",
    "inputs.profile": "testing",
    "inputs.image": "",
    "inputs.version": "",
    "secrets.GITHUB_TOKEN": "",
    "secrets.NOTIFY_WEBHOOK_URL": "",
}
# GitHub's default shells: `bash -e {0}` when none is named, `bash ... -eo pipefail` for bash.
SHELLS = {
    None: ["bash", "-e"],
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"],
    "sh": ["sh", "-e"],
}
PIPELINE = re.compile(r"(?<![\w/.-])((?:\.venv/bin/)?(?:nox|invoke))(?=\s)")
SHIM = """\
import sys
from pathlib import Path

tool, *argv = sys.argv[1:]
if tool == "nox":
    import subprocess
    sessions = [argv[i + 1] for i, arg in enumerate(argv) if arg in ("-s", "--session")]
    listed = subprocess.run([".venv/bin/nox", "-l"], capture_output=True, text=True, check=True)
    names = {line.split()[1] for line in listed.stdout.splitlines() if line[:2] in ("* ", "- ")}
    unknown = [name for name in sessions if name not in names]
    sys.exit(f"nox: no session {unknown}" if unknown else 0)
if argv and argv[0] == "ci.doctor":
    import os
    os.execv(".venv/bin/invoke", [".venv/bin/invoke", *argv])
from invoke import Collection, Program
from invoke.exceptions import ParseError
from invoke.parser import Parser

sys.path.insert(0, str(Path.cwd()))
import tasks

collection = getattr(tasks, "ns", None)
if not isinstance(collection, Collection):
    collection = Collection.from_module(tasks)
parser = Parser(initial=Program().initial_context, contexts=collection.to_contexts())
try:
    parsed = parser.parse_argv(argv)
except ParseError as error:
    sys.exit(f"invoke: {error}")
print("would run:", " ".join(repr(context.name) for context in parsed[1:]))
"""


@dataclass(frozen=True)
class Step:
    job: str
    name: str
    uses: str | None
    run: str | None
    shell: str | None
    env: dict[str, str]
    with_: dict[str, Any]


@dataclass(frozen=True)
class Ran:
    step: Step
    code: int
    output: str
    seconds: float


def expand(text: str) -> str:
    """`${{ expr }}` replaced by the value in EXPRESSIONS; unknown expressions raise."""

    def one(match: re.Match[str]) -> str:
        expression = match[1].strip()
        if expression not in EXPRESSIONS:
            raise KeyError(f"no value for the expression {expression!r}: add it to EXPRESSIONS")
        return EXPRESSIONS[expression]

    return re.sub(r"\$\{\{(.+?)\}\}", one, text)


def steps_of(workflow: Path) -> list[Step]:
    document = yaml.safe_load(workflow.read_text())
    top = {key: expand(str(value)) for key, value in (document.get("env") or {}).items()}
    found = []
    for job_id, job in document["jobs"].items():
        job_env = {**top, **{k: expand(str(v)) for k, v in (job.get("env") or {}).items()}}
        for index, step in enumerate(job["steps"]):
            env = {**job_env, **{k: expand(str(v)) for k, v in (step.get("env") or {}).items()}}
            found.append(
                Step(
                    job=job_id,
                    name=step.get("name") or step.get("uses") or f"step {index + 1}",
                    uses=step.get("uses"),
                    run=step.get("run"),
                    shell=step.get("shell")
                    or (job.get("defaults") or {}).get("run", {}).get("shell"),
                    env=env,
                    with_=step.get("with") or {},
                )
            )
    return found


def ensure_user() -> tuple[str, Path]:
    """The user the steps run as: the current one when it is not root, else USER (created
    once, in the docker group so that it reaches the engine as a runner's user does)."""
    if os.geteuid() != 0:
        return os.environ.get("USER", "runner"), Path.home()
    if subprocess.run(["id", USER], capture_output=True, check=False).returncode != 0:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)
    if (
        subprocess.run(["getent", "group", "docker"], capture_output=True, check=False).returncode
        == 0
    ):
        subprocess.run(["usermod", "--append", "--groups", "docker", USER], check=True)
    return USER, Path("/home") / USER


def clone(source: Path, into: Path, user: str) -> Path:
    """A clean clone of `source`'s HEAD, owned by `user`."""
    workspace = into / "workspace"
    subprocess.run(["git", "clone", "--quiet", str(source), str(workspace)], check=True)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", f"{user}:", str(into)], check=True)
    return workspace


def runner_environ(user: str, home: Path, workspace: Path, temp: Path) -> dict[str, str]:
    """The variables a hosted runner gives every step (and a PATH without the test's venv)."""
    files = {name: temp / name for name in ("step_summary", "output", "env", "path")}
    for path in files.values():
        path.touch()
        if os.geteuid() == 0:
            os.chown(path, *_ids(user))
    return {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(files["step_summary"]),
        "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_ENV": str(files["env"]),
        "GITHUB_PATH": str(files["path"]),
        "GITHUB_REPOSITORY": EXPRESSIONS["github.repository"],
        "GITHUB_RUN_ID": EXPRESSIONS["github.run_id"],
        "GITHUB_SERVER_URL": EXPRESSIONS["github.server_url"],
        "GITHUB_REF": EXPRESSIONS["github.ref"],
        "RUNNER_OS": "Linux",
        "RUNNER_TEMP": str(temp),
        "HOME": str(home),
        "USER": user,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        **{k: v for k, v in os.environ.items() if k in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")},
    }


def substituted(script: str) -> str:
    """The step's script with its nox and invoke calls going through the shim."""
    return PIPELINE.sub(lambda m: f'"$RUNNER_TEMP/shim" {m[1].rsplit("/", 1)[-1]}', script)


def run_steps(
    workflow: Path, workspace: Path, user: str, environ: dict[str, str], temp: Path
) -> list[Ran]:
    """Every step in order, as `user`; the first failure ends the job, as on a runner."""
    shim = temp / "shim"
    shim.write_text(f"#!/bin/sh\nexec .venv/bin/python - \"$@\" <<'EOF'\n{SHIM}EOF\n")
    shim.chmod(0o755)
    done: list[Ran] = []
    for step in steps_of(workflow):
        began = time.monotonic()
        if step.run is None:
            code, output = _action(step, workspace)
        else:
            script = temp / f"step-{len(done)}.sh"
            script.write_text(substituted(expand(step.run)))
            script.chmod(0o644)
            command = [*SHELLS[step.shell], str(script)]
            as_user = ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []
            finished = subprocess.run(
                [*as_user, "env", "-i", *(f"{k}={v}" for k, v in {**environ, **step.env}.items()),
                 *command],
                cwd=workspace, capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            code, output = finished.returncode, finished.stdout + finished.stderr
        done.append(Ran(step, code, output, time.monotonic() - began))
        if code != 0:
            break
    return done


def _action(step: Step, workspace: Path) -> tuple[int, str]:
    name = (step.uses or "").split("@")[0]
    if name == "actions/upload-artifact":
        path = workspace / str(step.with_.get("path", ""))
        return (0, f"{path} exists") if path.exists() else (1, f"nothing to upload at {path}")
    if name in ("actions/checkout", "actions/setup-python"):
        return 0, f"{name}: the clean clone and the system's Python stand in for it"
    return 1, f"no stand-in for the action {name!r}: add one to tests/engine/ci/runner.py"


def _ids(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def describe(ran: list[Ran]) -> str:
    return "\n".join(
        f"[{r.code}] {r.step.job}: {r.step.name} ({r.seconds:.1f} s)\n{r.output[-1500:]}"
        for r in ran
    )
