"""Check-out at the door: the early answers, the decision by the admission protocol, the log.

Check-out is idempotent (someone not inside answers ``not_checked_in``) and, with a nonce,
answered once (``check_in.decide_once``). The decision is the admission protocol's check-out
(``admission_protocol.py``; why it holds: docs/door-protocol.md); ``check_out_decide`` is also
what an undo (``undo.py``) and the closing of ended sessions (``closing.py``) call, so nothing
else ever frees a place. A ``CheckOutFence`` narrows which visit a check-out may end: an undo
only the visit its scan began, a late check-out only a visit begun by its ``scanned_at``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

from bson import ObjectId

from core.failpoints import failpoint
from core.staff_time import staff_time
from devices_app.models import DoorDevice
from participants_app.models import Participant

from ..admission import admission_remove
from ..caching import session_cache_invalidate
from ..models import CheckIn, Scan, Session
from ..selectors import session_get_for_admission
from ..verdicts import Reason, Verdict
from . import admission_protocol
from .check_in import decide_once, door_verdict, participant_resolve
from .live_publish import session_change_publish
from .scans import Attempt

_LEAVE_ATTEMPTS = 3  # another request's operation may finish between two tries
_DECREMENT_ATTEMPTS = 5  # a repair between our read and our write: re-read


def _as_utc(moment: datetime) -> datetime:
    """A time read by pymongo (naive, UTC) or given (aware), comparable either way."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class CheckOutFence:
    """Conditions a check-out's flip is made under (``admission_protocol.record_leave``).

    ``admitted_by``: an undo ends only the visit one of its scan's ops admitted (the entry's op,
    and those of the retries that took it over: ``scans.scan_entry_ops``); ``checked_in_by``: a
    late check-out (its ``scanned_at``) ends only a visit that began by then.
    """

    admitted_by: tuple[str, ...] = ()
    checked_in_by: datetime | None = None
    # An offline check-out synced through this lease: its place goes back to the lease.
    lease: str = ""


def _fenced_out(
    record: dict, session: Session, participant: Participant, fence: CheckOutFence
) -> Verdict | None:
    """Answer why a record that is inside is not checked out by this request, or None."""
    if fence.admitted_by and record.get("last_op") not in fence.admitted_by:
        return door_verdict(Reason.UNDO_SUPERSEDED, session, participant, inside=True)
    checked_in_at = record.get("checked_in_at")
    scanned_at = fence.checked_in_by
    if scanned_at is not None and checked_in_at and _as_utc(checked_in_at) > scanned_at:
        detail = (
            f"This check-out was scanned at {staff_time(scanned_at, seconds=True)}, before the "
            f"participant's latest check-in at {staff_time(_as_utc(checked_in_at), seconds=True)}:"
            " it does not check them out."
        )
        verdict = door_verdict(Reason.NOT_CHECKED_IN, session, participant, inside=True)
        return dataclasses.replace(verdict, detail=detail)
    return None


def _not_leaving(
    left: dict | None, session: Session, participant: Participant, took_over: tuple[str, ...],
    fence: CheckOutFence,
) -> Verdict | None:  # fmt: skip
    """Answer a record this check-out could not flip, before any wait: fenced, or taken over."""
    if left is None:
        return None
    if left["state"] == admission_protocol.INSIDE:
        return _fenced_out(left, session, participant, fence)
    if took_over and left["state"] == admission_protocol.LEAVING and left.get("op") in took_over:
        admission_protocol.op_take_over(left, session.pk)
        if left.get("lease"):  # resolved toward holding more: out only if its credit landed
            now = admission_protocol.record_read(session.pk, participant.pk)
            if now is None or now["state"] != admission_protocol.OUT:
                return None  # inside again: this retry checks them out afresh
        return door_verdict(Reason.CHECKED_OUT, session, participant, inside=False)
    return None


def _leave(
    session: Session, participant: Participant, op: str, took_over: tuple[str, ...],
    fence: CheckOutFence = CheckOutFence(),
) -> admission_protocol.Leaving | Verdict:  # fmt: skip
    """Step 1 of the check-out: mark the record leaving, or answer why not.

    A retry that took over its original's nonce answers ``checked_out`` if one of the requests
    that owned it before got the participant out (that was the original's verdict), even if they
    have come back in since: it does not end the visit that began after; else it finishes the
    original's check-out if it is still in flight (ending it frees the place).
    """
    for _attempt in range(_LEAVE_ATTEMPTS):
        if took_over:
            record = admission_protocol.record_read(session.pk, participant.pk)
            if record is not None and admission_protocol.op_landed(record, took_over):
                inside = record["state"] == admission_protocol.INSIDE
                return door_verdict(Reason.CHECKED_OUT, session, participant, inside=inside)
        left = admission_protocol.record_leave(
            session_id=session.pk, participant_id=participant.pk, op=op,
            admitted_by=fence.admitted_by, checked_in_by=fence.checked_in_by, lease=fence.lease,
        )  # fmt: skip
        if isinstance(left, admission_protocol.Leaving):
            return left
        answered = _not_leaving(left, session, participant, took_over, fence)
        if answered is not None:
            return answered
        if left is not None and left["state"] in (
            admission_protocol.ENTERING,
            admission_protocol.LEAVING,
        ):
            left = admission_protocol.record_await(session.pk, participant.pk)
        state = left["state"] if left else admission_protocol.OUT
        if state == admission_protocol.OUT:
            return door_verdict(Reason.NOT_CHECKED_IN, session, participant, inside=False)
        if state != admission_protocol.INSIDE:  # another request still deciding after the wait
            return door_verdict(Reason.CHECK_IN_IN_PROGRESS, session, participant, inside=False)
    return door_verdict(Reason.CHECK_IN_IN_PROGRESS, session, participant, inside=False)


def _decrement(
    session: Session, leaving: admission_protocol.Leaving
) -> admission_protocol.SessionAdmission | None:
    """Step 2: free the place; return the session as the decrement left it (None if this request
    freed nothing). A repair since we read the epoch has to be looked at first.

    If the reconcile ended our check-out, its repair counted the place out already: nothing to
    do. If it only repaired (our record still leaving), the repair counted us as holding a
    place, so the decrement is still ours to make, in the new epoch.
    """
    epoch = session.epoch
    for _attempt in range(_DECREMENT_ATTEMPTS):
        decremented = admission_protocol.session_decrement(session_id=session.pk, epoch=epoch)
        if decremented is not None:
            return decremented
        fresh = admission_protocol.session_admission_read(session.pk)
        if fresh is None or fresh.epoch == epoch:  # gone, or a counter at 0 (corrupt): nothing
            return None
        if not admission_protocol.leaving_holds(leaving):
            return None
        epoch = fresh.epoch
    return None


def _credit(session: Session, leaving: admission_protocol.Leaving, lease: str) -> bool:
    """Step 2 of an offline check-out: the place goes back to the lease (a settled lease's to the
    session); once per op. Return False if the reconcile fenced it off (the record is inside
    again: nothing was freed)."""
    if admission_protocol.lease_credit(session.pk, lease, leaving.op):
        return True
    now = admission_protocol.lease_room_read(session.pk, lease)
    if now is None or now.moved(leaving.op):
        return True
    if now.fenced(leaving.op):
        return False
    return admission_protocol.lease_decrement(session.pk, lease, leaving.op) or (
        not admission_protocol.lease_room_read(session.pk, lease).fenced(leaving.op)
    )


def _lease_leave(
    session: Session, participant: Participant, leaving: admission_protocol.Leaving, lease: str
) -> Verdict | None:
    """Credit and finish an offline check-out; a verdict if the reconcile put them back inside."""
    credited = _credit(session, leaving, lease)
    failpoint("check_out.after_decrement")
    finished = credited and admission_protocol.record_finish_leave(leaving)
    if not finished:
        record = admission_protocol.record_read(session.pk, participant.pk)
        gone = record is None or record["state"] == admission_protocol.OUT
        finished = gone and record is not None and record.get("last_op") == leaving.op
    admission_protocol.lease_ops_forget(session.pk, lease, leaving.op)
    if finished:
        return None
    return door_verdict(Reason.CHECK_IN_IN_PROGRESS, session, participant, inside=True)


def check_out_decide(
    session: Session, participant: Participant, *, op: str = "", took_over: tuple[str, ...] = (),
    fence: CheckOutFence = CheckOutFence(),
) -> Verdict:  # fmt: skip
    """Check the participant out by the admission protocol; the scan log is the caller's."""
    left = _leave(session, participant, op or admission_protocol.op_new(), took_over, fence)
    decremented = None
    if isinstance(left, Verdict):
        # A refusal, or a retry whose original got them out before they came back in: nothing
        # to free here (their place is the new visit's).
        if left.reason != Reason.CHECKED_OUT or left.inside:
            return left
    else:
        failpoint("check_out.after_record")
        if fence.lease:
            stopped = _lease_leave(session, participant, left, fence.lease)
            if stopped is not None:
                return stopped
        else:
            decremented = _decrement(session, left)
            failpoint("check_out.after_decrement")
            admission_protocol.record_finish_leave(left)
    admission_remove(session_id=session.pk, participant_id=participant.pk)
    session_cache_invalidate(session.pk)
    # The count as our decrement left it; on the other paths (a lease's credit, a repair that
    # counted the place out, a retry's verdict) as it is now.
    fresh = decremented or admission_protocol.session_admission_read(session.pk)
    return door_verdict(Reason.CHECKED_OUT, session, participant, inside=False, now=fresh)


def session_check_out(
    *,
    session_id: str | ObjectId,
    participant_id: str | ObjectId | None = None,
    ticket_code: str | None = None,
    nonce: str = "",
    source: str = CheckIn.Source.API,
    actor: str = "",
    device: DoorDevice | None = None,
    scanned_at: datetime | None = None,
    client_latency_ms: int | None = None,
) -> Verdict:
    """Check a participant out of a session, freeing the place; return the verdict.

    Idempotent: someone not inside answers ``not_checked_in``; a retry with the same ``nonce``
    answers the original verdict (``replayed``) and changes nothing, so a lost answer's resend
    never checks out someone who came back in meanwhile. A late check-out (``scanned_at``) never
    ends a visit that began after it was scanned: ``not_checked_in``, saying why.
    """
    session = session_get_for_admission(session_id=session_id)
    attempt = Attempt(
        session, Scan.Direction.OUT, source, actor, ticket_code or "", nonce, device=device,
        scanned_at=scanned_at, client_latency_ms=client_latency_ms,
    )  # fmt: skip
    participant = participant_resolve(attempt, participant_id, ticket_code)
    fence = CheckOutFence(checked_in_by=scanned_at)
    verdict = decide_once(
        attempt,
        participant,
        lambda op, took_over: check_out_decide(
            session, participant, op=op, took_over=took_over, fence=fence
        ),
    )
    if verdict.reason == Reason.CHECKED_OUT and not verdict.replayed:
        session_change_publish(session_id=session.pk)  # after the verdict; never fails it
    return verdict
