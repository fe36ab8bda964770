"""MongoDB failures, as the request path sees them: which errors mean MongoDB is away, and the
per-process fail-fast state that stops web workers from waiting on a MongoDB that just failed.

In ``core`` (not in ``config.middleware``, which answers the 503s) so that a service which logs a
MongoDB failure and goes on — the scan log's writes: the verdict stands without them — still tells
the process that MongoDB is unreachable. Otherwise every request that reached its verdict before
MongoDB died spends its whole deadline on the scan log, and the requests queued behind it (health
checks too) wait several deadlines (chaos, seed 37: /health never said "error" during a kill).
"""

import threading
import time

from django.conf import settings
from pymongo.errors import ConnectionFailure, PyMongoError


def _pymongo_cause(exception: BaseException | None) -> PyMongoError | None:
    """Return the pymongo error an exception is or wraps (django-mongodb-backend re-raises
    pymongo errors as django.db.DatabaseError, chained), or None."""
    seen = 0
    while exception is not None and seen < 5:
        if isinstance(exception, PyMongoError):
            return exception
        exception = exception.__cause__ or exception.__context__
        seen += 1
    return None


def is_database_unavailable(exception: BaseException) -> bool:
    """Tell whether an exception means MongoDB could not serve this request in time.

    A connection failure (refused, reset, no answer within the deadline: ``NetworkTimeout``), or
    any other pymongo timeout: the request's deadline may also run out before an operation is
    sent (``ExecutionTimeout``: "operation would exceed time limit"; pymongo then does not send
    it), e.g. when the web process itself was stalled.
    """
    cause = _pymongo_cause(exception)
    return cause is not None and (isinstance(cause, ConnectionFailure) or cause.timeout)


def is_database_unreachable(exception: BaseException) -> bool:
    """Tell whether MongoDB itself failed (not merely this request's clock running out)."""
    return isinstance(_pymongo_cause(exception), ConnectionFailure)


class _FailFast:
    """Per process: after MongoDB failed a request, answer the next ones 503 at once for a moment.

    Without it, every request that arrives while MongoDB hangs holds a sync web worker for the
    whole deadline, requests queue behind each other, and the door waits several deadlines. Once
    the moment is over, the next request first pings MongoDB (``PROBE_SECONDS``): an answer
    closes it and the request goes on; none reopens it and the request answers 503 at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def needs_probe(self) -> bool:
        return self._open_until > 0.0

    def trip(self) -> None:
        seconds = settings.MONGODB_FAIL_FAST_SECONDS
        if seconds > 0:
            with self._lock:
                self._open_until = max(self._open_until, time.monotonic() + seconds)

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0


fail_fast = _FailFast()


def note_database_failure(exception: BaseException) -> None:
    """Open fail-fast if ``exception`` says MongoDB itself is unreachable (for errors swallowed
    by code that goes on without MongoDB)."""
    if is_database_unreachable(exception):
        fail_fast.trip()
