"""One place that decides how a command's answer is shown: for people, or as JSON (`--json`).

A command builds its JSON document and says how people see the same answer: a table of
rows, or the lines a function prints. `show` prints exactly one of the two.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard.core.console import print_json, render_checks
from dockyard.core.errors import ExitCode
from dockyard.core.invocation import Invocation
from dockyard.core.results import CheckResult, any_failed

if TYPE_CHECKING:
    from rich.console import Console

# The width a table may take when measured for output that is not a terminal: in effect none.
_UNBOUNDED = 1_000_000


@dataclass(frozen=True)
class Rows:
    """A table for people: a column per name in `columns`, a line per row (keyed by column)."""

    columns: Sequence[str]
    rows: Sequence[Mapping[str, object]]
    # Printed instead of a table when there is no row; None prints the header alone.
    empty: str | None = None


People = Rows | Callable[["Console"], None]


def show(invocation: Invocation, document: object, people: People) -> None:
    """Print `document` as JSON with `--json`; otherwise what people read: the table of `Rows`,
    or whatever the function prints on the console."""
    if invocation.as_json:
        print_json(document)
    elif isinstance(people, Rows):
        print_rows(invocation.console, people)
    else:
        people(invocation.console)


def print_rows(console: Console, table: Rows) -> None:
    """A table with every cell whole. A terminal gets a table fitted to its width; elsewhere
    (a pipe, a file, a CI log) the table is as wide as its longest cells, since nobody can
    widen the window to read a cut cell."""
    from rich.measure import Measurement
    from rich.table import Table
    from rich.text import Text

    if not table.rows and table.empty is not None:
        console.print(table.empty, markup=False)
        return
    rendered = Table(*table.columns)
    for row in table.rows:
        rendered.add_row(*(Text(str(row.get(column, ""))) for column in table.columns))
    if not console.is_terminal:
        natural = Measurement.get(console, console.options.update_width(_UNBOUNDED), rendered)
        if natural.maximum > console.width:
            rendered.width = natural.maximum
    console.print(rendered)


def report(invocation: Invocation, results: list[CheckResult]) -> int:
    """Print check results for people or as JSON; the exit code says whether any failed."""
    failed = any_failed(results)
    document = {"ok": not failed, "checks": [result.as_dict() for result in results]}
    show(invocation, document, lambda console: render_checks(console, results))
    return ExitCode.FAILED if failed else ExitCode.OK
