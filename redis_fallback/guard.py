"""Route every Redis call of the process through one circuit breaker, and run recovery.

The cache backend, the client provider and Lua scripts all call ``call_redis()``. While the
breaker is closed the call runs; a connection error or timeout opens the breaker and the caller
gets ``UNAVAILABLE`` (a private sentinel, never confused with a cached ``None``). While open,
callers get ``UNAVAILABLE`` at once. After the reset interval exactly one caller probes: a PING,
then every recovery callback with the raw client, and only then the breaker closes.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import redis
from django.conf import settings
from redis import exceptions as redis_errors

from .breaker import CircuitBreaker, Permit, State, register_fork_handler
from .connection import CONNECTION_ERRORS, drop_raw_redis, raw_redis, redis_url
from .masking import describe_error, mask_text

logger = logging.getLogger("redis_fallback")

T = TypeVar("T")
Source = Literal["cache", "client"]
DEFAULT_RESET_SECONDS = 5.0


class _Unavailable:
    """The type of ``UNAVAILABLE``: Redis could not be asked (breaker open or call failed)."""

    def __repr__(self) -> str:
        return "UNAVAILABLE"


UNAVAILABLE: Any = _Unavailable()


def _reset_seconds() -> float:
    return float(getattr(settings, "REDIS_BREAKER_RESET_SECONDS", DEFAULT_RESET_SECONDS))


_breaker = CircuitBreaker(reset_seconds=_reset_seconds, name="Redis")
register_fork_handler(_breaker)

# Per-component outcome of the latest call (read by status.py); dict writes are atomic.
connected: dict[str, bool] = {"cache": True, "client": True}

_hooks_lock = threading.Lock()
_recovery_callbacks: list[Callable[[redis.Redis], None]] = []
_fallback_resets: list[Callable[[], None]] = []
# The run_id of each Redis server this process has connected to, by address.
_run_ids: dict[tuple, str] = {}


def get_breaker() -> CircuitBreaker:
    """Return the process's one circuit breaker."""
    return _breaker


def register_recovery_callback(fn: Callable[[redis.Redis], None]) -> None:
    """Run ``fn(raw_client)`` once after each outage, before Redis is trusted again.

    Registering the same function twice has no effect. If ``fn`` raises, the probe counts as
    failed and the breaker re-opens; all callbacks run again at the next probe.
    """
    with _hooks_lock:
        if fn not in _recovery_callbacks:
            _recovery_callbacks.append(fn)


def unregister_recovery_callback(fn: Callable[[redis.Redis], None]) -> None:
    """Remove a recovery callback (tests); unknown functions are ignored."""
    with _hooks_lock:
        if fn in _recovery_callbacks:
            _recovery_callbacks.remove(fn)


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
    permit = _breaker.acquire()
    if permit is Permit.DENY:
        return UNAVAILABLE
    if permit is Permit.PROBE and not _probe():
        return UNAVAILABLE
    try:
        result = op()
    except CONNECTION_ERRORS as error:
        connected[source] = False
        if _breaker.record_failure(describe_error(error, url=url or redis_url())):
            _reset_fallbacks()
        return UNAVAILABLE
    connected[source] = True
    return result


def _probe() -> bool:
    """Ping Redis and run the recovery callbacks; close the breaker only if all succeed."""
    url = redis_url()
    stage = "ping"
    try:
        client = raw_redis()
        client.ping()
        with _hooks_lock:
            callbacks = list(_recovery_callbacks)
        for callback in callbacks:
            stage = f"recovery callback {getattr(callback, '__qualname__', callback)!s}"
            callback(client)
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


def _parse_run_id(info: bytes | str) -> str | None:
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith("run_id:"):
            return line.partition(":")[2].strip()
    return None


def on_connect(connection: redis.Connection) -> None:
    """Initialise a new connection; treat a Redis restart nobody noticed as an outage.

    redis-py silently replaces a pooled connection whose server went away, so a Redis that
    restarted (empty) between two calls would be trusted without the recovery callbacks. Every
    new connection therefore compares the server's run_id with the one this process saw last:
    if it changed while the breaker is closed, the connection fails with a ConnectionError, the
    breaker opens, and the next probe runs the recovery callbacks. Costs one INFO per new
    connection, not per command.
    """
    connection.on_connect()
    try:
        connection.send_command("INFO", "server")
        run_id = _parse_run_id(connection.read_response())
    except redis_errors.ResponseError:
        return  # INFO refused (ACL, rename-command): restarts between calls go unnoticed
    if run_id is None:
        return
    address = tuple(getattr(connection, name, None) for name in ("host", "port", "path"))
    with _hooks_lock:
        previous = _run_ids.get(address)
        _run_ids[address] = run_id
    if previous not in (None, run_id) and _breaker.state is State.CLOSED:
        raise redis_errors.ConnectionError("Redis restarted since it was last used (new run_id)")


def is_redis_available() -> bool:
    """Tell, without network I/O, whether a Redis call now would be attempted."""
    return _breaker.is_available()


def reset_for_tests() -> None:
    """Close the breaker, clear status and fallback copies, drop the raw client; keep callbacks."""
    _breaker.reset()
    connected.update(cache=True, client=True)
    with _hooks_lock:
        _run_ids.clear()
    drop_raw_redis()
    _reset_fallbacks()
