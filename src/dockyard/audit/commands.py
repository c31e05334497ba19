"""`invoke audit`: every static gate, one verdict."""

from __future__ import annotations

from dockyard.core.invocation import Invocation
from dockyard.core.output import report


def audit(invocation: Invocation) -> int:
    """Lint Dockerfiles, check the hardening rules, scan for secrets, audit the locked
    dependencies; exit 1 on any failure."""
    from dockyard.audit.gates import run_audit

    return report(invocation, run_audit(invocation.config, invocation.environ))
