"""The circuit breaker state machine on a fake clock (pure unit tests, no Redis)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from redis_fallback.breaker import CircuitBreaker, Permit, State

from .conftest import fallback_records


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.wall = datetime(2030, 1, 1, tzinfo=UTC)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += timedelta(seconds=seconds)

    def monotonic(self) -> float:
        return self.now

    def wallclock(self) -> datetime:
        return self.wall


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def breaker(clock):
    return CircuitBreaker(reset_seconds=5.0, clock=clock.monotonic, wallclock=clock.wallclock)


def test_starts_closed_and_lets_calls_through(breaker, clock):
    assert breaker.state is State.CLOSED
    assert breaker.acquire() is Permit.PASS
    assert breaker.is_available()
    snap = breaker.snapshot()
    assert snap.since == clock.wall
    assert (snap.last_error, snap.last_error_time, snap.reconnect_attempts) == (None, None, 0)


def test_first_failure_opens_and_denies_without_waiting(breaker, clock):
    assert breaker.record_failure("ConnectionError: refused") is True
    assert breaker.state is State.OPEN
    assert breaker.acquire() is Permit.DENY
    assert not breaker.is_available()
    # A second failure from a call already in flight only updates the error.
    clock.advance(1)
    assert breaker.record_failure("TimeoutError: late") is False
    snap = breaker.snapshot()
    assert snap.last_error == "TimeoutError: late"
    assert snap.last_error_time == clock.wall
    assert snap.since == clock.wall - timedelta(seconds=1)


def test_exactly_one_probe_after_the_reset_interval_and_callers_never_probe(breaker, clock):
    breaker.record_failure("ConnectionError: refused")
    clock.advance(4.9)
    assert breaker.seconds_until_probe() == pytest.approx(0.1)
    assert breaker.begin_probe() is False
    clock.advance(0.1)
    assert breaker.acquire() is Permit.DENY  # a caller never probes, even when one is due
    assert not breaker.is_available()
    assert breaker.begin_probe() is True
    assert breaker.state is State.HALF_OPEN
    assert breaker.begin_probe() is False
    assert [breaker.acquire() for _ in range(100)] == [Permit.DENY] * 100
    assert breaker.snapshot().reconnect_attempts == 1


def test_failed_probe_reopens_and_restarts_the_interval(breaker, clock):
    breaker.record_failure("ConnectionError: refused")
    clock.advance(5)
    assert breaker.begin_probe()
    clock.advance(2)
    breaker.probe_failed("ConnectionError: still refused")
    assert breaker.state is State.OPEN
    assert breaker.snapshot().since == clock.wall - timedelta(seconds=7)  # the outage's start
    clock.advance(4.9)
    assert not breaker.begin_probe()
    clock.advance(0.1)
    assert breaker.begin_probe()
    assert breaker.snapshot().reconnect_attempts == 2


def test_successful_probe_closes_and_counts_attempts_per_outage(breaker, clock):
    breaker.record_failure("ConnectionError: refused")
    for _ in range(3):
        clock.advance(5)
        assert breaker.begin_probe()
        breaker.probe_failed("ConnectionError: refused")
    clock.advance(5)
    assert breaker.begin_probe()
    breaker.probe_succeeded()
    assert breaker.state is State.CLOSED
    assert breaker.acquire() is Permit.PASS
    snap = breaker.snapshot()
    assert (snap.reconnect_attempts, snap.since) == (0, clock.wall)  # recovered just now
    breaker.record_failure("TimeoutError: again")
    clock.advance(5)
    assert breaker.begin_probe()
    assert breaker.snapshot().reconnect_attempts == 1


def test_failures_of_other_calls_do_not_end_the_half_open_state(breaker, clock):
    breaker.record_failure("ConnectionError: refused")
    clock.advance(5)
    assert breaker.begin_probe()
    assert breaker.record_failure("TimeoutError: stale call") is False
    assert breaker.state is State.HALF_OPEN
    breaker.probe_succeeded()
    assert breaker.state is State.CLOSED


def test_probe_results_outside_half_open_are_ignored(breaker):
    breaker.probe_succeeded()
    breaker.probe_failed("x")
    assert breaker.state is State.CLOSED
    breaker.record_failure("y")
    breaker.probe_succeeded()
    assert breaker.state is State.OPEN


def test_reset_interval_is_read_on_each_decision(clock):
    interval = {"value": 10.0}
    breaker = CircuitBreaker(
        reset_seconds=lambda: interval["value"], clock=clock.monotonic, wallclock=clock.wallclock
    )
    breaker.record_failure("ConnectionError: refused")
    clock.advance(1)
    assert not breaker.begin_probe()
    interval["value"] = 0.5
    assert breaker.begin_probe()


def test_reset_closes_and_forgets(breaker, clock):
    breaker.record_failure("ConnectionError: refused")
    clock.advance(5)
    breaker.begin_probe()
    breaker.reset()
    snap = breaker.snapshot()
    assert (snap.state, snap.last_error, snap.reconnect_attempts) == (State.CLOSED, None, 0)


def test_many_threads_get_exactly_one_probe(breaker, clock):
    breaker.record_failure("ConnectionError: refused")
    clock.advance(5)
    threads_count = 32
    barrier = threading.Barrier(threads_count)
    probes: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        took = breaker.begin_probe()
        with lock:
            probes.append(took)

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert probes.count(True) == 1
    assert breaker.snapshot().reconnect_attempts == 1


def test_one_log_line_per_transition_never_per_call(breaker, clock, caplog):
    caplog.set_level("DEBUG", logger="redis_fallback")
    breaker.record_failure("ConnectionError: refused")
    for _ in range(1000):
        breaker.acquire()
        breaker.record_failure("ConnectionError: refused")
    clock.advance(5)
    breaker.begin_probe()
    breaker.probe_failed("ConnectionError: refused")
    clock.advance(5)
    breaker.begin_probe()
    breaker.probe_succeeded()
    for _ in range(1000):
        breaker.acquire()
    messages = [record.getMessage() for record in fallback_records(caplog)]
    assert len(messages) == 5, messages
    assert "breaker open" in messages[0]
    assert "half-open" in messages[1]
    assert "re-opened" in messages[2]
    assert "half-open" in messages[3]
    assert "breaker closed" in messages[4]


def test_since_is_when_the_outage_began_whatever_the_probes_do(breaker, clock):
    assert breaker.snapshot().outage_since is None
    breaker.record_failure("ConnectionError: refused")
    began = clock.wall
    for _ in range(2):
        clock.advance(5)
        assert breaker.begin_probe()
        breaker.probe_failed("ConnectionError: refused")
    snap = breaker.snapshot()
    assert (snap.outage_since, snap.since) == (began, began)
    clock.advance(5)
    assert breaker.begin_probe()
    breaker.probe_succeeded()
    snap = breaker.snapshot()
    assert (snap.outage_since, snap.since, snap.reconnect_attempts) == (None, clock.wall, 0)


def test_a_long_outage_logs_its_start_a_summary_a_minute_and_its_end(clock, caplog):
    caplog.set_level("INFO", logger="redis_fallback")
    breaker = CircuitBreaker(
        reset_seconds=1.0, summary_seconds=60.0, clock=clock.monotonic, wallclock=clock.wallclock
    )
    breaker.record_failure("ConnectionError: refused")
    for _ in range(180):  # three minutes: a probe a second, a few denied calls each second
        clock.advance(1)
        for _ in range(3):
            breaker.acquire()
        breaker.log_summary_if_due()
        assert breaker.begin_probe()
        breaker.probe_failed("ConnectionError: refused")
    clock.advance(1)
    assert breaker.begin_probe()
    breaker.probe_succeeded()
    messages = [record.getMessage() for record in fallback_records(caplog)]
    assert len(messages) == 5, messages
    assert "unavailable" in messages[0] and "breaker open" in messages[0]
    assert messages[1].startswith("Redis still unavailable for 1m (since 00:00:00 UTC), 181 calls")
    assert messages[3].startswith("Redis still unavailable for 3m (since 00:00:00 UTC), 541 calls")
    assert "reachable again after 3m 01s" in messages[4] and "181 probe(s)" in messages[4]
