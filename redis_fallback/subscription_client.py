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
from redis.backoff import NoBackoff

from .masking import describe_error
from .raw_client import redis_url


def pubsub_client(*, timeout: float) -> aioredis.Redis:
    """Return a new redis.asyncio client on ``REDIS_URL``; call its ``pubsub()`` to subscribe.

    ``timeout`` bounds the connect and every read; nothing is retried; no connection is opened
    before the first command.
    """
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
