"""Probe an unavailable Redis in the background, so that no request waits on it more than once.

A request that finds Redis hung waits one socket timeout and opens the breaker; from then on every
call of the process is denied at once (no network wait) until the breaker closes again. Closing it
is this module's job, not a request's: while the breaker is open a daemon thread of the process
waits out the reset interval, takes the half-open state (``begin_probe``) and runs the probe —
PING, then the recovery callbacks that reseed Redis from MongoDB — so no door request ever carries
a probe or a reseed. The thread exists only while the breaker is open and ends when it closes.

Safe under pre-fork servers: nothing starts before the first outage a process sees, and a child
forked during an outage forgets its parent's thread and starts its own on its first denied call.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from .breaker import CircuitBreaker, State

logger = logging.getLogger("redis_fallback")

_POLL_CAP = 0.5  # seconds: how long the thread sleeps at most before looking at the breaker
# Seconds between two probes at least, whatever the reset interval: with a reset of 0 (the
# benchmark's "plain" setup) the thread probed in a busy loop, 157,000 probes in a few minutes,
# taking the CPU from the requests it was measured against.
MIN_PROBE_GAP = 0.1


class Prober:
    """One background thread per process that probes while the breaker is open."""

    def __init__(
        self,
        breaker: CircuitBreaker,
        probe: Callable[[], bool],
        after_probe: Callable[[], None] = lambda: None,
    ) -> None:
        self._breaker = breaker
        self._probe = probe
        self._after_probe = after_probe
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def ensure_running(self) -> None:
        """Start the thread if the breaker is not closed and none runs (cheap when one does)."""
        if self.running or self._breaker.state is State.CLOSED:
            return
        with self._lock:
            if self.running:
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="redis-fallback-prober", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and self._breaker.state is not State.CLOSED:
            self._breaker.log_summary_if_due()  # the outage's one line a minute
            wait = self._breaker.seconds_until_probe()
            if wait > 0:
                self._stop.wait(min(wait, _POLL_CAP))
                continue
            if not self._breaker.begin_probe():
                continue
            try:
                self._probe()
            except BaseException:  # _probe reports every failure itself; never let one kill us
                logger.exception("Redis probe crashed")
            finally:
                self._after_probe()
            self._stop.wait(MIN_PROBE_GAP)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (tests start every test with none running)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None

    def after_fork_in_child(self) -> None:
        """A forked child has no thread of its parent's: forget it and start afresh if needed."""
        self._reset()


def register_prober_fork_handler(prober: Prober) -> None:
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=prober.after_fork_in_child)
