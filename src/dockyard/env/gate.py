"""What the audit gate asks of the committed env files: a valid schema, and examples and docs
that are exactly what the schema generates and that pass their profile's checks."""

from __future__ import annotations

import dataclasses

from dockyard.core.config import Config
from dockyard.env.check import check_env
from dockyard.env.parser import parse
from dockyard.env.render import render_docs, render_example
from dockyard.env.store import example_path, schema_of, shown

RENDER = "run `invoke env.render` and commit the result"


def shipped_problems(config: Config) -> list[str]:
    """Every problem with the committed env schema, examples and docs table; empty when sound.

    A broken schema raises ConfigError. Examples hold placeholders, so secret
    strength is not judged here; everything else `env.check` knows is.
    """
    schema = schema_of(config)
    lenient = dataclasses.replace(schema, strict_profiles=())
    problems: list[str] = []
    generated = {example_path(config, p): (p, render_example(schema, p)) for p in config.profiles}
    for path, (profile, expected) in generated.items():
        name = shown(config, path)
        if not path.is_file():
            problems.append(f"{name}: missing; {RENDER}")
            continue
        data = path.read_bytes()
        if data != expected.encode("utf-8"):
            problems.append(f"{name}: differs from what {schema.path} generates; {RENDER}")
        env = parse(data, name, schema.is_sensitive)
        problems.extend(str(problem) for problem in check_env(env, lenient, profile))
    docs = config.path(config.env_docs)
    if not docs.is_file() or docs.read_text(encoding="utf-8") != render_docs(schema):
        problems.append(f"{shown(config, docs)}: not what {schema.path} generates; {RENDER}")
    return problems
