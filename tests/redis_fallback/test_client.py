"""The client provider on both paths, is_redis_available(), ping(), and no I/O at start-up."""

from __future__ import annotations

import socket
import time

import pytest
from django.test import override_settings

from redis_fallback import connection_status, get_redis, is_redis_available, ping
from redis_fallback.guarded_client import NULL_RESULTS
from redis_fallback.testing import reset_for_tests

from .conftest import make_cache

EXPECTED_NULLS = {
    "get": None,
    "set": False,
    "delete": 0,
    "sadd": 0,
    "srem": 0,
    "sismember": False,
    "scard": 0,
    "smembers": set(),
    "ping": False,
    "publish": 0,
}
NULL_CALLS = {
    "get": ("k",),
    "set": ("k", 1),
    "delete": ("k",),
    "sadd": ("s", "a"),
    "srem": ("s", "a"),
    "sismember": ("s", "a"),
    "scard": ("s",),
    "smembers": ("s",),
    "ping": (),
    "publish": ("c", "m"),
}


def test_real_client_forwards_to_redis(raw):
    client = get_redis()
    assert client.set("k", "v") is True
    assert client.get("k") == b"v"
    assert client.sadd("s", "a", "b") == 2
    assert client.sismember("s", "a") == 1  # redis-py returns the integer reply
    assert client.scard("s") == 2
    assert client.smembers("s") == {b"a", b"b"}
    assert client.srem("s", "a") == 1
    assert client.delete("k") == 1
    assert ping() is True
    assert is_redis_available() is True


def test_null_client_during_outage_needs_no_network(redis_server, raw, caller_network_calls):
    assert set(EXPECTED_NULLS) == set(NULL_RESULTS)
    redis_server.kill()
    client = get_redis()
    assert client.get("k") is None  # discovers the outage
    assert is_redis_available() is False
    assert caller_network_calls  # that first call did try the network
    caller_network_calls.clear()
    for name, expected in EXPECTED_NULLS.items():
        assert getattr(client, name)(*NULL_CALLS[name]) == expected, name
    assert ping() is False
    assert caller_network_calls == []  # the breaker answered every call without a socket
    client.smembers("s").add("mutated")
    assert client.smembers("s") == set()


def test_redis_comes_back_by_itself_with_no_call_at_all(redis_server, raw):
    """The background prober closes the breaker; is_redis_available() never probes."""
    with override_settings(REDIS_BREAKER_RESET_SECONDS=0.1):
        redis_server.kill()
        assert ping() is False
        assert is_redis_available() is False
        deadline = time.monotonic() + 10
        while connection_status()["reconnect_attempts"] < 2:  # the prober probes, unasked
            assert time.monotonic() < deadline, "the prober did not probe the dead Redis"
            time.sleep(0.01)
        assert is_redis_available() is False  # probes failed, and callers never probe
        redis_server.start()
        deadline = time.monotonic() + 10
        while not is_redis_available():  # no Redis call is made here
            assert time.monotonic() < deadline, "the prober did not close the breaker"
            time.sleep(0.01)
        assert connection_status()["reconnect_attempts"] == 0  # the outage is over
        assert raw.ping()


def test_nothing_touches_redis_until_the_first_call():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
        with override_settings(REDIS_URL=url):
            reset_for_tests()
            make_cache(url)
            get_redis()
            connection_status()
            is_redis_available()
            with pytest.raises(BlockingIOError):
                listener.accept()
