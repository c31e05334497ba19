"""The exceptions dockyard raises for problems a user can fix.

Every error carries a message that names the file, key or value at fault and
says what to do. The task layer prints it as one line and exits with the
error's code; anything that is not a DockyardError is a bug and keeps its
traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, one per family of failure so scripts can tell them apart."""

    OK = 0
    FAILED = 1  # a check, gate or step ran and found a problem
    CONFIG = 2  # pyproject.toml [tool.dockyard] or a command-line value is wrong
    ENGINE = 3  # no Docker engine can be reached
    MISSING_FILE = 4  # a file the command needs does not exist
    UNKNOWN_NAME = 5  # an unknown profile, instance, service or version
    INTERRUPTED = 130


class DockyardError(Exception):
    """A problem the user can act on. `hint` says what to do about it."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  fix: {self.hint}"


class ConfigError(DockyardError):
    """The project's configuration is invalid; `problems` lists every one found."""

    exit_code = ExitCode.CONFIG

    def __init__(self, source: str, problems: list[str], *, hint: str | None = None) -> None:
        self.source = source
        self.problems = problems
        if len(problems) == 1:
            message = f"{source}: {problems[0]}"
        else:
            listed = "\n".join(f"  - {problem}" for problem in problems)
            message = f"{source}: {len(problems)} problems\n{listed}"
        super().__init__(message, hint=hint)


class EngineUnavailableError(DockyardError):
    """No Docker engine answers."""

    exit_code = ExitCode.ENGINE


class MissingFileError(DockyardError):
    """A file the command needs is not there."""

    exit_code = ExitCode.MISSING_FILE


class UnknownNameError(DockyardError):
    """A profile, instance, service or version that does not exist."""

    exit_code = ExitCode.UNKNOWN_NAME


class CommandFailedError(DockyardError):
    """An external tool ran and failed; its output tail is part of the message."""


class GateFailedError(DockyardError):
    """A quality gate could not pass: problems were found, or the gate could not do its job."""


class UnreadableFileError(DockyardError):
    """A file the command needs is there but cannot be read."""

    exit_code = ExitCode.MISSING_FILE


class EnvFileError(DockyardError):
    """An env file has problems that stop a command from changing it; `problems` lists them all."""

    def __init__(self, message: str, problems: list[str], *, hint: str | None = None) -> None:
        self.problems = problems
        listed = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{message}\n{listed}" if problems else message, hint=hint)


class NotASecretError(DockyardError):
    """A command that only works on secrets was given a variable that is not one."""

    exit_code = ExitCode.CONFIG
