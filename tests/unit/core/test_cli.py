"""The task layer: what a user sees from `invoke`, for good input and bad."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
INVOKE = Path(sys.executable).with_name("invoke")


def invoke(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INVOKE), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_invoke_list_shows_the_tasks_with_their_summaries() -> None:
    listed = invoke("--list")
    assert listed.returncode == 0
    for name in ("doctor", "bootstrap", "audit"):
        assert f"  {name} " in listed.stdout


def test_invalid_configuration_is_one_clear_message_and_exit_code_2(tmp_path: Path) -> None:
    """A typo in [tool.dockyard] names the key and the fix; no traceback, before any other work."""
    shutil.copy(REPO / "tasks.py", tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.dockyard]\nproject = "shop"\nimage = "shop"\n'
        '[tool.dockyard.helth]\nlive_path = "/"\n'
    )
    done = invoke("doctor", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"dockyard: error: {tmp_path / 'pyproject.toml'}: "
        "tool.dockyard.helth: unknown key (did you mean 'health'?)\n"
    )
    assert done.stdout == ""


def test_a_missing_pyproject_is_exit_code_4(tmp_path: Path) -> None:
    shutil.copy(REPO / "tasks.py", tmp_path)
    done = invoke("doctor", cwd=tmp_path)
    assert done.returncode == 4
    assert "pyproject.toml: not found" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_table_piped_to_a_log_shows_every_cell_whole(tmp_path: Path) -> None:
    """`invoke deploy.history | cat`, as a CI log shows it: no cell cut to fit 80 columns."""
    shutil.copy(REPO / "tasks.py", tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.dockyard]\nproject = "shop"\nimage = "shop"\n')
    record = {
        "instance": "staging-eu-west-1",
        "action": "rollback",
        "version": "2026.11.23-rc.1+build.4711",
        "previous": "2026.11.22-rc.9+build.4698",
        "user": "ann.example",
        "started": "2026-11-23T10:00:00Z",
        "duration_seconds": 12.34,
        "result": "succeeded",
        "reason": "",
        "notes": ["cleared the stale lock of pid 4242 on build-runner-07"],
    }
    (tmp_path / ".dockyard").mkdir()
    (tmp_path / ".dockyard" / "history.jsonl").write_text(json.dumps(record) + "\n")
    done = invoke("deploy.history", cwd=tmp_path, env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    cells = [
        "2026-11-23 10:00:00Z",
        "staging-eu-west-1",
        "rollback",
        "2026.11.23-rc.1+build.4711",
        "2026.11.22-rc.9+build.4698",
        "succeeded",
        "12.3s",
        "ann.example",
        "cleared the stale lock of pid 4242 on build-runner-07",
    ]
    headers = ["when", "instance", "action", "version", "previous", "result", "duration"]
    for text in [*headers, *cells]:
        assert text in done.stdout, f"{text!r} is cut in:\n{done.stdout}"
    assert "…" not in done.stdout
