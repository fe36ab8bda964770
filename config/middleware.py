"""Bound a request's MongoDB work by one deadline, and answer 503 (never a 500) without MongoDB."""

import logging

import pymongo
from django.conf import settings
from django.http import JsonResponse
from pymongo.errors import ConnectionFailure, PyMongoError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def is_database_unavailable(exception: BaseException) -> bool:
    """Tell whether an exception (or what it wraps) means MongoDB cannot serve us now.

    A connection failure, or any pymongo timeout (including the request's own deadline, which
    may surface as a server-side ``ExecutionTimeout``). django-mongodb-backend re-raises pymongo
    errors as django.db.DatabaseError, chained.
    """
    seen = 0
    while exception is not None and seen < 5:
        if isinstance(exception, ConnectionFailure):
            return True
        if isinstance(exception, PyMongoError) and exception.timeout:
            return True
        exception = exception.__cause__ or exception.__context__
        seen += 1
    return False


def request_timeout_seconds(request) -> float | None:
    """Return the MongoDB deadline of this request (None: the client's own timeouts apply)."""
    seconds = settings.MONGODB_REQUEST_TIMEOUT_SECONDS
    if not seconds or request.path.startswith(tuple(settings.MONGODB_REQUEST_TIMEOUT_EXEMPT)):
        return None
    return seconds


class DatabaseUnavailableMiddleware:
    """Give the view one MongoDB deadline; turn MongoDB failures into a 503 in DRF's error shape.

    The deadline (``MONGODB_REQUEST_TIMEOUT_SECONDS``) is pymongo's client-side operation timeout
    (``pymongo.timeout``), scoped to this request: every MongoDB operation the view runs shares
    it, so a hung MongoDB costs a door scanner (and a sync web worker) about that long, not the
    client's 10 s socket timeout. Work outside a request (reconcile, imports, Celery tasks, the
    admin, which is exempt) keeps the client's longer timeouts.

    The data lives in MongoDB, so there is nothing to degrade to: say so clearly, let the load
    balancer and the door scanner retry, and log one line without the URI (pymongo's message names
    hosts but never credentials).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seconds = request_timeout_seconds(request)
        if seconds is None:
            return self.get_response(request)
        with pymongo.timeout(seconds):
            return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        logger.error(
            "MongoDB unavailable on %s %s: %s",
            request.method,
            request.path,
            type(exception).__name__,
        )
        response = JsonResponse(
            {
                "detail": "The database is unavailable. Retry shortly.",
                "reason": "database_unavailable",
            },
            status=503,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
