"""Response caching that can never fail a request.

Detail and stats responses are cached for a few seconds under keys per id and deleted by every
write that changes them. The cache may be Redis or, during an outage, the per-process fallback:
a read, write or delete that fails for any reason is logged and treated as a miss, and the short
TTL bounds how stale another process's copy can be.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

_MISSING = object()

# The event-wide statistics (sessions and participants): any write to either invalidates it.
STATS_KEY = "sessions:stats"


def detail_ttl() -> int:
    return settings.CHECKIN_DETAIL_CACHE_TTL


def stats_ttl() -> int:
    return settings.CHECKIN_STATS_CACHE_TTL


def cache_get_or_compute(*, key: str, ttl: int, compute: Callable[[], Any]) -> Any:
    """Return the cached value for ``key``, or compute, store and return it."""
    try:
        value = cache.get(key, _MISSING)
    except Exception as exc:  # a cache failure is a miss, never an error
        logger.warning("cache get %s failed: %s", key, type(exc).__name__)
        value = _MISSING
    if value is not _MISSING:
        return value
    value = compute()
    try:
        cache.set(key, value, ttl)
    except Exception as exc:
        logger.warning("cache set %s failed: %s", key, type(exc).__name__)
    return value


def cache_invalidate(*keys: str) -> None:
    """Delete ``keys``; a failure is logged and the short TTL bounds the staleness."""
    try:
        cache.delete_many(list(keys))
    except Exception as exc:
        logger.warning("cache delete %s failed: %s", ", ".join(keys), type(exc).__name__)
