"""Subscription clients for the live hub: redis.asyncio on ``REDIS_URL``, bounded, never retried.

A subscription is one long-lived connection, not a call, so it does not go through the breaker:
the live hub notices a lost subscription itself (its PING must be answered within its timeout),
polls MongoDB meanwhile, and tries a new client on its own cadence. What it shares with the rest
of the layer: the URL, a policy of one bounded attempt (no redis-py retries), and the masking of
every error text (``describe_pubsub_error``).
"""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import NoBackoff

from .masking import describe_error
from .raw_client import redis_url, sentinel_config


def _sentinel_pubsub_client(config: dict, timeout: float) -> aioredis.Redis:
    bounded = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    manager = AsyncSentinel(
        config["sentinels"],
        sentinel_kwargs={**bounded, "retry": AsyncRetry(NoBackoff(), 0)},
        **bounded,
    )
    client = manager.master_for(
        config["master_name"],
        db=config["db"],
        username=config["username"],
        password=config["password"],
        retry=AsyncRetry(NoBackoff(), 0),
        health_check_interval=0,
    )
    client.checkin_sentinels = manager.sentinels  # closed with the client (pubsub_close_quietly)
    return client


def pubsub_client(*, timeout: float) -> aioredis.Redis:
    """Return a new redis.asyncio client on ``REDIS_URL``; call its ``pubsub()`` to subscribe.

    ``timeout`` bounds the connect and every read; nothing is retried; no connection is opened
    before the first command. Under Sentinel it subscribes on the current master: after a
    failover the old subscription breaks, and the hub's next one asks the Sentinels again.
    """
    config = sentinel_config()
    if config is not None:
        return _sentinel_pubsub_client(config, timeout)
    return aioredis.Redis.from_url(
        redis_url(),
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=AsyncRetry(NoBackoff(), 0),
        health_check_interval=0,
    )


def describe_pubsub_error(error: BaseException) -> str:
    """Return the error as one masked line (the layer's one masking policy)."""
    return describe_error(error, url=redis_url())


async def pubsub_close_quietly(pubsub, client: aioredis.Redis, *, timeout: float = 1.0) -> None:
    """Close a subscription and its client; a paused Redis must not hold the caller."""
    with contextlib.suppress(Exception, asyncio.TimeoutError):
        await asyncio.wait_for(pubsub.aclose(), timeout)
    with contextlib.suppress(Exception, asyncio.TimeoutError):
        await asyncio.wait_for(client.aclose(), timeout)
    for sentinel in getattr(client, "checkin_sentinels", ()):
        with contextlib.suppress(Exception, asyncio.TimeoutError):
            await asyncio.wait_for(sentinel.aclose(), timeout)
