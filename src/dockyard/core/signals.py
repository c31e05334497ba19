"""What long-running work does when a signal asks it to stop.

There are two answers, and the caller chooses:

- work that cleans up as it unwinds (a deploy: undo the switch, release the lock, record the
  history) has the signal raise `Interrupted`. It is a KeyboardInterrupt, so every path written
  for Ctrl-C runs; a program that lets it escape exits with 128 + the signal's number, the
  status shells report for a process ended by that signal.
- work that stops at a point of its own choosing (the monitor, between two checks) has the
  signal set a `StopFlag` that it waits on.

Python runs a signal's handler wherever the main thread is, also inside a finalizer (a
`__del__`, a file or socket being closed as it is dropped), and drops what a finalizer raises.
An interrupt raised there is not lost: the signal is delivered again a moment later.

Python lets only the main thread set signal handlers; elsewhere `on_signals` changes nothing,
and the signals keep whatever the main thread set up for them.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    UnraisableHook = Callable[[sys.UnraisableHookArgs], object]

# The signals that ask a program to end (SIGINT already raises KeyboardInterrupt in Python).
TERMINATION: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGHUP)
# How long after a finalizer dropped an interrupt its signal comes again.
REDELIVERY_SECONDS = 0.1


class Interrupted(KeyboardInterrupt, SystemExit):
    """Raised by a signal that interrupts work; its first argument names the signal."""

    def __init__(self, signum: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(name)
        self.signum = signum
        self.signal_name = name
        self.code = 128 + signum  # the exit status if nothing catches it


class StopFlag:
    """Set by a signal; the work checks it, or waits on it, where stopping is safe."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name = ""  # the signal that set it, e.g. "SIGTERM"

    def set(self, signum: int) -> None:
        self.signal_name = signal.Signals(signum).name
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` for the flag; True once it is set."""
        return self._event.wait(seconds)


def on_signals(
    signals: Iterable[signal.Signals], *, flag: StopFlag | None = None
) -> Callable[[], None]:
    """Until the returned function is called, each of `signals` raises Interrupted, or sets
    `flag` when one is given; the function puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handle(signum: int, _frame: FrameType | None) -> None:
        if flag is None:
            raise Interrupted(signum)
        flag.set(signum)

    saved = {number: signal.signal(number, handle) for number in signals}
    hook = sys.unraisablehook
    if flag is None:
        sys.unraisablehook = lambda unraisable: _redeliver(unraisable, hook)

    def restore() -> None:
        if flag is None:
            sys.unraisablehook = hook
        for number, previous in saved.items():
            signal.signal(number, previous)

    return restore


def _redeliver(unraisable: sys.UnraisableHookArgs, previous: UnraisableHook) -> None:
    """Send again the signal of an interrupt that a finalizer dropped, once the finalizer is
    done; hand anything else to the previous hook."""
    error = unraisable.exc_value
    if not isinstance(error, Interrupted):
        previous(unraisable)
        return
    again = threading.Timer(REDELIVERY_SECONDS, os.kill, (os.getpid(), error.signum))
    again.daemon = True
    again.start()
