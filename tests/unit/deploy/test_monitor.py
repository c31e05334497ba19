"""The deployment monitor: its policy as pure rules, then real monitor processes watching a real
local HTTP server whose readiness answer the tests flip."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast

import pytest

from dockyard.core.errors import ConfigError, DockyardError, MissingFileError, UnknownNameError
from dockyard.deploy.monitor import control as monitor
from dockyard.deploy.monitor.files import is_monitor_command
from dockyard.deploy.monitor.policy import Observation, Policy, Watch, begin, next_check_in, observe
from dockyard.deploy.monitor.watcher import EXIT_LOCKED

# --- the policy ------------------------------------------------------------------------------

RULES = Policy(settle_seconds=10, interval_seconds=2, failures_to_fail=3, max_seconds=100)


def feed(policy: Policy, checks: list[tuple[float, bool]]) -> Watch:
    watch = begin(0.0)
    for at, healthy in checks:
        watch = observe(
            policy, watch, Observation(at, healthy, "" if healthy else f"HTTP 503 @{at}")
        )
    return watch


def test_stable_once_healthy_for_the_whole_settle_period() -> None:
    """It is stable when the checks have been healthy for settle_seconds, not before."""
    almost = feed(RULES, [(1, True), (5, True), (10.9, True)])
    assert (almost.state, almost.healthy_since) == ("watching", 1)
    stable = observe(RULES, almost, Observation(11, True))
    assert stable.state == "stable"
    assert stable.reason == "healthy continuously for 10 s"
    assert stable.checks == 4


def test_a_failed_check_restarts_the_settle_period() -> None:
    """One failed check means the deployment must be healthy for a full period again."""
    watch = feed(RULES, [(1, True), (8, False), (9, True), (18, True)])
    assert (watch.state, watch.healthy_since, watch.failures) == ("watching", 9, 0)
    assert watch.last_error == "HTTP 503 @8"
    assert observe(RULES, watch, Observation(19, True)).state == "stable"


def test_failed_after_consecutive_failed_checks() -> None:
    """It fails after failures_to_fail failed checks in a row, naming the last error."""
    watch = feed(RULES, [(1, False), (3, False)])
    assert (watch.state, watch.failures) == ("watching", 2)
    failed = observe(RULES, watch, Observation(5, False, "no answer: Connection refused"))
    assert failed.state == "failed"
    assert failed.reason == "3 failed checks in a row; last: no answer: Connection refused"
    assert failed.last_error == "no answer: Connection refused"


def test_a_healthy_check_resets_the_failure_count() -> None:
    """Failures only count when they come in a row."""
    watch = feed(RULES, [(1, False), (3, False), (5, True), (7, False), (9, False)])
    assert (watch.state, watch.failures) == ("watching", 2)


def test_flapping_never_settles_and_fails_at_max_seconds() -> None:
    """A deployment that keeps flapping fails when max_seconds have passed."""
    flapping = [(float(at), at % 4 == 0) for at in range(2, 100, 2)]
    watch = feed(RULES, flapping)
    assert watch.state == "watching"
    failed = observe(RULES, watch, Observation(100, True))
    assert failed.state == "failed"
    assert failed.reason.startswith("never settled within 100 s; last error: HTTP 503")


def test_a_verdict_is_final() -> None:
    """Checks after the verdict change nothing."""
    failed = feed(RULES, [(1, False), (2, False), (3, False)])
    assert observe(RULES, failed, Observation(50, True)) == failed


def test_no_settle_period_means_stable_at_the_first_healthy_check() -> None:
    """settle_seconds = 0 accepts the first healthy answer."""
    policy = Policy(settle_seconds=0, interval_seconds=1, failures_to_fail=1, max_seconds=5)
    assert feed(policy, [(0.5, True)]).state == "stable"


def test_the_next_check_is_never_after_the_deadline() -> None:
    """The wait between checks is one interval, cut short by max_seconds."""
    watch = begin(1000.0)
    assert next_check_in(RULES, watch, 1010.0) == 2
    assert next_check_in(RULES, watch, 1099.5) == pytest.approx(0.5)
    assert next_check_in(RULES, watch, 1200.0) == 0


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"settle_seconds": -1}, "settle_seconds must be 0 or more"),
        ({"interval_seconds": 0}, "interval_seconds must be more than 0"),
        ({"failures_to_fail": 0}, "failures_to_fail must be 1 or more"),
        ({"settle_seconds": 60, "max_seconds": 60}, "could never settle"),
    ],
)
def test_a_policy_that_could_never_give_a_verdict_is_refused(
    values: dict[str, float], problem: str
) -> None:
    """Impossible settings are refused up front, naming the setting."""
    with pytest.raises(ConfigError, match=problem):
        Policy(**values)  # type: ignore[arg-type]


# --- a readiness endpoint the tests control --------------------------------------------------


class Readiness(ThreadingHTTPServer):
    """Answers `answer` to every GET, or alternates 200 and 503 while `flapping`."""

    answer = 200
    flapping = False
    served = 0

    def next_answer(self) -> int:
        self.served += 1
        if self.flapping:
            return 200 if self.served % 2 else 503
        return self.answer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        code = cast(Readiness, self.server).next_answer()
        body = b"ready" if code == 200 else b"database down"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def service() -> Iterator[Readiness]:
    server = Readiness(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def url_of(server: Readiness) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/health/ready"


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """A state directory; monitors a test leaves running are stopped afterwards."""
    directory = tmp_path / "monitors"
    yield directory
    for lock in directory.glob("*.lock"):
        monitor.stop(directory, lock.stem)


# The maximum is far off, so a busy machine that delays checks still gets the verdict under test.
QUICK = Policy(settle_seconds=0.6, interval_seconds=0.1, failures_to_fail=3, max_seconds=60)
PATIENT = Policy(settle_seconds=30, interval_seconds=0.1, failures_to_fail=3, max_seconds=60)
# Checks every two minutes: between two checks the monitor writes nothing.
QUIET = Policy(settle_seconds=300, interval_seconds=120, failures_to_fail=3, max_seconds=600)
# How long to wait for what a monitor process does: generous, for a loaded machine.
PATIENCE = 60.0


def launch(state_dir: Path, url: str, policy: Policy, instance: str = "web") -> monitor.MonitorInfo:
    return monitor.start(state_dir, instance=instance, url=url, version="1.4.2", policy=policy)


def eventually(condition: Callable[[], bool], timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def checks_recorded(state_dir: Path, instance: str) -> int:
    """How many checks the status of `instance`'s monitor records so far."""
    current = monitor.status(state_dir, instance)
    return 0 if current is None else current.checks


def exited(pid: int) -> bool:
    """True once process `pid` is gone or only a zombie is left of it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] in {"Z", "X"}


# --- real monitor processes ------------------------------------------------------------------


def test_a_healthy_deployment_becomes_stable_and_the_monitor_exits(
    state_dir: Path, service: Readiness
) -> None:
    """A deployment that stays healthy is reported stable; the monitor then ends by itself."""
    info = launch(state_dir, url_of(service), QUICK)
    assert info.status_path == state_dir / "web.json"

    result = monitor.wait(state_dir, "web", timeout=PATIENCE)

    assert result.state == "stable"
    assert (result.version, result.url, result.pid) == ("1.4.2", url_of(service), info.pid)
    assert result.healthy_since is not None
    assert result.checks >= 2
    assert result.policy == QUICK
    eventually(lambda: exited(info.pid))
    assert not (state_dir / "web.pid").exists()
    recorded = json.loads((state_dir / "web.json").read_text())
    assert recorded["state"] == "stable"
    assert recorded["started"].endswith("+00:00")
    assert recorded["policy"]["settle_seconds"] == 0.6


def test_an_unhealthy_deployment_fails_after_consecutive_failed_checks(
    state_dir: Path, service: Readiness
) -> None:
    """Failed checks in a row make the verdict "failed", with the answer that was seen."""
    service.answer = 503
    launch(state_dir, url_of(service), QUICK)

    result = monitor.wait(state_dir, "web", timeout=PATIENCE)

    assert result.state == "failed"
    assert result.failures == 3
    assert result.last_error == "HTTP 503: database down"
    assert result.reason == "3 failed checks in a row; last: HTTP 503: database down"


def test_a_deployment_that_does_not_answer_fails(state_dir: Path) -> None:
    """No answer at all is a failed check too, and says so."""
    launch(state_dir, "http://127.0.0.1:9/health/ready", QUICK)

    result = monitor.wait(state_dir, "web", timeout=PATIENCE)

    assert result.state == "failed"
    assert result.last_error == "no answer: Connection refused"


def test_a_flapping_deployment_fails_at_max_seconds_and_the_monitor_ends(
    state_dir: Path, service: Readiness
) -> None:
    """A deployment that never settles is failed by max_seconds, and the monitor exits."""
    service.flapping = True
    policy = Policy(settle_seconds=0.6, interval_seconds=0.1, failures_to_fail=3, max_seconds=1.5)
    info = launch(state_dir, url_of(service), policy)

    result = monitor.wait(state_dir, "web", timeout=PATIENCE)

    assert result.state == "failed"
    assert result.reason.startswith("never settled within 1.5 s")
    eventually(lambda: exited(info.pid))
    ended = monitor.status(state_dir, "web")
    assert ended is not None
    assert (ended.state, ended.alive) == ("failed", False)
    assert not (state_dir / "web.pid").exists()


def test_a_new_start_supersedes_the_running_monitor(state_dir: Path, service: Readiness) -> None:
    """Starting a monitor for an instance that has one leaves exactly one running."""
    first = launch(state_dir, url_of(service), PATIENT)
    second = launch(state_dir, url_of(service), PATIENT)

    assert exited(first.pid)
    running = [found for found in monitor.list_monitors(state_dir) if found.alive]
    assert [(found.instance, found.pid) for found in running] == [("web", second.pid)]


def test_a_second_monitor_process_for_one_instance_refuses_to_run(
    state_dir: Path, service: Readiness
) -> None:
    """Even started by hand, past the API, a second monitor cannot run beside the first."""
    first = launch(state_dir, url_of(service), PATIENT)
    arguments = ["--instance", "web", "--url", url_of(service), "--version", "9.9.9"]
    rival = subprocess.run(
        [
            sys.executable,
            "-m",
            "dockyard.deploy.monitor.watcher",
            *arguments,
            "--state-dir",
            str(state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )

    assert rival.returncode == EXIT_LOCKED
    assert "another monitor is already watching web" in rival.stderr
    current = monitor.status(state_dir, "web")
    assert current is not None
    assert (current.pid, current.version, current.alive) == (first.pid, "1.4.2", True)


def test_stop_ends_the_monitor_and_records_why(state_dir: Path, service: Readiness) -> None:
    """A stopped monitor exits, its status says "stopped" and who stopped it."""
    info = launch(state_dir, url_of(service), PATIENT)

    assert monitor.stop(state_dir, "web") is True

    assert exited(info.pid)
    stopped = monitor.status(state_dir, "web")
    assert stopped is not None
    assert (stopped.state, stopped.reason, stopped.alive) == ("stopped", monitor.STOP_REASON, False)
    assert not (state_dir / "web.pid").exists()
    assert monitor.stop(state_dir, "web") is False


def test_a_killed_monitor_is_lost_and_cleanup_spares_running_monitors(
    state_dir: Path, service: Readiness
) -> None:
    """A monitor killed mid-watch shows as "lost"; cleanup removes its pid and lock files only,
    and never a running monitor's files."""
    killed = launch(state_dir, url_of(service), PATIENT, instance="web")
    running = launch(state_dir, url_of(service), PATIENT, instance="api")
    os.kill(killed.pid, signal.SIGKILL)
    eventually(lambda: exited(killed.pid))

    lost = monitor.status(state_dir, "web")
    assert lost is not None
    assert (lost.state, lost.alive) == ("lost", False)
    assert f"monitor process {killed.pid} ended without a verdict" in lost.reason

    removed = monitor.cleanup(state_dir)

    # (and a half-written status the kill may have left, when it struck mid-write)
    names = sorted(path.name for path in removed if not path.name.startswith(".web.json."))
    assert names == ["web.lock", "web.pid"]
    assert (state_dir / "web.json").exists()
    api_files = {"api.json", "api.pid", "api.lock", "api.log"}
    assert api_files <= {path.name for path in state_dir.iterdir()}
    api = monitor.status(state_dir, "api")
    assert api is not None
    assert (api.state, api.alive, api.pid) == ("watching", True, running.pid)


def test_cleanup_removes_old_status_files_of_finished_monitors_only(
    state_dir: Path, service: Readiness
) -> None:
    """Finished monitors' status files go once old; a recent one stays, a running one always."""
    launch(state_dir, url_of(service), QUICK, instance="old")
    assert monitor.wait(state_dir, "old", timeout=PATIENCE).state == "stable"
    eventually(lambda: not (state_dir / "old.pid").exists())
    launch(state_dir, url_of(service), QUIET, instance="live")
    # Once its first check is recorded, the live monitor writes nothing for minutes, so the
    # listing of the directory below cannot catch its status file in the middle of a rewrite.
    eventually(lambda: checks_recorded(state_dir, "live") > 0)

    assert monitor.cleanup(state_dir) == [state_dir / "old.lock"]
    assert (state_dir / "old.json").exists()

    next_month = time.time() + 30 * 24 * 3600
    removed = monitor.cleanup(state_dir, now=next_month)

    assert sorted(path.name for path in removed) == ["old.json", "old.log"]
    assert sorted(path.name for path in state_dir.iterdir()) == [
        "live.json",
        "live.lock",
        "live.log",
        "live.pid",
    ]


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated live process that must never be signalled."""
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


def test_a_stale_pid_file_never_leads_to_signalling_another_process(
    state_dir: Path, service: Readiness, bystander: subprocess.Popen[bytes]
) -> None:
    """A pid file left by a dead monitor that names a live unrelated process: nothing is
    signalled, the monitor is reported lost, and cleanup removes only the files."""
    dead = launch(state_dir, url_of(service), PATIENT)
    os.kill(dead.pid, signal.SIGKILL)
    eventually(lambda: exited(dead.pid))
    (state_dir / "web.pid").write_text(f"{bystander.pid}\n")

    assert monitor.stop(state_dir, "web", timeout=1) is False
    current = monitor.status(state_dir, "web")
    assert current is not None
    assert (current.state, current.alive) == ("lost", False)
    assert state_dir / "web.pid" in monitor.cleanup(state_dir)
    assert bystander.poll() is None


def test_a_pid_file_naming_another_process_beside_a_held_lock_is_refused(
    state_dir: Path, service: Readiness, bystander: subprocess.Popen[bytes]
) -> None:
    """Even while a monitor holds the lock, a pid that is not that monitor is never signalled."""
    running = launch(state_dir, url_of(service), PATIENT)
    (state_dir / "web.pid").write_text(f"{bystander.pid}\n")

    with pytest.raises(DockyardError, match="does not name a running monitor of web"):
        monitor.stop(state_dir, "web", timeout=1)

    assert bystander.poll() is None
    (state_dir / "web.pid").write_text(f"{running.pid}\n")


# --- monitors started by the previous release ------------------------------------------------

# Runs the monitor with the command line the previous release gave it: `-m dockyard.monitor ...`
# (for `python -c`, the arguments after the code are sys.argv[1:], here "-m" and the module).
AS_PREVIOUS_RELEASE = (
    "import sys; from dockyard.deploy.monitor.watcher import main; "
    "raise SystemExit(main(sys.argv[3:]))"
)


@pytest.mark.parametrize(
    ("args", "recognised"),
    [
        (["python", "-m", "dockyard.deploy.monitor.watcher", "--instance", "web"], True),
        (["/srv/.venv/bin/python3", "-m", "dockyard.monitor", "--instance", "web", "--url"], True),
        (["python", "-m", "dockyard.monitor", "--instance", "api"], False),
        (["python", "-m", "dockyard.monitors", "--instance", "web"], False),
        (["python", "-m", "http.server", "--instance", "web"], False),
        (["python", "-m", "dockyard.monitor", "web"], False),
        ([], False),
    ],
)
def test_a_monitor_is_recognised_by_its_command_line_under_either_module_name(
    args: list[str], recognised: bool
) -> None:
    """The module is named as this release starts monitors, or as the previous one did."""
    assert is_monitor_command(args, "web") is recognised


def test_a_monitor_started_by_the_previous_release_is_still_recognised(
    state_dir: Path, service: Readiness
) -> None:
    """A monitor running as `python -m dockyard.monitor` (started before an upgrade) is listed as
    alive, spared by cleanup, and stopped by `deploy.monitors --stop`."""
    state_dir.mkdir()
    command = [
        sys.executable, "-c", AS_PREVIOUS_RELEASE, "-m", "dockyard.monitor",
        "--instance", "web", "--url", url_of(service), "--version", "1.3.0",
        "--state-dir", str(state_dir), "--settle", "30", "--interval", "0.1",
    ]  # fmt: skip
    with (state_dir / "web.log").open("wb") as log:
        previous = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        eventually(lambda: checks_recorded(state_dir, "web") > 0)
        arguments = Path(f"/proc/{previous.pid}/cmdline").read_bytes().split(b"\0")
        assert b"dockyard.monitor" in arguments
        assert b"dockyard.deploy.monitor.watcher" not in arguments

        listed = [
            (found.instance, found.pid, found.alive) for found in monitor.list_monitors(state_dir)
        ]
        assert listed == [("web", previous.pid, True)]
        assert monitor.cleanup(state_dir) == []
        assert monitor.stop(state_dir, "web") is True
        assert previous.wait(timeout=PATIENCE) == 0
    finally:
        if previous.poll() is None:
            previous.kill()
            previous.wait()
    stopped = monitor.status(state_dir, "web")
    assert stopped is not None
    assert (stopped.state, stopped.reason, stopped.alive) == ("stopped", monitor.STOP_REASON, False)


# --- refusals --------------------------------------------------------------------------------


def test_a_monitor_that_cannot_start_is_reported_with_its_log(
    state_dir: Path, service: Readiness
) -> None:
    """A monitor that exits at once fails the start, showing what it printed."""
    with pytest.raises(DockyardError, match="exited at once") as caught:
        launch(state_dir, "ftp://127.0.0.1/ready", QUICK)
    assert "is not an http(s) URL" in str(caught.value)


def test_a_missing_interpreter_is_named(state_dir: Path) -> None:
    """The interpreter that should run the monitor is named when it is not there."""
    with pytest.raises(MissingFileError, match="no-such-python"):
        monitor.start(
            state_dir,
            instance="web",
            url="http://127.0.0.1:9/",
            version="1",
            policy=QUICK,
            python=str(state_dir / "no-such-python"),
        )


def test_an_instance_that_was_never_watched(state_dir: Path) -> None:
    """No status yet: status() says None and wait() names the instance."""
    assert monitor.status(state_dir, "web") is None
    assert monitor.list_monitors(state_dir) == []
    with pytest.raises(UnknownNameError, match="'web'"):
        monitor.wait(state_dir, "web", timeout=1)


@pytest.mark.parametrize("instance", ["../etc", "Web", "", "web/../x", "1web"])
def test_an_instance_id_that_is_not_a_slug_never_reaches_a_path(
    state_dir: Path, instance: str
) -> None:
    """Ids are checked before they are used in a file name."""
    with pytest.raises(ValueError, match="not a slug"):
        monitor.status(state_dir, instance)


def test_a_damaged_status_file_is_named_with_the_fix(state_dir: Path) -> None:
    """A status file that is not one is reported with its path and what to do."""
    state_dir.mkdir()
    (state_dir / "web.json").write_text('{"state": "watching"')

    with pytest.raises(DockyardError, match=r"web\.json: not a monitor status file") as caught:
        monitor.status(state_dir, "web")
    assert caught.value.hint is not None
    assert "remove" in caught.value.hint
