"""Route every Redis call of the process through one circuit breaker, and run recovery.

The cache backend, the client provider and Lua scripts all call ``call_redis()``. While the
breaker is closed the call runs; a connection error or timeout opens the breaker and the caller
gets ``UNAVAILABLE`` (a private sentinel, never confused with a cached ``None``). While open,
callers get ``UNAVAILABLE`` at once. After each reset interval the process's background prober
(``prober.py``) probes: a PING, then every recovery callback with the raw client, and only then
the breaker closes. No request ever probes or runs a recovery callback.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeVar

import redis
from django.db import connections

from .breaker import Permit
from .masking import describe_error, mask_text
from .prober import Prober, register_prober_fork_handler
from .process_breaker import _breaker
from .raw_client import CONNECTION_ERRORS, raw_redis, redis_url
from .restarts import changes_seen, rebuild_done

logger = logging.getLogger("redis_fallback")

T = TypeVar("T")
Source = Literal["cache", "client"]


class _Unavailable:
    """The type of ``UNAVAILABLE``: Redis could not be asked (breaker open or call failed)."""

    def __repr__(self) -> str:
        return "UNAVAILABLE"


UNAVAILABLE: Any = _Unavailable()


# Per-component outcome of the latest call (read by status_report.py); dict writes are atomic.
connected: dict[str, bool] = {"cache": True, "client": True}

_hooks_lock = threading.Lock()
_recovery_callbacks: list[Callable[[redis.Redis], None]] = []
_fallback_resets: list[Callable[[], None]] = []


def register_recovery_callback(fn: Callable[[redis.Redis], None]) -> None:
    """Run ``fn(raw_client)`` once after each outage, before Redis is trusted again.

    Registering the same function twice has no effect. If ``fn`` raises, the probe counts as
    failed and the breaker re-opens; all callbacks run again at the next probe.
    """
    with _hooks_lock:
        if fn not in _recovery_callbacks:
            _recovery_callbacks.append(fn)


def register_fallback_reset(fn: Callable[[], None]) -> None:
    """Run ``fn()`` whenever fallback copies become stale (breaker opened or closed)."""
    with _hooks_lock:
        if fn not in _fallback_resets:
            _fallback_resets.append(fn)


def _reset_fallbacks() -> None:
    with _hooks_lock:
        resets = list(_fallback_resets)
    for reset in resets:
        reset()


def call_redis(op: Callable[[], T], *, source: Source, url: str | None = None) -> T | Any:
    """Run ``op`` against Redis through the breaker; return ``UNAVAILABLE`` if Redis is not usable.

    ``url`` is the URL ``op`` talks to (for masking errors); it defaults to ``REDIS_URL``.
    Errors other than connection errors and timeouts propagate and leave the breaker alone.
    """
    if _breaker.acquire() is Permit.DENY:
        _prober.ensure_running()  # a child forked during an outage starts its own
        return UNAVAILABLE
    try:
        result = op()
    except CONNECTION_ERRORS as error:
        connected[source] = False
        if _breaker.record_failure(describe_error(error, url=url or redis_url())):
            _reset_fallbacks()
            _prober.ensure_running()
        return UNAVAILABLE
    connected[source] = True
    return result


def _probe() -> bool:
    """Ping Redis and run the recovery callbacks; close the breaker only if all succeed."""
    url = redis_url()
    stage = "ping"
    try:
        client = raw_redis()
        client.ping()  # a new connection: a restart or failover is seen here (restarts.py)
        mark = changes_seen()
        with _hooks_lock:
            callbacks = list(_recovery_callbacks)
        for callback in callbacks:
            stage = f"recovery callback {getattr(callback, '__qualname__', callback)!s}"
            callback(client)
        rebuild_done(mark)
    except Exception as error:
        # A masked traceback: callbacks may raise errors that quote other services' URLs.
        trace = mask_text("".join(traceback.format_exception(error)), url=url)
        logger.debug("Redis probe failed at %s:\n%s", stage, trace)
        described = describe_error(error, url=url)
        if stage != "ping":
            described = f"{stage} failed: {described}"
        _breaker.probe_failed(described)
        return False
    except BaseException:
        _breaker.probe_failed("probe interrupted")
        raise
    _breaker.probe_succeeded()
    connected.update(cache=True, client=True)
    # After closing: a fallback writer that raced the close cannot leave a stale entry behind.
    _reset_fallbacks()
    return True


def _after_probe() -> None:
    # The recovery callbacks read MongoDB from the prober thread: give back its connections.
    connections.close_all()


_prober = Prober(_breaker, _probe, _after_probe)
register_prober_fork_handler(_prober)


def outage_began_at() -> datetime | None:
    """When this process lost Redis (its breaker opened from closed); None while closed."""
    return _breaker.snapshot().outage_since


def is_redis_available() -> bool:
    """Tell, without network I/O, whether a Redis call now would be attempted."""
    return _breaker.is_available()
