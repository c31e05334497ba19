"""The pipeline's sections of `[tool.dockyard]`: the nox gates, the image registry and the release.

Part of the one configuration model (`dockyard.core.config.Config` holds them); loaded and
validated with the rest, never read on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Gates:
    """What the nox sessions of `dockyard.gates.sessions` check, and the dependency groups (of
    `[dependency-groups]`, installed from the lock) each one runs in."""

    typed: list[str] = field(default_factory=lambda: ["src", "tests", "tasks.py", "noxfile.py"])
    """Files and directories `nox -s typecheck` gives mypy (arguments after `--` replace them)."""
    yaml: list[str] = field(default_factory=lambda: [".github/workflows", "*compose*.y*ml"])
    """Files and directories yamllint checks in `nox -s lint`; glob patterns are expanded and
    a pattern that matches nothing adds nothing."""
    tests: list[str] = field(default_factory=lambda: ["pytest", "--junitxml=reports/junit.xml"])
    """The command `nox -s tests` runs, with its coverage and report options."""
    test_args: list[str] = field(default_factory=list)
    """Arguments added to `tests` when none are given after `--` (e.g. a marker selection)."""
    image_tests: list[str] = field(default_factory=list)
    """The command `nox -s image` runs on the built images, arguments after `--` added
    ([]: the session builds and scans only)."""
    bench: list[str] = field(default_factory=list)
    """The command `nox -s bench` runs ([]: none; the session then says so and fails)."""
    lint_groups: list[str] = field(default_factory=lambda: ["lint"])
    """Dependency groups of `nox -s lint`, installed without the project itself."""
    typecheck_groups: list[str] = field(default_factory=lambda: ["typecheck"])
    """Dependency groups of `nox -s typecheck`, installed with the project."""
    test_groups: list[str] = field(default_factory=lambda: ["test"])
    """Dependency groups of `nox -s tests`, `nox -s image` and `nox -s bench`, with the
    project."""
    audit_groups: list[str] = field(default_factory=lambda: ["audit"])
    """Dependency groups of `nox -s audit`, installed with the project."""


@dataclass(frozen=True)
class Release:
    """How `invoke release` versions, tags and ships the service."""

    branch: str = ""
    """The branch releases are made from ("": [tool.dockyard.git] main_branch)."""
    remote: str = ""
    """The remote the release commit and tag are published to ("": [tool.dockyard.git] remote)."""
    tag_format: str = "v{version}"
    """The release tag's name; `{version}` stands for the version (annotated tags)."""
    changelog: str = "CHANGELOG.md"
    """The changelog each release adds its section to (created with a header if absent)."""
    major_version_zero: bool = False
    """While the version is 0.x, a breaking change bumps the minor version instead of going to
    1.0.0 (commitizen's rule); refused once the version is 1.0 or later."""
    version_files: list[str] = field(default_factory=list)
    """Other files that carry the version, as "path:text": the version is replaced on the one
    line of the file containing the text (e.g. "src/app/__init__.py:__version__")."""
    staging: str = "staging"
    """The instance a release deploys to first, and smoke-tests."""
    production: str = "production"
    """The instance a release is promoted to after confirmation."""
    gates: list[str] = field(default_factory=list)
    """nox sessions `invoke release` runs in preflight (e.g. ["lint", "tests"]); any that fails
    stops the release before it writes anything."""


@dataclass(frozen=True)
class Registry:
    """The image registry a release pushes to, and the local one `invoke registry.up` runs for
    machines without one."""

    url: str = ""
    """Where images are pushed: HOST[:PORT], e.g. "registry.example.com" or "127.0.0.1:5000"
    for the local one ("": no registry). Its API is asked over HTTPS, or HTTP for a loopback
    host; an "https://" or "http://" prefix chooses."""
    repository_prefix: str = ""
    """Path the service's image is pushed under: "team" pushes HOST/team/IMAGE ("": HOST/IMAGE)."""
    username_variable: str = ""
    """The environment variable holding the registry's user name ("": no credentials)."""
    password_variable: str = ""
    """The environment variable holding the registry's password or token; never printed."""
    timeout_seconds: float = 10.0
    """Each request to the registry's API gives up after this long."""
    local_port: int = 5000
    """The port on 127.0.0.1 where `invoke registry.up` publishes the local registry."""
    local_volume: str = ""
    """The named volume of the local registry's data ("": `<project>-registry-data`)."""
    local_image: str = "registry:2"
    """The official image the local registry runs when present or pullable; otherwise the
    stand-in `invoke image.base` builds from Debian's docker-registry."""
    ready_timeout_seconds: float = 60.0
    """`invoke registry.up` fails when the local registry does not answer within this."""
