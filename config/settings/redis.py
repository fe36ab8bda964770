"""Redis: the connection, the circuit breaker, the caches and the per-process copies."""

from config.env import env

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_SOCKET_CONNECT_TIMEOUT = env.float("REDIS_SOCKET_CONNECT_TIMEOUT", default=0.25)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.25)
# Seconds between two probes of an unavailable Redis by the process's background prober (requests
# never probe: while the breaker is open they use the fallback at once).
REDIS_BREAKER_RESET_SECONDS = env.float("REDIS_BREAKER_RESET_SECONDS", default=1.0)
# While Redis stays unavailable each process logs one summary line this often (seconds); the
# outage's start and end are one line each, the probes themselves are DEBUG.
REDIS_OUTAGE_SUMMARY_SECONDS = env.float("REDIS_OUTAGE_SUMMARY_SECONDS", default=60.0)
# When Redis returns, each process rebuilds the admission sets from MongoDB (in its background
# prober) before it trusts Redis again. After each session it rests this many times as long as that
# session took, so the rebuild leaves MongoDB and the process's CPU to the doors (chaos, seed 35:
# unpaced, two workers rebuilding 117 sessions at once pushed door requests past their deadline).
ADMISSION_RESEED_PACE = env.float("ADMISSION_RESEED_PACE", default=1.0)
# django-redis wrapped by the project's fallback backend (LocMemCache while Redis is down).
# DJANGO_REDIS_IGNORE_EXCEPTIONS stays off: redis_fallback handles connection errors itself.
CACHES = {
    "default": {
        "BACKEND": "redis_fallback.cache.FallbackRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "checkin",
        "TIMEOUT": 60,
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_CONNECT_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
        },
    },
    # Per-process copies of hot MongoDB reads (core/process_cache.py): tokens, sessions,
    # participants, each for a few seconds; no network, so a Redis outage does not touch it.
    "process": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "process-copies",
        "TIMEOUT": 5,
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    },
}
