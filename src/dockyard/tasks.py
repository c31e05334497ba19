"""Every dockyard task, gathered for a project's own `tasks.py`.

A project that uses dockyard keeps a `tasks.py` of a few lines at its root::

    from pathlib import Path

    from dockyard.tasks import namespace

    ns = namespace(Path(__file__).resolve().parent)

Each area of the package keeps its own thin task wrappers in its `tasks.py`; heavy imports
happen inside the tasks so that `invoke --list` stays fast.
"""

from __future__ import annotations

from pathlib import Path

from invoke.collection import Collection

from dockyard.audit import tasks as audit
from dockyard.bootstrap import tasks as bootstrap
from dockyard.ci import tasks as ci
from dockyard.deploy import tasks as deploy
from dockyard.doctor import tasks as doctor
from dockyard.env import tasks as env
from dockyard.git import tasks as git
from dockyard.image import tasks as image
from dockyard.registry import tasks as registry
from dockyard.release import tasks as release
from dockyard.scaffold import tasks as scaffold
from dockyard.stack import tasks as stack


def namespace(root: Path) -> Collection:
    """dockyard's tasks acting on the project at `root` (where its pyproject.toml is);
    `INVOKE_DOCKYARD_ROOT` overrides it."""
    ns = Collection(doctor.doctor, bootstrap.bootstrap, audit.audit, deploy.rollback)
    for area in (env, image, registry, stack, deploy, release, ci, git):
        ns.add_collection(area.ns)
    ns.add_collection(git.hooks_ns)
    ns.add_collection(scaffold.ns)
    ns.configure({"dockyard": {"root": str(root)}})
    return ns
