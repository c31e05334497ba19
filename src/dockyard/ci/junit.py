"""Failed tests from a JUnit XML report (pytest's `--junitxml`), and the verdict they make."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

from dockyard.ci.classify import UNKNOWN, Verdict
from dockyard.ci.normalise import shown
from dockyard.ci.rules import RULES

_TEST_RULE = next(rule for rule in RULES if rule.category == "test")
_RANK = {rule.category: position for position, rule in enumerate(RULES)}


@dataclass(frozen=True)
class FailedTest:
    test: str
    message: str
    text: str


def looks_like_junit(head: str) -> bool:
    start = head.lstrip("\ufeff \t\r\n")[:400]
    return (start.startswith("<?xml") and "<testsuite" in start) or start.startswith("<testsuite")


def failed_tests(text: str) -> list[FailedTest] | None:
    """Every failed or erroring test case; None when the text is not well-formed XML
    (a truncated report is then read as a plain log)."""
    try:
        # A report the CI run wrote; Python's expat refuses entity-expansion bombs.
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError:
        return None
    failures: list[FailedTest] = []
    for case in root.iter("testcase"):
        for outcome in (*case.findall("failure"), *case.findall("error")):
            name = "::".join(part for part in (case.get("classname"), case.get("name")) if part)
            message = (outcome.get("message") or "").strip()
            failures.append(FailedTest(name, message, (outcome.text or "").strip()))
    return failures


def with_junit(verdict: Verdict, failures: list[FailedTest]) -> Verdict:
    """A log's verdict completed by the report: the failed tests name the failure unless the
    log shows a cause ranked before them (memory, disk, network, ...)."""
    if not failures:
        return verdict
    if verdict.category != UNKNOWN and _RANK[verdict.category] <= _RANK["test"]:
        also = verdict.also if "test" in verdict.also else [*verdict.also, "test"]
        return replace(verdict, also=also)
    first = failures[0]
    lines = [f"FAILED {failure.test} - {_first_line(failure.message)}" for failure in failures]
    lines += [shown(line) for line in first.text.splitlines()[-10:] if line.strip()]
    details = {"test": first.test, "failed": str(len(failures))}
    if first.message:
        details["assertion"] = shown(_first_line(first.message))
    also = [] if verdict.category == UNKNOWN else [verdict.category, *verdict.also]
    return replace(
        verdict,
        category="test",
        title=_TEST_RULE.title,
        lines=lines[:20],
        fix=_TEST_RULE.fix,
        details=details,
        also=also,
    )


def _first_line(text: str) -> str:
    return next(iter(text.splitlines()), "")
