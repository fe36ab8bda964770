"""Read the Celery broker's queue lengths (the worker's consumption watchdog), bounded.

The broker is a Redis named by ``CELERY_BROKER_URL``, which may be another server than
``REDIS_URL``: the breaker, which watches ``REDIS_URL``, does not speak for it. The watchdog needs
a fresh answer each time it looks (a failed read means "do not judge now"), so the reader asks
the broker directly with one bounded attempt and lets errors propagate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import redis

from .raw_client import no_retry


def broker_queue_length_reader(
    broker_url: str, keys: Iterable[str], *, timeout: float = 1.0
) -> Callable[[], int]:
    """Return a function that sums the lengths of the lists ``keys`` on the broker.

    The function raises on a connection error or timeout (after at most ``timeout`` seconds per
    socket operation, nothing retried). No connection is opened before its first call.
    """
    client = redis.Redis.from_url(
        broker_url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=no_retry()
    )
    keys = list(keys)

    def waiting() -> int:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.llen(key)
        return sum(pipe.execute())

    return waiting
