"""The one configuration object: `[tool.dockyard]` in pyproject.toml, loaded and validated once.

Every problem in the table is reported at once, each with its dotted path
(`tool.dockyard.health.timeout_seconds`) and what was expected, before any
command touches Docker, git or the network. Each section is a dataclass below,
read by `dockyard.core.validate`; `dockyard.core.configrules` adds the rules types cannot
express. The docstring under each field is its meaning in docs/adopting.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.core.configrules import TABLE, check_values
from dockyard.core.errors import ConfigError, MissingFileError
from dockyard.core.validate import build, parse_toml, read_text


@dataclass(frozen=True)
class Services:
    """Names of the compose services dockyard drives. `app` and `proxy` are required; an
    empty name (`worker = ""`, `migrate = ""`, `database = ""`, `cache = ""`) says the service
    has no such part, and the deploy, the stack and bootstrap skip it. Every name given must
    be a service of the rendered compose configuration."""

    app: str = "app"
    """The compose service that runs the web app behind the proxy."""
    worker: str = "worker"
    """The compose service that runs background jobs."""
    migrate: str = "migrate"
    """The one-shot compose service that migrates the database before the app starts."""
    proxy: str = "proxy"
    """The name of the reverse proxy (nginx) dockyard adds to the stack and deploys switch; no
    compose file of the project may define a service of this name."""
    database: str = "postgres"
    """The compose service of the database (PostgreSQL)."""
    cache: str = "redis"
    """The compose service of the cache (Redis)."""

    def named(self) -> dict[str, str]:
        """Each configured part and its compose service, without the parts set to none."""
        parts = ("app", "worker", "migrate", "proxy", "database", "cache")
        return {part: getattr(self, part) for part in parts if getattr(self, part)}


@dataclass(frozen=True)
class Health:
    """Where the service answers health checks, and how long to wait for it."""

    live_path: str = "/health/live"
    """HTTP path answering 200 while the process is alive."""
    ready_path: str = "/health/ready"
    """HTTP path answering 200 when the service can serve requests (the one thing a service must
    provide)."""
    version_path: str = ""
    """Optional: an HTTP path answering a JSON object whose "version" key names the version
    served; checked at every switch when set ("": none, the switch is confirmed by readiness
    through the proxy alone)."""
    timeout_seconds: float = 90.0
    """How long `invoke stack.up` and `invoke stack.health` wait for the stack to be healthy."""


@dataclass(frozen=True)
class Images:
    """Images the stack runs. Defaults are official images; `invoke image.base` builds local
    stand-ins from Debian packages for machines that cannot reach a registry."""

    python: str = "python:3.11-slim-bookworm"
    """Base image of the service's Dockerfile (passed as the BASE_IMAGE build argument)."""
    postgres: str = "postgres:16-bookworm"
    """Image of the database service."""
    redis: str = "redis:7-bookworm"
    """Image of the cache service."""
    proxy: str = "nginxinc/nginx-unprivileged:1.27-bookworm"
    """Image of the proxy service."""
    local_prefix: str = "dockyard-base"
    """Name prefix of the local stand-ins `invoke image.base` builds."""
    debian_suite: str = "bookworm"
    """Debian release the local stand-ins are built from."""
    debian_mirror: str = "http://deb.debian.org/debian"
    """Debian mirror the local stand-ins install packages from."""
    base_dir: str = ""
    """Directory of the local stand-ins' build contexts, one per image (debian, python, postgres,
    redis, nginx), from the project root ("": the ones dockyard ships)."""
    size_budget_mb: int = 200
    """Largest size of the service's image, in MB, before the image gate fails."""


@dataclass(frozen=True)
class SmokeRequest:
    """One request of the smoke test, made through the proxy after the stack is up."""

    path: str
    """HTTP path requested; may use fields of the previous JSON answer as {name}."""
    method: str = "GET"
    """HTTP method of the request."""
    expect: int = 200
    """HTTP status the answer must have."""
    json: dict[str, str] = field(default_factory=dict)
    """JSON body sent with the request."""


@dataclass(frozen=True)
class Doctor:
    """Thresholds and targets of `invoke doctor`."""

    min_free_disk_gb: float = 5.0
    """Free disk space, in GB, below which `invoke doctor` fails."""
    warn_free_disk_gb: float = 15.0
    """Free disk space, in GB, below which `invoke doctor` warns."""
    required_env: list[str] = field(default_factory=list)
    """Environment variables that must be set on the machine."""
    tls_probe: str = "pypi.org:443"
    """HOST:PORT whose TLS certificate chain must verify (shows an intercepting proxy)."""
    min_compose_version: str = "2.24"
    """Oldest Docker Compose version accepted."""
    min_engine_api: str = "1.41"
    """Oldest Docker engine API version accepted."""


@dataclass(frozen=True)
class Acceptance:
    """A reviewed decision to accept something a gate would fail on, until a date."""

    reason: str
    """Why it is accepted, shown on every run."""
    until: dt.date | None = None
    """Last day the acceptance holds; none means until removed."""

    def expired(self, today: dt.date) -> bool:
        return self.until is not None and today > self.until


@dataclass(frozen=True)
class IgnoredAdvisory:
    """A vulnerability advisory reviewed and accepted for a while."""

    id: str
    """The advisory's id (e.g. GHSA-xxxx-xxxx-xxxx or PYSEC-2024-1)."""
    reason: str
    """Why it does not apply or can wait."""
    until: dt.date
    """Last day the advisory is ignored; after it the gate fails again."""


@dataclass(frozen=True)
class Audit:
    """Policy of the audit gate."""

    accept_unaudited: Acceptance | None = None
    """Run without a vulnerability database (offline) and pass, for a stated reason."""
    ignore: list[IgnoredAdvisory] = field(default_factory=list)
    """Advisories reviewed and accepted for a while."""
    exclude: list[str] = field(default_factory=lambda: ["tests/fixtures/**"])
    """Glob patterns of files the secret scan skips."""


@dataclass(frozen=True)
class Exemption:
    """A hardening rule that does not apply to one compose service or Dockerfile, and why."""

    rule: str
    """A CHECKLIST id, e.g. "RT-03"."""
    subject: str
    """A compose service name, or a Dockerfile's path from the project root."""
    reason: str
    """Why the rule does not apply to it."""


@dataclass(frozen=True)
class Hardening:
    """Policy of the static hardening rules (CHECKLIST IMG-*, RT-*, SEC-02, SEC-04)."""

    profile: str = "production"
    """The env profile whose committed example renders the compose files for the rules."""
    allowed_capabilities: dict[str, str] = field(default_factory=dict)
    """RT-02: capabilities a service may add back after `cap_drop: [ALL]`, each with its reason."""
    publish_addresses: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    """RT-08: host addresses published ports may bind."""
    min_host_port: int = 1025
    """RT-08: the lowest host port a service may publish."""
    registries: list[str] = field(default_factory=lambda: ["docker.io/library"])
    """IMG-05: where FROM images may come from, as prefixes of the fully qualified name
    ("docker.io/library" is Docker Hub's official images); [images] local_prefix always may."""
    exempt: list[Exemption] = field(default_factory=list)
    """Reviewed exceptions, shown by every run of the gate."""


@dataclass(frozen=True)
class Deploy:
    """How `invoke deploy` and `invoke rollback` switch versions, and what they keep."""

    state_dir: str = ".dockyard"
    """Where deploy state lives (locks, history, instance state, monitors); git-ignored."""
    app_port: int = 8000
    """The port the service listens on inside its containers (the proxy's upstream port)."""
    keep_versions: int = 3
    """Images of this many most recent versions per instance are kept for rollback."""
    ready_timeout_seconds: float = 60.0
    """The new version must answer its readiness check within this; the old one serves meanwhile."""
    drain_seconds: float = 30.0
    """After the proxy switches, the old containers finish their requests for up to this long."""
    switch_confirmations: int = 5
    """Consecutive answers from the new version, through the proxy, that confirm the switch."""
    monitor_settle_seconds: float = 60.0
    """The background monitor after a deploy: healthy this long means stable."""
    monitor_interval_seconds: float = 2.0
    """The background monitor checks the instance this often."""
    monitor_failures: int = 3
    """The background monitor reports a failure after this many failed checks in a row."""
    monitor_max_seconds: float = 600.0
    """The background monitor stops after this long whatever happens."""
    webhook_variable: str = "NOTIFY_WEBHOOK_URL"
    """The env variable (in the instance's env file, else the environment) with the webhook URL."""
    webhook_timeout_seconds: float = 3.0
    """Each webhook call gives up after this long."""
    webhook_attempts: int = 3
    """A webhook notification is tried this many times."""


@dataclass(frozen=True)
class Git:
    """The git hooks, `invoke git.push`, and the monitor that follows a push of the main branch."""

    main_branch: str = "main"
    """The branch that deploys."""
    remote: str = "origin"
    """The remote `invoke git.push` pushes to."""
    branch_pattern: str = (
        r"^(feat|fix|docs|chore|refactor|perf|test|ci|build|release)/[a-z0-9._-]+$"
    )
    """Any branch pushed besides the main one must match this (Python regular expression)."""
    watch_instance: str = ""
    """The instance the main branch deploys to, watched after a push of main ("" watches none)."""
    union_files: list[str] = field(default_factory=lambda: ["CHANGELOG.md"])
    """Append-only files (a changelog) that a rebase merges by keeping both sides' lines."""
    push_attempts: int = 5
    """`invoke git.push` makes at most this many pushes."""
    push_max_seconds: float = 120.0
    """`invoke git.push` gives up after this many seconds in all."""
    deploy_deadline_seconds: float = 900.0
    """The post-push monitor gives up with "not-deployed" when the commit is not served by then."""


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


@dataclass(frozen=True)
class Config:
    """Everything dockyard needs to know about the project it drives."""

    root: Path
    project: str
    """The project's name: the compose project and the prefix of its resources."""
    image: str
    """Name of the service's image, without a tag."""
    requires_python: str = ">=3.11"
    dockerfile: str = "Dockerfile.production"
    """The Dockerfile of the service's image."""
    build_context: str = "."
    """The build context of the service's image."""
    service_pyproject: str = "pyproject.toml"
    """The pyproject.toml whose [project].version tags the image (the service's own package in a
    workspace)."""
    lock: str = ""
    """The service's dependency lock, read by the dependency audit and the "-dirty" check:
    uv.lock, poetry.lock or a requirements*.txt with hashes ("": found beside
    service_pyproject, then at the project root)."""
    compose_files: list[str] = field(default_factory=lambda: ["docker-compose.production.yml"])
    """Compose files of the stack, in order."""
    dev_compose_files: list[str] = field(default_factory=list)
    """Compose files added for development (`invoke stack.up --dev`)."""
    env_dir: str = "env"
    """Directory of the env files (`.env.<profile>` and their committed examples)."""
    env_schema: str = "env/schema.toml"
    """The env schema: every variable, its type, default and description."""
    env_rotation_log: str = "env/.rotations.log"
    """Where `invoke env.rotate` records who rotated which secret when."""
    env_docs: str = "docs/env-variables.md"
    """The variables table `invoke env.render` writes from the env schema."""
    settings_docs: str = ""
    """A page whose marked part `invoke env.render` fills with this table of settings ("": none)."""
    instances_dir: str = "env/instances"
    """Directory of the instance files (`<id>.toml`) that deploys target."""
    profiles: list[str] = field(default_factory=lambda: ["development", "testing", "production"])
    """Env profiles; each has its env file."""
    services: Services = field(default_factory=Services)
    health: Health = field(default_factory=Health)
    ports: dict[str, int] = field(default_factory=dict)
    """Host ports of published services, by service name (read by compose as `<NAME>_PORT`)."""
    images: Images = field(default_factory=Images)
    smoke: list[SmokeRequest] = field(default_factory=list)
    """Requests made through the proxy after the stack is up, each checked."""
    doctor: Doctor = field(default_factory=Doctor)
    audit: Audit = field(default_factory=Audit)
    hardening: Hardening = field(default_factory=Hardening)
    deploy: Deploy = field(default_factory=Deploy)
    git: Git = field(default_factory=Git)
    gates: Gates = field(default_factory=Gates)
    release: Release = field(default_factory=Release)
    registry: Registry = field(default_factory=Registry)

    def path(self, relative: str) -> Path:
        """A project-relative path from the configuration, made absolute."""
        return self.root / relative


def load_config(root: Path) -> Config:
    """Read and validate `[tool.dockyard]` from `root/pyproject.toml`."""
    pyproject = root / "pyproject.toml"
    missing = MissingFileError(
        f"{pyproject}: not found",
        hint="run dockyard from the project's root, where pyproject.toml is",
    )
    document = parse_toml(read_text(pyproject, str(pyproject), missing=missing), str(pyproject))
    table = document.get("tool", {}).get("dockyard")
    if table is None:
        raise ConfigError(
            str(pyproject),
            [f"no [{TABLE}] table"],
            hint=f"add a [{TABLE}] table with at least `project` and `image`",
        )
    requires_python = document.get("project", {}).get("requires-python", ">=3.11")
    return parse_config(
        table, root=root, source=str(pyproject), requires_python=str(requires_python)
    )


def parse_config(
    table: object,
    *,
    root: Path,
    source: str = "pyproject.toml",
    requires_python: str = ">=3.11",
) -> Config:
    """Validate a `[tool.dockyard]` table; raise ConfigError listing every problem."""
    preset = {"root": root, "requires_python": requires_python}
    return build(Config, table, source=source, path=TABLE, preset=preset, check=check_values)
