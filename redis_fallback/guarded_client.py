"""The Redis client provider: redis-py behind the shared breaker, with safe null results.

Services call ``get_redis()`` and never build Redis clients themselves. The returned object has
redis-py's method names for the operations the project uses. While Redis is usable each method
runs on the real client (values come back as redis-py returns them: bytes, since
``decode_responses`` is off). When the breaker is open, or the call fails with a connection
error, timeout or auth failure, the method returns the null result from ``NULL_RESULTS`` without
waiting on the network. ``ResponseError`` (e.g. WRONGTYPE) and programming errors propagate.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .breaker_calls import UNAVAILABLE, call_redis
from .raw_client import raw_redis


def _const(value: Any) -> Callable[..., Any]:
    # A fresh copy each time, so a caller mutating a null set()/{} cannot affect the next one.
    return lambda *args, **kwargs: copy.copy(value)


# What each supported command returns while Redis is unavailable: the commands the project
# uses, and no more (add one here, with its null result, when a caller needs it).
NULL_RESULTS: dict[str, Callable[..., Any]] = {
    "get": _const(None),
    "set": _const(False),
    "delete": _const(0),
    "sadd": _const(0),
    "srem": _const(0),
    "sismember": _const(False),
    "scard": _const(0),
    "smembers": _const(set()),
    "ping": _const(False),
    "publish": _const(0),  # live occupancy notifications (sessions_app/services/live_publish.py)
}


class GuardedRedis:
    """redis-py's methods for the operations the project uses, each behind the breaker."""

    def _run(self, name: str, args: tuple, kwargs: dict) -> Any:
        result = call_redis(lambda: getattr(raw_redis(), name)(*args, **kwargs), source="client")
        return NULL_RESULTS[name](*args, **kwargs) if result is UNAVAILABLE else result


def _forwarder(name: str) -> Callable[..., Any]:
    def method(self: GuardedRedis, *args: Any, **kwargs: Any) -> Any:
        return self._run(name, args, kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (
        f"Run redis-py's ``{name}()``; while Redis is unavailable return "
        f"{NULL_RESULTS[name]()!r} without network I/O."
    )
    return method


for _name in NULL_RESULTS:
    setattr(GuardedRedis, _name, _forwarder(_name))

_client = GuardedRedis()


def get_redis() -> GuardedRedis:
    """Return the process's Redis client (real while the breaker lets calls through)."""
    return _client


def ping() -> bool:
    """Send a real PING through the breaker; return False when Redis is unavailable."""
    return bool(_client.ping())
