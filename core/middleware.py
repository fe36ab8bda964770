"""Shed writes beyond a process's concurrency limit at once, bound a request's MongoDB work by one
deadline, answer 503 (never a 500) without MongoDB, stop tying up web workers on a MongoDB that
just failed, and tell overload ("busy") from an outage."""

import logging
import threading
import time
from contextlib import nullcontext

import pymongo
from django.conf import settings
from django.http import JsonResponse

from core.mongo_failures import (
    PROBE_SECONDS,  # noqa: F401 - re-exported: the tests and the README name it here
    fail_fast,
    is_database_unavailable,
    mongodb_answers,
    note_database_failure,
)

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
BUSY_RETRY_AFTER_SECONDS = 1
# Health endpoints report MongoDB's state with their own probes and must always answer.
FAIL_FAST_EXEMPT = ("/health",)
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def request_timeout_seconds(request) -> float | None:
    """Return the MongoDB deadline of this request (None: the client's own timeouts apply)."""
    seconds = settings.MONGODB_REQUEST_TIMEOUT_SECONDS
    if not seconds or request.path.startswith(tuple(settings.MONGODB_REQUEST_TIMEOUT_EXEMPT)):
        return None
    return seconds


def _unavailable(detail: str, reason: str, retry_after: int) -> JsonResponse:
    response = JsonResponse({"detail": detail, "reason": reason}, status=503)
    response["Retry-After"] = str(retry_after)
    return response


def database_unavailable_response() -> JsonResponse:
    """Return the 503 that says MongoDB is unavailable, in DRF's error shape."""
    return _unavailable(
        "The database is unavailable. Retry shortly.", "database_unavailable", RETRY_AFTER_SECONDS
    )


def busy_response() -> JsonResponse:
    """Return the 503 that says the service is overloaded (MongoDB answers, but not in time)."""
    return _unavailable("The service is busy. Retry in a moment.", "busy", BUSY_RETRY_AFTER_SECONDS)


class _Slots:
    """Per process: at most ``WEB_MAX_CONCURRENT_REQUESTS`` admitted writes at once.

    A write that finds no free slot waits for one in a queue, as long as the queue is short-lived:
    ``WEB_ADMISSION_WAIT_SECONDS`` at most while it has been empty within the last
    ``WEB_ADMISSION_QUEUE_INTERVAL_SECONDS``, and only ``WEB_ADMISSION_QUEUE_TARGET_SECONDS`` once
    it has not (controlled delay, as in "Fail at Scale", Facebook 2015: a burst waits, a standing
    queue under sustained overload is refused at once). A refused write is answered "busy" instead
    of queueing for MongoDB behind the others and then running out of its deadline; refusing fast
    frees the thread, so the connections behind it (in the kernel's accept backlog, out of
    Django's sight) are not kept waiting either.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limit = 0
        self._semaphore: threading.BoundedSemaphore | None = None
        self._waiting = 0
        self._last_empty = time.monotonic()  # the last moment no write waited for a slot

    def semaphore(self) -> threading.BoundedSemaphore | None:
        limit = settings.WEB_MAX_CONCURRENT_REQUESTS
        if limit <= 0:
            return None
        with self._lock:
            if self._semaphore is None or limit != self._limit:  # the setting changed (tests)
                self._limit, self._semaphore = limit, threading.BoundedSemaphore(limit)
            return self._semaphore

    def acquire(self, semaphore: threading.BoundedSemaphore) -> bool:
        """Take a slot (True), or refuse (False) after the wait the queue's age allows."""
        if semaphore.acquire(blocking=False):
            return True
        with self._lock:
            now = time.monotonic()
            if self._waiting == 0:
                self._last_empty = now
            standing = now - self._last_empty > settings.WEB_ADMISSION_QUEUE_INTERVAL_SECONDS
            self._waiting += 1
        wait = settings.WEB_ADMISSION_WAIT_SECONDS
        if standing:
            wait = min(wait, settings.WEB_ADMISSION_QUEUE_TARGET_SECONDS)
        try:
            return semaphore.acquire(timeout=wait)
        finally:
            with self._lock:
                self._waiting -= 1
                if self._waiting == 0:
                    self._last_empty = time.monotonic()


_slots = _Slots()


def _admission_applies(request) -> bool:
    return request.method not in _SAFE_METHODS and request.path.startswith(
        tuple(settings.WEB_ADMISSION_PATHS)
    )


class AdmissionMiddleware:
    """Answer a write 503 ``busy`` (with ``Retry-After``) when this process is at its limit.

    Writes to the door and the API (``WEB_ADMISSION_PATHS``) wait at most
    ``WEB_ADMISSION_WAIT_SECONDS`` for one of ``WEB_MAX_CONCURRENT_REQUESTS`` slots of this
    process (``WEB_ADMISSION_QUEUE_TARGET_SECONDS`` once the wait has become a standing queue,
    see ``_Slots``), else they are refused at once instead of queueing for MongoDB behind the
    others and running out of their deadline. It sits early in the chain, after the metrics middleware
    (which counts the refusal) and the security one (its headers and HTTPS redirect), before
    everything else: a refusal costs no session, authentication or view.

    A limit per process needs a process that serves several requests at once: gunicorn runs
    threaded workers (``config/gunicorn.py``, more threads than slots). A sync worker serves one
    request at a time, so its slot is never contended and overload queues in the kernel's accept
    backlog instead, out of Django's sight, until the client gives up.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        semaphore = _slots.semaphore() if _admission_applies(request) else None
        if semaphore is None:
            return self.get_response(request)
        if not _slots.acquire(semaphore):
            return busy_response()
        try:
            return self.get_response(request)
        finally:
            semaphore.release()


class DatabaseUnavailableMiddleware:
    """Give the view one MongoDB deadline; turn MongoDB failures into a 503 in DRF's error shape.

    The deadline (``MONGODB_REQUEST_TIMEOUT_SECONDS``) is pymongo's client-side operation timeout
    (``pymongo.timeout``), scoped to this request: every MongoDB operation the view runs shares
    it, so a hung MongoDB costs a door scanner (and a sync web worker) about that long, not the
    client's 10 s socket timeout. Work outside a request (reconcile, imports, Celery tasks, the
    admin, which is exempt) keeps the client's longer timeouts. After such a failure, requests
    are answered 503 at once for ``MONGODB_FAIL_FAST_SECONDS``, then one short ping decides
    (health endpoints excepted).

    Overload is not an outage: a timeout opens fail-fast only if MongoDB then fails a ping of its
    own (``note_database_failure``); if it answers, the request gets 503 ``busy``. (Writes
    beyond the process's concurrency limit were refused earlier, by ``AdmissionMiddleware``.)

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
                if not mongodb_answers():
                    fail_fast.trip()
                    return database_unavailable_response()
                fail_fast.reset()
            return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        if not note_database_failure(exception):
            # MongoDB answers its ping: slow (overload), not gone. Fail-fast stays closed.
            logger.warning(
                "MongoDB slow on %s %s (%s), answers a ping: busy",
                request.method, request.path, type(exception).__name__,
            )  # fmt: skip
            return busy_response()
        logger.error(
            "MongoDB unavailable on %s %s: %s",
            request.method,
            request.path,
            type(exception).__name__,
        )
        return database_unavailable_response()
