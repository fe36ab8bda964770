"""Answer 503 (not a 500 with a stack trace) when MongoDB cannot be reached."""

import logging

from django.http import JsonResponse
from pymongo.errors import ConnectionFailure

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def is_database_unavailable(exception: BaseException) -> bool:
    """Tell whether an exception (or what it wraps) is a MongoDB connection failure.

    django-mongodb-backend re-raises pymongo errors as django.db.DatabaseError, chained.
    """
    seen = 0
    while exception is not None and seen < 5:
        if isinstance(exception, ConnectionFailure):
            return True
        exception = exception.__cause__ or exception.__context__
        seen += 1
    return False


class DatabaseUnavailableMiddleware:
    """Turn MongoDB connection failures into a 503 in DRF's error shape.

    The data lives in MongoDB, so there is nothing to degrade to: say so clearly, let the load
    balancer and the door scanner retry, and log one line without the URI (pymongo's message names
    hosts but never credentials).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
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
