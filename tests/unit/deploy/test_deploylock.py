"""The deploy lock: one deploy per instance, a refusal that names the holder, stale locks of
dead processes cleared and reported, and a lock that is released however a deploy ends."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.core.errors import DockyardError, ExitCode
from dockyard.deploy import lock as deploylock
from dockyard.deploy.lock import Holder, LockHeldError

INSTANCE = "staging"
HOST = socket.gethostname()
# How long a child process may take to do what it was asked: generous, for a loaded machine.
PATIENCE = 60.0

HOLD_AND_WAIT = """
import sys, pathlib
from dockyard.deploy import lock as deploylock
directory = pathlib.Path(sys.argv[1])
holder = deploylock.current_holder("staging", "deploy tugboat:1.4.0", user="racer")
print("ready", flush=True)
sys.stdin.readline()
try:
    deploylock.acquire(directory, holder)
except deploylock.LockHeldError:
    print("refused", flush=True)
else:
    print("won " + holder.token, flush=True)
sys.stdin.read()
"""

# A deploy's signals as `invoke deploy` has them: SIGINT raises KeyboardInterrupt (set here in
# case whoever started the tests ignores SIGINT, as a non-interactive shell does for a command
# it runs in the background, and children inherit that), SIGTERM and SIGHUP raise the deploy's
# interrupt.
HOLD_WHILE_SLEEPING = """
import signal, sys, time, pathlib
from dockyard.core.signals import TERMINATION, on_signals
from dockyard.deploy import lock as deploylock
signal.signal(signal.SIGINT, signal.default_int_handler)
on_signals(TERMINATION)
directory = pathlib.Path(sys.argv[1])
holder = deploylock.current_holder("staging", "deploy tugboat:1.4.0", user="ci")
with deploylock.held(directory, holder):
    print("locked", flush=True)
    time.sleep(600)
"""

# The same, with the signal landing while a finalizer runs (in a deploy: an HTTP response or a
# socket closed as it is dropped); Python drops what a finalizer raises.
HOLD_WHILE_FINALIZING = """
import sys, time, pathlib
from dockyard.core.signals import TERMINATION, on_signals
from dockyard.deploy import lock as deploylock
on_signals(TERMINATION)
directory = pathlib.Path(sys.argv[1])
holder = deploylock.current_holder("staging", "deploy tugboat:1.4.0", user="ci")
class Closing:
    def __del__(self):
        print("finalizing", flush=True)
        while True:
            pass  # until the signal's interrupt leaves this finalizer
with deploylock.held(directory, holder):
    Closing()
    time.sleep(600)
"""


def process_start(pid: int) -> str:
    """Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    return text.rpartition(")")[2].split()[19]


def holder_of(pid: int, *, start: str, host: str = HOST, user: str = "bob") -> Holder:
    return Holder(
        instance=INSTANCE,
        action="deploy tugboat:1.3.0",
        pid=pid,
        host=host,
        user=user,
        started="2026-11-23T10:00:00Z",
        process_start=start,
        token=uuid.uuid4().hex,
    )


def me(user: str = "alice") -> Holder:
    return deploylock.current_holder(INSTANCE, "deploy tugboat:1.4.0", user=user)


def write_lock(directory: Path, holder: Holder) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{INSTANCE}.lock"
    path.write_text(holder.to_json(), encoding="utf-8")
    return path


def make_old(path: Path, seconds: float = 60.0) -> None:
    moment = time.time() - seconds
    os.utime(path, (moment, moment))


@pytest.fixture
def locks(tmp_path: Path) -> Path:
    return tmp_path / "state" / "locks"


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not this one."""
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait(timeout=PATIENCE)


@pytest.fixture
def dead() -> Holder:
    """The holder of a lock whose process was killed with SIGKILL (and reaped)."""
    process = subprocess.Popen(["sleep", "600"])
    holder = holder_of(process.pid, start=process_start(process.pid))
    process.kill()
    process.wait(timeout=PATIENCE)
    return holder


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    """A Python process running `script`; use it with `with`, which closes its pipes and
    waits for it (closing its stdin is what ends the scripts above that wait on it)."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


# ------------------------------------------------------------------ taking it ---


def test_a_free_lock_is_taken_and_records_its_holder(locks: Path) -> None:
    """The lock file says what holds it, and is created 0644 in a directory made 0755."""
    holder = me()
    old_umask = os.umask(0o077)
    try:
        acquired = deploylock.acquire(locks, holder)
    finally:
        os.umask(old_umask)
    path = locks / "staging.lock"
    assert acquired == deploylock.Acquired(holder, None, None)
    assert acquired.note is None
    assert deploylock.read(locks, INSTANCE) == holder
    assert Holder.from_json(path.read_text(encoding="utf-8")) == holder
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(locks.stat().st_mode) == 0o755
    assert holder.pid == os.getpid()
    assert holder.host == HOST
    assert holder.process_start == process_start(os.getpid())


def test_a_second_deploy_is_refused_naming_the_holder_and_the_ways_out(locks: Path) -> None:
    first = me("alice")
    deploylock.acquire(locks, first)
    with pytest.raises(LockHeldError) as caught:
        deploylock.acquire(locks, me("bob"))
    error = caught.value
    assert error.exit_code == ExitCode.FAILED
    assert error.holder == first
    message = str(error)
    assert "instance 'staging' is locked" in message
    assert f"deploy tugboat:1.4.0 by alice (pid {os.getpid()} on {HOST}) since" in message
    assert str(locks / "staging.lock") in message
    assert error.hint is not None
    assert "wait for it to finish" in error.hint
    assert "`invoke deploy.unlock --instance staging`" in error.hint
    assert "--force" in error.hint
    assert deploylock.read(locks, INSTANCE) == first


def test_force_takes_a_held_lock_over_and_the_old_holder_cannot_release_it(locks: Path) -> None:
    first, second = me("alice"), me("bob")
    deploylock.acquire(locks, first)
    acquired = deploylock.acquire(locks, second, force=True)
    assert acquired.replaced == first
    assert acquired.reason == "taken over with --force"
    assert acquired.note is not None
    assert "taken over with --force" in acquired.note
    assert not deploylock.release(locks, first)
    assert deploylock.read(locks, INSTANCE) == second


# ------------------------------------------------------------------ liveness ---


def test_a_running_process_is_alive_and_a_killed_one_is_not(
    sleeper: subprocess.Popen[bytes],
) -> None:
    holder = holder_of(sleeper.pid, start=process_start(sleeper.pid))
    assert deploylock.is_alive(holder) is True
    sleeper.kill()
    sleeper.wait(timeout=PATIENCE)
    assert deploylock.is_alive(holder) is False


def test_a_killed_process_not_yet_reaped_counts_as_dead(
    sleeper: subprocess.Popen[bytes],
) -> None:
    """A zombie still has its pid, but no deploy runs in it any more."""
    holder = holder_of(sleeper.pid, start=process_start(sleeper.pid))
    os.kill(sleeper.pid, signal.SIGKILL)
    deadline = time.monotonic() + PATIENCE
    while deploylock.is_alive(holder) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert deploylock.is_alive(holder) is False
    assert sleeper.poll() is not None  # only now reaped


def test_a_pid_reused_by_another_process_counts_as_dead(
    sleeper: subprocess.Popen[bytes],
) -> None:
    """Same pid, different start time: the holder is gone and its pid went to someone else."""
    actual = int(process_start(sleeper.pid))
    assert deploylock.is_alive(holder_of(sleeper.pid, start=str(actual + 1))) is False
    assert deploylock.is_alive(holder_of(sleeper.pid, start=str(actual))) is True


def test_a_holder_on_another_host_cannot_be_checked(sleeper: subprocess.Popen[bytes]) -> None:
    holder = holder_of(sleeper.pid, start=process_start(sleeper.pid), host="host-b")
    assert deploylock.is_alive(holder) is None


# ------------------------------------------------------------------ stale locks ---


def test_the_lock_of_a_dead_process_is_cleared_and_reported(locks: Path, dead: Holder) -> None:
    write_lock(locks, dead)
    mine = me()
    acquired = deploylock.acquire(locks, mine)
    assert acquired.replaced == dead
    assert acquired.reason == f"stale: pid {dead.pid} on {HOST} is no longer running"
    assert acquired.note is not None
    assert f"pid {dead.pid}" in acquired.note
    assert deploylock.read(locks, INSTANCE) == mine


def test_the_lock_of_a_deploy_killed_with_sigkill_is_stale(locks: Path) -> None:
    """A deploy that cannot clean up leaves its lock; the next one clears it and says so."""
    with spawn(HOLD_WHILE_SLEEPING, str(locks)) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "locked\n"
            held = deploylock.read(locks, INSTANCE)
            assert held is not None
            assert held.pid == child.pid
        finally:
            child.kill()
    assert deploylock.read(locks, INSTANCE) == held
    acquired = deploylock.acquire(locks, me())
    assert acquired.replaced == held
    assert acquired.reason == f"stale: pid {child.pid} on {HOST} is no longer running"


def test_a_lock_held_on_another_host_is_refused_unless_forced(
    locks: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    elsewhere = holder_of(4242, start="", host="host-b")
    write_lock(locks, elsewhere)
    with pytest.raises(LockHeldError) as caught:
        deploylock.acquire(locks, me())
    assert "pid 4242 on host-b" in str(caught.value)
    assert caught.value.hint is not None
    assert "runs on host-b, where it cannot be checked from here" in caught.value.hint
    assert "--force" in caught.value.hint
    acquired = deploylock.acquire(locks, me(), force=True)
    assert acquired.replaced == elsewhere


@pytest.mark.parametrize(
    "content",
    [
        '{"instance": "staging", "action": "dep',  # the writer died mid-write
        "",
        '{"instance": "staging", "action": "deploy", "pid": -1, "host": "h", "user": "u", '
        '"started": "s", "process_start": "", "token": "t"}',
    ],
    ids=["truncated", "empty", "negative-pid"],
)
def test_an_unreadable_lock_is_respected_while_fresh_and_cleared_once_old(
    locks: Path, content: str
) -> None:
    locks.mkdir(parents=True)
    path = locks / "staging.lock"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LockHeldError) as caught:
        deploylock.acquire(locks, me())
    assert str(path) in str(caught.value)
    assert "unreadable" in str(caught.value)
    assert caught.value.hint is not None
    assert "again in a few seconds" in caught.value.hint
    assert path.read_text(encoding="utf-8") == content

    make_old(path)
    acquired = deploylock.acquire(locks, me())
    assert acquired.replaced is None
    assert acquired.reason is not None
    assert acquired.reason.startswith("stale: staging.lock is unreadable (")


@pytest.mark.parametrize("state", ["free", "stale"])
def test_of_processes_racing_for_the_lock_exactly_one_wins(
    locks: Path, dead: Holder, state: str
) -> None:
    if state == "stale":
        write_lock(locks, dead)
    with contextlib.ExitStack() as stack:
        racers = [stack.enter_context(spawn(HOLD_AND_WAIT, str(locks))) for _ in range(8)]
        for racer in racers:
            assert racer.stdout is not None
            assert racer.stdout.readline() == "ready\n"
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.write("go\n")
            racer.stdin.flush()
        outcomes = [racer.stdout.readline().split() for racer in racers if racer.stdout]
        # Until here every racer is alive, so no winner's lock could look stale to the others.
    winners = [outcome for outcome in outcomes if outcome[0] == "won"]
    assert len(winners) == 1, outcomes
    assert sorted(outcome[0] for outcome in outcomes) == ["refused"] * 7 + ["won"]
    holder = Holder.from_json((locks / "staging.lock").read_text(encoding="utf-8"))
    assert holder.token == winners[0][1]


# ------------------------------------------------------------------ releasing ---


def test_release_removes_only_its_own_lock(locks: Path) -> None:
    mine = me()
    deploylock.acquire(locks, mine)
    impostor = Holder(**{**mine.__dict__, "token": uuid.uuid4().hex})
    assert deploylock.release(locks, impostor) is False
    assert deploylock.read(locks, INSTANCE) == mine
    assert deploylock.release(locks, mine) is True
    assert deploylock.read(locks, INSTANCE) is None
    assert deploylock.release(locks, mine) is False


@pytest.mark.parametrize(
    "failure", [RuntimeError("step failed"), KeyboardInterrupt(), SystemExit(3)]
)
def test_held_releases_the_lock_however_the_deploy_ends(
    locks: Path, failure: BaseException
) -> None:
    seen: list[Holder | None] = []

    def deploy() -> None:
        with deploylock.held(locks, me()) as acquired:
            seen.append(deploylock.read(locks, INSTANCE))
            seen.append(acquired.holder)
            raise failure

    with pytest.raises(type(failure)):
        deploy()
    assert seen[0] == seen[1]
    assert deploylock.read(locks, INSTANCE) is None
    with deploylock.held(locks, me()):
        pass
    assert deploylock.read(locks, INSTANCE) is None


@pytest.mark.parametrize(
    ("signum", "returncode"),
    [(signal.SIGINT, -signal.SIGINT), (signal.SIGTERM, 128 + signal.SIGTERM)],
    ids=["SIGINT", "SIGTERM"],
)
def test_a_deploy_stopped_by_a_signal_releases_its_lock(
    locks: Path, signum: int, returncode: int
) -> None:
    with spawn(HOLD_WHILE_SLEEPING, str(locks)) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "locked\n"
            assert (locks / "staging.lock").exists()
            child.send_signal(signum)
            assert child.wait(timeout=PATIENCE) == returncode
        finally:
            child.kill()  # only if it is still running
    assert not (locks / "staging.lock").exists()


def test_a_deploy_whose_signal_lands_in_a_finalizer_still_stops_and_releases_its_lock(
    locks: Path,
) -> None:
    with spawn(HOLD_WHILE_FINALIZING, str(locks)) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "finalizing\n"
            assert (locks / "staging.lock").exists()
            child.send_signal(signal.SIGTERM)
            assert child.wait(timeout=PATIENCE) == 128 + signal.SIGTERM
        finally:
            child.kill()  # only if it is still running
    assert not (locks / "staging.lock").exists()


# ------------------------------------------------------------------ unlocking ---


def test_unlock_clears_a_stale_lock_and_says_whose_it_was(locks: Path, dead: Holder) -> None:
    assert deploylock.unlock(locks, INSTANCE) is None
    write_lock(locks, dead)
    cleared = deploylock.unlock(locks, INSTANCE)
    assert cleared == deploylock.Cleared(
        dead, f"stale: pid {dead.pid} on {HOST} is no longer running"
    )
    assert deploylock.read(locks, INSTANCE) is None


def test_unlock_refuses_a_live_lock_unless_forced(locks: Path) -> None:
    mine = me()
    deploylock.acquire(locks, mine)
    with pytest.raises(LockHeldError) as caught:
        deploylock.unlock(locks, INSTANCE)
    assert caught.value.hint is not None
    assert f"pid {os.getpid()} is still running" in caught.value.hint
    assert "`invoke deploy.unlock --instance staging --force`" in caught.value.hint
    assert deploylock.read(locks, INSTANCE) == mine
    assert deploylock.unlock(locks, INSTANCE, force=True) == deploylock.Cleared(
        mine, "removed with --force"
    )
    assert deploylock.read(locks, INSTANCE) is None


def test_reading_an_unreadable_lock_names_the_file_and_the_fix(locks: Path) -> None:
    locks.mkdir(parents=True)
    (locks / "staging.lock").write_text("{", encoding="utf-8")
    with pytest.raises(DockyardError) as caught:
        deploylock.read(locks, INSTANCE)
    assert str(locks / "staging.lock") in str(caught.value)
    assert caught.value.hint == "run `invoke deploy.unlock --instance staging` to remove it"


# ------------------------------------------------------------------ the holder ---


@pytest.mark.parametrize("instance", ["../etc", "Staging", "staging\n", "", "a/b", "-x"])
def test_an_instance_id_that_is_not_a_slug_never_becomes_a_path(locks: Path, instance: str) -> None:
    with pytest.raises(ValueError, match="not a valid instance id"):
        deploylock.read(locks, instance)
    with pytest.raises(ValueError, match="not a valid instance id"):
        deploylock.current_holder(instance, "deploy", user="alice")


def test_a_holder_describes_itself_for_people() -> None:
    holder = holder_of(4242, start="1", host="host-a", user="alice")
    now = dt.datetime(2026, 11, 23, 10, 3, 12, tzinfo=dt.UTC)
    assert holder.describe(now) == (
        "deploy tugboat:1.3.0 by alice (pid 4242 on host-a) since 2026-11-23T10:00:00Z (3m 12s ago)"
    )
    assert Holder.from_json(holder.to_json()) == holder


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (45.9, "45s"), (192, "3m 12s"), (7500, "2h 5m"), (273600, "3d 4h"), (-5, "0s")],
)
def test_ages_are_shown_in_two_units_at_most(seconds: float, shown: str) -> None:
    assert deploylock.format_age(seconds) == shown


def test_a_lock_file_missing_a_field_is_not_a_holder() -> None:
    data = json.loads(holder_of(1, start="").to_json())
    del data["token"]
    with pytest.raises(ValueError, match="'token' must be a string"):
        Holder.from_json(json.dumps(data))
