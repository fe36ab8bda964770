"""Redis fallback layer: the only way the project reaches Redis.

Importing this package opens no connection. See README ("Redis failure behaviour"). The modules:

- ``raw_client.py``: the process's raw redis-py client from settings (bounded, no retries).
- ``breaker.py``: the circuit breaker, a pure state machine (closed, open, half-open).
- ``process_breaker.py``: the process's one breaker instance, shared by everything below.
- ``breaker_calls.py``: every Redis call through the breaker (``call_redis``); recovery callbacks.
- ``prober.py``: the background thread that probes an unavailable Redis and closes the breaker.
- ``restarts.py``: a Redis that restarted (and came back empty) is noticed as an outage.
- ``guarded_client.py``: ``get_redis()``, redis-py's methods with null results while Redis is down.
- ``scripts.py``: Lua scripts that survive SCRIPT FLUSH and restarts and degrade to -1.
- ``cache.py``: the Django cache backend, django-redis with a LocMemCache while Redis is down.
- ``status_report.py``: ``connection_status()``, the process's view of Redis as a plain dict.
- ``subscription_client.py``: the live hub's redis.asyncio subscription clients (not breakered).
- ``broker_queues.py``: the worker watchdog's reader of the Celery broker's queue lengths.
- ``errors.py``: the Redis errors that code outside the layer may catch.
- ``masking.py``: the one masking policy for error texts about the dependencies.
- ``logfilters.py``: logging filters that mask secrets and quiet expected outages.
- ``testing.py``: test hooks that reset the layer (imported by tests only).
"""

from .breaker_calls import (
    is_redis_available,
    outage_began_at,
    register_fallback_reset,
    register_recovery_callback,
)
from .errors import REDIS_CONNECTION_ERRORS, RedisResponseError
from .guarded_client import get_redis, ping
from .scripts import SCRIPT_UNAVAILABLE, LuaScript
from .status_report import connection_status

__all__ = [
    "REDIS_CONNECTION_ERRORS",
    "SCRIPT_UNAVAILABLE",
    "LuaScript",
    "RedisResponseError",
    "connection_status",
    "get_redis",
    "is_redis_available",
    "outage_began_at",
    "ping",
    "register_fallback_reset",
    "register_recovery_callback",
]
