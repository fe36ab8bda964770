"""Acceptance 6: ResponseError (WRONGTYPE) propagates and never opens the breaker."""

from __future__ import annotations

import pytest
import redis

from redis_fallback import connection_status, get_redis


def _assert_breaker_untouched() -> None:
    status = connection_status()
    assert status["breaker_state"] == "closed"
    assert status["last_error"] is None
    assert status["cache_connected"] and status["client_connected"]


def test_client_wrongtype_propagates(raw):
    client = get_redis()
    client.sadd("members", "a")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        client.get("members")
    client.set("name", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        client.sadd("name", "a")
    _assert_breaker_untouched()
    assert client.smembers("members") == {b"a"}


def test_cache_wrongtype_propagates(raw, cache):
    raw.sadd(cache.make_key("members"), "a")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        cache.get("members")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        cache.incr("members")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        cache.decr("members")
    _assert_breaker_untouched()


def test_programming_errors_propagate(raw, cache):
    with pytest.raises(TypeError):
        get_redis().get()
    with pytest.raises(AttributeError):
        get_redis().flushall  # noqa: B018 - not offered by the client
    with pytest.raises(ValueError, match="not found"):
        cache.incr("missing")
    _assert_breaker_untouched()
