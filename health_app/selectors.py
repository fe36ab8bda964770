"""Read the system's health: run the probes concurrently, each within its budget, and summarise."""

from __future__ import annotations

import dataclasses
import datetime
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from django.conf import settings
from django.utils import timezone

from jobs_app.selectors import broker_is_redis

from . import probes
from .probes import Observation, error_text

STATUS_OK = "ok"
STATUS_DEGRADED = "degraded"
STATUS_ERROR = "error"
HTTP_STATUS = {STATUS_OK: 200, STATUS_DEGRADED: 200, STATUS_ERROR: 503}

# Enough threads for a few concurrent reports. Every probe bounds its own I/O (client timeouts), so
# a hung dependency frees its thread soon after the budget; a probe that waits for a thread past
# the budget counts as failed, which is the safe side.
_POOL_SIZE = 8
_pool_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def probe_executor() -> ThreadPoolExecutor:
    """Return the process's probe pool, created on first use (and again after a fork)."""
    global _pool  # noqa: PLW0603 - one long-lived pool per process; its threads keep DB connections
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(_POOL_SIZE, thread_name_prefix="health"))
        return _pool[1]


def _guarded(probe: Callable[[], Observation]) -> Callable[[], Observation]:
    def run() -> Observation:
        try:
            return probe()
        except Exception as exc:  # a probe must never break the report
            return Observation(ok=False, error=probes.mask_error(exc))

    return run


def health_observations(*, timeout: float | None = None) -> dict[str, Observation]:
    """Run every probe concurrently; a probe that misses the budget counts as failed.

    Keys: ``database``, ``redis``, ``broker``, ``reconcile``, ``worker``. When the broker is REDIS_URL, the
    Redis PING result stands for the broker too (one PING, not two).
    """
    budget = settings.HEALTH_CHECK_TIMEOUT_SECONDS if timeout is None else timeout
    tasks: dict[str, Callable[[], Observation]] = {
        "database": probes.mongodb_ping,
        "redis": probes.redis_ping,
        "reconcile": probes.reconcile_freshness,
        "worker": probes.worker_freshness,
    }
    if not broker_is_redis():
        tasks["broker"] = probes.broker_ping
    pool = probe_executor()
    futures: dict[str, Future] = {name: pool.submit(_guarded(fn)) for name, fn in tasks.items()}
    done, _ = wait(futures.values(), timeout=budget)
    late = Observation(ok=False, error=f"no answer within {budget:g} s")
    results = {name: f.result() if f in done else late for name, f in futures.items()}
    if "broker" not in results:
        results["broker"] = results["redis"]
    return results


def _redis_section(ping: Observation, status: dict[str, Any]) -> dict[str, Any]:
    client_connected = ping.ok
    cache_connected = bool(status.get("cache_connected")) and ping.ok
    using_fallback = bool(status.get("using_fallback")) or not ping.ok
    if not ping.ok:
        state = "disconnected"
    elif using_fallback or not cache_connected or status.get("breaker_state") != "closed":
        state = "degraded"  # Redis answers, but the layer has not switched back to it yet
    else:
        state = "connected"
    last_error, last_error_time = status.get("last_error"), status.get("last_error_time")
    if not ping.ok and not last_error:
        # E.g. the PING missed the budget before the breaker recorded anything.
        last_error, last_error_time = ping.error, ping.time.isoformat(timespec="milliseconds")
    return {
        "status": state,
        "cache": "connected" if cache_connected else "disconnected",
        "client": "connected" if client_connected else "disconnected",
        "usingFallback": using_fallback,
        "breaker": status.get("breaker_state"),
        "since": status.get("since"),
        "latencyMs": ping.latency_ms,
        "lastError": error_text(last_error),
        "lastErrorTime": last_error_time,
        "reconnectAttempts": status.get("reconnect_attempts", 0),
        "sentinel": _sentinel_section(status.get("sentinel")),
    }


def _sentinel_section(sentinel: dict[str, Any] | None) -> dict[str, Any] | None:
    """Under Sentinel: the master's name, its address (masked, ``***:6379``), how many Sentinels
    are configured and when this process last saw a failover; None for one Redis."""
    if not sentinel:
        return None
    return {
        "masterName": sentinel.get("master_name"),
        "master": sentinel.get("master"),
        "sentinels": sentinel.get("sentinels"),
        "lastFailoverAt": sentinel.get("last_failover_at"),
    }


def health_status(*, observations: dict[str, Observation], redis: dict[str, Any]) -> str:
    """Summarise: error without MongoDB, degraded on any fallback, else ok."""
    if not observations["database"].ok:
        return STATUS_ERROR
    if (
        redis["status"] != "connected"
        or not observations["broker"].ok
        or not observations["reconcile"].ok
        or not observations["worker"].ok
    ):
        return STATUS_DEGRADED
    return STATUS_OK


@dataclasses.dataclass(frozen=True)
class HealthReport:
    """One evaluation of every dependency: the summary status and what each probe observed."""

    status: str
    observations: dict[str, Observation]
    redis: dict[str, Any]  # the "redis" section of the report, already in its public shape
    time: datetime.datetime

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.status]


def health_report(*, timeout: float | None = None) -> HealthReport:
    """Evaluate every dependency within the budget and return the report."""
    observations = health_observations(timeout=timeout)
    # Read the layer's status after the PING, so it includes what the PING just learnt.
    redis = _redis_section(observations["redis"], probes.redis_status())
    return HealthReport(
        status=health_status(observations=observations, redis=redis),
        observations=observations,
        redis=redis,
        time=timezone.now(),
    )
