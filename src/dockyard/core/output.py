"""One place that decides how a command's answer is shown: for people, or as JSON (`--json`)."""

from __future__ import annotations

from dockyard.core.console import print_json, render_checks
from dockyard.core.errors import ExitCode
from dockyard.core.invocation import Invocation
from dockyard.core.results import CheckResult, any_failed


def report(invocation: Invocation, results: list[CheckResult]) -> int:
    """Print check results for people or as JSON; the exit code says whether any failed."""
    failed = any_failed(results)
    if invocation.as_json:
        print_json({"ok": not failed, "checks": [result.as_dict() for result in results]})
    else:
        render_checks(invocation.console, results)
    return ExitCode.FAILED if failed else ExitCode.OK
