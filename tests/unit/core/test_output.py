"""How a command's answer is shown: JSON for machines, a table or lines for people, and tables
that keep every cell whole when the output is not a terminal (a pipe, a file, a CI log)."""

from __future__ import annotations

import io
import json
import os

import pytest
from rich.console import Console

from dockyard.core.config import Config
from dockyard.core.invocation import Invocation
from dockyard.core.output import Rows, print_rows, show

COLUMNS = ("instance", "version", "result", "reason")
LONG_ROW = {
    "instance": "staging-eu-west-1-blue",
    "version": "2026.11.23-rc.1+build.4711",
    "result": "succeeded",
    "reason": "cleared the stale lock of pid 4242 on build-runner-07 before the switch",
}


def piped(width: int | None = None) -> tuple[Console, io.StringIO]:
    """A console writing to a stream that is not a terminal, as `invoke ... | cat` does."""
    stream = io.StringIO()
    return Console(file=stream, width=width, highlight=False, soft_wrap=True), stream


def invocation(config: Config, *, as_json: bool) -> tuple[Invocation, io.StringIO]:
    console, stream = piped()
    return Invocation(config, dict(os.environ), console, as_json), stream


@pytest.mark.parametrize("width", [None, 40, 80])
def test_a_table_piped_keeps_every_cell_whole_however_narrow_the_console(width: int | None) -> None:
    console, stream = piped(width)
    assert not console.is_terminal
    print_rows(console, Rows(COLUMNS, [LONG_ROW, {**LONG_ROW, "instance": "production"}]))
    shown = stream.getvalue()
    for text in [*COLUMNS, *LONG_ROW.values(), "production"]:
        assert text in shown, f"{text!r} is cut in:\n{shown}"
    assert "…" not in shown


def test_a_narrow_table_is_left_as_it_is() -> None:
    console, stream = piped(80)
    print_rows(console, Rows(("a", "b"), [{"a": "1", "b": "2"}]))
    assert max(len(line) for line in stream.getvalue().splitlines()) < 20


def test_cells_are_shown_literally_not_as_markup() -> None:
    console, stream = piped()
    print_rows(console, Rows(("reason",), [{"reason": "[red]not ready[/red] [x]"}]))
    assert "[red]not ready[/red] [x]" in stream.getvalue()


def test_no_rows_print_the_empty_message_or_the_header_alone() -> None:
    console, stream = piped()
    print_rows(console, Rows(COLUMNS, [], "nothing recorded [yet]"))
    assert stream.getvalue() == "nothing recorded [yet]\n"
    console, stream = piped()
    print_rows(console, Rows(COLUMNS, []))
    for column in COLUMNS:
        assert column in stream.getvalue()


def test_json_prints_the_document_and_nothing_for_people(
    repo_config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    inv, console_output = invocation(repo_config, as_json=True)
    show(inv, {"rows": [LONG_ROW]}, Rows(COLUMNS, [LONG_ROW]))
    assert json.loads(capsys.readouterr().out) == {"rows": [LONG_ROW]}
    assert console_output.getvalue() == ""


def test_without_json_people_get_the_lines_and_stdout_gets_no_json(
    repo_config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    inv, console_output = invocation(repo_config, as_json=False)
    show(inv, {"ok": True}, lambda console: console.print("[green]all good[/]"))
    assert console_output.getvalue() == "all good\n"
    assert capsys.readouterr().out == ""
