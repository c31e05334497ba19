"""The deploy history: records appended whole even by concurrent deploys, a line cut short by a
crash skipped and reported, and the versions a rollback can go back to."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.core.errors import DockyardError
from dockyard.deploy import history as deployhistory
from dockyard.deploy.history import History, Record

APPEND_MANY = """
import sys, pathlib
from dockyard.deploy import history as deployhistory
path, writer = pathlib.Path(sys.argv[1]), sys.argv[2]
sys.stdin.readline()
for number in range(40):
    deployhistory.append(path, deployhistory.Record(
        instance="staging", action="deploy", version=f"{writer}.{number}", previous=None,
        user=writer, started="2026-11-23T10:00:00Z", duration_seconds=1.0,
        result="succeeded", notes=("x" * 3000,),
    ))
"""


def record(
    version: str,
    *,
    instance: str = "staging",
    action: deployhistory.Action = "deploy",
    previous: str | None = None,
    result: deployhistory.Result = "succeeded",
) -> Record:
    return Record(
        instance=instance,
        action=action,
        version=version,
        previous=previous,
        user="alice",
        started="2026-11-23T10:00:00Z",
        duration_seconds=12.34,
        result=result,
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "deploys.jsonl"


# ------------------------------------------------------------- reading, writing ---


def test_records_are_read_back_oldest_first(path: Path) -> None:
    first = record("1.3.0")
    second = Record(
        instance="production",
        action="rollback",
        version="1.2.0",
        previous="1.3.0",
        user="bob",
        started="2026-11-23T11:00:00Z",
        duration_seconds=3.0,
        result="interrupted",
        reason="SIGINT",
        notes=("cleared stale lock of pid 123", "ünïcode kept"),
    )
    deployhistory.append(path, first)
    deployhistory.append(path, second)
    assert deployhistory.read(path) == History((first, second), ())
    assert deployhistory.read(path, instance="production").records == (second,)
    assert len(path.read_bytes().splitlines()) == 2


def test_a_new_history_is_created_0644_with_its_directory(path: Path) -> None:
    old_umask = os.umask(0o077)
    try:
        deployhistory.append(path, record("1.3.0"))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755


def test_appending_never_changes_what_is_already_there(path: Path) -> None:
    deployhistory.append(path, record("1.3.0"))
    before = path.read_bytes()
    deployhistory.append(path, record("1.4.0"))
    after = path.read_bytes()
    assert after.startswith(before)
    assert after[len(before) :].count(b"\n") == 1


def test_a_missing_history_is_empty(path: Path) -> None:
    assert deployhistory.read(path) == History((), ())


def test_concurrent_deploys_append_whole_lines_only(path: Path) -> None:
    """Eight processes appending 40 long records each, all at once: every line is a record."""
    writers = [f"w{index}" for index in range(8)]
    with contextlib.ExitStack() as stack:
        processes = [
            stack.enter_context(
                subprocess.Popen(
                    [sys.executable, "-c", APPEND_MANY, str(path), writer],
                    stdin=subprocess.PIPE,
                    text=True,
                )
            )
            for writer in writers
        ]
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in processes:
            assert process.wait(timeout=15) == 0
    history = deployhistory.read(path)
    assert history.problems == ()
    assert len(path.read_bytes().splitlines()) == 8 * 40
    for writer in writers:
        mine = [entry.version for entry in history.records if entry.user == writer]
        assert mine == [f"{writer}.{number}" for number in range(40)]


def test_a_line_cut_short_by_a_crash_is_skipped_reported_and_left_alone(path: Path) -> None:
    deployhistory.append(path, record("1.3.0"))
    with path.open("ab") as handle:
        handle.write(b'{"instance": "staging", "action": "depl')  # the writer died here
    deployhistory.append(path, record("1.4.0"))

    history = deployhistory.read(path)
    assert [entry.version for entry in history.records] == ["1.3.0", "1.4.0"]
    assert len(history.problems) == 1
    assert history.problems[0].startswith(f"{path}:2: skipped: not valid JSON")
    assert b'"action": "depl\n' in path.read_bytes()


def test_every_unreadable_line_is_reported_with_its_number(path: Path) -> None:
    path.parent.mkdir(parents=True)
    good = record("1.3.0").to_json().encode()
    path.write_bytes(
        b"\n".join(
            [
                good,
                b"not json at all",
                b"",
                b'{"instance": "staging"}',
                b"\xff\xfe",
                b'["a list"]',
                good.replace(b'"succeeded"', b'"maybe"'),
                good,
            ]
        )
        + b"\n"
    )
    history = deployhistory.read(path)
    assert len(history.records) == 2
    assert [problem.split(": ", 1)[0] for problem in history.problems] == [
        f"{path}:{number}" for number in (2, 4, 5, 6, 7)
    ]
    assert "not a history record ('duration_seconds' must be a number" in history.problems[1]
    assert "not UTF-8 text" in history.problems[2]
    assert "'result' must be one of succeeded, failed, interrupted" in history.problems[4]


def test_a_history_that_cannot_be_written_names_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the directory should be", encoding="utf-8")
    target = blocker / "deploys.jsonl"
    with pytest.raises(DockyardError) as caught:
        deployhistory.append(target, record("1.3.0"))
    assert str(target) in str(caught.value)
    assert "cannot record the deploy of staging" in str(caught.value)
    assert caught.value.hint is not None


def test_a_record_keeps_durations_to_a_tenth_and_refuses_unknown_results() -> None:
    assert record("1.3.0").duration_seconds == 12.3
    assert Record.from_json(record("1.3.0").to_json()) == record("1.3.0")
    with pytest.raises(ValueError, match="result must be one of"):
        Record(**{**record("1.3.0").__dict__, "result": "maybe"})


# --------------------------------------------------------------------- versions ---

A, B, C = "1.2.0", "1.3.0", "1.4.0"


@pytest.mark.parametrize(
    ("records", "current", "previous", "deployed"),
    [
        pytest.param([], None, None, [], id="never-deployed"),
        pytest.param([record(A)], A, None, [A], id="first-deploy"),
        pytest.param([record(B, previous=A)], B, A, [B], id="history-starts-later"),
        pytest.param([record(A), record(B)], B, A, [B, A], id="two-deploys"),
        pytest.param(
            [record(A), record(B), record(A, action="rollback", previous=B)],
            A,
            B,
            [A, B],
            id="after-a-rollback-the-previous-is-the-rolled-back-version",
        ),
        pytest.param(
            [record(A), record(B, result="failed"), record(B, result="interrupted")],
            A,
            None,
            [A],
            id="failed-and-interrupted-never-went-live",
        ),
        pytest.param(
            [record(A), record(B), record(B)], B, A, [B, A], id="a-redeploy-is-not-a-change"
        ),
        pytest.param(
            [record(A), record(B), record(C, instance="production"), record(C, result="failed")],
            B,
            A,
            [B, A],
            id="other-instances-do-not-count",
        ),
        pytest.param(
            [record(A), record(B), record(C), record(B, action="rollback"), record(C)],
            C,
            B,
            [C, B, A],
            id="redeploy-after-rollback",
        ),
    ],
)
def test_versions_that_deploy_and_rollback_rely_on(
    records: list[Record], current: str | None, previous: str | None, deployed: list[str]
) -> None:
    assert deployhistory.current_version(records, "staging") == current
    assert deployhistory.previous_version(records, "staging") == previous
    assert deployhistory.deployed_versions(records, "staging") == deployed


def test_two_rollbacks_in_a_row_go_back_and_forth() -> None:
    records = [record(A), record(B)]
    for expected in (A, B, A):
        target = deployhistory.previous_version(records, "staging")
        assert target == expected
        records.append(record(target, action="rollback"))
        assert deployhistory.current_version(records, "staging") == expected


# -------------------------------------------------------------------- the table ---


def test_the_history_table_shows_one_row_per_record_newest_last() -> None:
    failed = Record(
        instance="staging",
        action="deploy",
        version=C,
        previous=B,
        user="bob",
        started="2026-11-23T11:00:00Z",
        duration_seconds=95.06,
        result="failed",
        reason="not ready after 90s",
        notes=("cleared stale lock of pid 123",),
    )
    rows = deployhistory.render_rows([record(B), failed])
    assert rows == [
        {
            "when": "2026-11-23 10:00:00Z",
            "instance": "staging",
            "action": "deploy",
            "version": B,
            "previous": "-",
            "result": "succeeded",
            "duration": "12.3s",
            "who": "alice",
            "reason": "",
        },
        {
            "when": "2026-11-23 11:00:00Z",
            "instance": "staging",
            "action": "deploy",
            "version": C,
            "previous": B,
            "result": "failed",
            "duration": "95.1s",
            "who": "bob",
            "reason": "not ready after 90s; cleared stale lock of pid 123",
        },
    ]
    assert tuple(rows[0]) == deployhistory.COLUMNS
