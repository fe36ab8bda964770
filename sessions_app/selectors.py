"""Reads of sessions, check-ins and the statistics."""

from __future__ import annotations

import copy
from collections.abc import Callable

from bson import ObjectId
from django.conf import settings
from django.db.models import Count, QuerySet, Sum
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from core.exceptions import NotFoundError, NotFoundReason
from core.process_cache import (
    model_copy,
    process_cache_drop,
    process_cache_get_or_load_shared,
    process_cache_replace_shared,
)
from jobs_app.schedule import RECONCILE_JOB
from jobs_app.selectors import job_last_success_at
from participants_app.models import Participant

from .models import CheckIn, Scan, Session
from .verdicts import Reason


def session_list() -> QuerySet[Session]:
    """Return all sessions in their default order (filters are applied by the caller)."""
    return Session.objects.all()


def session_get(*, session_id: str | ObjectId) -> Session:
    """Return the session or raise ``NotFoundError`` (``session_not_found``), also for malformed ids."""
    if not ObjectId.is_valid(session_id):
        raise NotFoundError(NotFoundReason.SESSION_NOT_FOUND)
    session = Session.objects.filter(pk=ObjectId(session_id)).first()
    if session is None:
        raise NotFoundError(NotFoundReason.SESSION_NOT_FOUND)
    return session


def _copy_key(session_id) -> str:
    return f"session:{session_id}"


def session_get_for_admission(*, session_id: str | ObjectId) -> Session:
    """Return the session from this process's copy (at most ``DOOR_READ_CACHE_SECONDS`` old).

    For check-in and check-out only: their conditional writes re-check status, capacity and epoch
    in MongoDB, a "not open" is confirmed by a fresh read, and a "full" by the session's current count.
    The copy is kept as an object (not pickled: unpickling it was about 0.2 ms of a check-in's
    worker CPU); each caller gets its own copy, its JSON fields (the leases' rooms) included.
    """
    if not ObjectId.is_valid(session_id):
        return session_get(session_id=session_id)  # raises: not found
    kept = process_cache_get_or_load_shared(
        _copy_key(session_id),
        lambda: session_get(session_id=session_id),
        seconds=settings.DOOR_READ_CACHE_SECONDS,
    )
    session = model_copy(kept)
    for name, value in list(vars(session).items()):
        if isinstance(value, dict | list):  # JSONField values: never shared with the kept one
            vars(session)[name] = copy.deepcopy(value)
    return session


def session_copy_replace(session_id, replace: Callable[[Session], Session | None]) -> None:
    """Keep ``replace(kept)`` as this process's copy of the session, if one is kept (until its
    expiry); ``replace`` returns a new instance (never changes the kept one) or None."""
    process_cache_replace_shared(_copy_key(session_id), replace)


@receiver([post_save, post_delete], sender=Session, dispatch_uid="session_copy_drop")
def _session_copy_drop(sender, instance: Session, **kwargs) -> None:
    """A session saved or deleted in this process: its copy goes at once."""
    process_cache_drop(_copy_key(instance.pk))


def session_check_in_list(*, session_id: ObjectId, inside: bool | None = None) -> QuerySet[CheckIn]:
    """Return a session's check-in records, newest first, with their participants.

    ``inside``: True for the participants inside now, False for the others (left, or never got
    in); records of a request still deciding are in neither. The participants come by
    ``prefetch_related`` (one read by ``_id`` per page), not ``select_related``: the backend put
    the join's ``$lookup`` before the ``$match``, joining every record of every session.
    """
    records = CheckIn.objects.filter(session_id=session_id).prefetch_related("participant")
    if inside is True:
        records = records.filter(state=CheckIn.State.INSIDE)
    elif inside is False:
        records = records.filter(state=CheckIn.State.OUT)
    return records.order_by("-checked_in_at")


def session_scan_list(*, session_id: ObjectId) -> QuerySet[Scan]:
    """Return a session's scan log, newest first."""
    return Scan.objects.filter(session_id=session_id).order_by("-created_at")


# The verdicts of a scan that checked someone in or out (its actor saw the name legitimately).
HANDLED_REASONS = (Reason.CHECKED_IN.value, Reason.CHECKED_OUT.value)


def scan_participants_handled_by(*, actor: str, participant_ids) -> set[ObjectId]:
    """Return which of ``participant_ids`` ``actor`` ever checked in or out (at any session)."""
    ids = [pid for pid in participant_ids if pid is not None]
    if not ids or not actor:
        return set()
    return set(
        Scan.objects.filter(
            participant_id__in=ids, actor=actor, reason__in=HANDLED_REASONS
        ).values_list("participant_id", flat=True)
    )


def session_stats() -> dict:
    """Return totals: sessions by status, participants, people inside, and each open session's fill."""
    by_status = {status: 0 for status in Session.Status.values}
    for row in Session.objects.values("status").annotate(n=Count("pk")):
        by_status[row["status"]] = row["n"]
    checked_in_now = Session.objects.aggregate(total=Sum("check_in_count"))["total"] or 0
    open_sessions = [
        {
            "id": str(session.pk),
            "title": session.title,
            "capacity": session.capacity,
            "check_in_count": session.check_in_count,
            "fill_percent": session.fill_percent,
        }
        for session in Session.objects.filter(status=Session.Status.OPEN).only(
            "title", "capacity", "check_in_count", "starts_at"
        )
    ]
    return {
        "sessions": {"total": sum(by_status.values()), "by_status": by_status},
        "participants": Participant.objects.count(),
        "checked_in_now": checked_in_now,
        "open_sessions": open_sessions,
        "generated_at": timezone.now().isoformat(),
    }


def reconcile_last_success_at():
    """Return when the counter reconciliation last completed (an aware datetime), or None."""
    return job_last_success_at(name=RECONCILE_JOB)


def participant_scan_list(*, participant_id: ObjectId) -> QuerySet[Scan]:
    """Return a participant's scans across sessions, newest first, with their sessions.

    The sessions come by ``prefetch_related`` (one read by ``_id``), not ``select_related``: the
    backend put the join's ``$lookup`` before the ``$match``, joining the whole scan log.
    """
    return (
        Scan.objects.filter(participant_id=participant_id)
        .prefetch_related("session")
        .order_by("-created_at")
    )


def session_conflict_list(*, session_id: ObjectId) -> QuerySet[Scan]:
    """Return a session's conflicts (offline scans the server disagreed with), newest first.

    The session comes by ``prefetch_related`` (one read by ``_id``), not ``select_related``: the
    backend puts the join's ``$lookup`` before the ``$match``, so every scan of the whole log was
    joined to its session before the session's conflicts were picked, which outran the request's
    MongoDB deadline once the log held some thousands of scans (503 busy; chaos seed 61).
    """
    return (
        Scan.objects.filter(session_id=session_id, conflict__gt="")
        .prefetch_related("session")
        .order_by("-created_at")
    )
