"""dockyard's own proxy, as data: the compose fragment that adds it to a project's stack, its
default upstream, and the checks the project's compose files must pass for it.

A project's compose files define the service (and its data services) but no proxy: dockyard
appends this fragment to every compose command it runs. The proxy is nginx, published on one
port, reading its upstream servers from a directory that a deploy rewrites before a graceful
reload (`dockyard.deploy.proxy`). Nothing here runs a process or writes a file;
`dockyard.stack.proxyfiles` does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.core.config import Config, Exemption
from dockyard.core.errors import ConfigError

# What nginx listens on inside its container; the published port is PROXY_PORT.
LISTEN_PORT = 8080
DEFAULT_PUBLISH_PORT = 8080
DEFAULT_BIND = "127.0.0.1"
# The variables the fragment reads, whatever the proxy service is named: an instance's port and
# bind address, the default stack's `[tool.dockyard.ports] <proxy>` (8080 when not set).
PORT_VARIABLE = "PROXY_PORT"
BIND_VARIABLE = "PROXY_BIND"
CONF_TARGET = "/etc/nginx/conf.d"
UPSTREAM_TARGET = "/etc/nginx/dockyard"  # default.conf includes upstream.conf from here
SERVICES_KEY = "[tool.dockyard.services] proxy"
HEADER = (
    "# Written by dockyard from [tool.dockyard] in pyproject.toml: the proxy it adds to the\n"
    "# stack. Rewritten by every command; change the configuration, not this file.\n"
)
# Reviewed once, here, for every project: the proxy starts beside the service rather than after
# its first healthcheck; nginx retries while the service boots, and dockyard checks readiness
# through the proxy itself.
STARTED_BESIDE = (
    "dockyard's proxy starts beside the service (condition service_started): nginx retries "
    "while the service boots, and dockyard checks readiness through the proxy"
)


@dataclass(frozen=True)
class ProxyFiles:
    """Where a compose project's proxy files live: `<state_dir>/proxy/<project>/`."""

    directory: Path

    @classmethod
    def of(cls, config: Config, project: str) -> ProxyFiles:
        return cls(config.path(config.deploy.state_dir).resolve() / "proxy" / project)

    @property
    def fragment(self) -> Path:
        return self.directory / "compose.yml"

    @property
    def conf_dir(self) -> Path:
        """Mounted at /etc/nginx/conf.d: dockyard's server block (default.conf)."""
        return self.directory / "conf.d"

    @property
    def upstream_dir(self) -> Path:
        """The default upstream (every container of the service); a deploy mounts its own."""
        return self.directory / "upstream"


def published_port(config: Config) -> int:
    """The host port the default stack's proxy publishes: `[tool.dockyard.ports] <proxy>`, 8080
    when the table has no entry for it."""
    return config.ports.get(config.services.proxy, DEFAULT_PUBLISH_PORT)


def published_ports(config: Config) -> dict[str, int]:
    """Every host port the default stack publishes, by service: `[tool.dockyard.ports]` and
    the proxy's, set or not."""
    return {**config.ports, config.services.proxy: published_port(config)}


def port_variables(config: Config) -> dict[str, str]:
    """The compose variables of the published ports: `<NAME>_PORT` for the project's own
    services, and always PROXY_PORT (never `<NAME>_PORT`) for dockyard's proxy, whatever its
    name: the one variable its fragment and every instance use."""
    variables = {
        f"{name.upper()}_PORT": str(port)
        for name, port in config.ports.items()
        if name != config.services.proxy
    }
    variables[PORT_VARIABLE] = str(published_port(config))
    return variables


def exemptions(config: Config) -> list[Exemption]:
    """The hardening exceptions dockyard's own proxy carries, shown by every audit."""
    return [Exemption("RT-10", config.services.proxy, STARTED_BESIDE)]


def render_upstream(config: Config) -> str:
    """The default upstream: the service by its compose name, which Docker's DNS resolves to
    every container of it."""
    return (
        "# Written by dockyard: every container of the service. `invoke deploy` mounts an\n"
        "# instance's own copy naming the containers of the live version.\n"
        f"server {config.services.app}:{config.deploy.app_port} max_fails=0;\n"
    )


def render_fragment(config: Config, networks: list[str], files: ProxyFiles) -> str:
    """The compose file that adds the proxy service: hardened like every service (read-only,
    no capabilities, no new privileges, limits, restart policy, healthcheck), published on
    PROXY_BIND (127.0.0.1 by default) and PROXY_PORT, on `networks` (the service's own)."""
    port = published_port(config)
    service: dict[str, Any] = {
        "image": f"${{PROXY_IMAGE:-{_literal(config.images.proxy)}}}",
        "restart": "unless-stopped",
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}},
        "ports": [
            f"${{{BIND_VARIABLE}:-{DEFAULT_BIND}}}:${{{PORT_VARIABLE}:-{port}}}:{LISTEN_PORT}"
        ],
        "volumes": [
            _bind(_literal(str(files.conf_dir)), CONF_TARGET),
            _bind(
                f"${{DOCKYARD_UPSTREAM_DIR:-{_literal(str(files.upstream_dir))}}}", UPSTREAM_TARGET
            ),
        ],
        "tmpfs": ["/tmp"],  # noqa: S108  (the container's own /tmp, a tmpfs)
        "healthcheck": {
            # perl-base is part of every Debian-based image; no curl needed
            "test": [
                "CMD",
                "perl",
                "-MIO::Socket::INET",
                "-e",
                f"exit !IO::Socket::INET->new('127.0.0.1:{LISTEN_PORT}')",
            ],
            "interval": "2s",
            "timeout": "3s",
            "start_period": "10s",
            "retries": 10,
        },
        "depends_on": {config.services.app: {"condition": "service_started"}},
        "networks": list(networks),
        "deploy": {"resources": {"limits": {"cpus": "0.5", "memory": "128M", "pids": 100}}},
    }
    document = {"services": {config.services.proxy: service}}
    return HEADER + json.dumps(document, indent=2) + "\n"


def proxy_networks(
    document: Mapping[str, Any], config: Config, defining: list[str], files: str
) -> list[str]:
    """The networks the proxy joins, from the project's own rendered compose configuration
    (`docker compose config --format json`): the service's networks that are not internal
    (a published port needs one). The project must not define the proxy itself: `defining`
    names the files that look as if they do."""
    services = document.get("services") or {}
    app, proxy = config.services.app, config.services.proxy
    if proxy in services:
        where = ", ".join(defining) or files
        raise ConfigError(
            where,
            [f"defines a service {proxy!r}, the name of the proxy dockyard adds itself"],
            hint=f"remove the {proxy!r} service (and any nginx configuration of it) from "
            f"{where}: dockyard runs the proxy; or give dockyard's proxy another name with "
            f"{SERVICES_KEY}",
        )
    if app not in services:
        raise ConfigError(
            "pyproject.toml",
            [
                f"[tool.dockyard.services] app = {app!r}: no service {app!r} in {files} "
                f"(services there: {', '.join(sorted(services)) or 'none'})"
            ],
            hint=f"name the service the proxy sends requests to, a service of {files}",
        )
    spec = services[app]
    declared = document.get("networks") or {}
    joined = sorted(spec.get("networks") or {})
    usable = [name for name in joined if not (declared.get(name) or {}).get("internal")]
    if spec.get("network_mode") or not usable:
        how = (
            f"network_mode {spec['network_mode']}"
            if spec.get("network_mode")
            else (f"only internal networks ({', '.join(joined)})" if joined else "no network")
        )
        raise ConfigError(
            files,
            [f"service {app!r} has {how}: dockyard's proxy cannot join it on a network that "
             "publishes a port"],
            hint=f"put {app!r} on a network that is not internal as well (its data services "
            "can stay on an internal one)",
        )  # fmt: skip
    return usable


def _bind(source: str, target: str) -> dict[str, Any]:
    return {"type": "bind", "source": source, "target": target, "read_only": True}


def _literal(value: str) -> str:
    """A value compose must not interpolate: `$` escaped."""
    return value.replace("$", "$$")
