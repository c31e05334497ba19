"""Typed tables from TOML files: the project configuration and the instance files.

A table is declared once, as a dataclass: each field is a key, its type hint says which
TOML value it takes (str, int, float, bool, dates, lists, tables, nested dataclasses),
a default makes it optional, and `expect(...)` in its metadata gives the words for what
it expects and a test beyond its type. `build` reads a document against the declaration
and reports every problem at once, each with its dotted path (`resources.cpus`,
`tool.dockyard.health.timeout_seconds`): unknown keys with the key probably meant,
values of the wrong type or failing their test with what was found, missing keys.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from dockyard.core.errors import ConfigError, DockyardError, UnreadableFileError
from dockyard.core.ids import quoted
from dockyard.core.suggest import did_you_mean

T = TypeVar("T")

_EXPECT = "dockyard.expect"  # the field metadata key `expect` fills
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
_TYPE_WORDS: dict[object, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
}


@dataclass(frozen=True)
class Expect:
    """What a key's value must be, in words, and optionally a test beyond its type."""

    words: str  # e.g. "an integer 1-8"; said in place of the type's own words
    test: Callable[[Any], object] | None = None  # given the value once its type fits
    advice: str = ""  # said after the value found: how to put it right


def expect(
    words: str, test: Callable[[Any], object] | None = None, *, advice: str = ""
) -> dict[str, Expect]:
    """Field metadata declaring what a key expects: `field(default=1, metadata=expect(...))`."""
    return {_EXPECT: Expect(words, test, advice)}


def between(low: int, high: int) -> dict[str, Expect]:
    """Field metadata for an integer from `low` to `high`, both included."""
    return expect(f"an integer {low}-{high}", lambda value: low <= value <= high)


def build(
    cls: type[T],
    document: object,
    *,
    source: str,
    path: str = "",
    preset: Mapping[str, object] | None = None,
    defaults: Mapping[str, object] | None = None,
    rules: Mapping[str, Expect] | None = None,
    check: Callable[[T, list[str]], None] | None = None,
    hint: str | None = None,
) -> T:
    """Dataclass `cls` read from `document`; a ConfigError naming `source` lists every problem.

    `path` is where the document sits in its file (shown before every key). `preset` fills
    fields that are not keys of the file (where it lives); `defaults` gives keys whose value
    the caller knows, which the file may restate; `rules` says what a top-level key expects
    when that depends on the caller; `check` adds rules that no single key expresses.
    """
    problems: list[str] = []
    top = _Top(preset or {}, defaults or {}, rules or {})
    built = _table(cls, document, path, problems, top=top)
    if isinstance(built, cls) and check is not None:
        check(built, problems)
    if problems or not isinstance(built, cls):
        raise ConfigError(source, problems, hint=hint)
    return built


def read_text(
    path: Path, shown: str, *, missing: DockyardError | None = None, hint: str | None = None
) -> str:
    """The UTF-8 text of a configuration file, shown in messages as `shown`.

    A missing file raises `missing` when given; a file that cannot be read raises
    UnreadableFileError; text that is not UTF-8 raises ConfigError with `hint`.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        if missing is not None:
            raise missing from None
        raise UnreadableFileError(f"{shown}: cannot be read: {error.strerror}") from None
    except PermissionError:
        raise UnreadableFileError(
            f"{shown}: permission denied", hint=f"make the file readable to you: chmod 644 {shown}"
        ) from None
    except OSError as error:
        raise UnreadableFileError(f"{shown}: cannot be read: {error.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(shown, [f"not UTF-8 text (byte {error.start})"], hint=hint) from None


def parse_toml(text: str, source: str, *, hint: str | None = None) -> dict[str, Any]:
    """The TOML document in `text`; ConfigError naming `source` and the position when invalid."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, [f"not valid TOML: {error}"], hint=hint) from None


# --------------------------------------------------------------- the walk ---


@dataclass(frozen=True)
class _Top:
    """What the caller of `build` adds to the declaration of the outermost table."""

    preset: Mapping[str, object]
    defaults: Mapping[str, object]
    rules: Mapping[str, Expect]


_NESTED = _Top({}, {}, {})


def _table(
    cls: type[Any],
    value: object,
    path: str,
    problems: list[str],
    *,
    top: _Top = _NESTED,
    expected: Expect | None = None,
) -> object:
    """Dataclass `cls` from a table, or None after recording its problems."""
    if not isinstance(value, dict):
        words = "a table" if path else "a table of keys"
        _wrong(path, value, expected, words, problems)
        return None
    before = len(problems)
    hints = typing.get_type_hints(cls)
    fields = [spec for spec in dataclasses.fields(cls) if spec.name not in top.preset]
    names = [spec.name for spec in fields]
    for key in value:
        if key not in names:
            known = did_you_mean(key, names) or f" (known keys: {', '.join(sorted(names))})"
            problems.append(f"{_dotted(path, key)}: unknown key{known}")
    arguments: dict[str, object] = dict(top.preset)
    for spec in fields:
        where = _dotted(path, spec.name)
        rule = top.rules.get(spec.name) or spec.metadata.get(_EXPECT)
        if spec.name in value:
            arguments[spec.name] = _value(hints[spec.name], value[spec.name], where, problems, rule)
        elif spec.name in top.defaults:
            arguments[spec.name] = top.defaults[spec.name]
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            wanted = f"; expected {rule.words}" if rule else ""
            problems.append(f"{where}: required key is missing{wanted}")
    if len(problems) > before:
        return None
    return cls(**arguments)


def _value(
    hint: Any, value: object, path: str, problems: list[str], rule: Expect | None = None
) -> object:
    """`value` as type `hint` takes it and `rule` accepts it, or None after recording why not."""
    before = len(problems)
    result = _typed(hint, value, path, problems, rule)
    if len(problems) > before or rule is None or rule.test is None or rule.test(result):
        return result
    _wrong(path, value, rule, rule.words, problems)
    return None


def _typed(hint: Any, value: object, path: str, problems: list[str], rule: Expect | None) -> object:
    """`value` as type `hint` takes it, or None after recording why it does not fit."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _typed(options[0], value, path, problems, rule)
    if dataclasses.is_dataclass(hint):
        return _table(typing.cast(type[Any], hint), value, path, problems, expected=rule)
    if origin is list:
        if not isinstance(value, list):
            _wrong(path, value, rule, "a list", problems)
            return None
        (item,) = typing.get_args(hint)
        return [
            _value(item, each, f"{path}[{index}]", problems) for index, each in enumerate(value)
        ]
    if origin is dict:
        if not isinstance(value, dict):
            _wrong(path, value, rule, "a table", problems)
            return None
        _, item = typing.get_args(hint)
        return {
            key: _value(item, each, _dotted(path, key), problems) for key, each in value.items()
        }
    if hint is dt.date:
        date = _date(value)
        if date is None:
            _wrong(path, value, rule, "a date like 2027-01-31", problems)
        return date
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        _wrong(path, value, rule, _TYPE_WORDS.get(hint, str(hint)), problems)
        return None
    return value


def _date(value: object) -> dt.date | None:
    """`value` as a date: a TOML date, or text like 2027-01-31; None when it is neither."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _wrong(path: str, value: object, rule: Expect | None, words: str, problems: list[str]) -> None:
    """Record that `value` at `path` is not what the key expects."""
    expected = rule.words if rule else words
    advice = f"; {rule.advice}" if rule and rule.advice else ""
    problem = f"expected {expected}, got {_describe(value)}{advice}"
    problems.append(f"{path}: {problem}" if path else problem)


def _dotted(prefix: str, key: str) -> str:
    """`prefix.key`, the key quoted when it is not a plain word (a dot, a space, a newline)."""
    shown_key = key if _PLAIN_KEY.fullmatch(key) else repr(key)
    return f"{prefix}.{shown_key}" if prefix else shown_key


def _describe(value: object) -> str:
    """A value as problems show it: its repr(), long text cut, and its TOML kind."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    kind = {bool: "a boolean", str: "a string"}.get(type(value), type(value).__name__)
    return f"{quoted(value)} ({kind})"
