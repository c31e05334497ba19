"""The env tasks: check, init, diff, rotate and render. Each returns the process's exit code.

No output here ever holds a secret value: problems carry masked line text,
diffs say only "same" or "differs" for secrets, and rotation records hold the
key, profile, time and person, never a value.
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.markup import escape

from dockyard.core.config import Config
from dockyard.core.configdoc import render_settings, sections, splice
from dockyard.core.errors import (
    DockyardError,
    EnvFileError,
    ExitCode,
    MissingFileError,
    NotASecretError,
    UnknownNameError,
)
from dockyard.core.invocation import Invocation
from dockyard.core.output import show
from dockyard.core.validate import read_text
from dockyard.env.check import check_env, sensitive_keys
from dockyard.env.diff import Change, KeyDiff, diff_values
from dockyard.env.parser import Problem
from dockyard.env.render import new_file_header, render_docs, render_example, render_new
from dockyard.env.resolve import resolve
from dockyard.env.store import (
    append_record,
    atomic_write,
    env_path,
    example_path,
    file_mode,
    known_profile,
    load_env,
    load_for_change,
    schema_of,
    shown,
)

if TYPE_CHECKING:
    from rich.console import Console


def check(invocation: Invocation, profile: str = "") -> int:
    """Check the env file of `profile` (every profile that has one when empty); 1 on any problem."""
    config = invocation.config
    schema = schema_of(config)
    if profile:
        profiles = [known_profile(config, profile)]
    else:
        profiles = [p for p in config.profiles if os.path.lexists(env_path(config, p))]
        if not profiles:
            raise MissingFileError(
                f"{config.env_dir}: no env file to check (.env.<profile>)",
                hint=f"run `invoke env.init --profile {config.profiles[0]}`",
            )
    reports: list[tuple[str, str, int, list[Problem]]] = []
    for name in profiles:
        path = env_path(config, name)
        try:
            env = load_env(config, schema, name)
        except DockyardError as error:
            if profile:
                raise
            reports.append(
                (name, shown(config, path), 0, [Problem(shown(config, path), 0, str(error))])
            )
            continue
        reports.append((name, env.path, len(env.final()), check_env(env, schema, name)))
    failed = any(problems for *_, problems in reports)
    document = {
        "ok": not failed,
        "files": [
            {"profile": name, "file": path, "problems": [p.as_dict() for p in problems]}
            for name, path, _, problems in reports
        ],
    }
    show(invocation, document, lambda console: _print_check(console, reports))
    return ExitCode.FAILED if failed else ExitCode.OK


def _print_check(console: Console, reports: list[tuple[str, str, int, list[Problem]]]) -> None:
    for _, file, count, problems in reports:
        if not problems:
            console.print(f"[green]ok[/]    {escape(file)} ({count} variables)")
            continue
        console.print(f"[bold red]fail[/]  {escape(file)}: {_count(len(problems), 'problem')}")
        for problem in problems:
            console.print(f"  {escape(str(problem))}")
    total = sum(len(problems) for *_, problems in reports)
    if total:
        console.print(f"env.check: {_count(total, 'problem')}; the file names and lines are above")


def ensure_profile(config: Config, profile: str) -> list[str]:
    """Write the profile's env file or add what it lacks; return the variables added.

    Existing values are never changed. A new file is created 0600; an existing
    one keeps its mode. An empty list means the file was already complete.
    """
    schema = schema_of(config)
    path = env_path(config, profile)
    wanted = [v.name for v in schema.for_profile(profile)]
    if not os.path.lexists(path):
        text = "\n".join([*new_file_header(schema, profile), *render_new(schema, profile, wanted)])
        atomic_write(config, path, text + "\n", new=True)
        return wanted
    data, env = load_for_change(
        config, schema, profile, then=f"run `invoke env.init --profile {profile}` again"
    )
    present = env.final()
    missing = [key for key in wanted if key not in present]
    if not missing:
        return []
    text = data.decode("utf-8")
    if text and not text.endswith("\n"):
        text += env.newline
    added = env.newline.join(render_new(schema, profile, missing)) + env.newline
    atomic_write(config, path, text + added, mode=file_mode(path))
    return missing


def init(invocation: Invocation, profile: str = "development") -> int:
    """Write the env file of `profile`, generating secrets; keep every value already there."""
    config = invocation.config
    known_profile(config, profile)
    existed = os.path.lexists(env_path(config, profile))
    added = ensure_profile(config, profile)
    schema = schema_of(config)
    env = load_env(config, schema, profile)
    problems = check_env(env, schema, profile)
    action = "unchanged" if not added else ("added " if existed else "created with ")
    detail = f"{action}{', '.join(added)}" if added else action
    document = {
        "file": env.path,
        "created": not existed,
        "added": added,
        "problems": [p.as_dict() for p in problems],
    }

    def lines(console: Console) -> None:
        console.print(f"{escape(env.path)}: {escape(detail)}")
        if problems:
            console.print(
                f"[yellow]{_count(len(problems), 'problem')} left[/]: "
                f"run `invoke env.check --profile {escape(profile)}` to see them"
            )

    show(invocation, document, lines)
    return ExitCode.OK


def diff(invocation: Invocation, a: str, b: str) -> int:
    """Compare two profiles' env files; secrets show only as same or differs."""
    config = invocation.config
    schema = schema_of(config)
    sides = []
    for profile in (known_profile(config, a), known_profile(config, b)):
        env = load_env(config, schema, profile)
        if env.problems:
            raise EnvFileError(
                f"{env.path}: cannot be compared until these lines are fixed:",
                [str(problem) for problem in env.problems],
                hint=f"`invoke env.check --profile {profile}` lists every problem",
            )
        values = resolve(env, schema.defaults()).values
        sides.append((profile, env, values, sensitive_keys(env, values, schema.is_sensitive)))
    (_, env_a, values_a, secret_a), (_, env_b, values_b, secret_b) = sides
    changes = diff_values(values_a, values_b, secret_a | secret_b)
    document = {
        "a": {"profile": a, "file": env_a.path},
        "b": {"profile": b, "file": env_b.path},
        "keys": [change.as_dict() for change in changes],
        "summary": {kind.value: sum(c.change is kind for c in changes) for kind in Change},
    }
    shown_a, shown_b = (a, env_a.path), (b, env_b.path)
    show(invocation, document, lambda console: _print_diff(console, shown_a, shown_b, changes))
    return ExitCode.OK


def _print_diff(
    console: Console, a: tuple[str, str], b: tuple[str, str], changes: list[KeyDiff]
) -> None:
    console.print(f"{escape(a[1])} ({escape(a[0])}) -> {escape(b[1])} ({escape(b[0])})")
    groups: Mapping[Change, str] = {
        Change.ONLY_A: f"only in {a[0]}",
        Change.ONLY_B: f"only in {b[0]}",
        Change.DIFFERS: "differ",
        Change.SAME: "same",
    }
    for kind, title in groups.items():
        chosen = [c for c in changes if c.change is kind]
        if not chosen:
            continue
        console.print(f"[bold]{escape(title)}[/] ({len(chosen)})")
        for change in chosen:
            if change.secret:
                what = f"{change.change.value} (secret)"
            elif kind is Change.DIFFERS:
                what = f"{change.a} -> {change.b}"
            else:
                what = change.a if change.a is not None else change.b or ""
            console.print(f"  {escape(change.key)}: {escape(what)}")


def rotate(invocation: Invocation, key: str, profile: str = "development") -> int:
    """Give secret `key` a new random value in the profile's env file; record when and by whom."""
    config = invocation.config
    known_profile(config, profile)
    schema = schema_of(config)
    variable = schema.variables.get(key)
    secrets = ", ".join(schema.secrets())
    if variable is None:
        raise UnknownNameError(
            f"{key}: no such variable in {schema.path}{schema.did_you_mean(key)}",
            hint=f"the secrets that can be rotated: {secrets}",
        )
    if not variable.secret:
        raise NotASecretError(
            f"{key} is a {variable.type}, not a secret, in {schema.path}: only secrets are rotated",
            hint=f"edit {key} in the env file by hand; the secrets are: {secrets}",
        )
    from dockyard.env.rotate import replace_value

    path = env_path(config, profile)
    dependents = replace_value(config, schema, profile, variable)
    record = {
        "key": key,
        "profile": profile,
        "file": shown(config, path),
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "who": who(invocation.environ),
    }
    log = config.path(config.env_rotation_log)
    append_record(config, log, record)
    verb = "refers" if len(dependents) == 1 else "refer"
    also = f" ({', '.join(dependents)} {verb} to it and changes with it)" if dependents else ""

    def lines(console: Console) -> None:
        console.print(f"rotated {escape(key)} in {escape(record['file'])}{escape(also)}")
        console.print(f"recorded in {escape(shown(config, log))}, without the value")
        console.print(
            "the running stack keeps the old value until the next deploy applies the new one"
        )

    show(invocation, {**record, "log": shown(config, log), "dependents": dependents}, lines)
    return ExitCode.OK


def render(invocation: Invocation) -> int:
    """Write the example env files and the docs table from the schema, and the settings part of
    `settings_docs` from the configuration model; list what changed."""
    config = invocation.config
    schema = schema_of(config)
    outputs = {example_path(config, p): render_example(schema, p) for p in config.profiles}
    outputs[config.path(config.env_docs)] = render_docs(schema)
    if config.settings_docs:
        page = config.path(config.settings_docs)
        text = read_text(page, config.settings_docs)
        outputs[page] = splice(text, render_settings(sections()), source=config.settings_docs)
    changed = []
    for path, text in outputs.items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != text:
            atomic_write(config, path, text, mode=0o644)
            changed.append(shown(config, path))

    def lines(console: Console) -> None:
        for name in changed:
            console.print(f"wrote {escape(name)}")
        if not changed:
            console.print("examples and docs are up to date with the schema")

    show(invocation, {"written": changed}, lines)
    return ExitCode.OK


def who(environ: Mapping[str, str]) -> str:
    """The person behind a change: the login name from the environment, else the account's name."""
    for variable in ("USER", "LOGNAME"):
        if environ.get(variable):
            return environ[variable]
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
