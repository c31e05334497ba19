"""Checks of a parsed env file against the schema, for one profile: every problem, none hidden.

Pure: an `EnvFile` and a `Schema` in, a list of `Problem`s out, sorted by line.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dockyard.env.mask import redact_url_credentials, shown_value
from dockyard.env.parser import EnvFile, Problem
from dockyard.env.resolve import resolve
from dockyard.env.schema import Schema, Variable

# Values no production secret may be: placeholders and the words people type first.
WEAK_WORDS = frozenset(
    """
    changeme change replaceme replace placeholder todo fixme xxx example sample dummy
    password passwd pass secret secretkey key token admin administrator root guest user
    login master default test testing dev development prod production staging local
    postgres postgresql redis mysql django flask letmein welcome qwerty asdf abc iloveyou
    monkey dragon sunshine trustno insecure unsafe notsecret
    """.split()  # noqa: SIM905 - a word list reads better as words
)
MIN_DISTINCT = 10


def check_env(env: EnvFile, schema: Schema, profile: str) -> list[Problem]:
    """Everything wrong with `env` as the `profile` environment, sorted by line."""
    problems = list(env.problems)
    resolved = resolve(env, schema.defaults())
    problems.extend(resolved.problems)
    final = env.final()
    if env.blank:
        problems.append(Problem(env.path, 0, "the file is empty: it sets no variables"))
    strict = profile in schema.strict_profiles
    flagged: set[str] = set()  # secrets already reported as weak
    for key, entry in final.items():
        variable = schema.variables.get(key)
        if variable is None:
            problems.append(
                Problem(
                    env.path,
                    entry.line,
                    f"unknown key {key}: {schema.path} does not describe it"
                    f"{schema.did_you_mean(key)}; remove it, or add it to the schema",
                    key,
                    entry.shown,
                )
            )
            continue
        if key in resolved.unresolved or entry.line in env.flawed:
            continue
        value = resolved.values[key]
        wrong = variable.check(value)
        if wrong:
            got = "" if value == "" else f", got {shown_value(entry.value, secret=variable.secret)}"
            message = f"{key} {wrong}" if value == "" else f"{key}: {wrong}{got}"
            problems.append(Problem(env.path, entry.line, message, key, entry.shown))
        elif variable.secret and strict:
            weak = weakness(value, variable, schema.placeholder)
            if weak:
                flagged.add(key)
                problems.append(
                    Problem(
                        env.path,
                        entry.line,
                        f"{key} {weak}, which the {profile} profile does not accept: "
                        f"run `invoke env.rotate {key} --profile {profile}`",
                        key,
                        entry.shown,
                    )
                )
    if strict:
        problems.extend(_reused(env, schema, resolved.values, flagged))
    named = set(final) | {p.key for p in env.problems if p.key}  # reported, not missing
    missing = [
        v.name
        for v in schema.for_profile(profile)
        if v.required_in(profile) and v.name not in named
    ]
    if missing:
        problems.append(
            Problem(
                env.path,
                0,
                f"missing required variables: {', '.join(missing)}; "
                f"run `invoke env.init --profile {profile}` to add them",
            )
        )
    return sorted(problems, key=lambda p: (p.line, p.column or 0))


def weakness(value: str, variable: Variable, placeholder: str) -> str | None:
    """Why a secret's value is weak, or None; never repeats the value."""
    lowered = value.lower()
    letters = re.sub(r"[^a-z]", "", lowered)
    if lowered == placeholder.lower() or letters == re.sub(r"[^a-z]", "", placeholder.lower()):
        return "is still the example's placeholder"
    if lowered in WEAK_WORDS or letters in WEAK_WORDS or not letters:
        return "is a common word or pattern"
    if len(value) < variable.min_length:
        return f"is too short ({len(value)} characters; at least {variable.min_length})"
    if len(set(value)) < MIN_DISTINCT:
        return f"uses fewer than {MIN_DISTINCT} different characters"
    return None


def _reused(
    env: EnvFile, schema: Schema, values: dict[str, str], flagged: set[str]
) -> list[Problem]:
    final = env.final()
    seen: dict[str, str] = {}
    problems = []
    for name in schema.secrets():
        value = values.get(name, "")
        if not value or name not in final or name in flagged:
            continue
        if value in seen:
            entry = final[name]
            problems.append(
                Problem(
                    env.path,
                    entry.line,
                    f"{name} has the same value as {seen[value]}: give each secret its own "
                    f"(`invoke env.rotate {name}`)",
                    name,
                    entry.shown,
                )
            )
        else:
            seen[value] = name
    return problems


def sensitive_keys(env: EnvFile, values: dict[str, str], base: Callable[[str], bool]) -> set[str]:
    """Keys whose values must not be shown: secrets, values built from them, URLs with passwords."""
    found: set[str] = set()
    for entry in env.entries:
        if (
            base(entry.key)
            or any(ref.name in found or base(ref.name) for ref in entry.references)
            or redact_url_credentials(values.get(entry.key, entry.value))
            != values.get(entry.key, entry.value)
        ):
            found.add(entry.key)
    return found
