"""Close the sessions whose admission window has ended, and check out whoever is still inside.

Run by beat (``sessions_app.sessions_close_ended``) every ``RECONCILE_INTERVAL_SECONDS``. A
session admits until ``DOORS_CLOSE_GRACE_MINUTES`` after its end (``Session.doors_close_at``);
after that nobody leaves through a door scanner any more, so without this the count would stay
up overnight. Each check-out goes through the admission protocol (``check_out.check_out_decide``: the
record's ``inside -> leaving`` flip is conditional, the decrement fenced by the epoch), so a run
twice, two runs at once, or a run beside a door's own check-out count everyone out exactly once.
Each one is in the scan log as ``session_ended``, source ``system``. See docs/door-protocol.md.

A check-in still deciding when the session closes cannot be admitted any more (its increment
requires the session open); one that took its place just before and becomes ``inside`` after
this run read the records leaves the counter above zero, and the next run, which looks at every
ended session with a count, checks it out.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from bson import ObjectId
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from participants_app.models import Participant

from ..caching import session_cache_invalidate
from ..models import CheckIn, Scan, Session
from ..verdicts import Reason
from . import admission_protocol
from .admission_sync import session_admission_sync
from .check_out import check_out_decide
from .live_publish import session_change_publish
from .scans import Attempt, scan_record

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"


@dataclass
class CloseSummary:
    """What one run closed and checked out."""

    closed: int = 0
    checked_out: int = 0
    failed_sessions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _ended_sessions(now) -> list[Session]:
    """Sessions past their window that are open or still count someone (plain conditions)."""
    ended_before = now - timedelta(minutes=settings.DOORS_CLOSE_GRACE_MINUTES)
    return list(
        Session.objects.filter(ends_at__lt=ended_before).filter(
            Q(status=Session.Status.OPEN) | Q(status=Session.Status.CLOSED, check_in_count__gt=0)
        )
    )


def _close(session: Session) -> bool:
    """Set an open session to closed (one conditional write); True if this run closed it."""
    now = timezone.now()
    closed = Session.objects.filter(pk=session.pk, status=Session.Status.OPEN).update(
        status=Session.Status.CLOSED, updated_at=now, changed_at=now, version=F("version") + 1
    )
    if closed:
        session.status = Session.Status.CLOSED
        session_cache_invalidate(session.pk)
        session_admission_sync(session=session)  # no longer open: its Redis set goes
        session_change_publish(session_id=session.pk)
    return bool(closed)


def _check_out_everyone(session: Session) -> int:
    """Check out those inside (or entering) by the admission protocol; return how many."""
    ids = [
        ObjectId(participant)
        for participant, state in admission_protocol.holders(session.pk)
        if state
        in (
            admission_protocol.INSIDE,
            admission_protocol.ENTERING,
        )  # a ``leaving`` one is being checked out
    ]
    if not ids:
        return 0
    attempt = Attempt(session, Scan.Direction.OUT, CheckIn.Source.SYSTEM, SYSTEM_ACTOR)
    done = 0
    for participant in Participant.objects.filter(pk__in=ids):
        fresh = Session.objects.filter(pk=session.pk).first()  # the epoch the decrement needs
        if fresh is None:
            return done
        verdict = check_out_decide(fresh, participant)
        if verdict.reason != Reason.CHECKED_OUT:
            continue  # checked out by a door meanwhile, or still deciding: the next run looks
        scan_record(
            attempt=attempt,
            participant=participant,
            reason=Reason.SESSION_ENDED,
            check_in_count=verdict.check_in_count,
        )
        done += 1
    if done:
        session_change_publish(session_id=session.pk)
    return done


def sessions_close_ended() -> CloseSummary:
    """Close every session whose window has ended and check out whoever is inside; idempotent."""
    summary = CloseSummary()
    for session in _ended_sessions(timezone.now()):
        try:
            summary.closed += _close(session)
            summary.checked_out += _check_out_everyone(session)
        except Exception as exc:  # one bad session never stops the others
            summary.failed_sessions.append(f"{session.pk}: {type(exc).__name__}")
    if summary.closed or summary.checked_out or summary.failed_sessions:
        logger.info(
            "Ended sessions: closed=%d checked_out=%d failed=%s",
            summary.closed, summary.checked_out, summary.failed_sessions or "none",
        )  # fmt: skip
    return summary
