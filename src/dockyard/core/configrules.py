"""The rules of `[tool.dockyard]` that types alone do not express, applied after the types fit.

`dockyard.core.config` declares the tables; `check_values` adds each rule's problem, with its
dotted path and what was expected, to the list `dockyard.core.validate.build` reports at once.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dockyard.core.ids import ID_RULE, is_valid_id

if TYPE_CHECKING:
    from dockyard.core.config import Config, Deploy, Git, Registry, Release

TABLE = "tool.dockyard"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_IMAGE = re.compile(r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$")
_CAPABILITY = re.compile(r"^(?!CAP_)[A-Z][A-Z0-9_]*$")
_RULE_ID = re.compile(r"^(?:IMG|RT|SEC)-\d{2}$")
# A registry as an image reference names it: HOST[:PORT], an optional scheme for its API.
_REGISTRY = re.compile(
    r"^(?:https?://)?(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$"
)
_REPOSITORY_PATH = re.compile(
    r"^[a-z0-9]+(?:(?:[._-]|__)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._-]|__)[a-z0-9]+)*)*$"
)
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VOLUME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_values(config: Config, problems: list[str]) -> None:
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
    problems += [
        f"{TABLE}.services.{part}: expected a compose service name"
        for part in ("app", "proxy")
        if not getattr(config.services, part)
    ]
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
    _check_release(config.release, problems)
    _check_registry(config.registry, problems)


def _check_registry(registry: Registry, problems: list[str]) -> None:
    path = f"{TABLE}.registry"
    if registry.url and not _REGISTRY.match(registry.url):
        problems.append(
            f"{path}.url: expected HOST[:PORT] like registry.example.com or 127.0.0.1:5000, "
            f"got {registry.url!r}"
        )
    prefix = registry.repository_prefix
    if prefix and not _REPOSITORY_PATH.match(prefix):
        problems.append(
            f"{path}.repository_prefix: expected lowercase path parts separated by '/', "
            f"got {prefix!r}"
        )
    for name in ("username_variable", "password_variable"):
        value = getattr(registry, name)
        if value and not _VARIABLE.match(value):
            problems.append(f"{path}.{name}: expected an env variable name, got {value!r}")
    if bool(registry.username_variable) != bool(registry.password_variable):
        problems.append(
            f"{path}: expected both username_variable and password_variable, or neither"
        )
    if not 1 <= registry.local_port <= 65535:
        problems.append(f"{path}.local_port: expected a port 1-65535, got {registry.local_port}")
    if registry.local_volume and not _VOLUME.match(registry.local_volume):
        problems.append(
            f"{path}.local_volume: expected a volume name, got {registry.local_volume!r}"
        )
    if not registry.local_image.strip():
        problems.append(f"{path}.local_image: expected an image name like registry:2")
    for name in ("timeout_seconds", "ready_timeout_seconds"):
        if getattr(registry, name) <= 0:
            problems.append(
                f"{path}.{name}: expected a positive number of seconds, "
                f"got {getattr(registry, name)}"
            )


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


_GIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")


def _check_release(release: Release, problems: list[str]) -> None:
    path = f"{TABLE}.release"
    for name in ("branch", "remote"):
        value = getattr(release, name)
        if value and not _GIT_NAME.fullmatch(value):
            problems.append(f"{path}.{name}: expected a git name, got {value!r}")
    example = release.tag_format.replace("{version}", "1.0.0", 1)
    if release.tag_format.count("{version}") != 1 or not _GIT_NAME.fullmatch(example):
        problems.append(
            f'{path}.tag_format: expected a tag name with one {{version}} (like "v{{version}}"), '
            f"got {release.tag_format!r}"
        )
    for name in ("staging", "production"):
        if not is_valid_id(getattr(release, name)):
            problems.append(f"{path}.{name}: expected an instance id: {ID_RULE}")
    if release.staging == release.production:
        problems.append(f"{path}.production: expected another instance than staging")
    for index, entry in enumerate(release.version_files):
        file, _, text = entry.partition(":")
        if not file or not text:
            problems.append(
                f'{path}.version_files[{index}]: expected "path:text" (the text marks the '
                f"line with the version), got {entry!r}"
            )


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
