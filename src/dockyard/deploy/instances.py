"""Instances: copies of the service (staging, production, one per customer) that share a host.

Each instance is described by `<instances_dir>/<id>.toml` (or `<id>.json` with the
same keys) and runs as its own compose project, `<project>-<id>`, with its own
volumes, networks and published port. An id is checked before it is used in any
path, command or query, and every problem in a file is reported at once with its
dotted key.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import combinations
from pathlib import Path

from dockyard.core.config import Config
from dockyard.core.errors import (
    ConfigError,
    UnknownNameError,
    UnreadableFileError,
)
from dockyard.core.ids import ID_RULE, is_valid_id, quoted, validate_id
from dockyard.core.validate import Expect, between, build, expect, parse_toml, read_text
from dockyard.env.store import shown
from dockyard.stack.proxyconf import BIND_VARIABLE, PORT_VARIABLE, published_ports

SUFFIXES = (".toml", ".json")
DEFAULT_BIND = "127.0.0.1"
EXAMPLES_HINT = "staging.toml and production.toml in env/instances show every key"

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", re.ASCII)
_MEMORY = re.compile(r"([1-9][0-9]*)([KMG])", re.ASCII)
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_MAX_CPUS = Decimal(64)
_MIN_MEMORY_KIB = 6 * 1024  # Docker refuses a memory limit below 6 MiB
_UNIT_KIB = {"K": 1, "M": 1024, "G": 1024 * 1024}


def _is_cpus(value: str) -> bool:
    if not _DECIMAL.fullmatch(value):
        return False
    try:
        return Decimal(0) < Decimal(value) <= _MAX_CPUS
    except InvalidOperation:
        return False


def _is_memory(value: str) -> bool:
    match = _MEMORY.fullmatch(value)
    if match is None:
        return False
    return int(match.group(1)) * _UNIT_KIB[match.group(2)] >= _MIN_MEMORY_KIB


def _is_reason(value: str) -> bool:
    return bool(value.strip())


def _is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


# The keys of an instance file are the fields below (all but `source`), in the order their
# problems are reported; each field's metadata says what its value must be, and
# `parse_instance` adds what `id` and `profile` must be (the file's name, an env profile).


@dataclass(frozen=True)
class Resources:
    """Limits of each app container; None keeps the compose file's default."""

    cpus: str | None = field(  # a decimal number of CPUs, e.g. "1.0"
        default=None,
        metadata=expect(
            'a number of CPUs above 0 and at most 64, as a string like "1.0"', _is_cpus
        ),
    )
    memory: str | None = field(  # e.g. "512M"
        default=None,
        metadata=expect(
            'a size of at least 6M: a whole number and K, M or G, like "512M"', _is_memory
        ),
    )


@dataclass(frozen=True)
class Instance:
    """One copy of the service on a host, as its instance file describes it."""

    id: str  # the file's name; the file may restate it
    source: Path
    profile: str  # the env profile its containers run with
    port: int = field(metadata=between(1025, 65535))  # the host port its proxy publishes
    replicas: int = field(default=1, metadata=between(1, 8))  # app containers
    worker_replicas: int = field(default=2, metadata=between(0, 16))
    # An image tag to pin; None runs the version being deployed.
    image: str | None = field(
        default=None, metadata=expect("an image tag like '1.4.0'", _TAG.fullmatch)
    )
    resources: Resources = field(
        default_factory=Resources, metadata=expect("a table with cpus and memory")
    )
    order: int = 100  # deploying every instance goes in (order, id) order
    # The address the port is published on.
    bind: str = field(
        default=DEFAULT_BIND, metadata=expect("an IPv4 address like '127.0.0.1'", _is_ipv4)
    )
    # Why `bind` may be outside [tool.dockyard.hardening] publish_addresses (CHECKLIST RT-08):
    # a reviewed exception that `invoke audit` lists on every run.
    bind_exception: str | None = field(
        default=None, metadata=expect("the reason, as a non-empty string", _is_reason)
    )

    def project_name(self, project: str) -> str:
        """The compose project the instance runs as, e.g. "tugboat-staging"."""
        return f"{project}-{self.id}"


def compose_variables(instance: Instance) -> dict[str, str]:
    """The variables the compose files read to run this instance."""
    variables = {
        PORT_VARIABLE: str(instance.port),
        BIND_VARIABLE: instance.bind,
        "APP_REPLICAS": str(instance.replicas),
        "WORKER_REPLICAS": str(instance.worker_replicas),
    }
    if instance.resources.cpus is not None:
        variables["APP_CPUS"] = instance.resources.cpus
    if instance.resources.memory is not None:
        variables["APP_MEMORY"] = instance.resources.memory
    return variables


# --------------------------------------------------------------- loading ---


def load_instance(config: Config, instance_id: str) -> Instance:
    """The instance `instance_id`, read from its file and validated."""
    instance_id = validate_id(instance_id)
    directory = config.path(config.instances_dir)
    found = [path for path in _candidates(directory, instance_id) if path.exists()]
    if len(found) > 1:
        raise ConfigError(
            shown(config, directory),
            [_two_files(found, instance_id)],
            hint="keep one of the two files",
        )
    if not found:
        raise _unknown(config, directory, instance_id)
    instance = _load_file(config, found[0], instance_id)
    load_all(config)  # an instance is used only when the set of them holds together
    return instance


def load_all(config: Config) -> list[Instance]:
    """Every instance of the project in (order, id) order, checked as a set (ports, binds);
    the problems of all files at once."""
    instances, problems = read_all(config)
    problems.extend(port_clashes(instances))
    problems.extend(stack_port_clashes(instances, published_ports(config)))
    problems.extend(bind_problems(instances, config.hardening.publish_addresses))
    if problems:
        directory = shown(config, config.path(config.instances_dir))
        raise ConfigError(directory, problems, hint=f"fix the files; {EXAMPLES_HINT}")
    return sorted(instances, key=lambda instance: (instance.order, instance.id))


def read_all(config: Config) -> tuple[list[Instance], list[str]]:
    """The instance files that are valid on their own, and the problems of the others."""
    directory = config.path(config.instances_dir)
    problems: list[str] = []
    by_id: dict[str, list[Path]] = {}
    for path in _instance_files(config, directory):
        if is_valid_id(path.stem):
            by_id.setdefault(path.stem, []).append(path)
        else:
            problems.append(
                f"{path.name}: the file name {quoted(path.stem)} is not a valid instance id; "
                f"rename it to an id of {ID_RULE}"
            )
    instances: list[Instance] = []
    for instance_id, paths in sorted(by_id.items()):
        if len(paths) > 1:
            problems.append(_two_files(paths, instance_id))
            continue
        try:
            instances.append(_load_file(config, paths[0], instance_id))
        except ConfigError as error:
            problems.extend(f"{paths[0].name}: {problem}" for problem in error.problems)
    return instances, problems


def port_clashes(instances: Iterable[Instance]) -> list[str]:
    """A problem for each pair of instances that would publish the same host port."""
    clashes = []
    for first, second in combinations(instances, 2):
        if first.port == second.port and _overlap(first.bind, second.bind):
            clashes.append(
                f"{first.source.name} and {second.source.name} both publish port {first.port} "
                f"(on {first.bind} and {second.bind}); give each instance its own port"
            )
    return clashes


def stack_port_clashes(instances: Iterable[Instance], ports: Mapping[str, int]) -> list[str]:
    """A problem for each instance that would publish a port of the default stack (which
    publishes on 127.0.0.1)."""
    return [
        f"{instance.source.name}: port {instance.port} is the default stack's {service} port "
        "([tool.dockyard.ports] in pyproject.toml); give the instance a port of its own"
        for instance in instances
        for service, port in sorted(ports.items())
        if instance.port == port and _overlap(instance.bind, DEFAULT_BIND)
    ]


def bind_problems(instances: Iterable[Instance], allowed: Iterable[str]) -> list[str]:
    """A problem for each instance that binds outside the allowed addresses with no reviewed
    exception (CHECKLIST RT-08)."""
    listed = list(allowed)
    return [
        f"{instance.source.name}: bind {instance.bind} is not one of "
        f"[tool.dockyard.hardening] publish_addresses ({', '.join(listed) or 'none'}); bind to "
        "one of them, or keep it with a reviewed reason in the file: "
        'bind_exception = "why this instance is published there"'
        for instance in instances
        if instance.bind not in listed and instance.bind_exception is None
    ]


def parse_instance(
    document: object,
    *,
    instance_id: str,
    source: Path,
    profiles: Iterable[str],
    shown_as: str | None = None,
) -> Instance:
    """Validate the table of an instance file; ConfigError lists every problem in it."""
    known = tuple(profiles)
    rules = {
        "id": Expect(
            f"{instance_id!r} (the file's name)",
            lambda value: value == instance_id,
            advice="remove the key or make it match the file name",
        ),
        "profile": Expect(
            f"one of the env profiles ({', '.join(known)})", lambda value: value in known
        ),
    }
    return build(
        Instance,
        document,
        source=shown_as or str(source),
        preset={"source": source},
        defaults={"id": instance_id},
        rules=rules,
        hint=f"fix the file; {EXAMPLES_HINT}",
    )


# ------------------------------------------------------------ the files ---


def _candidates(directory: Path, instance_id: str) -> list[Path]:
    return [directory / f"{instance_id}{suffix}" for suffix in SUFFIXES]


def _instance_files(config: Config, directory: Path) -> list[Path]:
    """The instance files in `directory`; none when it does not exist."""
    try:
        entries = sorted(directory.iterdir())
    except FileNotFoundError:
        return []
    except OSError as error:
        raise UnreadableFileError(
            f"{shown(config, directory)}: cannot list the instance files: {error.strerror}",
            hint="make it a directory you can read, or set [tool.dockyard] instances_dir",
        ) from None
    return [path for path in entries if path.suffix in SUFFIXES]


def _known_ids(config: Config, directory: Path) -> list[str]:
    return sorted({path.stem for path in _instance_files(config, directory)})


def _unknown(config: Config, directory: Path, instance_id: str) -> UnknownNameError:
    known = [name for name in _known_ids(config, directory) if is_valid_id(name)]
    listed = f"instances: {', '.join(known)}" if known else "no instances yet"
    target = shown(config, directory / f"{instance_id}.toml")
    return UnknownNameError(
        f"unknown instance {instance_id!r}: {target} does not exist ({listed})",
        hint=f"create {target}; {EXAMPLES_HINT}",
    )


def _two_files(paths: list[Path], instance_id: str) -> str:
    names = " and ".join(path.name for path in paths)
    return f"{names} both describe instance {instance_id!r}; keep one"


def _load_file(config: Config, path: Path, instance_id: str) -> Instance:
    name = shown(config, path)
    hint = f"fix the file; {EXAMPLES_HINT}"
    text = read_text(path, name, hint=hint)
    if path.suffix == ".json":
        document: object = _decode_json(text, name, hint)
    else:
        document = parse_toml(text, name, hint=hint)
    return parse_instance(
        document, instance_id=instance_id, source=path, profiles=config.profiles, shown_as=name
    )


def _decode_json(text: str, name: str, hint: str) -> object:
    repeated: list[str] = []

    def unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
        table: dict[str, object] = {}
        for key, value in pairs:
            if key in table:
                repeated.append(key)
            table[key] = value
        return table

    try:
        document = json.loads(text, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as error:
        problem = f"not valid JSON: {error.msg} (at line {error.lineno}, column {error.colno})"
        raise ConfigError(name, [problem], hint=hint) from None
    if repeated:
        problems = [f"key {key!r} is given more than once" for key in repeated]
        raise ConfigError(name, problems, hint=hint)
    return document


# ------------------------------------------------------------ the ports ---


def _overlap(first: str, second: str) -> bool:
    """True when listeners on the two addresses would fight over a port."""
    return first == second or any(
        ipaddress.IPv4Address(address).is_unspecified for address in (first, second)
    )
