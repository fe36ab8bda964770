"""A Django cache backend: django-redis's RedisCache, with a LocMemCache while Redis is down.

``CACHES["default"]["BACKEND"] = "redis_fallback.cache.FallbackRedisCache"``. Every call goes
through the process's circuit breaker (shared with ``get_redis()``): on a connection error,
timeout or auth failure the call is answered by the per-process LocMemCache instead and the
breaker opens, so later calls skip Redis without waiting. ``ResponseError`` (e.g. WRONGTYPE)
and programming errors propagate. Each inner backend builds its own keys from the same
KEY_PREFIX, VERSION and KEY_FUNCTION. The LocMem copy is emptied whenever the breaker opens or
closes: what it holds may be stale once Redis is back.

OPTIONS are django-redis's, plus FALLBACK_MAX_ENTRIES (default 1000) and FALLBACK_TIMEOUT
(default timeout of fallback entries, 60 s). SOCKET_TIMEOUT / SOCKET_CONNECT_TIMEOUT default to
settings.REDIS_SOCKET_TIMEOUT / REDIS_SOCKET_CONNECT_TIMEOUT. IGNORE_EXCEPTIONS is always off
(errors are handled here), redis-py never retries (one bounded attempt per call), and new
connections check the server's run_id (see ``restarts.on_connect``).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache
from django_redis.util import CacheKey

from .breaker_calls import UNAVAILABLE, call_redis, register_fallback_reset
from .raw_client import CONNECTION_ERRORS, no_retry, socket_timeouts
from .restarts import on_connect

FALLBACK_MAX_ENTRIES = 1000
FALLBACK_TIMEOUT = 60
_OWN_OPTIONS = ("FALLBACK_MAX_ENTRIES", "FALLBACK_TIMEOUT")
_GLOB_SPECIAL = re.compile(r"([*?[])")

# Names of the LocMem stores in use (LocMemCache shares storage between instances by name).
_local_names: set[str] = set()
_local_names_lock = threading.Lock()


def _clear_local_copies() -> None:
    with _local_names_lock:
        names = list(_local_names)
    for name in names:
        LocMemCache(name, {}).clear()


register_fallback_reset(_clear_local_copies)


def _redis_params(params: dict[str, Any]) -> dict[str, Any]:
    options = {k: v for k, v in params.get("OPTIONS", {}).items() if k not in _OWN_OPTIONS}
    timeouts = socket_timeouts()
    options.setdefault("SOCKET_TIMEOUT", timeouts["socket_timeout"])
    options.setdefault("SOCKET_CONNECT_TIMEOUT", timeouts["socket_connect_timeout"])
    options["IGNORE_EXCEPTIONS"] = False
    if options.get("SENTINELS"):
        # Queries to the Sentinels: bounded like every Redis call, never retried.
        options.setdefault("SENTINEL_KWARGS", {**timeouts, "retry": no_retry()})
    options["CONNECTION_POOL_KWARGS"] = {
        **options.get("CONNECTION_POOL_KWARGS", {}),
        "retry": no_retry(),
        "redis_connect_func": on_connect,
    }
    return {**params, "OPTIONS": options}


def _local_params(params: dict[str, Any]) -> dict[str, Any]:
    options = params.get("OPTIONS", {})
    return {
        "TIMEOUT": options.get("FALLBACK_TIMEOUT", FALLBACK_TIMEOUT),
        "KEY_PREFIX": params.get("KEY_PREFIX", ""),
        "VERSION": params.get("VERSION", 1),
        "KEY_FUNCTION": params.get("KEY_FUNCTION"),
        "OPTIONS": {"MAX_ENTRIES": options.get("FALLBACK_MAX_ENTRIES", FALLBACK_MAX_ENTRIES)},
    }


def _async_twin(name: str):
    async def method(self: FallbackRedisCache, *args: Any, **kwargs: Any) -> Any:
        return await sync_to_async(getattr(self, name), thread_sensitive=True)(*args, **kwargs)

    method.__name__ = method.__qualname__ = f"a{name}"
    method.__doc__ = f"Run ``{name}()`` in a worker thread (same semantics on both paths)."
    return method


class FallbackRedisCache(BaseCache):
    """Cache in Redis through django-redis; serve from LocMemCache while Redis is unavailable."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(params)
        self._url = server[0] if isinstance(server, list | tuple) else server.split(",")[0]
        self._redis = RedisCache(server, _redis_params(params))
        digest = hashlib.sha1(f"{server}|{self.key_prefix}".encode(), usedforsecurity=False)
        name = f"redis_fallback:{digest.hexdigest()[:16]}"
        with _local_names_lock:
            _local_names.add(name)
        self._local = LocMemCache(name, _local_params(params))

    def _run(self, redis_op, local_op):
        result = call_redis(redis_op, source="cache", url=self._url)
        return local_op() if result is UNAVAILABLE else result

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return bool(
            self._run(
                lambda: self._redis.add(key, value, timeout, version=version),
                lambda: self._local.add(key, value, timeout, version=version),
            )
        )

    def get(self, key, default=None, version=None):
        return self._run(
            lambda: self._redis.get(key, default, version=version),
            lambda: self._local.get(key, default, version=version),
        )

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._run(
            lambda: self._redis.set(key, value, timeout, version=version),
            lambda: self._local.set(key, value, timeout, version=version),
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return bool(
            self._run(
                lambda: self._redis.touch(key, timeout, version=version),
                lambda: self._local.touch(key, timeout, version=version),
            )
        )

    def delete(self, key, version=None):
        return bool(
            self._run(
                lambda: self._redis.delete(key, version=version),
                lambda: self._local.delete(key, version=version),
            )
        )

    def get_many(self, keys, version=None):
        keys = list(keys)
        return self._run(
            lambda: self._redis.get_many(keys, version=version),
            lambda: self._local.get_many(keys, version=version),
        )

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        self._run(
            lambda: self._redis.set_many(data, timeout, version=version),
            lambda: self._local.set_many(data, timeout, version=version),
        )
        return []

    def delete_many(self, keys, version=None):
        keys = list(keys)
        self._run(
            lambda: self._redis.delete_many(keys, version=version),
            lambda: self._local.delete_many(keys, version=version),
        )

    def delete_many_and_publish(self, keys, channel: str, message: str, version=None) -> int | None:
        """``delete_many(keys)`` and ``PUBLISH channel message`` in one Redis round trip.

        Return the number of subscribers that received the message, or None when Redis was
        unavailable: then the keys were deleted from the fallback copy (as ``delete_many`` does)
        and nothing was published. Errors other than connection errors and timeouts propagate,
        as for every call here (the caller may then retry the two apart).
        """
        keys = list(keys)
        redis_keys = [self._redis.client.make_key(key, version=version) for key in keys]

        def both():
            pipe = self._redis.client.get_client(write=True).pipeline(transaction=False)
            if redis_keys:
                pipe.delete(*redis_keys)
            pipe.publish(channel, message)
            return pipe.execute()[-1]

        result = call_redis(both, source="cache", url=self._url)
        if result is UNAVAILABLE:
            self._local.delete_many(keys, version=version)
            return None
        return result

    def has_key(self, key, version=None):
        return bool(
            self._run(
                lambda: self._redis.has_key(key, version=version),
                lambda: self._local.has_key(key, version=version),
            )
        )

    def incr(self, key, delta=1, version=None):
        return self._run(
            lambda: self._redis.incr(key, delta, version=version),
            lambda: self._local.incr(key, delta, version=version),
        )

    def decr(self, key, delta=1, version=None):
        return self._run(
            lambda: self._redis.decr(key, delta, version=version),
            lambda: self._local.decr(key, delta, version=version),
        )

    def clear(self):
        """Delete this cache's keys (never FLUSHDB: the client's counters share the database)."""
        pattern = CacheKey(self.key_func("*", _GLOB_SPECIAL.sub(r"[\1]", self.key_prefix), "*"))
        self._local.clear()
        self._run(lambda: self._redis.delete_pattern(pattern), lambda: None)

    def close(self, **kwargs):
        # Closing a broken connection has nothing left to do.
        with contextlib.suppress(*CONNECTION_ERRORS):
            self._redis.close(**kwargs)

    aget_many = _async_twin("get_many")
    aset_many = _async_twin("set_many")
    adelete_many = _async_twin("delete_many")
    ahas_key = _async_twin("has_key")
    aincr = _async_twin("incr")
    adecr = _async_twin("decr")
    aclose = _async_twin("close")
