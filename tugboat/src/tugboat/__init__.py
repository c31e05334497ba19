"""tugboat: the reference service dockyard builds, runs, deploys and tests."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tugboat")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
