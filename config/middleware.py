"""Bound a request's MongoDB work by one deadline, answer 503 (never a 500) without MongoDB, and
stop tying up web workers on a MongoDB that just failed."""

import logging
from contextlib import nullcontext

import pymongo
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from pymongo.errors import PyMongoError

from core.mongo_failures import (
    fail_fast,
    is_database_unavailable,
    note_database_failure,
)

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# Health endpoints report MongoDB's state with their own probes and must always answer.
FAIL_FAST_EXEMPT = ("/health",)


def request_timeout_seconds(request) -> float | None:
    """Return the MongoDB deadline of this request (None: the client's own timeouts apply)."""
    seconds = settings.MONGODB_REQUEST_TIMEOUT_SECONDS
    if not seconds or request.path.startswith(tuple(settings.MONGODB_REQUEST_TIMEOUT_EXEMPT)):
        return None
    return seconds


# The ping that decides whether MongoDB answers again after a failure (pymongo's server selection
# checks its deadline every 0.5 s, so a ping to a hung MongoDB takes up to 1 s).
PROBE_SECONDS = 0.5


def _mongodb_answers() -> bool:
    """Ping MongoDB through the request's own connection, bounded by ``PROBE_SECONDS``."""

    try:
        with pymongo.timeout(PROBE_SECONDS):
            connection.ensure_connection()
            connection.database.command("ping")
    except (PyMongoError, DatabaseError):
        return False
    return True


def database_unavailable_response() -> JsonResponse:
    """Return the 503 that says MongoDB is unavailable, in DRF's error shape."""
    response = JsonResponse(
        {
            "detail": "The database is unavailable. Retry shortly.",
            "reason": "database_unavailable",
        },
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Give the view one MongoDB deadline; turn MongoDB failures into a 503 in DRF's error shape.

    The deadline (``MONGODB_REQUEST_TIMEOUT_SECONDS``) is pymongo's client-side operation timeout
    (``pymongo.timeout``), scoped to this request: every MongoDB operation the view runs shares
    it, so a hung MongoDB costs a door scanner (and a sync web worker) about that long, not the
    client's 10 s socket timeout. Work outside a request (reconcile, imports, Celery tasks, the
    admin, which is exempt) keeps the client's longer timeouts. After such a failure, requests
    are answered 503 at once for ``MONGODB_FAIL_FAST_SECONDS``, then one short ping decides
    (health endpoints excepted).

    The data lives in MongoDB, so there is nothing to degrade to: say so clearly, let the load
    balancer and the door scanner retry, and log one line without the URI (pymongo's message names
    hosts but never credentials).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seconds = request_timeout_seconds(request)
        # One deadline for the whole request, the probe included: a probe that MongoDB answers
        # slowly (just back, still busy) leaves the view only what remains of it.
        with nullcontext() if seconds is None else pymongo.timeout(seconds):
            if fail_fast.needs_probe() and not request.path.startswith(FAIL_FAST_EXEMPT):
                if fail_fast.is_open():
                    return database_unavailable_response()
                if not _mongodb_answers():
                    fail_fast.trip()
                    return database_unavailable_response()
                fail_fast.reset()
            return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        note_database_failure(exception)  # MongoDB failed, not a request that was held up
        logger.error(
            "MongoDB unavailable on %s %s: %s",
            request.method,
            request.path,
            type(exception).__name__,
        )
        return database_unavailable_response()
