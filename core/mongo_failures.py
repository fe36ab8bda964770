"""MongoDB failures, as the request path sees them: which errors mean MongoDB is away, and the
per-process fail-fast state that stops web workers from waiting on a MongoDB that just failed.

In ``core`` (not in ``core.middleware``, which answers the 503s) so that a service which logs a
MongoDB failure and goes on — the scan log's writes: the verdict stands without them — still tells
the process that MongoDB is unreachable. Otherwise every request that reached its verdict before
MongoDB died spends its whole deadline on the scan log, and the requests queued behind it (health
checks too) wait several deadlines (chaos, seed 37: /health never said "error" during a kill).
"""

import contextvars
import threading
import time

import pymongo
from django.conf import settings
from django.db import DatabaseError, connection
from pymongo import _csot
from pymongo.errors import ConnectionFailure, PyMongoError, ServerSelectionTimeoutError


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
    """Tell whether MongoDB itself refused or dropped the connection (no timeout involved).

    A timeout (``NetworkTimeout``, a server selection or an operation past its deadline) does not
    say this by itself: a MongoDB that is slow because the machine is saturated times out the
    same way as one that is gone. ``note_database_failure`` asks MongoDB before it decides.
    """
    cause = _pymongo_cause(exception)
    if not isinstance(cause, ConnectionFailure):
        return False
    if isinstance(cause, ServerSelectionTimeoutError):
        return _refused_everywhere()  # selection waited for a server that refused every check
    return not cause.timeout


def _refused_everywhere() -> bool:
    """Tell whether every server the client knows failed its last check with a refused or reset
    connection (not a timeout): then MongoDB is gone and a ping would only wait for it too."""
    client = connection.connection
    if client is None:
        return False
    errors = [server.error for server in client.topology_description.server_descriptions().values()]
    return bool(errors) and all(
        isinstance(error, ConnectionFailure) and not error.timeout for error in errors
    )


# The ping that decides whether MongoDB answers (pymongo's server selection checks its deadline
# every 0.5 s, so a ping to a hung MongoDB takes up to 1 s).
PROBE_SECONDS = 0.5


def _ping() -> bool:
    try:
        with pymongo.timeout(PROBE_SECONDS):
            connection.ensure_connection()
            connection.database.command("ping")
    except (PyMongoError, DatabaseError):
        return False
    return True


def mongodb_answers(*, fresh_deadline: bool = False) -> bool:
    """Ping MongoDB through this thread's connection, bounded by ``PROBE_SECONDS``.

    The ping shares the deadline of the request around it (``pymongo.timeout`` only shortens),
    unless ``fresh_deadline``: then it gets its own ``PROBE_SECONDS`` even after the request's
    deadline ran out, which is what a ping that tells "slow" from "gone" needs.
    """
    if not fresh_deadline:
        return _ping()

    def ping_outside_the_deadline() -> bool:
        _csot.reset_all()  # in a copy of the context: the request's own deadline is untouched
        return _ping()

    return contextvars.copy_context().run(ping_outside_the_deadline)


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


def note_database_failure(exception: BaseException) -> bool:
    """Open fail-fast if MongoDB is unreachable; return True if it is (False: slow, not gone).

    A refused or dropped connection says so at once. A timeout is confirmed by a short ping of
    its own (``PROBE_SECONDS``, a fresh deadline): a MongoDB that answers it is slow (overload:
    the request gets "busy", fail-fast stays closed); one that does not is unreachable. Also for
    errors swallowed by code that goes on without MongoDB (the scan log).
    """
    if not is_database_unavailable(exception):
        return False
    if fail_fast.is_open():  # another request found it gone a moment ago: no second ping
        return True
    if is_database_unreachable(exception) or not mongodb_answers(fresh_deadline=True):
        fail_fast.trip()
        return True
    return False
