"""Read the Celery broker's queue lengths (the worker's consumption watchdog), bounded.

The broker is a Redis named by ``CELERY_BROKER_URL``, which may be another server than
``REDIS_URL``: the breaker, which watches ``REDIS_URL``, does not speak for it. The watchdog needs
a fresh answer each time it looks (a failed read means "do not judge now"), so the reader asks
the broker directly with one bounded attempt and lets errors propagate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import unquote, urlsplit

import redis
from django.conf import settings
from redis.sentinel import Sentinel

from .raw_client import no_retry

REDIS_BROKER_SCHEMES = ("redis://", "rediss://", "sentinel://")


def _sentinel_broker_client(broker_url: str, timeout: float) -> redis.Redis:
    # kombu's form: sentinel://[:pw@]h1:26379/0;sentinel://[:pw@]h2:26379/0; the master's name
    # is a transport option (CELERY_BROKER_TRANSPORT_OPTIONS["master_name"]).
    urls = [urlsplit(part) for part in broker_url.split(";") if part.strip()]
    first = urls[0]
    bounded = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    manager = Sentinel(
        [(url.hostname, url.port or 26379) for url in urls],
        sentinel_kwargs={**bounded, "retry": no_retry()},
        **bounded,
    )
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    return manager.master_for(
        options.get("master_name", "mymaster"),
        db=int((first.path or "/0").strip("/") or 0),
        username=unquote(first.username) if first.username else None,
        password=unquote(first.password) if first.password else None,
        retry=no_retry(),
    )


def broker_queue_length_reader(
    broker_url: str, keys: Iterable[str], *, timeout: float = 1.0
) -> Callable[[], int]:
    """Return a function that sums the lengths of the lists ``keys`` on the broker.

    ``broker_url`` is a Redis URL or kombu's Sentinel form (``sentinel://...;sentinel://...``,
    then the current master is asked). The function raises on a connection error or timeout
    (after at most ``timeout`` seconds per socket operation, nothing retried). No connection is
    opened before its first call.
    """
    if broker_url.startswith("sentinel://"):
        client = _sentinel_broker_client(broker_url, timeout)
    else:
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
