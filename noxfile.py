"""dockyard's gates: the same sessions run on a laptop and in CI (`nox -s ci`).

Every session installs exactly its dependency group from uv.lock into a reused
environment, so a warm run spends its time on the checks, not on installing. A sync, a
linter that keeps no cache of its own, and the tests are skipped while nothing they read has
changed since they last passed (`DOCKYARD_STEP_CACHE=off` runs them anyway).
Arguments after `--` narrow a session: `nox -s tests -- -m "not engine"`.
"""

from __future__ import annotations

import nox

from dockyard.gates import sessions  # noqa: F401  (importing it registers the sessions)

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.stop_on_first_error = True
nox.options.sessions = ["ci"]
