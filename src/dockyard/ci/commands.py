"""`invoke ci.doctor`: read a CI log and say what failed, where, and what to do."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.ci.classify import Verdict, classify
from dockyard.ci.junit import FailedTest, failed_tests, looks_like_junit, with_junit
from dockyard.ci.logs import Raw, read_file, read_stream, report_files
from dockyard.ci.normalise import Log, decode, from_bytes
from dockyard.ci.render import markdown, text_lines
from dockyard.core.errors import MissingFileError
from dockyard.core.invocation import Invocation
from dockyard.core.output import show

if TYPE_CHECKING:
    from rich.console import Console


def doctor(invocation: Invocation, log: str, summary: str = "") -> int:
    """Print the verdict (and append it as Markdown to `summary`). `log` is a file, `-` for stdin,
    or a directory such as reports/ (its JUnit reports and logs). Exit 0 whenever a verdict was
    given, `unknown` included: the doctor did its job; the CI run's own status says it failed."""
    if log == "-":
        raws = [read_stream(sys.stdin.buffer)]
        source = "stdin"
    else:
        path = Path(log) if Path(log).is_absolute() else Path.cwd() / log
        if path.is_dir():
            raws = [read_file(found, f"{log.rstrip('/')}/{found.name}") for found in _reports(path)]
            source = ", ".join(raw.name for raw in raws)
        else:
            raws = [read_file(path, log)]
            source = log
    verdict = diagnose(raws)
    document = {"source": source, **verdict.as_dict()}

    def people(console: Console) -> None:
        for line in text_lines(verdict, source):
            console.print(line, markup=False, highlight=False)

    show(invocation, document, people)
    if summary:
        with Path(summary).open("a", encoding="utf-8") as out:
            out.write(markdown(verdict, source))
    return 0


def _reports(directory: Path) -> list[Path]:
    files = report_files(directory)
    if not files:
        raise MissingFileError(
            f"{directory}: no JUnit report (junit*.xml) or log (*.log) to read",
            hint="pass the CI log itself: `invoke ci.doctor LOG`, or `-` to read it from stdin",
        )
    return files


def diagnose(raws: list[Raw]) -> Verdict:
    """One verdict over every log read: JUnit reports give the failed tests, the logs the rest."""
    failures: list[FailedTest] = []
    lines: list[str] = []
    skipped = 0
    for raw in raws:
        if not raw.skipped_bytes and looks_like_junit(decode(raw.head[:512])):
            parsed = failed_tests(decode(raw.head + raw.tail))
            if parsed is not None:
                failures += parsed
                continue
        log = from_bytes(raw.head, raw.tail, raw.skipped_bytes)
        skipped += raw.skipped_bytes
        lines += log.lines if len(raws) == 1 else [f"==> {raw.name} <==", *log.lines]
    verdict = classify(Log(lines, skipped))
    return with_junit(verdict, failures)
