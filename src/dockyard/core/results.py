"""The verdict shape shared by doctor checks and audit gates: ok, warn or fail, with the fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    """One line of a report, with the lines behind it (`details`) and what to do (`fix`)."""

    name: str
    status: Status
    summary: str
    fix: str | None = None
    details: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "status": self.status.value,
            "summary": self.summary,
            "fix": self.fix,
            "details": list(self.details),
        }


def ok(name: str, summary: str, details: tuple[str, ...] = ()) -> CheckResult:
    return CheckResult(name, Status.OK, summary, None, details)


def warn(name: str, summary: str, fix: str, details: tuple[str, ...] = ()) -> CheckResult:
    return CheckResult(name, Status.WARN, summary, fix, details)


def fail(name: str, summary: str, fix: str, details: tuple[str, ...] = ()) -> CheckResult:
    return CheckResult(name, Status.FAIL, summary, fix, details)


def any_failed(results: list[CheckResult]) -> bool:
    return any(result.status is Status.FAIL for result in results)
