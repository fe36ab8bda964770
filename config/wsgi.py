"""WSGI entry point (gunicorn config.wsgi; served with ``--preload``).

Everything a request needs is imported here, in gunicorn's master: the app, and every view,
through the URL configuration. A worker (also one that replaces a killed or timed-out worker) is
a fork of that master and serves its first request without importing anything, so the first
request's MongoDB deadline (core.middleware) is not spent on imports. Nothing here opens a
connection or starts a thread: MongoDB and Redis clients, and the Redis prober, start in each
worker on first use.
"""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - imports every view now, not in a worker's first request
