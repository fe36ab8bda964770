"""Health views: /health (full report), /health/ready, /health/live, and django-health-check's view.

Unauthenticated on purpose (load balancers poll them) and never cached; error texts are shown
to signed-in staff only (masked), anyone else sees "redacted" (the status is what a probe needs). ``Accept:
application/health+json`` switches /health and /health/ready to the IETF draft format with the
same status codes.
"""

from __future__ import annotations

import contextlib

from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views.decorators.http import require_safe
from health_check.exceptions import ServiceWarning
from health_check.views import HealthCheckView, MediaType

from .checks import ALL_CHECKS
from .formats import HEALTH_JSON, health_json_body, report_body
from .probes import error_texts_for
from .selectors import HealthReport, health_report, probe_executor


def wants_health_json(request) -> bool:
    """Tell whether the client prefers application/health+json (by Accept, with q-values)."""
    try:
        media_types = list(MediaType.parse_header(request.headers.get("accept", "*/*")))
    except ValueError:  # a malformed Accept header gets the default JSON
        return False
    for media in media_types:
        if media.weight <= 0:
            continue
        if media.mime_type == HEALTH_JSON:
            return True
        if media.mime_type in {"application/json", "application/*", "*/*"}:
            return False
    return False


def _respond(body: dict, *, status: int, health_json: bool) -> JsonResponse:
    response = JsonResponse(
        body, status=status, content_type=HEALTH_JSON if health_json else "application/json"
    )
    patch_vary_headers(response, ["Accept"])
    add_never_cache_headers(response)
    return response


def _report_response(request, report: HealthReport, plain_body: dict) -> JsonResponse:
    if wants_health_json(request):
        body, health_json = health_json_body(report), True
    else:
        body, health_json = plain_body, False
    return _respond(body, status=report.http_status, health_json=health_json)


@require_safe
def health(request):
    """Report every dependency: 200 while ok or degraded, 503 when MongoDB is unreachable.

    Error texts (masked) only for signed-in staff; anyone else gets "redacted" in their place.
    """
    with error_texts_for(getattr(request, "user", None)):
        report = health_report()
        return _report_response(request, report, report_body(report))


@require_safe
def ready(request):
    """Answer 200 while the app can serve (ok or degraded), 503 when MongoDB is unreachable."""
    report = health_report()
    return _report_response(request, report, {"status": report.status})


@require_safe
def live(request):
    """Answer 200 while the process serves; touch no dependency."""
    health_json = wants_health_json(request)
    body = {"status": "pass" if health_json else "ok"}
    return _respond(body, status=200, health_json=health_json)


class ChecksView(HealthCheckView):
    """django-health-check's view over the project's checks (HTML, JSON, text, feeds, metrics).

    The library answers 500 when any check fails; here warnings alone (Redis, broker, reconcile:
    the app still serves) answer 200, so only a MongoDB failure is a failure, as on /health.
    ``manage.py health_check health-checks`` (HTTP mode) therefore exits 0 while degraded.
    """

    checks = ALL_CHECKS

    def get_executor(self):
        # The project's long-lived probe threads (and their connections), not a pool per request.
        return contextlib.nullcontext(probe_executor())

    async def get(self, request, *args, **kwargs):
        response = await super().get(request, *args, **kwargs)
        errors = [result.error for result in self.results if result.error]
        if response.status_code == 500 and all(isinstance(e, ServiceWarning) for e in errors):
            response.status_code = 200
        return response
