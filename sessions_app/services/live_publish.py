"""Tell the live screens that a session changed: one Redis ``PUBLISH``, after the verdict.

The message is only the session's id: the live hub in each ASGI process reads what changed from
MongoDB (one query for all changes, ``live_app/hub.py``), so a notification never carries a count
that could be stale or out of order. It goes through the process's Redis breaker
(``redis_fallback``): while the breaker is open it costs nothing and is skipped, and the hubs,
which then poll MongoDB, still see the change within about a second. Nothing here can fail or
delay a decision that was already made; a lost notification only delays a screen until the hub's
next poll.
"""

from __future__ import annotations

import logging
import threading

from bson import ObjectId
from django.conf import settings

from redis_fallback import get_redis, is_redis_available

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
