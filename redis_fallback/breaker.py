"""A thread-safe circuit breaker: closed -> open -> half-open (one probe) -> closed or open.

The breaker is a pure state machine: it never talks to Redis. Callers ask ``acquire()`` before a
call and report what happened: a closed breaker lets them through, an open one denies them at
once. Callers never probe: the process's background prober (``prober.py``) asks
``begin_probe()`` once the reset interval has passed. Time comes from injectable clocks so unit
tests can run it on a fake clock.

Logging is for an operator reading it at 3 a.m.: one WARNING when Redis becomes unavailable, one
INFO when it is back, and while the outage lasts one summary line per ``summary_seconds`` (written
when the prober asks, ``log_summary_if_due``). The probes themselves (half-open, failed) are
DEBUG: at one probe a second they were two lines a second. Nothing is logged per call.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

logger = logging.getLogger("redis_fallback")


class State(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Permit(enum.Enum):
    """What ``acquire()`` allows the caller to do."""

    PASS = "pass"  # breaker closed: call Redis
    DENY = "deny"  # breaker open or probing: use the fallback


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of the breaker's state for status reports."""

    state: State
    # When the current availability began: the outage's start while open or half-open (probes do
    # not move it), the recovery time while closed (or the process's start).
    since: datetime
    last_error: str | None
    last_error_time: datetime | None
    # Probes of the current outage; 0 while closed.
    reconnect_attempts: int
    # When the current outage began (the breaker opened from closed); None while closed.
    outage_since: datetime | None = None
    # Calls answered by the fallback during the current outage (approximate under races).
    fallback_calls: int = 0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def describe_duration(seconds: float) -> str:
    """Return a short human duration: ``45s``, ``3m``, ``3m 12s``, ``2h 05m``."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m" + (f" {secs:02d}s" if secs else "")
    return f"{secs}s"


def _clock_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%S UTC")


class CircuitBreaker:
    """Open on the first failure, let one probe through per reset interval, close on success."""

    def __init__(
        self,
        *,
        reset_seconds: float | Callable[[], float],
        summary_seconds: float | Callable[[], float] = 60.0,
        name: str = "Redis",
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._reset_seconds = reset_seconds
        self._summary_seconds = summary_seconds
        self.name = name
        self._clock = clock
        self._wallclock = wallclock
        self._lock = threading.Lock()
        self.reset()

    # --- queries ---------------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    def reset_interval(self) -> float:
        """Return the seconds an open breaker waits before it lets one probe through."""
        value = self._reset_seconds
        return float(value() if callable(value) else value)

    def _probe_due(self) -> bool:
        return self._clock() - self._opened_at >= self.reset_interval()

    def seconds_until_probe(self) -> float:
        """Return how long an open breaker waits before its next probe (0 when due)."""
        with self._lock:
            return max(0.0, self._opened_at + self.reset_interval() - self._clock())

    def is_available(self) -> bool:
        """Tell, without side effects, whether a call now would be let through to Redis."""
        return self._state is State.CLOSED

    def snapshot(self) -> Snapshot:
        """Return a consistent copy of the state for status reports."""
        with self._lock:
            return Snapshot(
                state=self._state,
                since=self._since,
                last_error=self._last_error,
                last_error_time=self._last_error_time,
                reconnect_attempts=self._reconnect_attempts,
                outage_since=self._outage_since,
                fallback_calls=self._fallback_calls,
            )

    # --- transitions -----------------------------------------------------------------------------
    def acquire(self) -> Permit:
        """Decide, without waiting, whether the caller may use Redis now."""
        if self._state is State.CLOSED:
            return Permit.PASS
        # No lock on the hot path: a lost increment under a race only makes a log figure low.
        self._fallback_calls += 1
        return Permit.DENY

    def begin_probe(self) -> bool:
        """Move an open breaker whose interval has passed to half-open; True for the one prober."""
        with self._lock:
            if self._state is not State.OPEN or not self._probe_due():
                return False
            self._reconnect_attempts += 1
            self._move(State.HALF_OPEN)
            attempt = self._reconnect_attempts
        logger.debug("%s breaker half-open: probing (attempt %d)", self.name, attempt)
        return True

    def record_failure(self, error: str) -> bool:
        """Record a connection failure of a normal call; return True if it opened the breaker.

        Only a failure seen while closed opens the breaker. Failures of calls that were already
        in flight when it opened only update ``last_error``; the probe reports ``probe_failed``.
        """
        with self._lock:
            self._note_error(error)
            if self._state is not State.CLOSED:
                return False
            self._reconnect_attempts = 0
            self._fallback_calls = 1  # the failed call itself is answered by the fallback
            self._opened_at = self._last_summary_at = self._clock()
            self._move(State.OPEN)
            self._outage_since = self._since
            interval = self.reset_interval()
        logger.warning(
            "%s unavailable (%s): breaker open, serving from the fallback; one probe every %.1f s",
            self.name,
            error,
            interval,
        )
        return True

    def probe_failed(self, error: str) -> None:
        """Re-open the breaker after a failed probe; the reset interval starts again."""
        with self._lock:
            self._note_error(error)
            if self._state is not State.HALF_OPEN:
                return
            self._opened_at = self._clock()
            self._move(State.OPEN)
            attempt = self._reconnect_attempts
        logger.debug("%s probe %d failed (%s): breaker re-opened", self.name, attempt, error)

    def probe_succeeded(self) -> None:
        """Close the breaker after a successful probe."""
        with self._lock:
            if self._state is not State.HALF_OPEN:
                return
            began = self._outage_since
            attempts, served = self._reconnect_attempts, self._fallback_calls
            self._move(State.CLOSED)
            self._outage_since = None
            self._reconnect_attempts = self._fallback_calls = 0
            lasted = (self._since - began).total_seconds() if began else 0.0
        logger.info(
            "%s reachable again after %s (unavailable since %s; %d probe(s), %d calls served by "
            "the fallback): breaker closed, using Redis",
            self.name,
            describe_duration(lasted),
            _clock_time(began) if began else "?",
            attempts,
            served,
        )

    def log_summary_if_due(self) -> bool:
        """While an outage lasts, write one summary line per summary interval; True if written."""
        value = self._summary_seconds
        every = float(value() if callable(value) else value)
        with self._lock:
            began = self._outage_since
            if self._state is State.CLOSED or began is None or every <= 0:
                return False
            if self._clock() - self._last_summary_at < every:
                return False
            self._last_summary_at = self._clock()
            lasted = (self._wallclock() - began).total_seconds()
            served, attempts, error = (
                self._fallback_calls,
                self._reconnect_attempts,
                self._last_error,
            )
        logger.warning(
            "%s still unavailable for %s (since %s), %d calls served by the fallback, %d probe(s) "
            "failed; last error: %s",
            self.name,
            describe_duration(lasted),
            _clock_time(began),
            served,
            attempts,
            error,
        )
        return True

    def reset(self) -> None:
        """Close the breaker and forget errors and attempts (start-up and tests)."""
        with self._lock:
            self._state = State.CLOSED
            self._since = self._wallclock()
            self._opened_at = 0.0
            self._last_error: str | None = None
            self._last_error_time: datetime | None = None
            self._reconnect_attempts = 0
            self._outage_since: datetime | None = None
            self._fallback_calls = 0
            self._last_summary_at = 0.0

    def reinit_lock_after_fork(self) -> None:
        """Give a forked child a fresh lock (a parent thread may have held the old one)."""
        self._lock = threading.Lock()

    # --- helpers (lock held) ---------------------------------------------------------------------
    def _move(self, state: State) -> None:
        # ``since`` marks a change of availability (closed <-> not closed), not every probe.
        if (state is State.CLOSED) != (self._state is State.CLOSED):
            self._since = self._wallclock()
        self._state = state

    def _note_error(self, error: str) -> None:
        self._last_error = error
        self._last_error_time = self._wallclock()


def register_fork_handler(breaker: CircuitBreaker) -> None:
    """Re-create the breaker's lock in forked children (gunicorn/celery prefork)."""
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=breaker.reinit_lock_after_fork)
