"""The hardening rules on every instance file: what each instance would publish, rendered.

An instance runs the compose files with its own port and bind (`deploy.instances`), so the
rules judge the configuration as it would run. A finding the default rendering has already
is not repeated; a new one names the instance file. An instance's `bind_exception` is its
reviewed exception to RT-08, listed on every run like the exemptions of
[tool.dockyard.hardening]. Problems of the files themselves (a port two instances share, a
file that does not parse) are findings too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.audit.hardening.compose import compose_findings
from dockyard.audit.hardening.findings import Finding
from dockyard.core.config import Config, Exemption
from dockyard.core.errors import DockyardError
from dockyard.deploy import instances
from dockyard.env.store import shown
from dockyard.stack.proxyconf import published_ports

PUBLISHED = "RT-08"


@dataclass(frozen=True)
class InstanceChecks:
    """What the instance files add to the hardening gate."""

    findings: list[Finding] = field(default_factory=list)
    exemptions: list[Exemption] = field(default_factory=list)  # their bind_exception
    count: int = 0


def instance_findings(
    config: Config,
    render: Callable[[Mapping[str, str]], dict[str, Any]],
    default: Iterable[Finding],
) -> InstanceChecks:
    """Every instance file rendered (`render` takes an instance's compose variables) and
    judged; `default` holds the default stack's findings."""
    where = config.instances_dir
    try:
        found, problems = instances.read_all(config)
    except DockyardError as error:
        return InstanceChecks([Finding("BAD-06", where, error.message, where)])
    problems += instances.port_clashes(found)
    problems += instances.stack_port_clashes(found, published_ports(config))
    findings = [Finding("BAD-05", where, problem, where) for problem in problems]
    known = {(f.rule, f.subject, f.message) for f in default}
    exemptions = []
    for instance in found:
        name = shown(config, instance.source)
        variables = instances.compose_variables(instance)
        try:
            rendered = render(variables)
        except DockyardError as error:
            findings.append(Finding("BAD-05", name, str(error).replace("\n", " "), name))
            continue
        for finding in compose_findings(
            rendered, config.hardening, config.services, str(config.root)
        ):
            if (finding.rule, finding.subject, finding.message) not in known:
                findings.append(
                    Finding(finding.rule, f"{name} {finding.where}", finding.message, name)
                )
        if instance.bind_exception is not None:
            exemptions.append(
                Exemption(PUBLISHED, name, f"bind_exception: {instance.bind_exception}")
            )
    return InstanceChecks(findings, exemptions, len(found))


def stale_binds(unused: Iterable[Exemption]) -> list[Finding]:
    """A bind_exception that covers nothing: the instance binds where it may; remove it."""
    message = "bind_exception is set, but the instance publishes where it may; remove it"
    return [Finding(e.rule, e.subject, message, e.subject) for e in unused]
