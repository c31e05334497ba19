"""Dockerfile hardening rules (CHECKLIST IMG-01..IMG-05, IMG-08's static part, SEC-02) on text.

`parse` reads a Dockerfile the way the builder does: line continuations
joined, comment lines dropped (also inside a continuation), heredocs kept with
their instruction, stages split at each FROM; the final stage is the last one.
A rule returns what it found as (line, message); nothing here reads a file.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dockyard.audit.hardening.findings import Finding
from dockyard.core.config import Hardening
from dockyard.core.secrets import Where, looks_secret
from dockyard.image.dockerfile import Instruction, read_instructions
from dockyard.image.dockerfile import expand as _expand

SEPARATOR = re.compile(r"&&|\|\||[;|\n]")
APT = r"(?:^|[\s/])apt(?:-get)?\s(?:[^\n]*\s)?"
APT_UPDATE = re.compile(APT + r"update\b")
APT_INSTALL = re.compile(APT + r"install\b")
PACKAGE_INSTALL = re.compile(
    r"(?:^|[\s/])(?:apt(?:-get)?\s(?:[^\n]*\s)?install|apk\s(?:[^\n]*\s)?add|"
    r"(?:dnf|yum|microdnf)\s(?:[^\n]*\s)?install)\b"
)
NO_RECOMMENDS = re.compile(r"--no-install-recommends|APT::Install-Recommends=(?:false|0)\b")
LISTS_REMOVED = re.compile(r"(?:^|\s)rm\s[^\n]*/var/lib/apt/lists")
NO_PIP_CACHE = re.compile(r"--no-cache-dir|PIP_NO_CACHE_DIR")
PIP_INSTALL = re.compile(r"(?:^|[\s/])pip[0-9.]*\s(?:[^\n]*\s)?install\b")
CACHE_MOUNT = re.compile(r"--mount=(?=[^\s]*type=cache)[^\s]*target=([^\s,]+)")
COMPILER = re.compile(r"^(?:gcc|g\+\+|cc|c\+\+|clang|build-essential|build-base)(?:-[0-9.]+)?$")
SECRET_FILE = re.compile(
    r"(?:^|/)(?:id_rsa|id_ecdsa|id_ed25519|\.netrc|\.npmrc|\.pypirc|[^/\s]*\.pem|[^/\s]*\.key)$"
)
HEALTHCHECK_OPTIONS = ("interval", "timeout", "start-period", "retries")
REMOVE_LISTS = "rm -rf /var/lib/apt/lists/*"


@dataclass(frozen=True)
class Stage:
    line: int
    base: str  # the image or earlier stage it starts FROM, as written
    name: str  # its AS name, lower case, or ""
    instructions: tuple[Instruction, ...]


@dataclass(frozen=True)
class Dockerfile:
    path: str
    preamble: tuple[Instruction, ...]  # before the first FROM: ARGs and parser-level things
    stages: tuple[Stage, ...]
    policy: Hardening = field(default_factory=Hardening)  # what the rules judge it by
    local_prefix: str = ""  # [images] local_prefix: where the local stand-in images live

    @property
    def global_args(self) -> dict[str, str | None]:
        return _declared(self.preamble, {})

    def parent(self, stage: Stage) -> Stage | None:
        """The earlier stage `stage` builds FROM, if it starts from one."""
        earlier = self.stages[: self.stages.index(stage)]
        return next((s for s in reversed(earlier) if s.name and s.name == stage.base.lower()), None)


def parse(text: str, path: str) -> Dockerfile:
    """The instructions of a Dockerfile, grouped into stages."""
    return _stages(path, read_instructions(text))


def _stages(path: str, instructions: list[Instruction]) -> Dockerfile:
    froms = [i for i, each in enumerate(instructions) if each.keyword == "FROM"]
    stages = []
    for position, first in enumerate(froms):
        end = froms[position + 1] if position + 1 < len(froms) else len(instructions)
        words = [w for w in instructions[first].arguments.split() if not w.startswith("--")]
        name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""
        stages.append(
            Stage(
                instructions[first].line,
                words[0] if words else "",
                name,
                tuple(instructions[first + 1 : end]),
            )
        )
    preamble = tuple(instructions[: froms[0]] if froms else instructions)
    return Dockerfile(path, preamble, tuple(stages))


Rule = Callable[["Dockerfile"], Iterator[tuple[int, str]]]


def dockerfile_findings(
    text: str, path: str, policy: Hardening, local_prefix: str
) -> list[Finding]:
    """Every Dockerfile rule on one file; `path` as the project names it."""
    dockerfile = dataclasses.replace(parse(text, path), policy=policy, local_prefix=local_prefix)
    if not dockerfile.stages:
        return [Finding("IMG-01", f"{path}:1", "no FROM instruction: not a Dockerfile", path)]
    return [
        Finding(rule_id, f"{path}:{line}", message, path)
        for rule_id, rule in RULES.items()
        for line, message in rule(dockerfile)
    ]


def img01_user(df: Dockerfile) -> Iterator[tuple[int, str]]:
    final = df.stages[-1]
    found = _inherited(df, final, "USER")
    if not found:
        yield final.line, "the final stage sets no USER, so it runs as root"
        return
    user, stage = found[-1]
    expanded, missing = _expand(user.arguments, _stage_values(df, stage))
    if missing:
        yield user.line, f"USER {user.arguments} cannot be checked: {missing[0]} has no default"
    elif expanded.split(":")[0].strip() in {"root", "0"}:
        yield user.line, f"USER {user.arguments} runs the final stage as root"


def img02_healthcheck(df: Dockerfile) -> Iterator[tuple[int, str]]:
    final = df.stages[-1]
    checks = [each for each, _ in _inherited(df, final, "HEALTHCHECK")]
    if not checks:
        yield final.line, "the final stage has no HEALTHCHECK"
        return
    if len(checks) > 1:
        lines = ", ".join(str(each.line) for each in checks)
        yield checks[-1].line, f"{len(checks)} HEALTHCHECKs in the final stage (lines {lines})"
    check = checks[-1]
    if check.arguments.upper().split()[:1] == ["NONE"]:
        yield check.line, "HEALTHCHECK NONE in the final stage: the image reports no health"
        return
    given = {
        word[2:].partition("=")[0] for word in check.arguments.split() if word.startswith("--")
    }
    missing = [f"--{option}" for option in HEALTHCHECK_OPTIONS if option not in given]
    if missing:
        yield check.line, f"HEALTHCHECK without an explicit {', '.join(missing)}"


def img03_no_add(df: Dockerfile) -> Iterator[tuple[int, str]]:
    for instruction in _all(df):
        if instruction.keyword == "ADD":
            yield instruction.line, "ADD instruction; use COPY (and fetch URLs in a checked RUN)"


def img04_apt(df: Dockerfile) -> Iterator[tuple[int, str]]:
    for run in _runs(df):
        commands = _commands(run)
        for command in commands:
            if APT_INSTALL.search(command) and not NO_RECOMMENDS.search(command):
                yield run.line, "apt-get install without --no-install-recommends"
        if not any(APT_UPDATE.search(command) for command in commands):
            continue
        if not any(APT_INSTALL.search(command) for command in commands):
            yield run.line, "apt-get update without apt-get install in the same RUN"
        cached = any("/var/lib/apt" in target for target in CACHE_MOUNT.findall(run.arguments))
        if not cached and not LISTS_REMOVED.search(run.arguments):
            yield run.line, f"apt-get update without `{REMOVE_LISTS}` in the same RUN"


def img05_from(df: Dockerfile) -> Iterator[tuple[int, str]]:
    values = df.global_args
    for stage in df.stages:
        if df.parent(stage) is not None or stage.base.lower() == "scratch":
            continue
        image, missing = _expand(stage.base, values)
        shown = stage.base if image == stage.base else f"{stage.base} ({image})"
        if missing:
            yield (
                stage.line,
                f"FROM {stage.base}: {missing[0]} has no default in an ARG before the first FROM",
            )
            continue
        name, _, digest = image.partition("@")
        last = name.rsplit("/", 1)[-1]
        _, _, tag = last.partition(":")
        if not digest and not tag:
            yield stage.line, f"FROM {shown} has no tag"
        elif not digest and tag == "latest":
            yield stage.line, f"FROM {shown} uses the latest tag"
        if not _allowed_source(name.rsplit(":", 1)[0] if tag else name, df):
            allowed = ", ".join([*df.policy.registries, f"{df.local_prefix}/"])
            yield stage.line, f"FROM {shown} is not from a configured registry ({allowed})"


def img08_runtime_hygiene(df: Dockerfile) -> Iterator[tuple[int, str]]:
    for instruction in _all(df):
        if re.search(r"--trusted-host|PIP_TRUSTED_HOST", instruction.arguments):
            yield instruction.line, "--trusted-host turns off pip's certificate checks"
    for stage in df.stages:
        envs = [each.arguments for each in stage.instructions if each.keyword == "ENV"]
        no_cache_env = any("PIP_NO_CACHE_DIR" in each for each in envs)
        for run in (each for each in stage.instructions if each.keyword == "RUN"):
            cached = any("pip" in target for target in CACHE_MOUNT.findall(run.arguments))
            for command in _commands(run):
                if not PIP_INSTALL.search(command) or re.search(r"\buv\s+pip\b", command):
                    continue
                if not (cached or no_cache_env or NO_PIP_CACHE.search(command)):
                    yield run.line, "pip install without --no-cache-dir or a cache mount"
    for run in _runs(df, df.stages[-1]):
        for command in _commands(run):
            if not PACKAGE_INSTALL.search(command):
                continue
            for word in (each.strip("\"'") for each in command.split()):
                if COMPILER.match(word):
                    yield (
                        run.line,
                        f"installs the compiler {word} in the final stage; "
                        "build in an earlier stage and copy the result",
                    )


def sec02_build_secrets(df: Dockerfile) -> Iterator[tuple[int, str]]:
    for instruction in _all(df):
        if instruction.keyword in {"ARG", "ENV"}:
            for name in _declared((instruction,), {}):
                if looks_secret(name, Where.BUILD):
                    yield (
                        instruction.line,
                        f"{instruction.keyword} {name} looks like a secret and stays in the "
                        "image's history; pass it with RUN --mount=type=secret",
                    )
        elif instruction.keyword in {"COPY", "ADD"}:
            words = [w for w in _split(instruction.arguments) if not w.startswith("--")]
            for source in words[:-1]:
                if SECRET_FILE.search(source):
                    yield (
                        instruction.line,
                        f"{instruction.keyword} {source} puts a credential file in a layer; "
                        "use RUN --mount=type=secret",
                    )


RULES: dict[str, Rule] = {
    "IMG-01": img01_user,
    "IMG-02": img02_healthcheck,
    "IMG-03": img03_no_add,
    "IMG-04": img04_apt,
    "IMG-05": img05_from,
    "IMG-08": img08_runtime_hygiene,
    "SEC-02": sec02_build_secrets,
}


# --------------------------------------------------------------- helpers ---


def _all(df: Dockerfile) -> Iterator[Instruction]:
    yield from df.preamble
    for stage in df.stages:
        yield from stage.instructions


def _runs(df: Dockerfile, stage: Stage | None = None) -> Iterator[Instruction]:
    stages = df.stages if stage is None else (stage,)
    return (each for s in stages for each in s.instructions if each.keyword == "RUN")


def _commands(run: Instruction) -> list[str]:
    """The shell commands of a RUN, its own flags (`--mount=...`) left out."""
    words = run.arguments.split(" ")
    while words and words[0].startswith("--"):
        words.pop(0)
    return [part.strip() for part in SEPARATOR.split(" ".join(words)) if part.strip()]


def _inherited(df: Dockerfile, stage: Stage, keyword: str) -> list[tuple[Instruction, Stage]]:
    """`keyword` instructions of `stage`, or else of the earlier stage it builds FROM."""
    found = [(each, stage) for each in stage.instructions if each.keyword == keyword]
    parent = df.parent(stage)
    return found if found or parent is None else _inherited(df, parent, keyword)


def _stage_values(df: Dockerfile, stage: Stage) -> dict[str, str | None]:
    values = _declared(tuple(each for each in stage.instructions if each.keyword == "ARG"), {})
    globals_ = df.global_args
    values = {k: v if v is not None else globals_.get(k) for k, v in values.items()}
    return _declared(tuple(e for e in stage.instructions if e.keyword == "ENV"), values)


def _declared(
    instructions: tuple[Instruction, ...], values: dict[str, str | None]
) -> dict[str, str | None]:
    """Names ARG and ENV instructions declare, with their defaults (None without one)."""
    declared = dict(values)
    for instruction in instructions:
        if instruction.keyword not in {"ARG", "ENV"}:
            continue
        words = _split(instruction.arguments)
        if instruction.keyword == "ENV" and words and "=" not in words[0]:
            declared[words[0]] = " ".join(words[1:])  # the legacy `ENV KEY value` form
            continue
        for word in words:
            name, sep, default = word.partition("=")
            declared[name] = default if sep else declared.get(name)
    return declared


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        return text.split()


def _allowed_source(name: str, df: Dockerfile) -> bool:
    prefix, policy = df.local_prefix, df.policy
    if prefix and name.startswith(prefix.rstrip("/") + "/"):
        return True
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = "docker.io", name
    if registry in {"index.docker.io", "registry-1.docker.io"}:
        registry = "docker.io"
    if registry == "docker.io" and "/" not in path:
        path = f"library/{path}"
    full = f"{registry}/{path}"
    return any(
        full == r.rstrip("/") or full.startswith(r.rstrip("/") + "/") for r in policy.registries
    )
