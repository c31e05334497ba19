"""What `invoke ci.doctor` knows: one rule per kind of CI failure, as data.

A rule's triggers are regular expressions (matched per line); the first rule, in this order,
with a trigger in the log names the failure. The order puts causes before their symptoms: a
container killed for memory or a certificate that does not verify also makes a test fail or a
package "not found", so those rules come first. `shown` picks further lines worth reading (an
assertion, the failing build step), `details` pulls named facts out of the log (the first match
of each name wins), and `fix` says what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    category: str
    title: str
    triggers: tuple[str, ...]
    fix: str
    shown: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    # Lines of context shown after each trigger line.
    after: int = 0
    compiled: tuple[Search, ...] = field(init=False, repr=False, compare=False)
    compiled_shown: tuple[Search, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", tuple(map(Search.of, self.triggers)))
        object.__setattr__(self, "compiled_shown", tuple(map(Search.of, self.shown)))


@dataclass(frozen=True)
class Search:
    """A pattern compiled for speed over a text that starts with a newline. Patterns are
    compiled one by one, not as one alternation: one that starts with a literal is searched for
    at C speed, an alternation is tried at every position. A line anchor `^` becomes a literal
    newline for the same reason; such a match starts one character before its line."""

    pattern: re.Pattern[str]
    anchored: bool

    @classmethod
    def of(cls, pattern: str) -> Search:
        anchored = pattern.startswith("^")
        body = "\n" + pattern[1:] if anchored else pattern
        return cls(re.compile(body, re.MULTILINE), anchored)


RULES: tuple[Rule, ...] = (
    Rule(
        "out-of-memory",
        "a process was killed for lack of memory",
        (
            r"Killed(?:\s|$)",
            r"exit code:? 137\b",
            r"OOMKilled",
            r"MemoryError\b",
            r"Out of memory: Killed process",
            r"Cannot allocate memory",
        ),
        "The process ran out of memory (exit 137 is SIGKILL from the kernel's OOM killer). Raise "
        "the container's or runner's memory limit, or make the step use less: fewer parallel "
        "workers (pytest -n, make -j), smaller test data, streaming instead of loading at once.",
        after=1,
    ),
    Rule(
        "disk-full",
        "the disk is full",
        (r"No space left on device", r"ENOSPC\b", r"Disk quota exceeded"),
        "Free space on the runner: `docker system prune -af --volumes`, remove caches and build "
        "output, or write large files to a volume with room (tmpfs and /tmp are small).",
    ),
    Rule(
        "no-engine",
        "no Docker engine answers",
        (
            r"Cannot connect to the Docker daemon",
            r"Is the docker daemon running\?",
            r"Error while fetching server API version",
            r"permission denied while trying to connect to the Docker daemon",
        ),
        "Start the Docker engine before this step (`scripts/bootstrap.sh --provision-docker` "
        "installs and starts one), check DOCKER_HOST, and that the job's user may use the "
        "socket; `invoke doctor` checks all three.",
        details=(r"Docker daemon at (?P<socket>\S+?)\.? ",),
    ),
    Rule(
        "tls",
        "a TLS certificate did not verify",
        (
            r"CERTIFICATE_VERIFY_FAILED",
            r"certificate verify failed",
            r"x509: certificate signed by unknown authority",
            r"unable to get local issuer certificate",
            r"SSLCertVerificationError",
        ),
        "The server's certificate is not trusted: behind an intercepting proxy, point the tools "
        "at its CA bundle (PIP_CERT, SSL_CERT_FILE, REQUESTS_CA_BUNDLE, UV_NATIVE_TLS=1); in a "
        "Docker build pass it as a BuildKit secret. Never turn verification off.",
        details=(r"https://(?P<host>[^/\s:]+(?::\d+)?)",),
    ),
    Rule(
        "dns",
        "a host name did not resolve",
        (
            r"Name or service not known",
            r"Temporary failure in name resolution",
            r"Failed to resolve '",
            r"Could not resolve host",
            r"getaddrinfo (?:ENOTFOUND|failed)",
            r"no such host",
            r"nodename nor servname provided",
        ),
        "A host name did not resolve: check its spelling, the runner's DNS and network access "
        "(this build machine reaches only the package indexes), or use a local mirror.",
        details=(r"Failed to resolve '(?P<host>[^']+)'", r"Could not resolve host: (?P<host>\S+)"),
    ),
    Rule(
        "connection-refused",
        "a connection was refused",
        (r"Connection refused", r"ECONNREFUSED\b"),
        "Nothing listens on that address: start the service first and wait until it is ready "
        "(a healthcheck, `docker compose up --wait`), and check the host and port the step uses.",
        details=(r"host='(?P<host>[^']+)', port=(?P<port>\d+)",),
    ),
    Rule(
        "timeout",
        "a step ran out of time",
        (
            r"Timeout \(>[\d.]+s\) from pytest-timeout",
            r"^\+* ?Timeout \+*$",
            r"timeout: sending signal",
            r"exit code:? 124\b",
            r"has exceeded the maximum execution time",
            r"The operation was canceled\.",
            r"TimeoutExpired\b",
        ),
        "Find what waits: a test stuck on a service that never answers, a deadlock, a network "
        "call without a timeout. Poll for a condition with a deadline instead of sleeping; raise "
        "the limit (pytest-timeout, timeout-minutes) only when the work is really that long.",
        shown=(r"^FAILED \S+",),
        details=(r"^FAILED (?P<test>\S+::\S+)",),
        after=1,
    ),
    Rule(
        "docker-build",
        "a Docker build step failed",
        (
            r"^ERROR: failed to solve:",
            r"^#\d+ ERROR: ",
            r"did not complete successfully: exit code",
            r"returned a non-zero code: \d+",
        ),
        "Run the failing step's command in a container of the previous stage to see it fail "
        "(`docker run --rm -it IMAGE sh`); build locally with `invoke image.build` and "
        "`--progress=plain` for the whole output of each step.",
        shown=(r"^\s*> \[[^\]]+\] .*:$",),
        details=(
            r"^\s*> \[(?P<step>[^\]]+)\] (?P<instruction>.+):$",
            r"The command '(?P<instruction>[^']+)' returned a non-zero code",
        ),
    ),
    Rule(
        "lock",
        "the lock file is out of date",
        (
            r"needs to be updated, but `--(?:locked|check)` was provided",
            r"pyproject\.toml changed significantly since poetry\.lock",
            r"poetry\.lock is not consistent",
        ),
        "The dependencies in pyproject.toml changed without the lock: run `uv lock`, commit "
        "uv.lock with the change, and keep `--locked` in CI so the two cannot drift apart.",
        after=2,
    ),
    Rule(
        "dependencies",
        "a dependency could not be resolved",
        (
            r"No matching distribution found for",
            r"Could not find a version that satisfies",
            r"No solution found when resolving dependencies",
            r"ResolutionImpossible",
            r"was not found in the (?:package registry|cache)",
        ),
        "A requirement has no release the index offers for this Python and platform: check the "
        "name and version bounds, that the index (or mirror) has it, and the Python version; "
        "offline, seed the cache or the wheel directory first.",
        details=(
            r"No matching distribution found for (?P<requirement>\S+)",
            r"Because (?P<requirement>\S+) was not found",
        ),
        after=1,
    ),
    Rule(
        "test",
        "a test failed",
        (
            r"^FAILED \S+::\S+",
            r"^ERROR \S+::\S+",
            r"^ERROR collecting \S+",
            r"^_{3,} (?:ERROR collecting )?\S+ _{3,}$",
        ),
        "Run the failing test alone (`pytest -x TEST`) and read its assertion; when it passes "
        "locally, look for what differs in CI (ordering, time, a service not ready, files left "
        "by another test).",
        shown=(r"^E\s{2,}\S", r"^\S+\.py:\d+: \w+(?:Error|Exception|Failed)\w*$"),
        details=(r"^(?:FAILED|ERROR) (?P<test>\S+::\S+)", r"^E\s{2,}(?P<assertion>\S.*)$"),
    ),
    Rule(
        "coverage",
        "coverage is under the threshold",
        (
            r"Required test coverage of [\d.]+% not reached",
            r"Coverage failure: total of [\d.]+ is less than fail-under",
        ),
        "Test the lines the report lists under Missing (`pytest --cov --cov-report=term-missing`),"
        " or remove the dead code; lower fail-under only as a reviewed decision.",
        shown=(r"^TOTAL\s",),
        details=(r"total of (?P<total>[\d.]+) is less than fail-under=(?P<threshold>[\d.]+)",),
    ),
    Rule(
        "types",
        "a type error (mypy)",
        (r"^\S+\.pyi?:\d+(?::\d+)?: error: ", r"^Found \d+ errors? in \d+ files? \(checked"),
        "Fix the reported lines (`mypy` with the same options locally); a `# type: ignore[code]` "
        "only with a reason, never a blanket one.",
        details=(r"^(?P<file>\S+\.pyi?):(?P<line>\d+)(?::\d+)?: error: (?P<message>.*)$",),
    ),
    Rule(
        "lint",
        "a lint error (ruff)",
        (
            r"^[A-Z]{1,4}\d{3,4} (?:\[\*\] )?\S.*$(?=\n\s*--> )",
            r"^\S+\.pyi?:\d+:\d+: [A-Z]{1,4}\d{3,4} ",
        ),
        "Run `ruff check --fix` for what it can fix, then fix the rest by hand; `ruff rule CODE` "
        "explains a rule.",
        shown=(r"^\s*--> \S+:\d+:\d+$",),
        details=(
            r"^(?P<rule>[A-Z]{1,4}\d{3,4}) (?:\[\*\] )?(?P<message>\S.*)$",
            r"^\S+\.pyi?:\d+:\d+: (?P<rule>[A-Z]{1,4}\d{3,4}) (?P<message>.*)$",
        ),
    ),
    Rule(
        "format",
        "code is not formatted (ruff format)",
        (r"files? would be reformatted", r"^Would reformat: ", r"^unformatted: "),
        "Run `ruff format` and commit the result (a pre-commit hook keeps it from happening).",
        shown=(r"^\s*--> \S+:\d+:\d+$", r"^Would reformat: \S+"),
    ),
)

# A nox session that failed, whatever the cause: reported with every verdict.
NOX_SESSION = re.compile(r"nox > Session (\S+?)(?:\(.*\))? (?:failed|aborted)")
# How a step ended, as a runner or nox says it.
EXIT_CODE = re.compile(r" with (?:exit )?code (\d+)")
# When no rule matches: the lines that look like an error.
ERROR_LOOKING = re.compile(
    r"error|fail|fatal|exception|traceback|denied|cannot|can't|not found|no such|abort|panic",
    re.IGNORECASE,
)
