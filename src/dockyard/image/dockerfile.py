"""A Dockerfile read the way the builder reads it, and what a build needs to know from it.

`read_instructions` joins line continuations, drops comment lines (also inside a
continuation) and keeps heredocs with their instruction. On top of it: the images a build
really starts FROM (with the build arguments applied, stages told apart from images), whether
the Dockerfile uses a given build argument in a FROM, and the RUN lines that fetch from the
network without mounting the CA bundle's BuildKit secret. Nothing here reads a file.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

DIRECTIVE = re.compile(r"^#\s*escape\s*=\s*([\\`])\s*$", re.IGNORECASE)
HEREDOC = re.compile(r"<<(-?)[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")
VARIABLE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
# What a build prints when TLS to the outside is intercepted and the tool does not trust the CA.
TLS_FAILURE = re.compile(
    r"CERTIFICATE_VERIFY_FAILED|certificate verify failed|invalid peer certificate|"
    r"SSL certificate problem|unable to get local issuer certificate|"
    r"certificate signed by unknown authority|server certificate verification failed|"
    r"self[- ]signed certificate in certificate chain|UnknownIssuer",
    re.IGNORECASE,
)
# Programs that download over HTTPS: given an address (None), or with one of these subcommands.
FETCHERS: dict[str, frozenset[str] | None] = {
    "pip": frozenset({"install", "download", "wheel"}),
    "uv": frozenset({"sync", "add", "lock", "pip", "tool", "python"}),
    "poetry": frozenset({"install", "add", "lock", "update"}),
    "pipenv": frozenset({"install", "sync"}),
    "pdm": frozenset({"install", "sync", "add", "lock"}),
    "npm": frozenset({"install", "ci", "i"}),
    "git": frozenset({"clone", "fetch", "pull", "submodule"}),
    "curl": None,
    "wget": None,
}
_PIP = re.compile(r"^pip[0-9.]*$")
_PYTHON = re.compile(r"^python[0-9.]*$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SEPARATOR = re.compile(r"&&|\|\||[;|\n()`]")
_WRAPPERS = {"sudo", "exec", "env", "time", "nice", "command"}
_MOUNT = re.compile(r"--mount=(\S+)")


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str  # upper case
    arguments: str  # continuations joined; a heredoc's body follows a newline


@dataclass(frozen=True)
class BaseUse:
    """One FROM line: the image as written, as the build resolves it, and its stage name."""

    line: int
    written: str
    image: str  # build arguments applied; an earlier stage's name when it builds on one
    stage: str  # its AS name, lower case, or ""
    from_stage: bool  # it starts from an earlier stage, not from an image
    unresolved: tuple[str, ...] = ()  # arguments it uses that have no value

    @property
    def external(self) -> bool:
        """An image the build must find in the engine or pull (not a stage, not `scratch`)."""
        return not self.from_stage and self.image.lower() != "scratch"


@dataclass(frozen=True)
class FetchingRun:
    """A RUN that downloads over the network without the CA bundle's secret mounted."""

    line: int
    tools: tuple[str, ...]  # e.g. ("pip",), ("curl", "git")
    text: str  # the instruction, shortened for a message


def read_instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, each with the line it starts on."""
    lines = text.splitlines()
    escape = "\\"
    for line in lines:
        if not line.startswith("#"):
            break
        if directive := DIRECTIVE.match(line):
            escape = directive.group(1)
    instructions: list[Instruction] = []
    index = 0
    while index < len(lines):
        start, parts = index, []
        stripped = lines[index].strip()
        index += 1
        if not stripped or stripped.startswith("#"):
            continue
        current = lines[start].rstrip()
        while current.endswith(escape) and index <= len(lines):
            parts.append(current[: -len(escape)])
            current = ""
            while index < len(lines) and lines[index].strip()[:1] in {"", "#"}:
                index += 1  # comments and empty lines inside a continuation are dropped
            if index < len(lines):
                current = lines[index].rstrip()
                index += 1
        parts.append(current)
        logical = "".join(parts).strip()
        keyword, _, arguments = logical.partition(" ")
        for heredoc in HEREDOC.finditer(arguments):
            body = []
            while index < len(lines):
                line = lines[index]
                index += 1
                ended = line.strip() if heredoc.group(1) else line
                if ended == heredoc.group(2):
                    break
                body.append(line)
            arguments += "\n" + "\n".join(body)
        instructions.append(Instruction(start + 1, keyword.upper(), arguments.strip()))
    return instructions


def expand(text: str, values: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """`text` with `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alt}` replaced, and the
    names that had no value."""
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        value = values.get(name)
        operator, word = match.group(2), match.group(3) or ""
        if operator == ":-":
            return value if value else word
        if operator == ":+":
            return word if value else ""
        if value is None:
            missing.append(name)
            return match.group(0)
        return value

    return VARIABLE.sub(substitute, text), missing


def base_uses(text: str, build_args: Mapping[str, str]) -> list[BaseUse]:
    """Every FROM line, resolved as a build with `build_args` resolves it: the ARGs declared
    before the first FROM, their defaults overridden by the build arguments given."""
    instructions = read_instructions(text)
    values: dict[str, str | None] = {}
    stages: set[str] = set()
    found: list[BaseUse] = []
    for instruction in instructions:
        if instruction.keyword == "ARG" and not found:
            for word in instruction.arguments.split():
                name, sep, default = word.partition("=")
                values[name] = build_args.get(name, default.strip("\"'") if sep else None)
        if instruction.keyword != "FROM":
            continue
        words = [w for w in instruction.arguments.split() if not w.startswith("--")]
        written = words[0] if words else ""
        image, missing = expand(written, values)
        stage = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""
        from_stage = image.lower() in stages
        found.append(BaseUse(instruction.line, written, image, stage, from_stage, tuple(missing)))
        if stage:
            stages.add(stage)
    return found


def uses_argument(text: str, name: str) -> bool:
    """Whether any FROM line of the Dockerfile refers to the build argument `name`."""
    return any(
        name in {m.group(1) or m.group(4) for m in VARIABLE.finditer(use.written)}
        for use in base_uses(text, {})
    )


def fetching_runs_without_secret(text: str, secret_id: str) -> list[FetchingRun]:
    """The RUN lines that run a downloading tool (pip, uv, poetry, curl, wget, git clone, ...)
    without `--mount=type=secret,id=<secret_id>`: behind a TLS-intercepting proxy, these are
    the steps that cannot verify the certificates they are shown."""
    found = []
    for instruction in read_instructions(text):
        if instruction.keyword != "RUN" or mounts_secret(instruction.arguments, secret_id):
            continue
        tools = fetch_tools(_command(instruction.arguments))
        if tools:
            short = "RUN " + " ".join(instruction.arguments.split())
            found.append(FetchingRun(instruction.line, tools, _shortened(short)))
    return found


def fetch_tools(command: str) -> tuple[str, ...]:
    """The downloading programs a shell command line runs, each simple command judged by its
    program (after variable assignments and wrappers such as sudo) and its subcommand."""
    found: set[str] = set()
    for segment in _SEPARATOR.split(command):
        words = segment.split()
        while words and (_ASSIGNMENT.match(words[0]) or words[0] in _WRAPPERS):
            words.pop(0)
        if not words:
            continue
        program, rest = words[0].rsplit("/", 1)[-1], words[1:]
        if _PYTHON.match(program) and rest[:2] == ["-m", "pip"]:
            program, rest = "pip", rest[2:]
        program = "pip" if _PIP.match(program) else program
        if program not in FETCHERS:
            continue
        subcommands = FETCHERS[program]
        if subcommands is None:  # curl, wget: a download needs an address, not just --version
            if any(not word.startswith("-") for word in rest):
                found.add(program)
        elif any(word in subcommands for word in rest):
            found.add(program)
    return tuple(sorted(found))


def mounts_secret(arguments: str, secret_id: str) -> bool:
    """Whether a RUN's flags mount the BuildKit secret `secret_id` (in any option order)."""
    for match in _MOUNT.finditer(_flags(arguments)):
        options = dict(part.partition("=")[::2] for part in match.group(1).split(","))
        if options.get("type") == "secret" and options.get("id") == secret_id:
            return True
    return False


def _flags(arguments: str) -> str:
    words = arguments.split()
    return " ".join(w for w in words[: _first_command_word(words)] if w.startswith("--"))


def _command(arguments: str) -> str:
    words = arguments.split(" ")
    while words and (words[0].startswith("--") or not words[0]):
        words.pop(0)
    return " ".join(words)


def _first_command_word(words: list[str]) -> int:
    return next((i for i, word in enumerate(words) if not word.startswith("--")), len(words))


def tls_failed(output: str) -> bool:
    """Whether a build's output shows a tool refusing a certificate it could not verify."""
    return TLS_FAILURE.search(output) is not None


# How each downloading program is pointed at the mounted bundle.
POINT_AT = {
    "pip": "PIP_CERT={path}",
    "uv": "SSL_CERT_FILE={path}",
    "poetry": "REQUESTS_CA_BUNDLE={path}",
    "pipenv": "REQUESTS_CA_BUNDLE={path}",
    "pdm": "SSL_CERT_FILE={path}",
    "npm": "NODE_EXTRA_CA_CERTS={path}",
    "git": "GIT_SSL_CAINFO={path}",
    "curl": "curl --cacert {path}",
    "wget": "wget --ca-certificate={path}",
}


@dataclass(frozen=True)
class TlsCause:
    """Why a build's TLS failed, as far as the Dockerfile tells, and what to do about it."""

    cause: str
    hint: str
    runs: tuple[FetchingRun, ...] = ()


def tls_cause(text: str, path: str, secret_id: str, bundle: str | None) -> TlsCause:
    """The real cause of a build that failed to verify certificates: no CA bundle found at all,
    or the RUN lines (`path:line`) that fetch without mounting the bundle's secret."""
    target = f"/run/secrets/{secret_id}"
    if bundle is None:
        return TlsCause(
            "TLS is intercepted and no CA bundle was found to give the build",
            "set SSL_CERT_FILE (or REQUESTS_CA_BUNDLE, PIP_CERT) to the bundle that trusts the "
            "intercepting CA (e.g. /etc/ssl/certs/ca-certificates.crt): the build then gets it "
            f"as the BuildKit secret `{secret_id}`",
        )
    runs = tuple(fetching_runs_without_secret(text, secret_id))
    tools = sorted({tool for run in runs for tool in run.tools})
    pointing = ", ".join(POINT_AT[tool].format(path=target) for tool in tools)
    if runs:
        named = "; ".join(f"{path}:{run.line} ({', '.join(run.tools)}) {run.text}" for run in runs)
        return TlsCause(
            f"the CA bundle {bundle} went to the build as the secret `{secret_id}`, but "
            f"{'this RUN fetches' if len(runs) == 1 else 'these RUN lines fetch'} without "
            f"mounting it: {named}",
            f"add `--mount=type=secret,id={secret_id},target={target}` to "
            f"{'that RUN' if len(runs) == 1 else 'each of them'} and point the tool at the "
            f"file ({pointing}); no layer keeps a secret mount",
            runs,
        )
    return TlsCause(
        f"the CA bundle {bundle} went to the build as the secret `{secret_id}` and every "
        f"fetching RUN of {path} mounts it, yet a certificate was refused",
        f"check that each such RUN points its tool at {target} (pip: PIP_CERT, uv: "
        "SSL_CERT_FILE, curl: --cacert, git: GIT_SSL_CAINFO) and that the bundle trusts the "
        "intercepting CA",
    )


def _shortened(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass(frozen=True)
class BuiltOn:
    """What an image is really built on: the images its FROM lines name, resolved."""

    images: tuple[str, ...]  # each external image once, in the order the FROM lines name them
    uses_base_argument: bool
    warnings: tuple[str, ...] = ()


def built_on(
    text: str,
    path: str,
    build_args: Mapping[str, str],
    base_argument: str,
    present: Collection[str],
) -> BuiltOn:
    """The images a build starts FROM, with a warning when the Dockerfile ignores the base-image
    argument (so the base passed is not what it is built on), when a FROM cannot be resolved,
    and for each image not in `present` (those the engine has): without a registry, those
    cannot be pulled."""
    uses = base_uses(text, build_args)
    external = [use for use in uses if use.external]
    images = tuple(dict.fromkeys(use.image for use in external if not use.unresolved))
    uses_base = uses_argument(text, base_argument)
    warnings = []
    if uses and not uses_base:
        froms = ", ".join(f"{use.image} ({path}:{use.line})" for use in external) or "scratch"
        passed = build_args.get(base_argument)
        warnings.append(
            f"{path} does not use the {base_argument} build argument: {passed} is not used,"
            f" the image is built on {froms}; to build on the base dockyard passes,"
            f" declare `ARG {base_argument}` and start FROM ${{{base_argument}}}"
        )
    for use in external:
        if use.unresolved:
            warnings.append(
                f"{path}:{use.line}: FROM {use.written} uses {', '.join(use.unresolved)}, which has"
                " no value: give it a default or pass it as a build argument"
            )
        elif use.image not in present:
            warnings.append(
                f"{path}:{use.line}: FROM {use.image} is not in the engine: the build pulls it, "
                "which fails where no registry can be reached (build it here, or start FROM "
                f"${{{base_argument}}} so `invoke image.base`'s stand-in can be used)"
            )
    return BuiltOn(images, uses_base, tuple(dict.fromkeys(warnings)))
