"""Fixtures for the Redis fallback tests: a fresh breaker per test, raw clients, caches."""

from __future__ import annotations

import logging
import threading

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from redis.connection import AbstractConnection

from devtools.servers import RedisServer
from redis_fallback.cache import FallbackRedisCache
from redis_fallback.testing import reset_for_tests

LOGGER = "redis_fallback"
PROBER_THREAD = "redis-fallback-prober"  # redis_fallback/prober.py


@pytest.fixture(autouse=True)
def fresh_breaker():
    """Start and leave every test with a closed breaker and empty fallback copies."""
    reset_for_tests()
    yield
    reset_for_tests()


@pytest.fixture
def raw(redis_server):
    """Give a plain redis-py client on the test Redis, emptied before the test."""
    client = redis.Redis.from_url(redis_server.url, socket_timeout=2)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def cache(raw):
    """Give the configured default cache (FallbackRedisCache on the test Redis)."""
    return caches["default"]


@pytest.fixture(scope="module")
def killed_redis():
    """Give a redis-server that was started and then SIGKILLed: connecting is refused."""
    server = RedisServer().start()
    server.kill()
    yield server
    server.stop()


def make_cache(location: str, **overrides) -> FallbackRedisCache:
    """Build a FallbackRedisCache like the configured one, on another Redis URL."""
    params = {
        k: v for k, v in settings.CACHES["default"].items() if k not in ("BACKEND", "LOCATION")
    }
    params.update(overrides)
    return FallbackRedisCache(location, params)


def fallback_records(caplog) -> list[logging.LogRecord]:
    """Return the log records the fallback layer wrote."""
    return [record for record in caplog.records if record.name == LOGGER]


@pytest.fixture
def caller_network_calls(monkeypatch):
    """Record every socket connect and command sent by redis-py from a thread other than the
    prober's: "no network wait" is proven by counting, not by a clock.

    Instrumentation only: the real methods run. Each entry is ``(kind, thread name)``.
    """
    calls: list[tuple[str, str]] = []

    def counting(kind: str, real):
        def method(self, *args, **kwargs):
            name = threading.current_thread().name
            if name != PROBER_THREAD:
                calls.append((kind, name))
            return real(self, *args, **kwargs)

        return method

    for kind in ("connect_check_health", "send_packed_command"):
        monkeypatch.setattr(
            AbstractConnection, kind, counting(kind, getattr(AbstractConnection, kind))
        )
    return calls
