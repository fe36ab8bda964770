"""The project's checks as django-health-check 4.x plugins (``HealthCheck`` dataclasses).

They call the same probes as ``GET /health`` (health_app.probes), so there is one implementation.
A dependency the app can run without raises ``ServiceWarning`` (the report's "degraded"); MongoDB
raises ``ServiceUnavailable`` (the report's "error"). django-health-check's own ``Database``
check runs SQL, which MongoDB cannot answer, so it is not used.
"""

from __future__ import annotations

import dataclasses
import datetime

from django.conf import settings
from django.core.cache import caches
from health_check.base import HealthCheck
from health_check.exceptions import HealthCheckException, ServiceUnavailable, ServiceWarning

from . import probes
from .probes import Observation, error_text


class _ProjectCheck(HealthCheck):
    @property
    def timeout(self) -> datetime.timedelta:
        """Use the per-check budget of the project's own endpoints."""
        return datetime.timedelta(seconds=settings.HEALTH_CHECK_TIMEOUT_SECONDS)

    @staticmethod
    def _verdict(observation: Observation, failure: type[HealthCheckException]) -> None:
        if not observation.ok:
            # Masked text, no exception chaining: the library logs failures with tracebacks.
            raise failure(error_text(observation.error) or "unavailable")


@dataclasses.dataclass
class MongoDB(_ProjectCheck):
    """Ping MongoDB; the service cannot work without it."""

    def run(self) -> None:
        self._verdict(probes.mongodb_ping(), ServiceUnavailable)


@dataclasses.dataclass
class Redis(_ProjectCheck):
    """PING Redis through the circuit breaker; without Redis the service degrades."""

    def run(self) -> None:
        self._verdict(probes.redis_ping(), ServiceWarning)


@dataclasses.dataclass
class RedisCache(_ProjectCheck):
    """Read one key through the cache, then report whether Redis or the fallback served it.

    The read works either way (that is the fallback's job); it makes the layer's status current,
    so this check does not depend on another check having talked to Redis first.
    """

    def run(self) -> None:
        try:
            caches["default"].get("health:cache-probe")
        except Exception:  # a cache without the fallback raises while Redis is down
            raise ServiceWarning("cache unavailable") from None
        status = probes.redis_status()
        if status.get("using_fallback") or not status.get("cache_connected"):
            raise ServiceWarning("cache is serving from the local fallback")


@dataclasses.dataclass
class CeleryBroker(_ProjectCheck):
    """Check the Celery broker connection."""

    def run(self) -> None:
        self._verdict(probes.broker_ping(), ServiceWarning)


@dataclasses.dataclass
class ReconcileFreshness(_ProjectCheck):
    """Check that the periodic reconcile (Celery beat) ran within the last two intervals."""

    def run(self) -> None:
        self._verdict(probes.reconcile_freshness(), ServiceWarning)


@dataclasses.dataclass
class WorkerFreshness(_ProjectCheck):
    """Check that a Celery worker started a task within the last two reconcile intervals."""

    def run(self) -> None:
        self._verdict(probes.worker_freshness(), ServiceWarning)


ALL_CHECKS = (MongoDB, Redis, RedisCache, CeleryBroker, ReconcileFreshness, WorkerFreshness)
