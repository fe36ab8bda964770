"""Each process's own state as gauges: its Redis breaker, its fallback cache, its live hub.

These are per-process facts that only the process itself can read (a web worker cannot see
another worker's breaker), so each process writes them to its file of the multiprocess directory
(``core/metrics.py``): once a second from a daemon thread, and at once in the process that answers
a scrape. The scrape sums the live processes (``livesum``). The sampler reads memory only, never
Redis or MongoDB.

Safe under pre-fork servers (gunicorn ``--preload``, Celery's pool): a fork waits for a sample in
progress to finish (prometheus_client's file lock is never held across a fork), and the child
starts its own thread. A process that exits normally removes its gauges; one killed with
SIGKILL is forgotten by the next scrape on the same host (``collectors.dead_processes_forget``).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time

from django.core.cache.backends import locmem
from prometheus_client import multiprocess

from core import metrics
from live_app import hub as live_hub
from redis_fallback import cache as fallback_cache
from redis_fallback.breaker import State
from redis_fallback.process_breaker import get_breaker

logger = logging.getLogger(__name__)

SAMPLE_SECONDS = 1.0

_lock = threading.Lock()  # held while sampling: a fork waits for the sample to end
_last_sample: float | None = None
_thread: threading.Thread | None = None


def _fallback_cache_entries() -> int:
    # The fallback's LocMem stores, by name (they share storage across instances and threads).
    with fallback_cache._local_names_lock:
        names = list(fallback_cache._local_names)
    return sum(len(locmem._caches.get(name, ())) for name in names)


def _sample_breaker(now: float) -> None:
    global _last_sample  # noqa: PLW0603 - one clock per process
    state = get_breaker().state
    for each in State:
        metrics.REDIS_BREAKER_STATE.labels(each.value).set(1 if each is state else 0)
    if _last_sample is not None and state is not State.CLOSED:
        metrics.REDIS_FALLBACK_SECONDS.inc(max(0.0, now - _last_sample))
    _last_sample = now


def _sample_live_hub() -> None:
    hub = live_hub._hub  # only an ASGI process that served a WebSocket has one
    if hub is None:
        return
    metrics.LIVE_CLIENTS.set(len(hub.subscribers))
    for mode in (live_hub.LIVE, live_hub.POLLING):
        metrics.LIVE_HUB_MODE.labels(mode).set(1 if hub.mode == mode else 0)


def process_sample() -> None:
    """Write this process's gauges now (memory reads only; never raises)."""
    with _lock:
        try:
            _sample_breaker(time.monotonic())
            metrics.FALLBACK_CACHE_ENTRIES.set(_fallback_cache_entries())
            _sample_live_hub()
        except Exception:  # a sampler must never take a process down
            logger.exception("Metrics sample failed")


def _run() -> None:
    while True:
        time.sleep(SAMPLE_SECONDS)
        process_sample()


def sampler_start() -> None:
    """Start this process's sampling thread (only in multiprocess mode; idempotent)."""
    global _thread  # noqa: PLW0603 - one per process
    if not metrics.MULTIPROCESS_DIR or (_thread is not None and _thread.is_alive()):
        return
    _thread = threading.Thread(target=_run, name="metrics-sampler", daemon=True)
    _thread.start()


def _forget_after_fork() -> None:
    global _thread, _last_sample  # the child has no thread of its parent's
    _lock.release()
    _thread, _last_sample = None, None
    sampler_start()


def _remove_own_gauges() -> None:
    with contextlib.suppress(OSError):
        multiprocess.mark_process_dead(metrics.process_identifier(), metrics.MULTIPROCESS_DIR)


_installed = False


def sampler_install() -> None:
    """Sample in this process and its forked children (AppConfig.ready; idempotent)."""
    global _installed  # noqa: PLW0603 - once per process
    if _installed or not metrics.MULTIPROCESS_DIR:
        return
    _installed = True
    os.register_at_fork(
        before=_lock.acquire, after_in_parent=_lock.release, after_in_child=_forget_after_fork
    )
    atexit.register(_remove_own_gauges)
    process_sample()
    sampler_start()
