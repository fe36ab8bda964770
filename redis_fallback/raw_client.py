"""Build the process's raw redis-py client from settings, with bounded timeouts and no retries.

Nothing here opens a connection: the pool connects on the first command. redis-py 8's
``Redis(host=...)`` constructor retries 10 times with backoff by default (about 8 s against a
hung server with 0.25 s timeouts, measured); a pool built with ``from_url`` and an explicit
no-retry policy fails after one socket timeout instead, and the breaker decides what comes next.
"""

from __future__ import annotations

import socket
import threading

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis import exceptions as redis_errors
from redis.backoff import NoBackoff
from redis.retry import Retry

from .restarts import on_connect

# Errors that mean "Redis is unavailable". AuthenticationError, AuthorizationError and
# BusyLoadingError subclass ConnectionError; NOPERM (an ACL refusal) is a ResponseError subclass
# but is an auth failure too. Every other ResponseError (WRONGTYPE, script errors) propagates.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    socket.timeout,
    redis_errors.NoPermissionError,
)

_WATCHED_SETTINGS = frozenset({"REDIS_URL", "REDIS_SOCKET_TIMEOUT", "REDIS_SOCKET_CONNECT_TIMEOUT"})

_lock = threading.Lock()
_client: redis.Redis | None = None


def no_retry() -> Retry:
    """Return a redis-py retry policy that never retries: one bounded attempt per call."""
    return Retry(NoBackoff(), 0)


def redis_url() -> str:
    """Return the configured Redis URL."""
    return settings.REDIS_URL


def socket_timeouts() -> dict[str, float]:
    """Return the connect and read timeouts (seconds) from settings."""
    return {
        "socket_connect_timeout": float(settings.REDIS_SOCKET_CONNECT_TIMEOUT),
        "socket_timeout": float(settings.REDIS_SOCKET_TIMEOUT),
    }


def raw_redis() -> redis.Redis:
    """Return the process's raw redis-py client, built on first use from settings."""
    global _client  # noqa: PLW0603 - one client per process, built lazily
    client = _client
    if client is None:
        with _lock:
            if _client is None:
                pool = redis.ConnectionPool.from_url(
                    redis_url(),
                    retry=no_retry(),
                    redis_connect_func=on_connect,
                    **socket_timeouts(),
                )
                _client = redis.Redis(connection_pool=pool)
            client = _client
    return client


def drop_raw_redis() -> None:
    """Forget the raw client and close its sockets; the next call builds a new one."""
    global _client
    with _lock:
        client, _client = _client, None
    if client is not None:
        client.connection_pool.disconnect()


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs) -> None:
    if setting in _WATCHED_SETTINGS:
        drop_raw_redis()
