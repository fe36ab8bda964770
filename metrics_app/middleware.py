"""Time every web request, and serve /metrics itself (first in the chain).

Each request is counted and timed by view, method and status class (``core.metrics``): the view
is the URL pattern's name, never the path (a path holds ids: unbounded label values). The admin's
views count as one, ``admin``; a path that matches no pattern as ``unmatched``. A streamed answer
(the CSV exports) is timed until its first byte is ready, not to its end.

/metrics is answered here, before Host validation and the HTTPS redirect, like the health probes
(``health_app.middleware``): Prometheus scrapes a pod or container by its IP over plain HTTP
inside the network, and the view builds nothing from the Host and carries no session.
"""

from __future__ import annotations

import time

from django.urls import Resolver404, resolve

from core.metrics import http_request_observe

from . import views

METRICS_PATH = "/metrics"


def view_label(request) -> str:
    """Name the view that answered (or would have answered) a request, for a metric label."""
    match = getattr(request, "resolver_match", None)
    if match is None:  # answered before URL resolution (fail-fast, a health probe by IP)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "unmatched"
    if match.namespace == "admin" or match.namespaces[:1] == ["admin"]:
        return "admin"
    return match.view_name or "unnamed"


class MetricsMiddleware:
    """Count and time each request; answer /metrics."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == METRICS_PATH:
            return views.metrics(request)
        started = time.perf_counter()
        response = self.get_response(request)
        http_request_observe(
            view=view_label(request),
            method=request.method,
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response
