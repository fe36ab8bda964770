"""The door page offline: its service worker (/door/sw.js) and web app manifest.

The service worker is served from /door/ so that its scope covers the door page (a script under
/static/ could only control /static/). It keeps the page's assets and a copy of the page without
any name on it (``?offline=1``: no answer, no last scans), and answers from them when the server
cannot: docs/door-offline.md. Neither needs a signed-in user: they hold nothing personal.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import get_template
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_safe

# Cached by the service worker at install; a change to any of them installs a new worker.
ASSETS = (
    "door/door.css",
    "door/door.js",
    "door/offline.js",
    "door/icon-192.png",
    "door/icon-512.png",
)
WORKER_TEMPLATE = "door/sw.js"
SHELL_QUERY = "offline"  # /door/?offline=1: the page with no name on it, for the cache
SHELL_HEADER = "X-Door-Offline"  # marks a response the service worker may keep


@lru_cache(maxsize=1)
def _assets_version() -> str:
    digest = hashlib.sha256()
    for name in ASSETS:
        path = finders.find(name)
        with open(path, "rb") as asset:
            digest.update(asset.read())
    with open(get_template(WORKER_TEMPLATE).origin.name, "rb") as worker:
        digest.update(worker.read())
    return digest.hexdigest()[:16]


@require_safe
def service_worker(request):
    """The door page's service worker (JavaScript), for the scope /door/."""
    context = {
        "version": _assets_version(),
        "assets": json.dumps([static(name) for name in ASSETS] + [reverse("door:manifest")]),
        "page": reverse("door:page"),
        "shell": f"{reverse('door:page')}?{SHELL_QUERY}=1",
        "shell_header": SHELL_HEADER,
    }
    response = render(request, WORKER_TEMPLATE, context, content_type="text/javascript")
    response["Service-Worker-Allowed"] = reverse("door:page")
    response["Cache-Control"] = "no-cache"  # a new door.js reaches the doors at their next visit
    return response


@require_safe
def manifest(request):
    """The web app manifest: the door page installs as an app that opens at /door/."""
    page = reverse("door:page")
    body = {
        "name": "Door · Event check-in",
        "short_name": "Door",
        "description": "Scan tickets at a session's door, online or off.",
        "start_url": page,
        "scope": page,
        "display": "standalone",
        "background_color": "#f4f4f2",
        "theme_color": "#1b1b1b",
        "icons": [
            {"src": static("door/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("door/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        ],
    }
    return HttpResponse(json.dumps(body), content_type="application/manifest+json")
