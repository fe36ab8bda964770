"""The two public shapes of a health report: the project's JSON and application/health+json.

health+json follows the IETF draft "Health Check Response Format for HTTP APIs"
(draft-inadvisable-health-check): status pass/warn/fail, and a ``checks`` object keyed
``component:measurement`` whose values are arrays of observations.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings

from .probes import Observation, error_text
from .selectors import STATUS_DEGRADED, STATUS_ERROR, STATUS_OK, HealthReport

HEALTH_JSON = "application/health+json"
SERVICE_ID = "checkin"
_DRAFT_STATUS = {STATUS_OK: "pass", STATUS_DEGRADED: "warn", STATUS_ERROR: "fail"}
_REDIS_STATUS = {"connected": "pass", "degraded": "warn", "disconnected": "fail"}


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") if value is not None else None


def report_body(report: HealthReport) -> dict[str, Any]:
    """Return the full ``GET /health`` body (camelCase keys, documented in the README)."""
    database = report.observations["database"]
    broker = report.observations["broker"]
    reconcile = report.observations["reconcile"]
    worker = report.observations["worker"]
    return {
        "status": report.status,
        "database": {
            "status": "connected" if database.ok else "disconnected",
            "latencyMs": database.latency_ms,
            "error": error_text(database.error),
        },
        "redis": report.redis,
        "celery": {
            "broker": "connected" if broker.ok else "disconnected",
            "brokerError": error_text(broker.error),
            "lastReconcile": _iso(reconcile.value),
            "reconcileStale": not reconcile.ok,
            "lastTaskStarted": _iso(worker.value),
            "workerStale": not worker.ok,
        },
        "version": settings.APP_VERSION,
        "time": _iso(report.time),
    }


def _check(
    observation: Observation, *, component_type: str, value: Any, unit: str, status: str = ""
) -> list[dict[str, Any]]:
    # A component's status describes that component alone (the draft's reading): a dead Redis is
    # "fail" here while the service as a whole is "warn", because it serves from MongoDB meanwhile.
    item: dict[str, Any] = {
        "componentType": component_type,
        "observedValue": value,
        "observedUnit": unit,
        "status": status or ("pass" if observation.ok else "fail"),
        "time": _iso(observation.time),
    }
    if not observation.ok and observation.error:
        item["output"] = error_text(observation.error)
    return [item]


def health_json_body(report: HealthReport) -> dict[str, Any]:
    """Return the report in the draft's application/health+json shape."""
    database, redis, broker, reconcile, worker = (
        report.observations[name] for name in ("database", "redis", "broker", "reconcile", "worker")
    )
    checks = {
        "mongodb:responseTime": _check(
            database, component_type="datastore", value=database.latency_ms, unit="ms"
        ),
        "redis:responseTime": _check(
            redis,
            component_type="datastore",
            value=redis.latency_ms,
            unit="ms",
            status=_REDIS_STATUS[report.redis["status"]],
        ),
        "celery-broker:responseTime": _check(
            broker, component_type="component", value=broker.latency_ms, unit="ms"
        ),
    }
    # Reported once sessions_app records reconciles (or when the record is late or unreadable).
    if reconcile.value is not None or not reconcile.ok:
        age = None
        if reconcile.value is not None:
            age = round((report.time - reconcile.value).total_seconds(), 1)
        checks["celery-beat:reconcileAge"] = _check(
            reconcile, component_type="component", value=age, unit="s"
        )
    if worker.value is not None or not worker.ok:
        age = None
        if worker.value is not None:
            age = round((report.time - worker.value).total_seconds(), 1)
        checks["celery-worker:lastTaskAge"] = _check(
            worker, component_type="component", value=age, unit="s"
        )
    body: dict[str, Any] = {
        "status": _DRAFT_STATUS[report.status],
        "version": settings.APP_VERSION.split(".")[0],
        "releaseId": settings.APP_VERSION,
        "serviceId": SERVICE_ID,
        "description": "Event check-in backend",
        "checks": checks,
    }
    if report.status != STATUS_OK:
        failing = [name for name, items in checks.items() if items[0]["status"] != "pass"]
        body["output"] = f"{report.status}: {', '.join(failing)}"
    return body
