"""Create, edit and delete sessions. The counter is never written here."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from core.deletes import delete_with_tombstone
from core.exceptions import NotFoundError, NotFoundReason

from ..admission import admission_forget
from ..caching import session_cache_invalidate
from ..models import Session, capacity_below_count_error, session_times_check
from .admission_sync import session_admission_sync
from .live_publish import session_change_publish

EDITABLE_FIELDS = ("title", "description", "location", "starts_at", "ends_at", "capacity", "status")


def session_create(
    *,
    title: str,
    starts_at,
    ends_at,
    capacity: int,
    description: str = "",
    location: str = "",
    status: str = Session.Status.DRAFT,
) -> Session:
    """Create a session (nobody checked in) and prepare its Redis admission set if open."""
    session_times_check(starts_at, ends_at)
    session = Session(
        title=title,
        description=description,
        location=location,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        status=status,
        version=1,
        changed_at=timezone.now(),
    )
    session.full_clean()
    session.save()
    session_cache_invalidate(session.pk)
    session_admission_sync(session=session)
    session_change_publish(session_id=session.pk)
    return session


def session_update(*, session: Session, data: dict) -> Session:
    """Apply ``data`` (a subset of the editable fields) in one atomic conditional update.

    Lowering the capacity below the number inside is refused (``ValidationError`` on
    ``capacity``): the update matches only while ``check_in_count <= capacity``, so a check-in
    racing with the edit cannot slip in between the check and the write.
    """
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    session_times_check(
        data.get("starts_at", session.starts_at), data.get("ends_at", session.ends_at)
    )
    if not data:
        return session
    candidate = Session(**{f: getattr(session, f) for f in EDITABLE_FIELDS} | data)
    candidate.full_clean(exclude=["check_in_count"], validate_unique=False)

    matching = Session.objects.filter(pk=session.pk)
    if "capacity" in data:
        # Places leased to doors are taken too (services/leases.py): count + leased <= capacity,
        # with ``leased`` as read (a grant meanwhile makes the update miss: refused, retry).
        leased = Session.objects.filter(pk=session.pk).values_list("leased", flat=True).first()
        matching = matching.filter(
            leased=leased or 0, check_in_count__lte=data["capacity"] - (leased or 0)
        )
    now = timezone.now()
    # The live version is bumped by the same write (live_app: screens order messages by it).
    updated = matching.update(**data, updated_at=now, changed_at=now, version=F("version") + 1)
    fresh = Session.objects.filter(pk=session.pk).first()
    if fresh is None:
        raise NotFoundError(NotFoundReason.SESSION_NOT_FOUND)
    if not updated:
        raise capacity_below_count_error(fresh.check_in_count, fresh.leased)
    session_cache_invalidate(fresh.pk)
    if fresh.status != session.status:
        # Opened: seed its Redis set; no longer open: drop it. Other edits leave the set alone
        # (a reseed would drop reservations of check-ins in flight; capacity is passed per call).
        session_admission_sync(session=fresh)
    session_change_publish(session_id=fresh.pk)
    return fresh


def session_delete(*, session: Session) -> None:
    """Delete a session that has no check-in history; raise ``ProtectedError`` otherwise.

    Racing check-ins cannot leave a record behind: the session is marked ``deleting`` before the
    records are looked for, and an admission claims its record before it takes a place (which
    requires the mark to be unset). Either the delete sees the claim and stops, or the admission
    finds the session deleting and waits for the outcome.
    """
    session_id = session.pk
    delete_with_tombstone(session)
    session_cache_invalidate(session_id)
    admission_forget(session_id=session_id)
    session_change_publish(session_id=session_id)  # the screens drop it
