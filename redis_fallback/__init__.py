"""Redis fallback layer: the only way the project reaches Redis.

Importing this package opens no connection. See README ("Redis failure behaviour").
"""

from .client import get_redis, ping
from .guard import (
    is_redis_available,
    register_recovery_callback,
    reset_for_tests,
    unregister_recovery_callback,
)
from .scripts import SCRIPT_UNAVAILABLE, LuaScript
from .status import connection_status

__all__ = [
    "SCRIPT_UNAVAILABLE",
    "LuaScript",
    "connection_status",
    "get_redis",
    "is_redis_available",
    "ping",
    "register_recovery_callback",
    "reset_for_tests",
    "unregister_recovery_callback",
]
