"""Redis: the connection, the circuit breaker, the caches and the per-process copies.

``REDIS_URL`` is either one Redis (``redis://[:password@]host:6379/0``) or a Redis managed by
Sentinel: ``redis+sentinel://[:password@]host1:26379,host2:26379,host3:26379/mymaster/0`` (the
Sentinels' addresses, the master's name, the database; the password is the master's and its
replicas', the Sentinels are asked without one). Everything that talks to Redis follows it: the
cache, the admission scripts, the live pub/sub and the Celery broker (docs/redis-and-celery.md).
"""

from urllib.parse import unquote

from django.core.exceptions import ImproperlyConfigured

from config.env import env

_SENTINEL_SCHEME = "redis+sentinel://"


def _sentinel_host(entry: str) -> tuple[str, int]:
    host, _, port = entry.strip().rpartition(":")
    if not host or not port.isdigit():
        raise ImproperlyConfigured(
            "REDIS_URL: each Sentinel is host:port, e.g. redis+sentinel://h1:26379,h2:26379/mymaster/0"
        )
    return host.strip("[]"), int(port)


def redis_sentinel_config(url: str) -> dict | None:
    """Return the Sentinel set a ``redis+sentinel://`` URL names, or None for a plain Redis URL.

    Keys: ``sentinels`` [(host, port)], ``master_name``, ``db``, ``username``, ``password``.
    A malformed URL raises ImproperlyConfigured naming the part, never quoting the URL.
    """
    if not url.startswith(_SENTINEL_SCHEME):
        return None
    netloc, _, path = url[len(_SENTINEL_SCHEME) :].partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    name, _, db = path.split("?", 1)[0].partition("/")
    if not hosts or not name or not (db or "0").isdigit():
        raise ImproperlyConfigured(
            "REDIS_URL: expected redis+sentinel://[:password@]host:port[,host:port...]/master/db"
        )
    return {
        "sentinels": [_sentinel_host(entry) for entry in hosts.split(",")],
        "master_name": unquote(name),
        "db": int(db or 0),
        "username": unquote(username) or None,
        "password": unquote(password) or None,
    }


def celery_url_of(url: str, sentinel: dict | None) -> str:
    """Return the Celery broker URL for ``REDIS_URL``: kombu's ``sentinel://`` form under Sentinel."""
    if sentinel is None:
        return url
    auth = url[len(_SENTINEL_SCHEME) :].partition("/")[0].rpartition("@")[0]
    auth = f"{auth}@" if auth else ""
    db = sentinel["db"]
    return ";".join(f"sentinel://{auth}{h}:{p}/{db}" for h, p in sentinel["sentinels"])


REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_SENTINEL = redis_sentinel_config(REDIS_URL)
# The Celery broker URL that means "the Redis of REDIS_URL" (kombu's sentinel:// form under Sentinel).
REDIS_URL_FOR_CELERY = celery_url_of(REDIS_URL, REDIS_SENTINEL)
REDIS_SOCKET_CONNECT_TIMEOUT = env.float("REDIS_SOCKET_CONNECT_TIMEOUT", default=0.25)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.25)
# Seconds between two probes of an unavailable Redis by the process's background prober (requests
# never probe: while the breaker is open they use the fallback at once).
REDIS_BREAKER_RESET_SECONDS = env.float("REDIS_BREAKER_RESET_SECONDS", default=1.0)
# While Redis stays unavailable each process logs one summary line this often (seconds); the
# outage's start and end are one line each, the probes themselves are DEBUG.
REDIS_OUTAGE_SUMMARY_SECONDS = env.float("REDIS_OUTAGE_SUMMARY_SECONDS", default=60.0)
# When Redis returns, the admission sets are rebuilt from MongoDB (by one process for all, in its
# background prober) before Redis is trusted again. After each session the rebuild rests this many
# times as long as that session took, so it leaves MongoDB and the process's CPU to the doors
# (chaos, seed 35: unpaced, two workers rebuilding 117 sessions at once, as every process did
# then, pushed door requests past their deadline).
ADMISSION_RESEED_PACE = env.float("ADMISSION_RESEED_PACE", default=1.0)
# One process rebuilds for all (sessions_app/services/admission_sync.py) under a lock it renews
# after each session: the lock outlives its holder's last sign of life by this many seconds, and
# a process waiting for that rebuild's marker rebuilds itself once the lock is gone without one
# (its holder died, or was stopped).
ADMISSION_RESEED_LOCK_SECONDS = env.float("ADMISSION_RESEED_LOCK_SECONDS", default=5.0)


def default_cache(
    url: str, sentinel: dict | None, *, connect_timeout: float, timeout: float
) -> dict:
    """Return ``CACHES["default"]`` for this ``REDIS_URL`` (a test pointing the app elsewhere too)."""
    options = {"SOCKET_CONNECT_TIMEOUT": connect_timeout, "SOCKET_TIMEOUT": timeout}
    location = url
    if sentinel is not None:
        # django-redis's Sentinel support: its connection factory asks the Sentinels for the
        # master named by LOCATION's host; DefaultClient (one server) keeps every read on it.
        auth = url[len(_SENTINEL_SCHEME) :].partition("/")[0].rpartition("@")[0]
        auth = f"{auth}@" if auth else ""
        location = f"redis://{auth}{sentinel['master_name']}/{sentinel['db']}"
        options.update(
            CONNECTION_FACTORY="django_redis.pool.SentinelConnectionFactory",
            SENTINELS=sentinel["sentinels"],
        )
    return {
        "BACKEND": "redis_fallback.cache.FallbackRedisCache",
        "LOCATION": location,
        "KEY_PREFIX": "checkin",
        "TIMEOUT": 60,
        "OPTIONS": options,
    }


# django-redis wrapped by the project's fallback backend (LocMemCache while Redis is down).
# DJANGO_REDIS_IGNORE_EXCEPTIONS stays off: redis_fallback handles connection errors itself.
CACHES = {
    "default": default_cache(
        REDIS_URL,
        REDIS_SENTINEL,
        connect_timeout=REDIS_SOCKET_CONNECT_TIMEOUT,
        timeout=REDIS_SOCKET_TIMEOUT,
    ),
}
