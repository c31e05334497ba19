"""Where env files live and how they are read and written: never a partial file, no value logged.

Writes go to a temporary file in the same directory, are flushed to disk and
then renamed over the target, so a reader sees the old file or the new one and
nothing in between. New env files are private to their owner (0600).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from dockyard.core.config import Config
from dockyard.core.errors import (
    DockyardError,
    EnvFileError,
    MissingFileError,
    UnknownNameError,
    UnreadableFileError,
)
from dockyard.core.files import replace_atomically
from dockyard.env.parser import EnvFile, parse
from dockyard.env.schema import Schema, load_schema

NEW_FILE_MODE = 0o600
MAX_FILE_BYTES = 4 * 1024 * 1024


def shown(config: Config, path: Path) -> str:
    """A path as messages show it: relative to the project when it is inside it."""
    try:
        return str(path.relative_to(config.root))
    except ValueError:
        return str(path)


def known_profile(config: Config, profile: str) -> str:
    if profile not in config.profiles:
        raise UnknownNameError(
            f"unknown env profile {profile!r}",
            hint=f"use one of: {', '.join(config.profiles)} ([tool.dockyard] profiles)",
        )
    return profile


def env_path(config: Config, profile: str) -> Path:
    """The real env file of a profile, e.g. env/.env.production (git-ignored)."""
    return config.path(config.env_dir) / f".env.{known_profile(config, profile)}"


def example_path(config: Config, profile: str) -> Path:
    """The committed example of a profile, e.g. env/.env.production.example."""
    return config.path(config.env_dir) / f".env.{known_profile(config, profile)}.example"


def schema_of(config: Config) -> Schema:
    return load_schema(config.path(config.env_schema), config.profiles, shown_as=config.env_schema)


def read_env_bytes(config: Config, path: Path, profile: str) -> bytes:
    """The bytes of an env file; each way of not having them is its own clear error."""
    name = shown(config, path)
    init = f"run `invoke env.init --profile {profile}`"
    try:
        info = path.stat()
        size = info.st_size
        if stat.S_ISDIR(info.st_mode):
            raise MissingFileError(
                f"{name}: is a directory, not an env file",
                hint=f"move the directory out of the way, then {init}",
            )
        if size > MAX_FILE_BYTES:
            raise DockyardError(
                f"{name}: {size} bytes is far too large for an env file (at most {MAX_FILE_BYTES})",
                hint="keep large values in files and put their paths in the env file",
            )
        with path.open("rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise MissingFileError(f"{name}: no such env file", hint=init) from None
    except PermissionError:
        raise UnreadableFileError(
            f"{name}: permission denied",
            hint=f"as the file's owner, make it readable to you: chmod 600 {name}",
        ) from None
    except OSError as error:
        raise UnreadableFileError(f"{name}: cannot be read: {error.strerror}") from None


def load_env(config: Config, schema: Schema, profile: str, path: Path | None = None) -> EnvFile:
    """Read and parse the env file of `profile` (or `path`); secrets are masked in its problems."""
    target = path or env_path(config, profile)
    data = read_env_bytes(config, target, profile)
    return parse(data, shown(config, target), schema.is_sensitive)


def load_for_change(
    config: Config, schema: Schema, profile: str, then: str
) -> tuple[bytes, EnvFile]:
    """The profile's file as bytes and parsed, for a command about to rewrite it; a file with
    lines that cannot be read safely is refused (`then` says how to go on after fixing them)."""
    path = env_path(config, profile)
    data = read_env_bytes(config, path, profile)
    env = parse(data, shown(config, path), schema.is_sensitive)
    if env.problems:
        raise EnvFileError(
            f"{shown(config, path)}: not changed, because some lines cannot be read safely:",
            [str(problem) for problem in env.problems],
            hint=f"fix these lines, then {then}",
        )
    return data, env


def atomic_write(
    config: Config, path: Path, text: str, *, mode: int = NEW_FILE_MODE, new: bool = False
) -> None:
    """Replace `path` with `text` in one step: the old file or the new, never a partial one.

    With `new`, the file must not exist yet: if another process created it meanwhile,
    that file is kept and this write fails.
    """
    name = shown(config, path)
    try:
        replace_atomically(path, text, mode=mode, exclusive=new)
    except FileExistsError:
        raise DockyardError(
            f"{name}: was created by someone else meanwhile; it is kept as it is",
            hint="run the command again to complete that file",
        ) from None
    except OSError as error:
        raise DockyardError(
            f"{name}: cannot write: {error.strerror}; the file is unchanged"
        ) from None


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def append_record(config: Config, path: Path, record: Mapping[str, str]) -> None:
    """Append one JSON line to a private log (created 0600); the record must hold no values."""
    line = json.dumps(dict(record), sort_keys=True) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, NEW_FILE_MODE)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            handle.write(line)
    except OSError as error:
        raise DockyardError(
            f"{shown(config, path)}: cannot record the change: {error.strerror}",
            hint="the env file was changed; fix the log's permissions so the next change is kept",
        ) from None
