"""Static hardening rules, as data: a finding names its checklist id, where, and what is wrong.

The rules themselves live in `hardening_compose` (the rendered compose
configuration) and `hardening_dockerfile` (Dockerfile text); the audit gate
gathers their findings, applies the reviewed exemptions of
`[tool.dockyard.hardening]` and turns the rest into one verdict. Nothing here
runs a process or reads a file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from dockyard.core.config import Exemption
from dockyard.core.results import CheckResult, fail, ok

GATE = "hardening"
FIX = (
    "fix each line below; a rule that really does not apply goes in "
    "[[tool.dockyard.hardening.exempt]] with the rule, the service or Dockerfile, and a reason"
)


@dataclass(frozen=True, order=True)
class Finding:
    """One broken rule: its CHECKLIST id, where (`services.app`, `Dockerfile:12`), and what."""

    rule: str
    where: str
    message: str
    # The service name or Dockerfile path an exemption names; `where` without a line number.
    subject: str = ""

    def __str__(self) -> str:
        return f"{self.rule} {self.where}: {self.message}"


def exempted(
    findings: Iterable[Finding], exemptions: Iterable[Exemption]
) -> tuple[list[Finding], list[Exemption]]:
    """Split off the findings a reviewed exemption covers; return the rest and the ones used."""
    rest, used = [], []
    listed = list(exemptions)
    for finding in findings:
        match = next(
            (e for e in listed if (e.rule, e.subject) == (finding.rule, finding.subject)), None
        )
        if match is None:
            rest.append(finding)
        elif match not in used:
            used.append(match)
    return rest, used


def stale(unused: Iterable[Exemption]) -> list[Finding]:
    """Exemptions that covered nothing: a rule that now passes should not stay exempted."""
    message = "exempted in [tool.dockyard.hardening] but nothing fails the rule; remove it"
    return [Finding(e.rule, e.subject, message, e.subject) for e in unused]


def verdict(findings: Iterable[Finding], used: Iterable[Exemption], examined: str) -> CheckResult:
    """One result for the gate: every finding a line of its details, exemptions shown on a pass."""
    problems = sorted(set(findings), key=_reading_order)
    if problems:
        return fail(
            GATE,
            f"{len(problems)} finding(s) against the hardening checklist",
            FIX,
            tuple(str(problem) for problem in problems),
        )
    notes = tuple(f"exempt: {e.rule} {e.subject} ({e.reason})" for e in used)
    return ok(GATE, f"{examined} pass the hardening rules", notes)


def _reading_order(finding: Finding) -> tuple[str, str, str]:
    """RT-02 before RT-10, Dockerfile:9 before Dockerfile:10."""

    def natural(text: str) -> str:
        return re.sub(r"\d+", lambda number: number.group().zfill(6), text)

    return natural(finding.rule), natural(finding.where), finding.message
