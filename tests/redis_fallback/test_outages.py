"""Acceptance 1-3: Redis killed, paused and restarted empty under a running cache workload."""

from __future__ import annotations

import threading
import time

import redis
from django.conf import settings
from django.test import override_settings

from redis_fallback import (
    connection_status,
    get_redis,
    is_redis_available,
    register_recovery_callback,
)
from redis_fallback.prober import MIN_PROBE_GAP
from redis_fallback.testing import unregister_recovery_callback

from .conftest import fallback_records, make_cache

SHORT_RESET = 0.3


def test_sigkill_during_get_set_loop_is_invisible_to_callers(redis_server, cache, caplog):
    killer = threading.Timer(0.1, redis_server.kill)
    killer.start()
    calls_before_outage = None
    after_outage: dict[str, int] = {}
    i = 0
    deadline = time.monotonic() + 10
    try:
        while len(after_outage) < 200 and time.monotonic() < deadline:
            key = f"loop:{i}"
            in_outage = connection_status()["using_fallback"]
            cache.set(key, i)  # any exception here fails the test
            value = cache.get(key)
            if in_outage:
                # A value set in Redis just before the kill is lost with it; once the outage
                # is known, every value set is readable from the fallback.
                assert value == i
                calls_before_outage = calls_before_outage or i
                after_outage[key] = i
            i += 1
    finally:
        killer.join()
    assert calls_before_outage and calls_before_outage > 10, "the loop ran before the kill"
    assert len(after_outage) == 200
    # Values written during the outage are served from the fallback.
    assert cache.get_many(list(after_outage)) == after_outage
    status = connection_status()
    assert status["using_fallback"] is True
    assert status["breaker_state"] == "open"
    assert status["cache_connected"] is False
    assert status["last_error"].startswith("ConnectionError")
    assert "127.0.0.1" not in status["last_error"]
    # One warning for the transition, not one per call.
    assert len([r for r in fallback_records(caplog) if r.levelname == "WARNING"]) == 1


def test_sigstop_first_call_is_bounded_then_breaker_skips_redis(
    redis_server, cache, caplog, caller_network_calls
):
    cache.set("k", "v")
    socket_timeout = settings.REDIS_SOCKET_TIMEOUT
    redis_server.pause()

    caller_network_calls.clear()
    started = time.perf_counter()
    assert cache.get("k", "fallback-default") == "fallback-default"
    first_call = time.perf_counter() - started
    # Bounded by counting: the first call sends its one command and waits out one socket timeout
    # (a lower bound, which load only lengthens), with no retry after it.
    assert [kind for kind, _ in caller_network_calls if kind == "send_packed_command"] == [
        "send_packed_command"
    ]
    assert first_call >= socket_timeout * 0.8

    caller_network_calls.clear()
    for i in range(500):
        cache.set(f"hung:{i}", i)
        cache.get(f"hung:{i}")
    assert caller_network_calls == []  # a thousand calls, none of them waits on the hung Redis

    # The raw client shares the breaker: no network wait either.
    assert get_redis().sadd("members", "a") == 0
    assert caller_network_calls == []
    assert connection_status()["breaker_state"] == "open"
    assert connection_status()["last_error"].startswith("TimeoutError")
    assert len(fallback_records(caplog)) == 1


def test_client_discovers_a_hung_redis_with_one_command_and_no_retry(
    redis_server, raw, caller_network_calls
):
    assert get_redis().set("c", 1) is True
    redis_server.pause()
    caller_network_calls.clear()
    assert get_redis().get("c") is None
    assert [kind for kind, _ in caller_network_calls if kind == "send_packed_command"] == [
        "send_packed_command"
    ]
    assert connection_status()["client_connected"] is False


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.01)


@override_settings(REDIS_BREAKER_RESET_SECONDS=SHORT_RESET)
def test_restart_empty_recovers_in_the_background_and_runs_callbacks_once(
    redis_server, cache, raw, caller_network_calls
):
    seen: list[dict] = []

    def reseed(client: redis.Redis) -> None:
        # Runs before the breaker closes, in the prober's thread: other callers get the fallback.
        seen.append(
            {
                "client": client,
                "status": connection_status(),
                "thread": threading.current_thread().name,
            }
        )
        client.set("reseeded", 1)

    register_recovery_callback(reseed)
    try:
        cache.set("before", 1)
        redis_server.kill()
        assert cache.get("before") is None  # discovers the outage
        cache.set("during", 2)
        assert cache.get("during") == 2  # from the fallback
        # The prober tries on its own, every reset interval; no request is needed for that.
        _wait_for(lambda: connection_status()["reconnect_attempts"] >= 1, 2, "a probe")
        assert connection_status()["breaker_state"] in ("open", "half_open")
        caller_network_calls.clear()
        for _ in range(200):
            cache.get("x")  # callers never probe: no network wait while it is down
        assert caller_network_calls == []

        redis_server.start()  # empty
        restarted = time.monotonic()
        _wait_for(lambda: connection_status()["breaker_state"] == "closed", 2, "recovery")
        assert time.monotonic() - restarted <= SHORT_RESET + 1.0

        status = connection_status()
        assert status["cache_connected"] and status["client_connected"]
        assert status["using_fallback"] is False
        assert len(seen) == 1
        assert isinstance(seen[0]["client"], redis.Redis)
        assert seen[0]["status"]["breaker_state"] == "half_open"
        assert seen[0]["thread"] == "redis-fallback-prober"
        assert raw.get("reseeded") == b"1"

        # Calls reach Redis again, and the stale fallback copy is gone.
        assert cache.get("during") is None
        cache.set("after", 3)
        assert raw.exists(cache.make_key("after")) == 1
        for _ in range(20):
            cache.get("after")
        assert len(seen) == 1
    finally:
        unregister_recovery_callback(reseed)


@override_settings(REDIS_BREAKER_RESET_SECONDS=SHORT_RESET)
def test_failing_recovery_callback_keeps_breaker_open(redis_server, cache, raw, caplog):
    caplog.set_level("DEBUG", logger="redis_fallback")
    runs: list[int] = []

    def flaky(client: redis.Redis) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("reseed failed: mongodb://user:pw@db.internal/x unreachable")

    register_recovery_callback(flaky)
    try:
        redis_server.kill()
        cache.get("x")
        redis_server.start()
        # First probe: PING works, the callback fails, the breaker re-opens.
        _wait_for(lambda: len(runs) >= 1, 2, "the first probe")
        _wait_for(lambda: connection_status()["breaker_state"] == "open", 1, "re-opening")
        status = connection_status()
        assert "recovery callback" in status["last_error"]
        assert "pw@" not in status["last_error"] and "db.internal" not in status["last_error"]
        assert not is_redis_available()
        # Next probe: the callback succeeds and the breaker closes.
        _wait_for(lambda: connection_status()["breaker_state"] == "closed", 2, "recovery")
        assert len(runs) == 2
        assert "Traceback" in caplog.text  # the DEBUG line carries a masked traceback
        assert "pw@" not in caplog.text and "db.internal" not in caplog.text
    finally:
        unregister_recovery_callback(flaky)


@override_settings(REDIS_BREAKER_RESET_SECONDS=0.2)
def test_while_hung_only_the_prober_waits_on_redis(redis_server, raw, caller_network_calls):
    redis_server.pause()
    get_redis().get("k")  # opens the breaker after one socket timeout
    caller_network_calls.clear()
    threads_count = 16
    barrier = threading.Barrier(threads_count)
    results: list[object] = []

    def worker() -> None:
        barrier.wait()
        for _ in range(20):
            results.append(get_redis().get("k"))
            time.sleep(0.02)

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [None] * threads_count * 20
    # Meanwhile the prober kept probing the hung server (each probe waits one socket timeout);
    # no caller ever touched the network.
    assert caller_network_calls == []
    assert connection_status()["reconnect_attempts"] >= 1
    assert connection_status()["breaker_state"] in ("open", "half_open")


def test_fallback_store_is_bounded_and_expires_by_default(killed_redis):
    cache = make_cache(killed_redis.url, KEY_PREFIX="bounded")
    for i in range(1500):
        cache.set(f"k{i}", i)
    assert connection_status()["using_fallback"] is True
    assert len(cache._local._cache) <= 1000
    assert cache._local.default_timeout == 60


@override_settings(DJANGO_REDIS_IGNORE_EXCEPTIONS=True)
def test_django_redis_ignore_exceptions_cannot_hide_an_outage(killed_redis):
    cache = make_cache(killed_redis.url, OPTIONS={"IGNORE_EXCEPTIONS": True})
    cache.set("k", "v")
    assert connection_status()["breaker_state"] == "open"
    assert cache.get("k") == "v"  # from the fallback, not django-redis's silent None


@override_settings(REDIS_BREAKER_RESET_SECONDS=SHORT_RESET)
def test_restart_between_two_calls_is_noticed_and_runs_callbacks(redis_server, cache, raw):
    runs: list[int] = []

    def reseed(client: redis.Redis) -> None:
        runs.append(1)

    register_recovery_callback(reseed)
    try:
        cache.set("a", 1)
        get_redis().set("n", 5)
        redis_server.restart()  # no call sees the outage: redis-py would reconnect silently
        assert cache.get("a") is None
        status = connection_status()
        assert status["breaker_state"] == "open"
        assert "restarted" in status["last_error"]
        assert get_redis().get("n") is None  # breaker open: fallback, no Redis call
        # The prober: PING, callbacks, close.
        _wait_for(lambda: connection_status()["breaker_state"] == "closed", 2, "recovery")
        assert runs == [1]
        # The other pool's connections see the same run_id now: no second outage.
        assert get_redis().set("n", 6) is True
        assert connection_status()["breaker_state"] == "closed"
    finally:
        unregister_recovery_callback(reseed)


@override_settings(REDIS_BREAKER_RESET_SECONDS=0)
def test_a_zero_reset_interval_does_not_make_the_prober_spin(redis_server):
    """Reset 0 ("try Redis on every call", the benchmark's plain setup) once made the prober
    probe in a busy loop; it now waits MIN_PROBE_GAP between probes."""
    redis_server.kill()
    assert get_redis().get("c") is None  # opens the breaker; the prober starts
    time.sleep(1.0)
    attempts = connection_status()["reconnect_attempts"]
    assert 3 <= attempts <= 1.0 / MIN_PROBE_GAP + 2, attempts
