"""Output for people (a step list with timings, check tables) and for machines (`--json`)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from dockyard.core.results import CheckResult

STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def make_console(stream: IO[str] | None = None) -> Console:
    """A console that colours a terminal and writes plain text anywhere else."""
    return Console(file=stream or sys.stdout, highlight=False, soft_wrap=True)


def print_json(data: Any, stream: IO[str] | None = None) -> None:
    (stream or sys.stdout).write(json.dumps(data, indent=2, default=str) + "\n")


def render_checks(console: Console, results: list[CheckResult]) -> None:
    """One line per check, the fix indented under anything that is not ok."""
    width = max((len(result.name) for result in results), default=0)
    for result in results:
        style = STATUS_STYLE[result.status.value]
        console.print(
            f"[{style}]{result.status.value:>4}[/]  "
            f"{result.name:<{width}}  {escape(result.summary)}"
        )
        indent = " " * (width + 8)
        for line in result.details:
            console.print(f"{indent}{escape(line)}")
        if result.fix:
            console.print(f"{indent}[dim]fix:[/] {escape(result.fix)}")


@dataclass
class StepRecord:
    name: str
    status: str = "ok"  # the step's body may set "warn" or "skip"
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Steps:
    """A numbered step list that prints each step as it starts and ends, with its duration."""

    console: Console
    total: int
    records: list[StepRecord] = field(default_factory=list)

    @contextmanager
    def step(self, name: str) -> Iterator[StepRecord]:
        record = StepRecord(name)
        self.records.append(record)
        number = f"[{len(self.records)}/{self.total}]"
        self.console.print(f"[bold]{number}[/] {escape(name)} ...")
        started = time.monotonic()
        try:
            yield record
        except BaseException:
            record.status = "fail"
            raise
        finally:
            record.seconds = time.monotonic() - started
            style = STATUS_STYLE.get(record.status, "")
            detail = f"  {escape(record.detail)}" if record.detail else ""
            self.console.print(
                f"{'':>{len(number)}} [{style}]{record.status}[/] {escape(name)} "
                f"({record.seconds:.1f} s){detail}"
            )

    def summary(self) -> list[dict[str, Any]]:
        return [
            {"step": r.name, "status": r.status, "seconds": round(r.seconds, 2), "detail": r.detail}
            for r in self.records
        ]
