"""Compose hardening rules (CHECKLIST RT-01..RT-10, SEC-04) on `docker compose config` JSON.

The runtime rules read the rendered configuration (`--format json`): compose
has already merged anchors, `extends` and defaults, and normalised ports,
volumes and limits, so a rule sees what `up` would run. SEC-04 reads the same
document rendered with `--no-interpolate`, where a value still shows whether it
came from `${VAR:?message}`. Findings never quote a value: the rendered
configuration holds the env file's secrets.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.audit.hardening.findings import Finding
from dockyard.core.config import Hardening, Services
from dockyard.core.secrets import Where, looks_secret

HOST_NAMESPACES = ("network_mode", "pid", "ipc", "uts", "userns_mode")
UNCONFINED = re.compile(r"^(seccomp|apparmor|systempaths)[=:]unconfined$", re.IGNORECASE)
NO_NEW_PRIVILEGES = re.compile(r"^no-new-privileges(?:[=:]true)?$", re.IGNORECASE)
MAX_RESTARTS = 5
# Bind sources that expose the host: these directories and anything below them...
SENSITIVE_TREES = ("/etc", "/root", "/var/run", "/run", "/proc", "/sys", "/boot", "/dev")
# ...and these directories themselves (a checkout may well live below /home).
SENSITIVE_DIRS = ("/", "/home")
REQUIRED_VARIABLE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]+\}$")
REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(:?)([-?+]?)|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class Context:
    """What the rules know beyond one service: the whole document and the policy."""

    services: Mapping[str, Mapping[str, Any]]
    policy: Hardening
    data_services: tuple[str, ...]
    project_dir: str

    def dependants(self, name: str) -> list[tuple[str, str]]:
        """(service, condition) for every service that depends on `name`."""
        return [
            (other, str((spec.get("depends_on") or {})[name].get("condition", "service_started")))
            for other, spec in sorted(self.services.items())
            if name in (spec.get("depends_on") or {})
        ]

    def is_one_shot(self, name: str) -> bool:
        """A task that runs once: restart "no" and no healthcheck (as `plan_services` reads it)."""
        service = self.services[name]
        return str(service.get("restart", "no")) == "no" and _healthcheck_disabled(service)


@dataclass(frozen=True)
class Service:
    """The service a rule judges: its name, its rendered configuration, and the context."""

    name: str
    spec: Mapping[str, Any]
    ctx: Context

    def get(self, key: str, default: object = None) -> Any:
        return self.spec.get(key, default)


Rule = Callable[[Service], Iterator[str]]


def compose_findings(
    document: Mapping[str, Any], policy: Hardening, names: Services, project_dir: str
) -> list[Finding]:
    """Every runtime rule on every service of a rendered (`--format json`) configuration."""
    services = document.get("services") or {}
    data = tuple(name for name in (names.database, names.cache) if name)
    context = Context(services, policy, data, project_dir)
    return [
        Finding(rule_id, f"services.{name}", message, name)
        for name, service in sorted(services.items())
        for rule_id, rule in RULES.items()
        for message in rule(Service(name, service, context))
    ]


def rt01_no_host_privileges(service: Service) -> Iterator[str]:
    if service.get("privileged"):
        yield "privileged: true gives the container every capability and device of the host"
    for key in HOST_NAMESPACES:
        if str(service.get(key, "")).lower() == "host":
            yield f"{key}: host shares the host's namespace with the container"


def rt02_capabilities(service: Service) -> Iterator[str]:
    dropped = {_capability(each) for each in service.get("cap_drop") or []}
    if "ALL" not in dropped:
        yield "cap_drop does not contain ALL"
    allowed = service.ctx.policy.allowed_capabilities
    for added in service.get("cap_add") or []:
        capability = _capability(added)
        if capability not in allowed:
            yield (
                f"cap_add {capability} is not on the allowlist "
                "([tool.dockyard.hardening] allowed_capabilities, with a reason)"
            )


def rt03_read_only(service: Service) -> Iterator[str]:
    if service.get("read_only") is not True:
        yield "read_only is not true (give writable paths a tmpfs or a volume)"


def rt04_privilege_escalation(service: Service) -> Iterator[str]:
    options = [str(each).strip() for each in service.get("security_opt") or []]
    if not any(NO_NEW_PRIVILEGES.match(option) for option in options):
        yield 'security_opt does not contain "no-new-privileges:true"'
    for option in options:
        if UNCONFINED.match(option):
            yield f"security_opt {option} turns off a kernel confinement profile"


def rt05_cpu_and_memory(service: Service) -> Iterator[str]:
    limits = _limits(service.spec)
    if not _positive(limits.get("memory")) and not _positive(service.get("mem_limit")):
        yield "no memory limit (deploy.resources.limits.memory)"
    if not _positive(limits.get("cpus")) and not _positive(service.get("cpus")):
        yield "no CPU limit (deploy.resources.limits.cpus)"


def rt06_pids(service: Service) -> Iterator[str]:
    if not _positive(_limits(service.spec).get("pids")) and not _positive(
        service.get("pids_limit")
    ):
        yield "no PIDs limit (deploy.resources.limits.pids or pids_limit)"


def rt07_restart(service: Service) -> Iterator[str]:
    policy = _restart_policy(service.spec)
    if policy == "unless-stopped":
        return
    if policy.startswith("on-failure"):
        _, _, count = policy.partition(":")
        if count.isdigit() and 0 < int(count) <= MAX_RESTARTS:
            return
        bound = "without bound" if not count.isdigit() else f"more than {MAX_RESTARTS} times"
        yield f"restart {policy} retries {bound}; use on-failure:N with N <= {MAX_RESTARTS}"
        return
    if policy == "no" and service.ctx.is_one_shot(service.name):
        if any(
            cond == "service_completed_successfully"
            for _, cond in service.ctx.dependants(service.name)
        ):
            return
        yield (
            'restart "no" is for one-shots another service waits for with condition '
            "service_completed_successfully, and none does"
        )
        return
    yield f"restart {policy}: use unless-stopped, or on-failure:N with N <= {MAX_RESTARTS}"


def rt08_published_ports(service: Service) -> Iterator[str]:
    ports = service.get("ports") or []
    if ports and service.name in service.ctx.data_services:
        yield "publishes ports; the database and cache are reached only on compose networks"
        return
    policy = service.ctx.policy
    for port in ports:
        target = port.get("target")
        address = port.get("host_ip") or "0.0.0.0"  # noqa: S104 - compose's default, reported
        if address not in policy.publish_addresses:
            yield (
                f"port {target} is published on {address}; bind it to "
                f"{' or '.join(policy.publish_addresses)} ([tool.dockyard.hardening] "
                "publish_addresses)"
            )
        published = str(port.get("published") or "")
        low = [p for p in _port_range(published) if p < policy.min_host_port]
        if low:
            yield (
                f"port {target} is published on host port {low[0]}, below "
                f"{policy.min_host_port} ([tool.dockyard.hardening] min_host_port)"
            )


def rt09_host_mounts(service: Service) -> Iterator[str]:
    for volume in service.get("volumes") or []:
        if volume.get("type") != "bind":
            continue
        source = posixpath.normpath(str(volume.get("source", "")))
        target = str(volume.get("target", ""))
        if posixpath.basename(source) == "docker.sock" or target.endswith("docker.sock"):
            yield f"mounts the Docker socket ({source}): that is root on the host"
        elif _sensitive(source, service.ctx.project_dir):
            yield f"bind-mounts the host's {source} at {target}"


def rt10_healthchecks(service: Service) -> Iterator[str]:
    one_shot = service.ctx.is_one_shot(service.name)
    if _healthcheck_disabled(service.spec) and not one_shot:
        yield 'has no healthcheck (only a one-shot with restart "no" may disable it)'
    for dependency, spec in sorted((service.get("depends_on") or {}).items()):
        condition = str(spec.get("condition", "service_started"))
        if dependency not in service.ctx.services:
            continue
        wanted = (
            "service_completed_successfully"
            if service.ctx.is_one_shot(dependency)
            else "service_healthy"
        )
        if condition != wanted:
            yield f"depends_on {dependency} with condition {condition}; use {wanted}"


RULES: dict[str, Rule] = {
    "RT-01": rt01_no_host_privileges,
    "RT-02": rt02_capabilities,
    "RT-03": rt03_read_only,
    "RT-04": rt04_privilege_escalation,
    "RT-05": rt05_cpu_and_memory,
    "RT-06": rt06_pids,
    "RT-07": rt07_restart,
    "RT-08": rt08_published_ports,
    "RT-09": rt09_host_mounts,
    "RT-10": rt10_healthchecks,
}


# ---------------------------------------------------------------- SEC-04 ---


def source_findings(source: Mapping[str, Any]) -> list[Finding]:
    """SEC-04 on the `--no-interpolate` rendering: a secret-named variable's value must be
    `${VAR:?message}`, so a missing secret stops compose instead of running with none."""
    findings = []
    for name, service in sorted((source.get("services") or {}).items()):
        for key, value in sorted(_environment(service.get("environment")).items()):
            if not looks_secret(key, Where.SERVICE):
                continue
            problem = _secret_source_problem(value)
            if problem:
                message = f"environment {key} {problem}; use ${{VAR:?message}}"
                findings.append(Finding("SEC-04", f"services.{name}", message, name))
    return findings


def _secret_source_problem(value: str | None) -> str | None:
    if value is None:
        return "is passed through from the shell that runs compose"
    text = value.strip()
    if REQUIRED_VARIABLE.match(text):
        return None
    reference = REFERENCE.search(text.replace("$$", ""))  # `$$` is a literal dollar
    if reference is None:
        return "is a literal value in the compose file"
    braced, colon, operator, bare = reference.groups()
    variable = braced or bare
    if operator == "-":
        return f"falls back to a default when {variable} is unset"
    if operator == "+":
        return f"is replaced by a literal when {variable} is set"
    if operator == "?" and not colon:
        return f"may be empty: ${{{variable}?...}} only stops compose when {variable} is unset"
    if operator == "?" and text.startswith("${") and text.endswith(":?}"):
        return f"gives no message for when {variable} is missing"
    if operator == "?":
        return "mixes a literal with the variable"
    return f"is empty, not an error, when {variable} is unset"


# --------------------------------------------------------------- helpers ---


def _environment(value: object) -> dict[str, str | None]:
    """A service's environment as a mapping; the list form `KEY=value` / `KEY` too."""
    if isinstance(value, Mapping):
        return {str(k): None if v is None else str(v) for k, v in value.items()}
    environment: dict[str, str | None] = {}
    for entry in value if isinstance(value, list) else []:
        key, sep, rest = str(entry).partition("=")
        environment[key] = rest if sep else None
    return environment


def _capability(name: object) -> str:
    text = str(name).strip().upper()
    return text.removeprefix("CAP_")


def _limits(service: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}


def _positive(value: object) -> bool:
    try:
        return value is not None and float(str(value).rstrip("bkmgBKMG")) > 0
    except ValueError:
        return False


def _restart_policy(service: Mapping[str, Any]) -> str:
    if "restart" in service:
        return str(service["restart"])
    policy = (service.get("deploy") or {}).get("restart_policy") or {}
    condition = str(policy.get("condition", "no"))
    translated = {"any": "always", "none": "no"}.get(condition, condition)
    attempts = policy.get("max_attempts")
    return f"{translated}:{attempts}" if translated == "on-failure" and attempts else translated


def _healthcheck_disabled(service: Mapping[str, Any]) -> bool:
    check = service.get("healthcheck") or {}
    test = check.get("test")
    return not check or bool(check.get("disable")) or test in (["NONE"], "NONE") or not test


def _port_range(published: str) -> list[int]:
    start, _, end = published.partition("-")
    if not start.isdigit():
        return []
    return [int(start)] if not end.isdigit() else list(range(int(start), int(end) + 1))


def _sensitive(source: str, project_dir: str) -> bool:
    project = posixpath.normpath(project_dir) if project_dir else ""
    if project and project != "/" and (source == project or source.startswith(project + "/")):
        return False
    if source in SENSITIVE_DIRS:
        return True
    return any(source == tree or source.startswith(tree + "/") for tree in SENSITIVE_TREES)
