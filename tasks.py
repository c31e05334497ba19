"""dockyard's tasks: `invoke --list` shows everything the suite does.

A table of contents: each area of `src/dockyard/` keeps its own thin task wrappers in its
`tasks.py`; heavy imports happen inside the tasks so that listing them stays fast.
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
from dockyard.stack import tasks as stack

ns = Collection(doctor.doctor, bootstrap.bootstrap, audit.audit, deploy.rollback)
for area in (env, image, stack, deploy, ci, git):
    ns.add_collection(area.ns)
ns.add_collection(git.hooks_ns)
ns.configure({"dockyard": {"root": str(Path(__file__).resolve().parent)}})
