"""`invoke doctor`: check the machine and report."""

from __future__ import annotations

from dockyard.core.invocation import Invocation
from dockyard.core.output import report
from dockyard.doctor.checks import Host, run_doctor


def doctor(invocation: Invocation) -> int:
    """Check the machine; exit 1 when any check fails."""
    results = run_doctor(invocation.config, Host(invocation.environ, invocation.config.root))
    return report(invocation, results)
