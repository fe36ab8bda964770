"""Dependency probes: one bounded check per dependency, shared by /health and django-health-check.

Every probe returns an ``Observation`` and never raises. Each one bounds its own network I/O with
client timeouts; ``health_app.selectors`` also gives each a wall-clock budget on a thread pool.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.utils import timezone
from kombu import Connection
from pymongo import MongoClient

import redis_fallback
from jobs_app.selectors import broker_is_redis, worker_last_task_at
from redis_fallback.masking import describe_error
from sessions_app.selectors import reconcile_last_success_at

_STARTED_AT = time.monotonic()  # a reconcile that never ran is only late after a grace period


@dataclasses.dataclass(frozen=True)
class Observation:
    """Outcome of one probe: whether it passed, how long it took, a masked error, a value."""

    ok: bool
    latency_ms: float | None = None
    error: str | None = None
    value: Any = None
    time: datetime.datetime = dataclasses.field(default_factory=timezone.now)


def mask_error(error: BaseException | str) -> str:
    """Render an error as one short masked line (the project's one policy, redis_fallback.masking)."""

    return describe_error(error)


# Error texts are for staff: anonymous callers (load balancers) get the status, not the text.
_errors_visible: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "health_errors_visible", default=False
)


@contextlib.contextmanager
def error_texts_for(user) -> Iterator[None]:
    """Show (masked) error texts while rendering for ``user``: signed-in staff only."""
    visible = bool(user is not None and user.is_authenticated and user.is_staff)
    token = _errors_visible.set(visible)
    try:
        yield
    finally:
        _errors_visible.reset(token)


def error_text(text: str | None) -> str | None:
    """Return a masked error text for staff; "redacted" for anyone else or when
    HEALTH_SHOW_ERRORS is off. ``None`` (no error) stays ``None``."""
    if text is None:
        return None
    if settings.HEALTH_SHOW_ERRORS and _errors_visible.get():
        return mask_error(text)
    return "redacted"


def _elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


# --- MongoDB --------------------------------------------------------------------------------------
_mongo_lock = threading.Lock()
_mongo_client: tuple[tuple, Any] | None = None  # ((pid, connection key), MongoClient)


def _mongo_params() -> dict[str, Any]:
    """Build MongoClient arguments: HEALTH_MONGODB_URI, else DATABASES["default"], short timeouts."""
    timeout_ms = settings.HEALTH_PROBE_TIMEOUT_MS
    if settings.HEALTH_MONGODB_URI:
        params: dict[str, Any] = {"host": settings.HEALTH_MONGODB_URI}
    else:
        database = settings.DATABASES["default"]
        params = {"host": database.get("HOST") or None, **database.get("OPTIONS", {})}
        if database.get("USER"):
            params["username"] = database["USER"]
        if database.get("PASSWORD"):
            params["password"] = database["PASSWORD"]
        if database.get("PORT"):
            params["port"] = int(database["PORT"])
    params.update(
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=timeout_ms,
        timeoutMS=timeout_ms,
        maxPoolSize=4,
        appname="checkin-health",
    )
    return params


def _mongo() -> Any:
    """Return this process's health-check MongoClient, built on first use (never at import)."""
    global _mongo_client  # noqa: PLW0603 - one lazily built client per process and configuration

    params = _mongo_params()
    key = (os.getpid(), repr(sorted(params.items())))
    with _mongo_lock:
        if _mongo_client is None or _mongo_client[0] != key:
            stale = _mongo_client
            _mongo_client = (key, MongoClient(**params))
            if stale is not None and stale[0][0] == os.getpid():
                # close() talks to the old server, which may be the one that hangs.
                threading.Thread(target=stale[1].close, daemon=True).start()
        return _mongo_client[1]


def mongodb_ping() -> Observation:
    """Ping MongoDB with a dedicated client whose timeouts fit the health budget."""
    start = time.perf_counter()
    try:
        _mongo().admin.command("ping")
    except Exception as exc:  # any failure means "not reachable" here; the text is masked
        return Observation(ok=False, error=mask_error(exc))
    return Observation(ok=True, latency_ms=_elapsed_ms(start))


# --- Redis ----------------------------------------------------------------------------------------
def redis_ping() -> Observation:
    """PING Redis through the circuit breaker (not through the cache, whose fallback hides outages)."""

    start = time.perf_counter()
    try:
        ok = redis_fallback.ping()
    except Exception as exc:  # the contract says ping() returns a bool; stay safe if it raises
        return Observation(ok=False, error=mask_error(exc))
    if ok:
        return Observation(ok=True, latency_ms=_elapsed_ms(start))
    last_error = redis_fallback.connection_status().get("last_error")
    return Observation(ok=False, error=mask_error(last_error or "PING failed"))


def redis_status() -> dict[str, Any]:
    """Return the Redis layer's per-process connection status (no network I/O)."""

    try:
        return redis_fallback.connection_status()
    except Exception as exc:  # a report must still render; say what is unknown
        return {"last_error": mask_error(exc)}


# --- Celery broker --------------------------------------------------------------------------------
def broker_ping(*, redis: Observation | None = None) -> Observation:
    """Check the Celery broker: reuse the Redis PING when it is the same server, else use kombu."""
    if broker_is_redis():  # the Redis that redis_ping() already checks
        return redis if redis is not None else redis_ping()

    timeout = settings.HEALTH_PROBE_TIMEOUT_MS / 1000
    start = time.perf_counter()
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=timeout,
            transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
        ) as connection:
            # No back-off between attempts: kombu's default interval is 2 s.
            connection.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, interval_max=0, timeout=timeout
            )
    except Exception as exc:  # kombu raises transport-specific errors; all mean "unreachable"
        return Observation(ok=False, error=mask_error(exc))
    return Observation(ok=True, latency_ms=_elapsed_ms(start))


# --- Reconcile (Celery beat) and worker freshness -------------------------------------------------
def _freshness(read_last, *, what: str) -> Observation:
    """Judge a "last happened at" record against two reconcile intervals.

    ``value`` is the last time (or None). One that never happened counts as late only once the
    process is older than two intervals (a fresh deployment has had no chance yet).
    """
    limit = 2 * settings.RECONCILE_INTERVAL_SECONDS
    try:
        last = read_last()
    except Exception as exc:  # whatever it reads may be down; that is reported elsewhere
        return Observation(ok=False, error=mask_error(exc))
    if last is None:
        late = time.monotonic() - _STARTED_AT > limit
        return Observation(ok=not late, error=f"no {what} recorded yet" if late else None)
    age = (timezone.now() - last).total_seconds()
    if age > limit:
        return Observation(ok=False, value=last, error=f"last {what} {age:.0f} s ago")
    return Observation(ok=True, value=last)


def reconcile_freshness() -> Observation:
    """Check that the periodic reconcile (beat + worker) succeeded within the last two intervals."""

    return _freshness(reconcile_last_success_at, what="reconcile")


def worker_freshness() -> Observation:
    """Check that a Celery worker started a task within the last two reconcile intervals.

    Beat queues the reconcile and the outbox flush every interval, so a worker that consumes
    starts at least two tasks per interval; one that stays up without consuming shows here.
    """

    return _freshness(worker_last_task_at, what="task started by a worker")
