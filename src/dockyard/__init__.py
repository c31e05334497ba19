"""dockyard: from a fresh laptop to a production release for a containerised Python service."""

__version__ = "0.1.0"
