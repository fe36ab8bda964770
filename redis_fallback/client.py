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

from .connection import raw_redis
from .guard import UNAVAILABLE, call_redis


def _const(value: Any) -> Callable[..., Any]:
    # A fresh copy each time, so a caller mutating a null set()/{} cannot affect the next one.
    return lambda *args, **kwargs: copy.copy(value)


def _null_mget(keys: Any, *args: Any) -> list[None]:
    count = len(keys) + len(args) if isinstance(keys, list | tuple) else 1 + len(args)
    return [None] * count


# What each supported command returns while Redis is unavailable.
NULL_RESULTS: dict[str, Callable[..., Any]] = {
    "get": _const(None),
    "set": _const(False),
    "delete": _const(0),
    "exists": _const(0),
    "incr": _const(0),
    "incrby": _const(0),
    "decr": _const(0),
    "decrby": _const(0),
    "expire": _const(False),
    "sadd": _const(0),
    "srem": _const(0),
    "sismember": _const(False),
    "scard": _const(0),
    "smembers": _const(set()),
    "hget": _const(None),
    "hset": _const(0),
    "hdel": _const(0),
    "hincrby": _const(0),
    "hgetall": _const({}),
    "mget": _null_mget,
    "ping": _const(False),
}


class GuardedPipeline:
    """Queue commands and run them as one redis-py pipeline through the breaker.

    ``execute()`` returns redis-py's result list, or one null result per queued command when
    Redis is unavailable (then it is unknown whether a transaction that was cut off applied).
    """

    def __init__(self, *, transaction: bool = True) -> None:
        self._transaction = transaction
        self._commands: list[tuple[str, tuple, dict]] = []

    def __getattr__(self, name: str) -> Callable[..., GuardedPipeline]:
        if name not in NULL_RESULTS:
            raise AttributeError(f"{type(self).__name__} does not support {name!r}")

        def queue(*args: Any, **kwargs: Any) -> GuardedPipeline:
            self._commands.append((name, args, kwargs))
            return self

        return queue

    def __len__(self) -> int:
        return len(self._commands)

    def __enter__(self) -> GuardedPipeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._commands = []

    def execute(self) -> list[Any]:
        """Run the queued commands; return their results (or their null results)."""
        commands, self._commands = self._commands, []
        if not commands:
            return []

        def run() -> list[Any]:
            pipe = raw_redis().pipeline(transaction=self._transaction)
            for name, args, kwargs in commands:
                getattr(pipe, name)(*args, **kwargs)
            return pipe.execute()

        result = call_redis(run, source="client")
        if result is UNAVAILABLE:
            return [NULL_RESULTS[name](*args, **kwargs) for name, args, kwargs in commands]
        return result


class GuardedRedis:
    """redis-py's methods for the operations the project uses, each behind the breaker."""

    def _run(self, name: str, args: tuple, kwargs: dict) -> Any:
        result = call_redis(lambda: getattr(raw_redis(), name)(*args, **kwargs), source="client")
        return NULL_RESULTS[name](*args, **kwargs) if result is UNAVAILABLE else result

    def pipeline(self, transaction: bool = True) -> GuardedPipeline:
        """Return a pipeline whose ``execute()`` goes through the breaker."""
        return GuardedPipeline(transaction=transaction)


def _forwarder(name: str) -> Callable[..., Any]:
    def method(self: GuardedRedis, *args: Any, **kwargs: Any) -> Any:
        return self._run(name, args, kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (
        f"Run redis-py's ``{name}()``; while Redis is unavailable return "
        f"{NULL_RESULTS[name]()!r} without network I/O."
        if name != "mget"
        else "Run redis-py's ``mget()``; while Redis is unavailable return one None per key."
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
