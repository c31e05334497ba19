"""The env schema: every variable the service reads, its type, default, profiles and purpose.

The schema (`env/schema.toml`) is the single source: the example files, the docs
table and `env.check` all come from it. Loading it reports every problem at
once, like the project configuration does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dockyard.core.errors import ConfigError, MissingFileError
from dockyard.core.secrets import looks_secret
from dockyard.core.suggest import did_you_mean
from dockyard.core.validate import parse_toml, read_text
from dockyard.env.parser import NAME

TYPES = ("str", "int", "bool", "url", "port", "duration", "enum", "secret")
_DURATION = re.compile(r"^[0-9]+(ms|s|m|h)$")
# How alike a variable name must be to be suggested: names share long affixes (POSTGRES_,
# _PASSWORD, _URL), so at the usual cutoff EXTRA_PASSWORD would be taken for REDIS_PASSWORD.
_NAME_CUTOFF = 0.75
_FIELDS = {
    "type",
    "description",
    "required",
    "default",
    "profiles",
    "value",
    "values",
    "choices",
    "schemes",
    "min",
    "max",
    "min_length",
    "bytes",
}


@dataclass(frozen=True)
class Variable:
    """One environment variable the service reads."""

    name: str
    type: str
    description: str
    profiles: tuple[str, ...]
    required: bool = True
    default: str | None = None
    value: str | None = None  # the value new env files start with
    values: Mapping[str, str] = field(default_factory=dict)  # ... per profile, overriding `value`
    choices: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    min_length: int = 24  # a secret in a strict profile is at least this long
    bytes: int = 32  # random bytes in a generated secret

    @property
    def secret(self) -> bool:
        return self.type == "secret"

    def required_in(self, profile: str) -> bool:
        return self.required and profile in self.profiles

    def template_value(self, profile: str) -> str:
        """The value a new `profile` file starts with (secrets are generated instead)."""
        return self.values.get(
            profile, self.value if self.value is not None else self.default or ""
        )

    def describe_type(self) -> str:
        if self.type == "enum":
            return f"enum: {' | '.join(self.choices)}"
        if self.type == "url" and self.schemes:
            return f"url: {' | '.join(self.schemes)}"
        return self.type

    def check(self, value: str) -> str | None:
        """What is wrong with `value` for this variable's type, or None when it fits."""
        if value == "":
            if self.default is not None:
                return (
                    f"is empty, which the service reads as '', not as its default "
                    f"{self.default}: delete the line to use the default"
                )
            return f"is empty; expected {self.expected()}" if self.required else None
        return None if _fits(self, value) else f"expected {self.expected()}"

    def expected(self) -> str:
        bounds = ""
        if self.minimum is not None or self.maximum is not None:
            low = "" if self.minimum is None else f"{self.minimum}"
            high = "" if self.maximum is None else f"{self.maximum}"
            bounds = f" in {low}..{high}"
        return {
            "str": "a string",
            "int": f"a whole number{bounds}",
            "bool": "true or false",
            "url": "a URL like scheme://host:port/path"
            + (f" with scheme {' or '.join(self.schemes)}" if self.schemes else ""),
            "port": "a port number 1-65535",
            "duration": "a duration like 500ms, 30s, 5m or 1h",
            "enum": f"one of {', '.join(self.choices)}",
            # pragma: allowlist nextline secret
            "secret": "a secret (run `invoke env.init` to generate one)",
        }[self.type]


def _fits(variable: Variable, value: str) -> bool:
    kind = variable.type
    if kind in ("int", "port"):
        if not re.fullmatch(r"-?[0-9]+", value):
            return False
        number = int(value)
        low, high = (1, 65535) if kind == "port" else (variable.minimum, variable.maximum)
        return (low is None or number >= low) and (high is None or number <= high)
    if kind == "bool":
        return value in ("true", "false")
    if kind == "url":
        return _is_url(value, variable.schemes)
    if kind == "duration":
        return bool(_DURATION.match(value))
    if kind == "enum":
        return value in variable.choices
    return True


def _is_url(value: str, schemes: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError:
        return False
    if any(char.isspace() for char in value) or not parts.scheme or not parts.hostname:
        return False
    return not schemes or parts.scheme in schemes


@dataclass(frozen=True)
class Schema:
    """All variables, in the schema's order, and the rules that depend on the profile."""

    path: str
    variables: dict[str, Variable]
    profiles: tuple[str, ...]
    strict_profiles: tuple[str, ...] = ("production",)
    placeholder: str = "change-me"

    def for_profile(self, profile: str) -> list[Variable]:
        return [v for v in self.variables.values() if profile in v.profiles]

    def defaults(self) -> dict[str, str]:
        return {v.name: v.default for v in self.variables.values() if v.default is not None}

    def secrets(self) -> list[str]:
        return [v.name for v in self.variables.values() if v.secret]

    def is_sensitive(self, name: str) -> bool:
        """Whether a key's value must never be shown: a schema secret, or a secret-like name."""
        known = self.variables.get(name)
        return known.secret if known is not None else looks_secret(name)

    def did_you_mean(self, name: str) -> str:
        """` (did you mean NAME?)` for the variable closest to `name`, or ""."""
        return did_you_mean(name, self.variables, cutoff=_NAME_CUTOFF, quote=False)


def load_schema(path: Path, profiles: Iterable[str], *, shown_as: str | None = None) -> Schema:
    """Read and validate the schema file; raise ConfigError listing every problem."""
    source = shown_as or str(path)
    missing = MissingFileError(
        f"{source}: the env schema is missing",
        hint="restore it from git, or point [tool.dockyard] env_schema at it",
    )
    document = parse_toml(read_text(path, source, missing=missing), source)
    return parse_schema(document, source=source, profiles=tuple(profiles))


def parse_schema(document: Mapping[str, Any], *, source: str, profiles: tuple[str, ...]) -> Schema:
    """Validate a schema document already read from TOML."""
    problems: list[str] = []
    for key in document:
        if key not in ("settings", "variables"):
            problems.append(f"{key}: unknown table (expected [settings] and [variables.NAME])")
    settings = document.get("settings", {})
    strict = tuple(settings.get("strict_profiles", ["production"]))
    for name in strict:
        if name not in profiles:
            problems.append(f"settings.strict_profiles: {name!r} is not a profile ({profiles})")
    placeholder = str(settings.get("placeholder", "change-me"))
    tables = document.get("variables", {})
    if not isinstance(tables, dict) or not tables:
        problems.append("variables: expected at least one [variables.NAME] table")
        tables = {}
    variables = {}
    for name, table in tables.items():
        variable = _variable(name, table, profiles, problems)
        if variable is not None:
            variables[name] = variable
    if problems:
        raise ConfigError(source, problems)
    return Schema(source, variables, profiles, strict, placeholder)


def _variable(  # noqa: PLR0912
    name: str, table: object, profiles: tuple[str, ...], problems: list[str]
) -> Variable | None:
    where = f"variables.{name}"
    before = len(problems)
    if not NAME.fullmatch(name):
        problems.append(f"{where}: invalid name; use letters, digits and '_'")
    if not isinstance(table, dict):
        problems.append(f"{where}: expected a table")
        return None
    for key in table:
        if key not in _FIELDS:
            problems.append(f"{where}.{key}: unknown field{did_you_mean(key, _FIELDS)}")
    kind = table.get("type")
    if kind not in TYPES:
        problems.append(f"{where}.type: expected one of {', '.join(TYPES)}, got {kind!r}")
        return None
    description = table.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append(f"{where}.description: expected a one-line description")
    needed = table.get("profiles", list(profiles))
    for profile in needed:
        if profile not in profiles:
            problems.append(
                f"{where}.profiles: {profile!r} is not a profile ({', '.join(profiles)})"
            )
    default = _text(table["default"]) if "default" in table else None
    required = table.get("required", default is None)
    if required and default is not None:
        problems.append(f"{where}: a required variable has no default; drop one of them")
    if kind == "secret" and ({"default", "value", "values"} & set(table)):
        problems.append(f"{where}: a secret has no default, value or values; env.init generates it")
    value = _text(table["value"]) if "value" in table else None
    values = {str(k): _text(v) for k, v in table.get("values", {}).items()}
    for profile in values:
        if profile not in profiles:
            problems.append(f"{where}.values.{profile}: {profile!r} is not a profile")
    if kind == "enum" and not table.get("choices"):
        problems.append(f"{where}.choices: an enum needs its list of choices")
    if len(problems) > before:
        return None
    variable = Variable(
        name=name,
        type=kind,
        description=str(description).strip(),
        profiles=tuple(needed),
        required=bool(required),
        default=default,
        value=value,
        values=values,
        choices=tuple(table.get("choices", ())),
        schemes=tuple(table.get("schemes", ())),
        minimum=table.get("min"),
        maximum=table.get("max"),
        min_length=int(table.get("min_length", 24)),
        bytes=int(table.get("bytes", 32)),
    )
    given = [
        ("default", default),
        ("value", value),
        *((f"values.{p}", v) for p, v in values.items()),
    ]
    for label, text in given:
        if text is not None and "${" not in text:
            wrong = variable.check(text)
            if wrong:
                problems.append(f"{where}.{label}: {text!r}: {wrong}")
    return variable if len(problems) == before else None


def _text(value: object) -> str:
    """A TOML value as an env file writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
