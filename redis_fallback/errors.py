"""The Redis errors that code outside the layer may catch, so that it never imports redis-py.

``RedisResponseError``: Redis answered with an error (WRONGTYPE, a script error): the layer lets
it propagate. ``REDIS_CONNECTION_ERRORS``: Redis could not be reached or did not answer in time,
or refused the credentials (what the breaker counts as an outage); a caller that talks to Redis
through another library (kombu publishing to the broker) catches these.
"""

from __future__ import annotations

from redis.exceptions import ResponseError as RedisResponseError

from .raw_client import CONNECTION_ERRORS as REDIS_CONNECTION_ERRORS

__all__ = ["REDIS_CONNECTION_ERRORS", "RedisResponseError"]
