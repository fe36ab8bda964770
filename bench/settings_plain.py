"""The benchmark's comparison: the common setup instead of the project's fallback layer.

Plain django-redis with DJANGO_REDIS_IGNORE_EXCEPTIONS=True and the same socket timeouts: every
cache call that fails pays its timeout, then behaves as a miss. The check-in script's client gets
a breaker reset of 0 s, so it tries Redis on every call (errors caught, no open state): what code
without a circuit breaker does. Used only by ``make bench`` (a second gunicorn, same run).
"""

from chaos.settings import *  # noqa: F403
from chaos.settings import REDIS_SOCKET_CONNECT_TIMEOUT, REDIS_SOCKET_TIMEOUT, REDIS_URL

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "checkin_plain",  # its own cached reads, apart from ours
        "TIMEOUT": 60,
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_CONNECT_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
        },
    },
}
DJANGO_REDIS_IGNORE_EXCEPTIONS = True
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False
REDIS_BREAKER_RESET_SECONDS = 0.0
