"""Redis fallback layer: the only way the project reaches Redis.

Importing this package opens no connection. See README ("Redis failure behaviour"). The live
hub's subscription client is in ``pubsub.py``, the worker watchdog's broker reader in
``broker.py``; test hooks are in ``testing.py`` (never imported by the app).
"""

from .client import get_redis, ping
from .errors import REDIS_CONNECTION_ERRORS, RedisResponseError
from .guard import is_redis_available, register_recovery_callback
from .scripts import SCRIPT_UNAVAILABLE, LuaScript
from .status import connection_status

__all__ = [
    "REDIS_CONNECTION_ERRORS",
    "SCRIPT_UNAVAILABLE",
    "LuaScript",
    "RedisResponseError",
    "connection_status",
    "get_redis",
    "is_redis_available",
    "ping",
    "register_recovery_callback",
]
