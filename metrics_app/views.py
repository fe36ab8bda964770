"""GET /metrics: the Prometheus text exposition, for the scraper allowed by ``access.py``."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse

# The classic text format: every Prometheus (and Grafana Agent, VictoriaMetrics) reads it.
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from .access import DISABLED, metrics_refusal
from .exposition import metrics_exposition

_DETAILS = {
    DISABLED: "Not found.",
    403: "Metrics are served to the configured scraper only (METRICS_TOKEN or METRICS_ALLOWED_ADDRESSES).",
}


def metrics(request) -> HttpResponse:
    """Answer the metrics of every process, or 404/403 to anyone not allowed (never cached)."""
    refusal = metrics_refusal(request)
    if refusal is not None:
        response = JsonResponse({"detail": _DETAILS[refusal]}, status=refusal)
    elif request.method not in ("GET", "HEAD"):
        response = JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
        response["Allow"] = "GET, HEAD"
    else:
        response = HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
