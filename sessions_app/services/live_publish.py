"""Tell the live screens that a session changed: one Redis ``PUBLISH``, after the verdict.

The message is only the session's id: the live hub in each ASGI process reads what changed from
MongoDB (one query for all changes, ``live_app/hub.py``), so a notification never carries a count
that could be stale or out of order. It goes through the process's Redis breaker
(``redis_fallback``): while the breaker is open it costs nothing and is skipped, and the hubs,
which then poll MongoDB, still see the change within about a second. Nothing here can fail or
delay a decision that was already made; a lost notification only delays a screen until the hub's
next poll. An admission sends it together with its cache invalidation, in one round trip
(``session_change_invalidate_and_publish``).
"""

from __future__ import annotations

import logging
import threading

from bson import ObjectId
from django.conf import settings
from django.core.cache import cache

from redis_fallback import get_redis, is_redis_available

from ..caching import session_cache_invalidate, session_cache_keys

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# Per process: notifications sent, skipped (breaker open or Redis failed) and failed (any other
# error, swallowed). Read by tests and benchmarks; never reset outside tests.
publish_counts = {"sent": 0, "skipped": 0, "failed": 0}


def _count(outcome: str) -> None:
    with _lock:
        publish_counts[outcome] += 1


def session_change_publish(*, session_id: str | ObjectId) -> bool:
    """Notify the live hubs that ``session_id`` changed; return True if Redis took it.

    Never raises and never waits on a Redis the breaker knows to be down.
    """
    if not is_redis_available():
        _count("skipped")
        return False
    try:
        receivers = get_redis().publish(settings.LIVE_REDIS_CHANNEL, str(session_id))
    except Exception as error:  # a ResponseError, a bug: never the verdict's problem
        _count("failed")
        if publish_counts["failed"] == 1:  # one line per process, not one per request
            logger.warning(
                "Live notification failed (%s); counted from now on, screens catch up by polling",
                type(error).__name__,
            )
        return False
    # The null result (0) also stands for "Redis failed during the call": counted as skipped.
    if receivers == 0 and not is_redis_available():
        _count("skipped")
        return False
    _count("sent")
    return True


def session_change_invalidate_and_publish(*, session_id: str | ObjectId) -> bool:
    """``session_cache_invalidate`` then ``session_change_publish``, in one Redis round trip.

    The outcome is the two calls', one after the other: the session's cached detail and the
    stats are gone before this returns (from Redis, or from this process's fallback copy while
    Redis is unavailable: then nothing is published, counted as skipped), and the notification
    is counted. A cache that cannot do both at once, or an error other than an outage (a
    ``ResponseError``, a bug), falls back to the two calls apart, each with its own handling.
    A check-in's admission (``check_in.py``) saves its worker one Redis round trip this way.
    """
    both = getattr(cache, "delete_many_and_publish", None)
    if both is None:  # not the Redis cache (a test's LocMemCache)
        session_cache_invalidate(session_id)
        return session_change_publish(session_id=session_id)
    try:
        receivers = both(
            session_cache_keys(session_id),
            settings.LIVE_REDIS_CHANNEL,
            str(session_id),
        )
    except Exception:  # as the two calls would each have met it: retried apart
        session_cache_invalidate(session_id)
        return session_change_publish(session_id=session_id)
    if receivers is None:  # Redis unavailable: deleted from the fallback copy, not published
        _count("skipped")
        return False
    _count("sent")
    return True
