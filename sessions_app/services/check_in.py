"""Check-in at the door: the early answers, the decision, the side effects (check-out: check_out.py).

Each request reads top to bottom:

1. resolve the session and the participant (unknown ones answer 404, and are logged);
2. a check-in with a nonce claims it in the scan log first: a repeat of an earlier request is
   answered from there (``scans.scan_claim``) and decides nothing;
3. Redis's early answers (``_redis_precheck``): a member who is inside, a full session — each
   confirmed by what MongoDB says before it is answered;
4. the decision, in MongoDB, by the admission protocol of ``admission_protocol.py`` (why it holds:
   docs/door-protocol.md);
5. the side effects: Redis bookkeeping, the scan log entry, then (an admission) the cache
   invalidation and the live notification, in one Redis round trip.

A request that meets another request for the same participant still deciding waits for it
briefly and answers what happened, or ``check_in_in_progress`` (409, retry in a second); it never
answers ``session_full`` for someone who is getting in, and never releases the other request's
Redis reservation.
"""

from __future__ import annotations

import time
from datetime import datetime

from bson import ObjectId
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.exceptions import NotFoundError, NotFoundReason
from core.failpoints import failpoint
from devices_app.models import DoorDevice
from participants_app.models import Participant
from participants_app.selectors import participant_get_for_admission

from ..admission import Admission, admission_add, admission_remove, admission_reserve
from ..caching import session_cache_invalidate
from ..models import CheckIn, Scan, Session
from ..selectors import session_get, session_get_for_admission
from ..verdicts import Reason, Verdict
from . import admission_protocol
from .admission_sync import session_admission_sync
from .live_publish import session_change_invalidate_and_publish
from .scans import (
    Attempt,
    NonceClaim,
    scan_claim,
    scan_claim_finish,
    scan_claim_release,
    scan_record,
    scan_record_verdict,
)

_CLAIM_ATTEMPTS = 3  # another request's operation may finish between two tries
_INCREMENT_ATTEMPTS = 5  # a capacity edit or a repair between our read and our write: re-read
_POLL_SECONDS = 0.02


def door_verdict(
    reason: Reason,
    session: Session,
    participant: Participant,
    *,
    inside: bool,
    now: admission_protocol.SessionAdmission | None = None,
) -> Verdict:
    """Build a verdict; counts from ``now`` (fresher fields) when given, else ``session``."""
    return Verdict(
        reason=reason,
        session=str(session.pk),
        participant=str(participant.pk),
        check_in_count=now.count if now else session.check_in_count,
        capacity=now.capacity if now else session.capacity,
        session_title=session.title,
        participant_name=participant.full_name,
        inside=inside,
    )


def participant_resolve(attempt: Attempt, participant_id, ticket_code) -> Participant:
    """Return the participant at the door; an unknown one is logged and raises ``NotFoundError``."""
    try:
        return participant_get_for_admission(participant_id=participant_id, ticket_code=ticket_code)
    except NotFoundError as exc:
        scan_record(attempt=attempt, participant=None, reason=exc.reason)
        raise


def _inside_now(session, participant: Participant) -> bool:
    """Read the participant's record: inside (or on the way out) at this session?"""
    record = admission_protocol.record_read(session.pk, participant.pk)
    return record is not None and record["state"] in (
        admission_protocol.INSIDE,
        admission_protocol.LEAVING,
    )


def _inside_or(reason: Reason, session, participant: Participant) -> Verdict:
    """Refuse with ``reason`` unless the participant is inside already (that answer comes first)."""
    if _inside_now(session, participant):
        return door_verdict(Reason.ALREADY_CHECKED_IN, session, participant, inside=True)
    return door_verdict(reason, session, participant, inside=False)


# --- check-in -------------------------------------------------------------------------------------


def _redis_precheck(session: Session, participant: Participant) -> tuple[Admission, Verdict | None]:
    """Ask Redis first; return its answer and an early verdict, or None to let MongoDB decide.

    Redis's "member" is confirmed by the participant's record (a member may be a reservation of
    a request still deciding), its "full" by the session's current count (the set may count such
    reservations, or a check-out Redis missed): one read, never a wrong verdict. That a
    participant who is not a member of a seeded set is not inside is taken from Redis.
    """
    # Leased places are taken (as this process's copy of the session says: a stale copy costs a
    # confirmation read or a refused increment, never a wrong verdict).
    admission = admission_reserve(
        session_id=session.pk,
        participant_id=participant.pk,
        capacity=max(0, session.capacity - (session.leased or 0)),
    )
    if admission is Admission.MEMBER:
        if _inside_now(session, participant):
            return admission, door_verdict(
                Reason.ALREADY_CHECKED_IN, session, participant, inside=True
            )
    elif admission is Admission.FULL:
        now = admission_protocol.session_admission_read(session.pk)
        if now is not None and now.full:
            return admission, door_verdict(
                Reason.SESSION_FULL, session, participant, inside=False, now=now
            )
    return admission, None


def record_claim_or_verdict(
    session: Session, participant: Participant, source: str, op: str, took_over: tuple[str, ...], *,
    lease: str = "",
) -> admission_protocol.Claim | Verdict:  # fmt: skip
    """Step 1 of the admission: claim the pair, or answer why not (inside, or someone in flight).

    A retry that took over its original's nonce (``took_over``: the ops of the requests that
    owned it before) answers ``checked_in`` if one of them got the participant in, even if they
    have left since (that was the original's verdict, and the door may have shown it: an offline
    green); else it ends the operation of one still in flight and decides afresh.
    """
    for _attempt in range(_CLAIM_ATTEMPTS):
        if took_over:
            record = admission_protocol.record_read(session.pk, participant.pk)
            if record is not None and admission_protocol.op_landed(record, took_over):
                inside = record["state"] == admission_protocol.INSIDE
                return door_verdict(Reason.CHECKED_IN, session, participant, inside=inside)
            if record is not None and record.get("op") in took_over:
                admission_protocol.op_take_over(record, session.pk)
                continue
        claim = admission_protocol.record_claim(
            session_id=session.pk, participant_id=participant.pk, op=op, source=source, lease=lease
        )
        if claim is not None:
            return claim
        record = admission_protocol.record_await(session.pk, participant.pk)
        state = record["state"] if record else admission_protocol.OUT
        if state in (admission_protocol.INSIDE, admission_protocol.LEAVING):
            return door_verdict(Reason.ALREADY_CHECKED_IN, session, participant, inside=True)
        if state == admission_protocol.ENTERING:  # still deciding after the wait
            return door_verdict(Reason.CHECK_IN_IN_PROGRESS, session, participant, inside=False)
        # out or gone: the other request was refused or ended; claim again
    return door_verdict(Reason.CHECK_IN_IN_PROGRESS, session, participant, inside=False)


def _await_tombstone(read, *, gone, deleting) -> bool:
    """Wait (bounded) while a delete decides; return True if the object is gone."""
    deadline = time.monotonic() + settings.CHECKIN_IN_FLIGHT_WAIT_SECONDS
    current = read()
    while current is not None and deleting(current) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        current = read()
    return gone(current)


def participant_remains(participant: Participant, *, by_ticket: bool) -> bool:
    """Re-read the participant after the claim: a delete that missed the claim must be seen here.

    The delete marks the participant first and looks for records second; the check-in claims
    first and looks at the participant second, so at least one of them sees the other. The read
    also sees, for a scanned ticket, a code given to someone else since this process's copy of
    the participant was made.
    """

    # A find by ``_id``: the ORM's ``filter(pk=...).first()`` is an aggregate ($match, $sort,
    # $limit), dearer to build in the worker and to run on the stand-in (docs/mongodb-stand-in.md).
    participants = connection.get_collection(Participant._meta.db_table)

    def read():
        return participants.find_one({"_id": participant.pk}, {"deleting": 1, "ticket_code": 1})

    return not _await_tombstone(
        read,
        gone=lambda p: (
            p is None
            or p.get("deleting", False)
            or (by_ticket and p.get("ticket_code") != participant.ticket_code)
        ),
        deleting=lambda p: p.get("deleting", False),
    )


def _increment(claim: admission_protocol.Claim, session: Session, participant: Participant):
    """Step 2: take a place; return the session as the increment left it, or the refusal."""
    current = admission_protocol.SessionAdmission.of(session)
    for _attempt in range(_INCREMENT_ATTEMPTS):
        incremented = admission_protocol.session_increment(current)
        if incremented is not None:
            return incremented
        fresh = admission_protocol.session_admission_read(session.pk)
        if fresh is not None and fresh.deleting:
            gone = _await_tombstone(
                lambda: admission_protocol.session_admission_read(session.pk),
                gone=lambda s: s is None,
                deleting=lambda s: s.deleting,
            )
            fresh = None if gone else admission_protocol.session_admission_read(session.pk)
        if fresh is None:
            admission_protocol.claim_revert(claim)
            raise NotFoundError(NotFoundReason.SESSION_NOT_FOUND)
        if not admission_protocol.claim_holds(claim):
            # The reconcile (or a retry that took our nonce over) ended our claim: nothing was
            # counted, and the place we found taken may be our retry's: never "full" for it.
            return door_verdict(Reason.CHECK_IN_IN_PROGRESS, session, participant, inside=False)
        if fresh.status != Session.Status.OPEN or fresh.full:
            admission_protocol.claim_revert(claim)
            closed = fresh.status != Session.Status.OPEN
            reason = Reason.SESSION_NOT_OPEN if closed else Reason.SESSION_FULL
            return door_verdict(reason, session, participant, inside=False, now=fresh)
        current = fresh  # capacity edited or a repair ran since we read: try again as it is now
    admission_protocol.claim_revert(claim)
    return door_verdict(Reason.CHECK_IN_IN_PROGRESS, session, participant, inside=False)


def _admit(
    session: Session, participant: Participant, source: str, op: str, took_over: tuple[str, ...], *,
    by_ticket: bool,
) -> Verdict:  # fmt: skip
    """Decide in MongoDB by the admission protocol (``admission_protocol.py``)."""
    claimed = record_claim_or_verdict(session, participant, source, op, took_over)
    if isinstance(claimed, Verdict):
        return claimed
    claim = claimed
    failpoint("check_in.after_claim")
    if not participant_remains(participant, by_ticket=by_ticket):
        admission_protocol.claim_revert(claim)
        raise NotFoundError(
            NotFoundReason.TICKET_NOT_FOUND if by_ticket else NotFoundReason.PARTICIPANT_NOT_FOUND
        )
    incremented = _increment(claim, session, participant)
    if isinstance(incremented, Verdict):
        return incremented
    failpoint("check_in.after_increment")
    if not admission_protocol.record_admit(claim, source=source):
        # The reconcile ended the claim after our increment: give the place back, unless a repair
        # has counted it out already (the undo is conditional on the epoch we incremented in).
        admission_protocol.session_increment_undo(incremented)
        return door_verdict(Reason.CHECK_IN_IN_PROGRESS, session, participant, inside=False)
    failpoint("check_in.after_admit")
    # The count as our increment left it: a moment of the session's count, as any read would be.
    return door_verdict(Reason.CHECKED_IN, session, participant, inside=True, now=incremented)


def _redis_after(
    admission: Admission, session: Session, participant: Participant, verdict: Verdict
) -> None:
    """Bring Redis in line with the decision (advisory: a failure here changes no verdict)."""
    decided_out = verdict.reason in (Reason.SESSION_FULL, Reason.SESSION_NOT_OPEN)
    if decided_out and (admission is Admission.RESERVED or not verdict.inside):
        # Also without a reservation of ours: a reseed that read our claim while it was still
        # ``entering`` may have put us in the set; MongoDB has just said we are not inside.
        admission_remove(session_id=session.pk, participant_id=participant.pk)
    elif admission is not Admission.RESERVED and verdict.inside:
        admission_add(session_id=session.pk, participant_id=participant.pk)
    if admission is Admission.UNSEEDED:
        # Missing, flushed, evicted or corrupt: rebuild from the CheckIn records (one request
        # per session at a time; the others go on deciding in MongoDB meanwhile).
        session_admission_sync(session=session, lock=True)


def _outside_window(session: Session) -> Reason | None:
    """Refuse outside the admission window: doors open before the start, close after the end."""
    now = timezone.now()
    if now < session.doors_open_at:
        return Reason.NOT_YET_OPEN
    if now > session.doors_close_at:
        return Reason.SESSION_ENDED
    return None


def _decide_check_in(
    session: Session, participant: Participant, source: str, op: str, took_over: tuple[str, ...], *,
    by_ticket: bool,
) -> Verdict:  # fmt: skip
    if session.status != Session.Status.OPEN:
        session = session_get(session_id=session.pk)  # the copy may predate a reopening
        if session.status != Session.Status.OPEN:
            return _inside_or(Reason.SESSION_NOT_OPEN, session, participant)
    refusal = _outside_window(session)  # the row read already: no I/O before this answer
    if refusal is not None:
        return _inside_or(refusal, session, participant)
    admission, early = _redis_precheck(session, participant)
    failpoint("check_in.after_precheck")  # Redis answered (a reservation, maybe); no claim yet
    # A retry that took its original over decides in MongoDB: Redis's "member" or "full" may be
    # the original's own place, and the retry owes the original's verdict.
    if early is not None and not took_over:
        return early
    try:
        verdict = _admit(session, participant, source, op, took_over, by_ticket=by_ticket)
    except NotFoundError:
        if admission is Admission.RESERVED:
            admission_remove(session_id=session.pk, participant_id=participant.pk)
        raise
    _redis_after(admission, session, participant, verdict)
    # An admission's cached session detail and stats go in ``session_check_in``, before the answer
    # and in the same Redis round trip as the live notification.
    return verdict


def decide_once(attempt: Attempt, participant: Participant, decide) -> Verdict:
    """Decide (``decide(op, took_over)``) once per nonce, and record the attempt in the scan log.

    With a nonce the attempt claims it first: a repeat of an earlier request is answered from
    the scan log (``scan_claim``) and decides nothing. The claim's op is also the admission
    operation's, so a retry that takes over a gone original can tell the original's writes.
    """
    if not attempt.nonce:
        verdict = decide(admission_protocol.op_new(), ())
        scan_record_verdict(attempt=attempt, participant=participant, verdict=verdict)
        return verdict
    claimed = scan_claim(attempt=attempt, participant=participant)
    if isinstance(claimed, Verdict):
        return claimed
    claim: NonceClaim = claimed
    try:
        verdict = decide(claim.op, claim.took_over)
    except BaseException:
        scan_claim_release(claim)
        raise
    scan_claim_finish(claim, verdict)
    return verdict


def session_check_in(
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
    """Check a participant (by id or ticket code) in to a session; return the verdict.

    Raise ``NotFoundError`` for an unknown session, participant or ticket. Idempotent: a retry
    with the same ``nonce`` answers the original verdict (``replayed``), whatever happened since;
    a retry without one answers ``already_checked_in``. Every attempt is in the scan log, with
    the device's ``scanned_at`` beside the server's time: capacity is decided now, whatever
    ``scanned_at`` says.
    """
    session = session_get_for_admission(session_id=session_id)
    attempt = Attempt(
        session, Scan.Direction.IN, source, actor, ticket_code or "", nonce, device=device,
        scanned_at=scanned_at, client_latency_ms=client_latency_ms,
    )  # fmt: skip
    participant = participant_resolve(attempt, participant_id, ticket_code)
    failpoint("check_in.resolved")
    decided: list[Verdict] = []  # what this request decided (a replay decides nothing)

    def decide(op: str, took_over: tuple[str, ...]) -> Verdict:
        verdict = _decide_check_in(
            session, participant, source, op, took_over, by_ticket=participant_id is None
        )
        decided.append(verdict)
        return verdict

    try:
        verdict = decide_once(attempt, participant, decide)
    except BaseException:
        if decided and decided[0].reason == Reason.CHECKED_IN:
            session_cache_invalidate(session.pk)  # admitted: the cached detail goes regardless
        raise
    if decided and decided[0].reason == Reason.CHECKED_IN:
        # Admitted (a replay is not): the cached detail and stats go and the live screens are
        # told, after the verdict (a failure changes nothing), in one Redis round trip.
        session_change_invalidate_and_publish(session_id=session.pk)
    return verdict
