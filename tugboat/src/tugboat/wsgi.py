"""The WSGI entry point gunicorn loads in each worker: `tugboat.wsgi:app`."""

from __future__ import annotations

import os

from tugboat.app import create_app
from tugboat.jsonlog import configure_logging
from tugboat.settings import load_settings

settings = load_settings(os.environ)
configure_logging(settings)
app = create_app(settings)
