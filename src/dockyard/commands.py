"""What each task does, end to end: gather, decide, act, report. Tasks in tasks.py call these."""

from __future__ import annotations

from dockyard.cli import Invocation
from dockyard.console import print_json, render_checks
from dockyard.doctor import Host, run_doctor
from dockyard.errors import ExitCode
from dockyard.results import CheckResult, any_failed


def doctor(invocation: Invocation) -> int:
    """Check the machine; exit 1 when any check fails."""
    results = run_doctor(invocation.config, Host(invocation.environ, invocation.config.root))
    return report(invocation, results)


def audit(invocation: Invocation) -> int:
    """Lint Dockerfiles, check the hardening rules, scan for secrets, audit the locked
    dependencies; exit 1 on any failure."""
    from dockyard.audit import run_audit

    return report(invocation, run_audit(invocation.config, invocation.environ))


def report(invocation: Invocation, results: list[CheckResult]) -> int:
    """Print check results for people or as JSON; the exit code says whether any failed."""
    failed = any_failed(results)
    if invocation.as_json:
        print_json({"ok": not failed, "checks": [result.as_dict() for result in results]})
    else:
        render_checks(invocation.console, results)
    return ExitCode.FAILED if failed else ExitCode.OK
