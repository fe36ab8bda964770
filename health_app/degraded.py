"""What is degraded now and since when, in words: the admin's banner and its health page.

The same probes as ``/health``: Redis is PINGed through the circuit breaker (no network wait
while it is open) and read from ``redis_fallback.connection_status()``; the broker is the Redis
PING when it is the same server, else the broker probe, remembered for a few seconds so that a
dead broker does not slow every admin page down.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import threading
import time

from django.conf import settings
from django.utils.dateparse import parse_datetime

from . import probes
from .probes import Observation, error_text
from .selectors import HealthReport

# A broker that is not REDIS_URL is probed at most this often per process.
BROKER_PROBE_SECONDS = 5.0

REDIS_EFFECT = (
    "Check-in goes on: MongoDB decides alone (a little slower), caches are per process. "
    "Redis is used again by itself once it answers."
)
BROKER_EFFECT = (
    "Background jobs (the counter reconcile among them) wait in the MongoDB outbox and run "
    "when the broker is back."
)


@dataclasses.dataclass(frozen=True)
class Degraded:
    """One dependency the app is running without, what that means, and since when."""

    name: str
    effect: str
    since: datetime.datetime | None
    error: str | None

    def __str__(self) -> str:
        return self.name


@dataclasses.dataclass
class _BrokerMemo:
    key: tuple = ()
    checked_at: float = float("-inf")
    observation: Observation | None = None
    down_since: datetime.datetime | None = None


_lock = threading.Lock()
_broker = _BrokerMemo()


def _separate_broker(*, refresh: bool) -> tuple[Observation, datetime.datetime | None]:
    """Probe a broker that is not REDIS_URL (memoised); return it and when its outage began."""
    key = (os.getpid(), settings.CELERY_BROKER_URL)
    with _lock:
        fresh = time.monotonic() - _broker.checked_at < BROKER_PROBE_SECONDS
        if _broker.key == key and fresh and not refresh and _broker.observation is not None:
            return _broker.observation, _broker.down_since
    observation = probes.broker_ping()
    with _lock:
        if _broker.key != key:
            _broker.key, _broker.down_since = key, None
        _broker.checked_at, _broker.observation = time.monotonic(), observation
        if observation.ok:
            _broker.down_since = None
        elif _broker.down_since is None:
            _broker.down_since = observation.time
        return observation, _broker.down_since


def degraded_components(*, refresh: bool = False) -> list[Degraded]:
    """Return what runs degraded now (Redis, the Celery broker), each with since when.

    ``refresh`` probes a separate broker even if it was probed a moment ago.
    """
    redis = probes.redis_ping()
    status = probes.redis_status()
    redis_since = parse_datetime(status.get("outage_since") or "") or (
        None if redis.ok else redis.time
    )
    found = []
    if not redis.ok or status.get("using_fallback"):
        error = status.get("last_error") or redis.error
        found.append(Degraded("Redis", REDIS_EFFECT, redis_since, error_text(error)))
    if probes.broker_is_redis():
        broker, broker_since = probes.broker_ping(redis=redis), redis_since
    else:
        broker, broker_since = _separate_broker(refresh=refresh)
    if not broker.ok:
        found.append(
            Degraded("Celery broker", BROKER_EFFECT, broker_since, error_text(broker.error))
        )
    return found


def _sentinel_detail(sentinel: dict | None) -> str:
    if not sentinel:
        return ""
    failover = sentinel.get("lastFailoverAt")
    return (
        f"; Sentinel master {sentinel.get('masterName')} at {sentinel.get('master') or 'not reached yet'}"
        + (f", last failover seen {failover}" if failover else ", no failover seen")
    )


@dataclasses.dataclass(frozen=True)
class HealthRow:
    """One line of the readable health page."""

    name: str
    ok: bool
    state: str
    detail: str


def health_rows(report: HealthReport) -> list[HealthRow]:
    """Turn a health report (``health_app.selectors.health_report``) into lines a person reads."""
    observed = report.observations
    database, broker, reconcile = observed["database"], observed["broker"], observed["reconcile"]
    worker = observed["worker"]
    redis = report.redis
    redis_since = probes.redis_status().get("outage_since")

    def latency(observation: Observation) -> str:
        return f"answers in {observation.latency_ms:.1f} ms" if observation.latency_ms else ""

    return [
        HealthRow(
            "MongoDB",
            database.ok,
            "connected" if database.ok else "unreachable",
            latency(database) if database.ok else error_text(database.error) or "",
        ),
        HealthRow(
            "Redis",
            redis["status"] == "connected",
            {"connected": "connected", "degraded": "recovering"}.get(
                redis["status"], "unreachable"
            ),
            f"circuit breaker {redis['breaker']}"
            + _sentinel_detail(redis.get("sentinel"))
            + (f"; down since {redis_since}" if redis_since else "")
            + (f"; last error: {redis['lastError']}" if redis.get("lastError") else ""),
        ),
        HealthRow(
            "Celery broker",
            broker.ok,
            "connected" if broker.ok else "unreachable",
            latency(broker) if broker.ok else error_text(broker.error) or "",
        ),
        HealthRow(
            "Celery worker",
            worker.ok,
            "consuming" if worker.ok else "not consuming",
            (
                f"last task started {worker.value.isoformat(timespec='seconds')}"
                if worker.value
                else ""
            )
            + (f"; {error_text(worker.error)}" if worker.error else ""),
        ),
        HealthRow(
            "Counter reconcile",
            reconcile.ok,
            "on time" if reconcile.ok else "late",
            (
                f"last success {reconcile.value.isoformat(timespec='seconds')}"
                if reconcile.value
                else ""
            )
            + (f"; {error_text(reconcile.error)}" if reconcile.error else ""),
        ),
    ]
