"""Acceptance 7: the BaseCache contract holds on the Redis path and on the fallback path.

The fallback path is forced by a real outage: the cache points at a redis-server that was
killed, so its first call is refused and opens the breaker; every call after that is served by
the LocMemCache. Each test asserts at the end that it really ran on the path it claims.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from django.core.cache.backends.base import DEFAULT_TIMEOUT

from redis_fallback import connection_status

from .conftest import make_cache


@pytest.fixture(params=["redis", "fallback"])
def path(request):
    return request.param


@pytest.fixture
def cache(path, redis_server, raw, killed_redis):
    if path == "redis":
        backend = make_cache(redis_server.url)
        yield backend
        assert connection_status()["breaker_state"] == "closed", "left the Redis path"
    else:
        backend = make_cache(killed_redis.url)
        assert backend.get("discover-the-outage") is None
        assert connection_status()["using_fallback"] is True
        yield backend
        assert connection_status()["using_fallback"] is True, "left the fallback path"


def test_the_path_is_the_one_claimed(cache, path, raw):
    cache.set("where", 1)
    assert raw.exists(cache.make_key("where")) == (1 if path == "redis" else 0)
    assert cache.get("where") == 1


def test_get_returns_default_for_missing_and_none_for_cached_none(cache):
    assert cache.get("missing") is None
    assert cache.get("missing", "default") == "default"
    cache.set("none", None)
    assert cache.get("none", "default") is None
    assert cache.has_key("none")


@pytest.mark.parametrize(
    "value", [0, 1, -7, 2**70, "text", b"bytes", 1.5, [1, "a"], {"a": 1}, True]
)
def test_set_get_round_trip(cache, value):
    cache.set("value", value)
    assert cache.get("value") == value
    assert type(cache.get("value")) is type(value)


def test_add_returns_bool_and_keeps_the_first_value(cache):
    assert cache.add("seat", "first") is True
    assert cache.add("seat", "second") is False
    assert cache.get("seat") == "first"


def test_delete_returns_whether_a_key_was_deleted(cache):
    cache.set("gone", 1)
    assert cache.delete("gone") is True
    assert cache.delete("gone") is False
    assert cache.get("gone") is None


def test_get_many_leaves_out_missing_keys(cache):
    assert cache.get_many([]) == {}
    cache.set_many({"a": 1, "b": None})
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "b": None}
    assert cache.get_many(iter(["a"])) == {"a": 1}


def test_set_many_returns_empty_list_and_delete_many_deletes(cache):
    assert cache.set_many({"x": 1, "y": 2, "z": 3}) == []
    assert cache.delete_many(["x", "y", "missing"]) is None
    assert cache.get_many(["x", "y", "z"]) == {"z": 3}


def test_delete_many_and_publish_deletes_and_publishes_in_one_call(cache, path, raw):
    """The project's own call (an admission's invalidation and live notification): on Redis
    both happen and it answers the subscribers reached; on the fallback the keys go from the
    local copy and nothing is published (None)."""
    listener = raw.pubsub(ignore_subscribe_messages=True)
    listener.subscribe("contract-channel")
    try:
        cache.set_many({"x": 1, "y": 2, "z": 3})
        reached = cache.delete_many_and_publish(["x", "y", "missing"], "contract-channel", "hi")
        assert cache.get_many(["x", "y", "z"]) == {"z": 3}
        # Briefly on the fallback: the prober closes the breaker on the live Redis within 1 s.
        deadline, message = time.monotonic() + (2 if path == "redis" else 0.3), None
        while message is None and time.monotonic() < deadline:  # past the subscribe's answer
            message = listener.get_message(timeout=0.2)
        if path == "redis":
            assert reached == 1
            assert message is not None and message["data"] == b"hi"
        else:
            assert reached is None
            assert message is None
    finally:
        listener.close()


def test_incr_decr(cache):
    cache.set("n", 10)
    assert cache.incr("n") == 11
    assert cache.incr("n", 5) == 16
    assert cache.decr("n") == 15
    assert cache.decr("n", 10) == 5
    assert cache.get("n") == 5
    with pytest.raises(ValueError):
        cache.incr("no-such-key")
    with pytest.raises(ValueError):
        cache.decr("no-such-key")


def test_touch(cache):
    assert cache.touch("missing") is False
    cache.set("t", 1, timeout=0.3)
    assert cache.touch("t", None) is True
    time.sleep(0.4)
    assert cache.get("t") == 1


def test_has_key_and_contains(cache):
    cache.set("here", 1)
    assert cache.has_key("here") is True
    assert "here" in cache
    assert cache.has_key("not-here") is False
    assert "not-here" not in cache


def test_timeouts_zero_expires_short_and_none(cache):
    cache.set("zero", 1, timeout=0)
    assert cache.get("zero") is None
    assert cache.add("zero-add", 1, timeout=0) is True
    assert cache.get("zero-add") is None
    cache.set("short", 1, timeout=0.2)
    cache.set("forever", 1, timeout=None)
    deadline = time.monotonic() + 5  # a sub-second timeout expires (never "no expiry")
    while cache.get("short") is not None:
        assert time.monotonic() < deadline, "a 0.2 s entry was still there after 5 s"
        time.sleep(0.05)
    assert cache.get("forever") == 1


def test_default_timeout_sentinel_applies_the_backend_default(cache, path, raw):
    cache.set("default-ttl", 1, timeout=DEFAULT_TIMEOUT)
    cache.set("implicit-ttl", 1)
    for key in ("default-ttl", "implicit-ttl"):
        if path == "redis":
            remaining = raw.pttl(cache.make_key(key)) / 1000
        else:
            remaining = cache._local._expire_info[cache._local.make_key(key)] - time.time()
        assert 55 < remaining <= 60  # TIMEOUT=60 in settings; fallback default 60 s


def test_version(cache):
    cache.set("v", "one")
    cache.set("v", "two", version=2)
    assert cache.get("v") == "one"
    assert cache.get("v", version=2) == "two"
    assert cache.get_many(["v"], version=2) == {"v": "two"}
    assert cache.delete("v", version=2) is True
    assert cache.get("v") == "one"
    assert cache.incr_version("v") == 2
    assert cache.get("v") is None
    assert cache.get("v", version=2) == "one"
    assert cache.decr_version("v", version=2) == 1
    assert cache.get("v") == "one"


def test_get_or_set(cache):
    assert cache.get_or_set("gos", lambda: "made") == "made"
    assert cache.get_or_set("gos", "other") == "made"


def test_clear_empties_this_cache(cache, path, raw):
    cache.set_many({"a": 1, "b": 2})
    raw.set("not-a-cache-key", 1)
    cache.clear()
    assert cache.get_many(["a", "b"]) == {}
    if path == "redis":
        # Never FLUSHDB: the raw client's counters share the database.
        assert raw.get("not-a-cache-key") == b"1"


def test_async_twins(cache):
    async def scenario():
        await cache.aset("a", 1)
        assert await cache.aget("a") == 1
        assert await cache.aget("missing", "d") == "d"
        assert await cache.aadd("a", 2) is False
        assert await cache.aadd("b", 2) is True
        assert await cache.aset_many({"c": 3, "d": 4}) == []
        assert await cache.aget_many(["a", "b", "c", "zzz"]) == {"a": 1, "b": 2, "c": 3}
        assert await cache.aincr("a", 10) == 11
        assert await cache.adecr("a") == 10
        assert await cache.ahas_key("a") is True
        assert await cache.atouch("a", None) is True
        assert await cache.adelete("a") is True
        assert await cache.adelete("a") is False
        await cache.adelete_many(["b", "c"])
        assert await cache.aget_or_set("e", "made") == "made"
        assert await cache.aincr_version("e") == 2
        await cache.aclear()
        assert await cache.aget_many(["d", "e"]) == {}
        await cache.aclose()

    asyncio.run(scenario())
