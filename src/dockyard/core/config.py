"""The one configuration object: `[tool.dockyard]` in pyproject.toml, loaded and validated once.

Every problem in the table is reported at once, each with its dotted path
(`tool.dockyard.health.timeout_seconds`) and what was expected, before any
command touches Docker, git or the network. Each section is a dataclass below,
read by `dockyard.core.validate`; `_check_values` adds the rules types cannot express.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.core.errors import ConfigError, MissingFileError
from dockyard.core.ids import ID_RULE, is_valid_id
from dockyard.core.validate import build, parse_toml, read_text

TABLE = "tool.dockyard"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_IMAGE = re.compile(r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$")
_CAPABILITY = re.compile(r"^(?!CAP_)[A-Z][A-Z0-9_]*$")
_RULE_ID = re.compile(r"^(?:IMG|RT|SEC)-\d{2}$")


@dataclass(frozen=True)
class Services:
    """Names of the compose services dockyard drives."""

    app: str = "app"
    worker: str = "worker"
    migrate: str = "migrate"
    proxy: str = "proxy"
    database: str = "postgres"
    cache: str = "redis"


@dataclass(frozen=True)
class Health:
    """Where the service answers health checks, and how long to wait for it."""

    live_path: str = "/health/live"
    ready_path: str = "/health/ready"
    version_path: str = ""  # optional: an endpoint naming the version, checked when set
    timeout_seconds: float = 90.0


@dataclass(frozen=True)
class Images:
    """Images the stack runs. Defaults are official images; `invoke image.base` builds local
    stand-ins from Debian packages for machines that cannot reach a registry."""

    python: str = "python:3.11-slim-bookworm"
    postgres: str = "postgres:16-bookworm"
    redis: str = "redis:7-bookworm"
    proxy: str = "nginxinc/nginx-unprivileged:1.27-bookworm"
    local_prefix: str = "dockyard-base"
    debian_suite: str = "bookworm"
    debian_mirror: str = "http://deb.debian.org/debian"
    size_budget_mb: int = 200


@dataclass(frozen=True)
class SmokeRequest:
    """One request of the smoke test, made through the proxy after the stack is up."""

    path: str
    method: str = "GET"
    expect: int = 200
    json: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Doctor:
    """Thresholds and targets of `invoke doctor`."""

    min_free_disk_gb: float = 5.0
    warn_free_disk_gb: float = 15.0
    required_env: list[str] = field(default_factory=list)
    tls_probe: str = "pypi.org:443"
    min_compose_version: str = "2.24"
    min_engine_api: str = "1.41"


@dataclass(frozen=True)
class Acceptance:
    """A reviewed decision to accept something a gate would fail on, until a date."""

    reason: str
    until: dt.date | None = None

    def expired(self, today: dt.date) -> bool:
        return self.until is not None and today > self.until


@dataclass(frozen=True)
class IgnoredAdvisory:
    """A vulnerability advisory reviewed and accepted for a while."""

    id: str
    reason: str
    until: dt.date


@dataclass(frozen=True)
class Audit:
    """Policy of the audit gate."""

    accept_unaudited: Acceptance | None = None
    ignore: list[IgnoredAdvisory] = field(default_factory=list)
    exclude: list[str] = field(default_factory=lambda: ["tests/fixtures/**"])


@dataclass(frozen=True)
class Exemption:
    """A hardening rule that does not apply to one compose service or Dockerfile, and why."""

    rule: str  # a CHECKLIST id, e.g. "RT-03"
    subject: str  # a compose service name, or a Dockerfile's path from the project root
    reason: str


@dataclass(frozen=True)
class Hardening:
    """Policy of the static hardening rules (CHECKLIST IMG-*, RT-*, SEC-02, SEC-04)."""

    # The env profile whose committed example renders the compose files for the rules.
    profile: str = "production"
    # RT-02: capabilities a service may add back after `cap_drop: [ALL]`, each with its reason.
    allowed_capabilities: dict[str, str] = field(default_factory=dict)
    # RT-08: host addresses published ports may bind, and the lowest host port allowed.
    publish_addresses: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    min_host_port: int = 1025
    # IMG-05: where FROM images may come from, as prefixes of the fully qualified name
    # ("docker.io/library" is Docker Hub's official images); [images] local_prefix always may.
    registries: list[str] = field(default_factory=lambda: ["docker.io/library"])
    # Reviewed exceptions, shown by every run of the gate.
    exempt: list[Exemption] = field(default_factory=list)


@dataclass(frozen=True)
class Deploy:
    """How `invoke deploy` and `invoke rollback` switch versions, and what they keep."""

    # Where deploy state lives (locks, history, instance state, monitors); git-ignored.
    state_dir: str = ".dockyard"
    # The port the service listens on inside its containers (the proxy's upstream port).
    app_port: int = 8000
    # Images of this many most recent versions per instance are kept for rollback.
    keep_versions: int = 3
    # The new version must answer its readiness check within this; the old one serves meanwhile.
    ready_timeout_seconds: float = 60.0
    # After the proxy switches, the old containers finish their requests for up to this long.
    drain_seconds: float = 30.0
    # Consecutive answers from the new version, through the proxy, that confirm the switch.
    switch_confirmations: int = 5
    # The background monitor after a deploy: healthy this long = stable; bounded in time.
    monitor_settle_seconds: float = 60.0
    monitor_interval_seconds: float = 2.0
    monitor_failures: int = 3
    monitor_max_seconds: float = 600.0
    # The env variable (in the instance's env file, else the environment) with the webhook URL.
    webhook_variable: str = "NOTIFY_WEBHOOK_URL"
    webhook_timeout_seconds: float = 3.0
    webhook_attempts: int = 3


@dataclass(frozen=True)
class Git:
    """The git hooks, `invoke git.push`, and the monitor that follows a push of the main branch."""

    main_branch: str = "main"
    remote: str = "origin"
    # Any branch pushed besides the main one must match this (Python regular expression).
    branch_pattern: str = (
        r"^(feat|fix|docs|chore|refactor|perf|test|ci|build|release)/[a-z0-9._-]+$"
    )
    # The instance the main branch deploys to, watched after a push of main ("" watches none).
    watch_instance: str = ""
    # Append-only files (a changelog) that a rebase merges by keeping both sides' lines.
    union_files: list[str] = field(default_factory=lambda: ["CHANGELOG.md"])
    # `invoke git.push`: at most this many pushes, within this many seconds in all.
    push_attempts: int = 5
    push_max_seconds: float = 120.0
    # The post-push monitor gives up with "not-deployed" when the commit is not served by then.
    deploy_deadline_seconds: float = 900.0


@dataclass(frozen=True)
class Config:
    """Everything dockyard needs to know about the project it drives."""

    root: Path
    project: str
    image: str
    requires_python: str = ">=3.11"
    # The service's image: its Dockerfile, build context, and the pyproject.toml whose
    # [project].version tags it (the service's own package in a workspace).
    dockerfile: str = "Dockerfile.production"
    build_context: str = "."
    service_pyproject: str = "pyproject.toml"
    compose_files: list[str] = field(default_factory=lambda: ["docker-compose.production.yml"])
    dev_compose_files: list[str] = field(default_factory=list)
    env_dir: str = "env"
    env_schema: str = "env/schema.toml"
    env_rotation_log: str = "env/.rotations.log"
    env_docs: str = "docs/env-variables.md"
    instances_dir: str = "env/instances"
    profiles: list[str] = field(default_factory=lambda: ["development", "testing", "production"])
    services: Services = field(default_factory=Services)
    health: Health = field(default_factory=Health)
    ports: dict[str, int] = field(default_factory=dict)
    images: Images = field(default_factory=Images)
    smoke: list[SmokeRequest] = field(default_factory=list)
    doctor: Doctor = field(default_factory=Doctor)
    audit: Audit = field(default_factory=Audit)
    hardening: Hardening = field(default_factory=Hardening)
    deploy: Deploy = field(default_factory=Deploy)
    git: Git = field(default_factory=Git)

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
    return build(Config, table, source=source, path=TABLE, preset=preset, check=_check_values)


def _check_values(config: Config, problems: list[str]) -> None:
    """Rules that types alone do not express."""
    if not _NAME.match(config.project):
        problems.append(
            f"{TABLE}.project: expected a lowercase name (letters, digits, '-', '_'), "
            f"got {config.project!r}"
        )
    if not _IMAGE.match(config.image):
        problems.append(
            f"{TABLE}.image: expected a Docker image name without a tag, got {config.image!r}"
        )
    if not config.compose_files:
        problems.append(f"{TABLE}.compose_files: expected at least one compose file")
    if not config.profiles:
        problems.append(f"{TABLE}.profiles: expected at least one env profile")
    for name, port in config.ports.items():
        if not 1 <= port <= 65535:
            problems.append(f"{TABLE}.ports.{name}: expected a port 1-65535, got {port}")
    for attribute in ("live_path", "ready_path", "version_path"):
        value = getattr(config.health, attribute)
        if not value.startswith("/") and not (attribute == "version_path" and value == ""):
            problems.append(f"{TABLE}.health.{attribute}: expected a path starting with '/'")
    if config.health.timeout_seconds <= 0:
        problems.append(f"{TABLE}.health.timeout_seconds: expected a positive number of seconds")
    doctor = config.doctor
    if doctor.min_free_disk_gb > doctor.warn_free_disk_gb:
        problems.append(
            f"{TABLE}.doctor.min_free_disk_gb: expected at most warn_free_disk_gb "
            f"({doctor.warn_free_disk_gb}), got {doctor.min_free_disk_gb}"
        )
    host, _, port_text = doctor.tls_probe.rpartition(":")
    if not host or not port_text.isdigit():
        problems.append(f"{TABLE}.doctor.tls_probe: expected HOST:PORT, got {doctor.tls_probe!r}")
    _check_hardening(config, problems)
    _check_deploy(config.deploy, problems)
    _check_git(config.git, problems)


def _check_git(git: Git, problems: list[str]) -> None:
    path = f"{TABLE}.git"
    try:
        re.compile(git.branch_pattern)
    except re.error as error:
        problems.append(f"{path}.branch_pattern: not a regular expression ({error})")
    if git.watch_instance and not is_valid_id(git.watch_instance):
        problems.append(f"{path}.watch_instance: expected an instance id: {ID_RULE}")
    if git.push_attempts < 1:
        problems.append(f"{path}.push_attempts: expected at least 1, got {git.push_attempts}")
    for name in ("push_max_seconds", "deploy_deadline_seconds"):
        if getattr(git, name) <= 0:
            problems.append(f"{path}.{name}: expected a positive number of seconds")
    for name in ("main_branch", "remote"):
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]*", getattr(git, name)):
            problems.append(f"{path}.{name}: expected a git name, got {getattr(git, name)!r}")


def _check_deploy(deploy: Deploy, problems: list[str]) -> None:
    path = f"{TABLE}.deploy"
    if deploy.keep_versions < 2:
        problems.append(
            f"{path}.keep_versions: expected at least 2 (the live version and one to roll back "
            f"to), got {deploy.keep_versions}"
        )
    for name in (
        "ready_timeout_seconds", "drain_seconds", "monitor_settle_seconds",
        "monitor_interval_seconds", "monitor_max_seconds", "webhook_timeout_seconds",
    ):  # fmt: skip
        if getattr(deploy, name) <= 0:
            problems.append(f"{path}.{name}: expected a positive number of seconds")
    for name in ("switch_confirmations", "monitor_failures", "webhook_attempts"):
        if getattr(deploy, name) < 1:
            problems.append(f"{path}.{name}: expected at least 1, got {getattr(deploy, name)}")
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", deploy.webhook_variable):
        problems.append(
            f"{path}.webhook_variable: expected an env variable name, "
            f"got {deploy.webhook_variable!r}"
        )


def _check_hardening(config: Config, problems: list[str]) -> None:
    hardening = config.hardening
    path = f"{TABLE}.hardening"
    if hardening.profile not in config.profiles:
        problems.append(
            f"{path}.profile: expected one of the env profiles ({', '.join(config.profiles)}), "
            f"got {hardening.profile!r}"
        )
    for name, reason in hardening.allowed_capabilities.items():
        if not _CAPABILITY.match(name):
            problems.append(
                f"{path}.allowed_capabilities.{name}: expected a capability name like "
                "NET_BIND_SERVICE (without CAP_)"
            )
        if not reason.strip():
            problems.append(f"{path}.allowed_capabilities.{name}: expected the reason it is needed")
    if not 1 <= hardening.min_host_port <= 65535:
        problems.append(
            f"{path}.min_host_port: expected a port 1-65535, got {hardening.min_host_port}"
        )
    for index, exemption in enumerate(hardening.exempt):
        if not _RULE_ID.match(exemption.rule):
            problems.append(
                f"{path}.exempt[{index}].rule: expected a checklist id like RT-03, "
                f"got {exemption.rule!r}"
            )
        if not exemption.reason.strip():
            problems.append(f"{path}.exempt[{index}].reason: expected why the rule does not apply")
