"""Acceptance 4: Lua scripts reload after SCRIPT FLUSH and a restart, and degrade to -1."""

from __future__ import annotations

import time

import pytest
import redis
from django.test import override_settings

from redis_fallback import SCRIPT_UNAVAILABLE, LuaScript, connection_status, is_redis_available

INCR = LuaScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")


def test_script_loads_once_and_reloads_after_script_flush(raw):
    assert INCR(keys=["seats"], args=[2]) == 2
    assert raw.script_exists(INCR.sha) == [True]
    raw.script_flush()
    assert raw.script_exists(INCR.sha) == [False]
    assert INCR(keys=["seats"], args=[3]) == 5
    assert raw.script_exists(INCR.sha) == [True]
    assert connection_status()["breaker_state"] == "closed"


@override_settings(REDIS_BREAKER_RESET_SECONDS=0.2)
def test_script_returns_unavailable_during_outage_and_reloads_after_restart(
    redis_server, raw, caller_network_calls
):
    assert INCR(keys=["seats"], args=[1]) == 1
    redis_server.kill()
    assert INCR(keys=["seats"], args=[1]) == SCRIPT_UNAVAILABLE
    caller_network_calls.clear()
    assert INCR(keys=["seats"], args=[1]) == SCRIPT_UNAVAILABLE  # breaker open: no I/O
    assert caller_network_calls == []
    redis_server.start()  # empty: no scripts loaded
    deadline = time.monotonic() + 10
    while not is_redis_available():  # the prober's PING closes the breaker
        assert time.monotonic() < deadline, "the breaker did not close after the restart"
        time.sleep(0.01)
    assert INCR(keys=["seats"], args=[1]) == 1  # NOSCRIPT -> load -> retry


def test_script_errors_propagate_and_leave_the_breaker_closed(raw):
    raw.sadd("a-set", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        INCR(keys=["a-set"], args=[1])
    with pytest.raises(redis.ResponseError):
        LuaScript("return redis.call('NOSUCHCOMMAND')")()
    assert connection_status()["breaker_state"] == "closed"
