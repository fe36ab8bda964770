"""Worker liveness: a heartbeat health can read, and a watchdog that ends a worker that stopped consuming.

The known way a worker stops consuming (an acknowledgement Redis missed) is fixed in the transport
(``jobs_app/celery_broker.py``). Consumers of Celery and kombu have hung after broker faults in
other ways before, each fixed later; a worker that stays up without taking tasks is the worst
outcome (no reconcile, no outbox flush, and nothing restarts it). So the worker's main process
also runs a watchdog thread: when tasks wait in the worker's queues, the worker has a free slot
and nothing was taken for ``CELERY_WORKER_STUCK_SECONDS``, it logs one CRITICAL line and exits
with code 70 (a warm shutdown first; ``os._exit`` if that does not finish within a grace period),
so that its supervisor (``make run``, docker compose ``restart:``, the chaos stack) starts a new
one, which consumes at once.

The heartbeat: every task a worker starts records the time in MongoDB (``JobRun`` named
``celery_worker``, at most every few seconds per process); ``/health`` reports a worker that has
not started any task for two reconcile intervals (beat queues two tasks every interval).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

import pymongo
from celery.worker import state as worker_state
from django.conf import settings

from redis_fallback.broker_queues import REDIS_BROKER_SCHEMES, broker_queue_length_reader

from .schedule import HEARTBEAT_JOB
from .services import job_run_record

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY_SECONDS = 5.0
EXIT_STUCK = 70  # EX_SOFTWARE: the supervisor restarts the worker
# kombu's Redis transport keeps priorities 3, 6 and 9 in lists named queue + "\x06\x16" + priority.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")

_last_heartbeat = 0.0
_last_received = time.monotonic()


def task_received_mark() -> None:
    """Note that the worker just took a task from the broker (main process)."""
    global _last_received  # noqa: PLW0603 - one per process, read by the watchdog thread
    _last_received = time.monotonic()


def worker_heartbeat_record() -> None:
    """Record that this worker starts a task (throttled; never fails or delays the task long)."""
    global _last_heartbeat  # noqa: PLW0603 - one throttle per process

    now = time.monotonic()
    # Well inside the two intervals after which /health calls the worker stale.
    every = min(HEARTBEAT_EVERY_SECONDS, settings.RECONCILE_INTERVAL_SECONDS / 4)
    if now - _last_heartbeat < every:
        return
    _last_heartbeat = now

    try:
        with pymongo.timeout(1.0):  # MongoDB down or hung: the task learns soon enough itself
            job_run_record(name=HEARTBEAT_JOB, success=True, summary={"pid": os.getpid()})
    except Exception as exc:  # the heartbeat must never fail a task
        logger.warning("Worker heartbeat not recorded: %s", type(exc).__name__)


class ConsumptionWatchdog(threading.Thread):
    """End the worker process when it has stopped taking tasks that wait for it.

    ``waiting`` returns how many messages wait in the worker's queues (raises when the broker
    does not answer: then nothing is judged, the consumer's own reconnect handles outages);
    ``busy`` tells whether every slot of the worker is taken (then waiting is normal).
    """

    def __init__(
        self,
        *,
        waiting: Callable[[], int],
        busy: Callable[[], bool],
        stuck_seconds: float,
        interval: float | None = None,
        grace_seconds: float = 15.0,
        on_stuck: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="consumption-watchdog", daemon=True)
        self.waiting = waiting
        self.busy = busy
        self.stuck_seconds = stuck_seconds
        self.interval = interval or max(0.5, min(5.0, stuck_seconds / 6))
        self.grace_seconds = grace_seconds
        self.on_stuck = on_stuck
        self.stopping = threading.Event()
        self._since: float | None = None  # waiting with a free slot, no progress, since then
        self._last_waiting = 0

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                stuck_for = self.check()
            except Exception:  # never let the watchdog itself take the worker down by mistake
                logger.exception("Consumption watchdog check failed")
                continue
            if stuck_for is not None:
                self.give_up(stuck_for)
                return

    def check(self) -> float | None:
        """Look once; return for how long the worker has been stuck if that is too long."""
        now = time.monotonic()
        try:
            waiting = 0 if self.busy() else self.waiting()
        except Exception:  # the broker does not answer: an outage, not a stuck consumer
            waiting = 0
        progressed = waiting < self._last_waiting or (
            self._since is not None and _last_received > self._since
        )
        self._last_waiting = waiting
        if not waiting:
            self._since = None
        elif self._since is None or progressed:
            self._since = now
        elif now - self._since >= self.stuck_seconds:
            return now - self._since
        return None

    def give_up(self, stuck_for: float) -> None:
        """Stop the worker (warm shutdown, exit code 70); force the exit if that hangs."""
        logger.critical(
            "Worker took no task for %.0f s although tasks wait in its queues and it has a free "
            "slot: exiting (code %d) so that its supervisor starts a new one",
            stuck_for, EXIT_STUCK,
        )  # fmt: skip
        if self.on_stuck is not None:
            self.on_stuck()
        time.sleep(self.grace_seconds)
        logger.critical(
            "Worker still running %.0f s after the stop: exiting now", self.grace_seconds
        )
        os._exit(EXIT_STUCK)


def redis_queue_length(broker_url: str, queues: Iterable[str]) -> Callable[[], int]:
    """Return a function counting the messages waiting in ``queues`` on the Redis broker."""
    keys = [queue + suffix for queue in queues for suffix in _PRIORITY_SUFFIXES]
    return broker_queue_length_reader(broker_url, keys, timeout=1.0)


_watchdog: ConsumptionWatchdog | None = None


def watchdog_start(consumer) -> ConsumptionWatchdog | None:
    """Start the watchdog for this worker (main process, once); None if it is switched off."""
    global _watchdog  # noqa: PLW0603 - one per worker process

    stuck_seconds = float(settings.CELERY_WORKER_STUCK_SECONDS)
    broker_url = settings.CELERY_BROKER_URL
    if _watchdog is not None or stuck_seconds <= 0:
        return _watchdog
    if not broker_url.startswith(REDIS_BROKER_SCHEMES):
        logger.info("Consumption watchdog off: it reads queue lengths from a Redis broker only")
        return None
    queues = list(consumer.app.amqp.queues.consume_from or consumer.app.amqp.queues)
    concurrency = max(1, int(getattr(consumer.controller, "concurrency", 1) or 1))

    def stop_worker() -> None:
        worker_state.should_stop = EXIT_STUCK  # checked by the consumer loop on every turn

    _watchdog = ConsumptionWatchdog(
        waiting=redis_queue_length(broker_url, queues),
        busy=lambda: len(worker_state.reserved_requests) >= concurrency,
        stuck_seconds=stuck_seconds,
        on_stuck=stop_worker,
    )
    _watchdog.start()
    logger.info(
        "Consumption watchdog: exits if queued tasks wait %.0f s for a free worker", stuck_seconds
    )
    return _watchdog


def watchdog_stop() -> None:
    """Stop the watchdog (the worker is shutting down on purpose)."""
    if _watchdog is not None:
        _watchdog.stopping.set()
