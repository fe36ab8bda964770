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
from redis.sentinel import Sentinel

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

_WATCHED_SETTINGS = frozenset(
    {"REDIS_URL", "REDIS_SENTINEL", "REDIS_SOCKET_TIMEOUT", "REDIS_SOCKET_CONNECT_TIMEOUT"}
)

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


def sentinel_config() -> dict | None:
    """Return the Sentinel set of ``REDIS_URL`` (``settings.REDIS_SENTINEL``), None for one Redis."""
    return getattr(settings, "REDIS_SENTINEL", None)


def sentinel_kwargs() -> dict:
    """Return the connection options of the queries to the Sentinels: bounded, never retried."""
    return {**socket_timeouts(), "retry": no_retry()}


def _sentinel_master_client(config: dict) -> redis.Redis:
    # Each new connection asks the Sentinels for the master's address (one bounded query per
    # Sentinel, in order); "no master" (MasterNotFoundError) is a ConnectionError: Redis is down.
    manager = Sentinel(config["sentinels"], sentinel_kwargs=sentinel_kwargs(), **socket_timeouts())
    return manager.master_for(
        config["master_name"],
        db=config["db"],
        username=config["username"],
        password=config["password"],
        retry=no_retry(),
        redis_connect_func=on_connect,
    )


def raw_redis() -> redis.Redis:
    """Return the process's raw redis-py client, built on first use from settings.

    With Sentinel (``redis+sentinel://`` in ``REDIS_URL``) it is a client of the current master.
    """
    global _client  # noqa: PLW0603 - one client per process, built lazily
    client = _client
    if client is None:
        with _lock:
            if _client is None:
                config = sentinel_config()
                if config is not None:
                    _client = _sentinel_master_client(config)
                else:
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
        manager = getattr(client.connection_pool, "sentinel_manager", None)
        for sentinel in getattr(manager, "sentinels", ()):
            sentinel.connection_pool.disconnect()


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs) -> None:
    if setting in _WATCHED_SETTINGS:
        drop_raw_redis()
