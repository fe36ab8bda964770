"""Publish tasks without ever blocking a request on the broker; leases; job-run records."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from redis_fallback import REDIS_CONNECTION_ERRORS, is_redis_available, ping
from redis_fallback.raw_client import socket_timeouts

from .models import JobRun, Lease, OutboxMessage
from .selectors import broker_is_redis

logger = logging.getLogger(__name__)

# Errors that mean "the broker is unreachable", as raised by kombu/redis-py while publishing.
BROKER_ERRORS = (KombuOperationalError, *REDIS_CONNECTION_ERRORS, OSError)


@dataclass(frozen=True)
class PublishResult:
    """What became of a publish: sent to the broker now, or kept in the outbox for later."""

    published: bool
    task_id: str | None = None
    outbox_id: str | None = None


def _send(task_name: str, args: list, kwargs: dict) -> str:
    """Publish to the broker within the bounded web retry policy; return the task id."""
    result = current_app.send_task(
        task_name,
        args=args,
        kwargs=kwargs,
        retry=True,
        retry_policy=settings.CELERY_WEB_PUBLISH_RETRY_POLICY,
    )
    return result.id


def _send_prompt(task_name: str, args: list, kwargs: dict) -> str:
    """Publish once on a fresh connection whose socket timeouts are the Redis layer's (0.25 s).

    The broker connection's own timeouts (CELERY_BROKER_SOCKET_TIMEOUT, 1 s) suit workers, not a
    web request: kombu waited them out twice against a paused Redis.
    """
    if not broker_is_redis():
        return _send(task_name, args, kwargs)
    with current_app.connection_for_write() as connection:
        connection.transport_options.update(socket_timeouts())
        result = current_app.send_task(
            task_name, args=args, kwargs=kwargs, connection=connection, retry=False
        )
    return result.id


def _redis_known_down() -> bool:
    # The broker is the same Redis the breaker watches: while it is open, do not even try; else
    # one PING through the breaker (bounded by REDIS_SOCKET_TIMEOUT) finds a hung or dead Redis
    # before kombu does, and opens the breaker for the next requests.
    if not broker_is_redis():
        return False

    return not (is_redis_available() and ping())


def task_publish(
    *, task_name: str, args: list | None = None, kwargs: dict | None = None
) -> PublishResult:
    """Publish a task with bounded retries; if the broker is down, store it in the outbox.

    Never raises for a broker outage and answers within about 0.3 s even with Redis hung: the
    breaker's PING decides, then one publish bounded by the Redis layer's socket timeouts.
    """
    args = list(args or [])
    kwargs = dict(kwargs or {})
    if not _redis_known_down():
        try:
            return PublishResult(published=True, task_id=_send_prompt(task_name, args, kwargs))
        except BROKER_ERRORS as exc:
            logger.warning(
                "Broker unavailable, task %s kept in the outbox: %s", task_name, type(exc).__name__
            )
            error = type(exc).__name__
    else:
        error = "redis circuit breaker open"
    message = OutboxMessage.objects.create(
        task_name=task_name, args=args, kwargs=kwargs, last_error=error[:300]
    )
    return PublishResult(published=False, outbox_id=str(message.pk))


def outbox_flush(*, limit: int = 100, claim_seconds: int = 60) -> dict[str, int]:
    """Publish pending outbox messages, oldest first; return counts of published and failed.

    Each message is claimed with a conditional update before publishing, so concurrent flushers
    (worker start-up, beat task) never publish the same message twice.
    """
    published = failed = 0
    now = timezone.now()
    pending = list(
        OutboxMessage.objects.filter(published_at__isnull=True).order_by("created_at")[:limit]
    )
    for message in pending:
        unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        claimed = OutboxMessage.objects.filter(
            unclaimed, pk=message.pk, published_at__isnull=True
        ).update(claimed_until=now + timedelta(seconds=claim_seconds), attempts=F("attempts") + 1)
        if not claimed:
            continue
        try:
            _send(message.task_name, message.args, message.kwargs)
        except BROKER_ERRORS as exc:
            failed += 1
            OutboxMessage.objects.filter(pk=message.pk).update(
                claimed_until=None, last_error=type(exc).__name__[:300]
            )
            break  # the broker is down: the rest would fail the same way
        OutboxMessage.objects.filter(pk=message.pk).update(
            published_at=timezone.now(), claimed_until=None
        )
        published += 1
    if published or failed:
        logger.info("Outbox flush: published=%d failed=%d", published, failed)
    return {"published": published, "failed": failed}


def lease_holder_id() -> str:
    """Return an id for this thread of this process (host:pid:thread) to put in leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def lease_holder_gone(holder: str) -> bool:
    """Tell whether a holder id cannot be running the leased work any more.

    True for a process of this host that no longer exists, and for the calling thread itself (it
    runs one thing at a time, so its earlier run is over: one whose release failed, e.g. because
    MongoDB went away in the middle of it). Unknowable for another host (False: wait for the
    expiry). A pid that was reused counts as alive: never taken from a live holder.
    """
    if holder == lease_holder_id():
        return True
    host, _, rest = holder.partition(":")
    pid = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by someone else
        return False
    return False


def lease_acquire(*, name: str, ttl_seconds: float, holder: str | None = None) -> bool:
    """Take the named lease if it is free, expired, or its holder cannot be running any more
    (``lease_holder_gone``: a Celery pool child killed in the middle of a reconcile, or an earlier
    run of this thread that could not release it, would otherwise block every run until the
    expiry); return whether this caller holds it."""
    holder = holder or lease_holder_id()
    now = timezone.now()
    expires = now + timedelta(seconds=ttl_seconds)
    taken = Lease.objects.filter(name=name, expires_at__lt=now).update(
        holder=holder, expires_at=expires
    )
    if taken:
        return True
    current = Lease.objects.filter(name=name).values_list("holder", flat=True).first()
    if current is not None:
        if not lease_holder_gone(current):
            return False
        # Conditional on the dead holder: of two processes taking over, one wins.
        if not Lease.objects.filter(name=name, holder=current).update(
            holder=holder, expires_at=expires
        ):
            return False
        logger.warning("Lease %s taken over from %s, which no longer runs", name, current)
        return True
    try:
        Lease.objects.create(name=name, holder=holder, expires_at=expires)
    except IntegrityError:
        return False  # another process created it first
    return True


def lease_release(*, name: str, holder: str | None = None) -> None:
    """Give the lease back early (only if this caller still holds it)."""
    holder = holder or lease_holder_id()
    Lease.objects.filter(name=name, holder=holder).update(expires_at=timezone.now())


def job_run_record(
    *, name: str, success: bool, summary: dict | None = None, error: str = ""
) -> None:
    """Record the outcome of a job run (the last success is what health reports)."""
    now = timezone.now()
    fields = (
        {"last_success_at": now, "last_summary": summary or {}}
        if success
        else {"last_failure_at": now, "last_error": error[:300]}
    )
    if not JobRun.objects.filter(name=name).update(**fields):
        try:
            JobRun.objects.create(name=name, **fields)
        except IntegrityError:
            JobRun.objects.filter(name=name).update(**fields)


def lease_renew(*, name: str, ttl_seconds: float, holder: str | None = None) -> bool:
    """Extend a lease this caller holds; return False if it is no longer the holder."""
    holder = holder or lease_holder_id()
    expires = timezone.now() + timedelta(seconds=ttl_seconds)
    return bool(Lease.objects.filter(name=name, holder=holder).update(expires_at=expires))
