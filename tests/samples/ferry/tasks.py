from pathlib import Path

from dockyard.tasks import namespace

ns = namespace(Path(__file__).resolve().parent)
