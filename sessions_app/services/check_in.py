"""Check-in and check-out: the capacity invariant lives here.

MongoDB decides every admission: an atomic conditional increment of the session document
(``status == open and check_in_count < capacity``), then the CheckIn record (unique per session
and participant). If the record cannot be written (someone admitted the same participant at the
same moment, or the request is a replay) the increment is undone. A crash between the two leaves
the counter one too high: the safe side, repaired by the reconcile task.

Redis sits in front (``sessions_app.admission``): it answers duplicates and full sessions early
and holds a reservation while MongoDB decides; every early "no" is confirmed by a cheap MongoDB
read (the session document, or the participant's record), so a stale Redis costs extra work,
never a wrong verdict. While Redis is unavailable or a session's set is unseeded, MongoDB alone
decides, and an unseeded set is reseeded from MongoDB afterwards.
"""

from __future__ import annotations

from bson import ObjectId
from django.db import IntegrityError
from django.db.models import F
from django.utils import timezone

from core.failpoints import failpoint
from participants_app.models import Participant
from participants_app.selectors import participant_get, participant_get_by_ticket

from ..admission import Admission, admission_add, admission_remove, admission_reserve
from ..caching import session_cache_invalidate
from ..models import CheckIn, Session
from ..selectors import check_in_get, session_get
from ..verdicts import REPLAY_DETAIL, NotFoundError, Reason, Verdict
from .admission_sync import session_admission_sync

_ADMIT_ATTEMPTS = 3  # a check-out between our refusal and its explanation frees a place: retry


def _participant_resolve(participant_id, ticket_code) -> Participant:
    if participant_id is not None:
        return participant_get(participant_id=participant_id)
    return participant_get_by_ticket(ticket_code=ticket_code)


def _verdict(reason: Reason, session: Session, participant: Participant, detail="") -> Verdict:
    return Verdict(
        reason=reason,
        session=str(session.pk),
        participant=str(participant.pk),
        check_in_count=session.check_in_count,
        capacity=session.capacity,
        detail=detail,
    )


def _is_replay(record: CheckIn | None, nonce: str) -> bool:
    return bool(nonce) and record is not None and record.nonce == nonce


def _refusal(session: Session, participant: Participant, nonce: str) -> tuple[Verdict, bool]:
    """Explain why the participant is not admitted now; return (verdict, inside per MongoDB).

    Precedence: inside already (or a replay of the same request) > not open > full. A retried
    check-in must answer ``already_checked_in`` even when the session has filled up since.
    """
    record = check_in_get(session_id=session.pk, participant_id=participant.pk)
    if record is not None and record.is_inside:
        detail = REPLAY_DETAIL if _is_replay(record, nonce) else ""
        return _verdict(Reason.ALREADY_CHECKED_IN, session, participant, detail), True
    if _is_replay(record, nonce):
        return _verdict(Reason.ALREADY_CHECKED_IN, session, participant, REPLAY_DETAIL), False
    if session.status != Session.Status.OPEN:
        return _verdict(Reason.SESSION_NOT_OPEN, session, participant), False
    return _verdict(Reason.SESSION_FULL, session, participant), False


def _session_reread(session_id: ObjectId) -> Session:
    session = Session.objects.filter(pk=session_id).first()
    if session is None:  # deleted while we worked
        raise NotFoundError(Reason.SESSION_NOT_FOUND)
    return session


def _counter_decrement(session_id: ObjectId) -> None:
    Session.objects.filter(pk=session_id, check_in_count__gt=0).update(
        check_in_count=F("check_in_count") - 1
    )


def _record_write(session: Session, participant: Participant, *, nonce: str, source: str) -> bool:
    """Create the record, or re-admit a participant who checked out; False if someone else did."""
    now = timezone.now()
    try:
        CheckIn.objects.create(
            session=session, participant=participant, checked_in_at=now, source=source, nonce=nonce
        )
        return True
    except IntegrityError:
        pass
    record = check_in_get(session_id=session.pk, participant_id=participant.pk)
    if record is None or record.is_inside or _is_replay(record, nonce):
        return False
    # Conditional: of two concurrent re-entries of one participant, exactly one matches.
    return bool(
        CheckIn.objects.filter(pk=record.pk, checked_out_at__isnull=False).update(
            checked_out_at=None, checked_in_at=now, source=source, nonce=nonce
        )
    )


def _admit_in_mongodb(
    session: Session, participant: Participant, *, nonce: str, source: str
) -> tuple[Verdict, bool]:
    """Decide in MongoDB; return (verdict, whether the participant is inside afterwards)."""
    for _attempt in range(_ADMIT_ATTEMPTS):
        took_place = Session.objects.filter(
            pk=session.pk, status=Session.Status.OPEN, check_in_count__lt=F("capacity")
        ).update(check_in_count=F("check_in_count") + 1)
        if took_place:
            failpoint("check_in.after_increment")
            if _record_write(session, participant, nonce=nonce, source=source):
                session_cache_invalidate(session.pk)
                return _verdict(Reason.CHECKED_IN, _session_reread(session.pk), participant), True
            _counter_decrement(
                session.pk
            )  # give the place back: the participant was admitted already
        session = _session_reread(session.pk)
        verdict, inside = _refusal(session, participant, nonce)
        room = session.check_in_count < session.capacity
        if verdict.reason != Reason.SESSION_FULL or not room:
            return verdict, inside
    return verdict, inside


def session_check_in(
    *,
    session_id: str | ObjectId,
    participant_id: str | ObjectId | None = None,
    ticket_code: str | None = None,
    nonce: str = "",
    source: str = CheckIn.Source.API,
) -> Verdict:
    """Check a participant (by id or ticket code) in to a session; return the verdict.

    Raise ``NotFoundError`` for an unknown session, participant or ticket. Idempotent: a retry
    (same participant, or same ``nonce``) answers ``already_checked_in`` and counts once; a replay
    of a nonce after a check-out does not re-admit.
    """
    session = session_get(session_id=session_id)
    participant = _participant_resolve(participant_id, ticket_code)
    if session.status != Session.Status.OPEN:
        return _refusal(session, participant, nonce)[0]

    admission = admission_reserve(
        session_id=session.pk, participant_id=participant.pk, capacity=session.capacity
    )
    if admission is Admission.MEMBER:
        record = check_in_get(session_id=session.pk, participant_id=participant.pk)
        if record is not None and record.is_inside:
            detail = REPLAY_DETAIL if _is_replay(record, nonce) else ""
            return _verdict(Reason.ALREADY_CHECKED_IN, session, participant, detail)
        # Redis remembered someone who left (a check-out it did not see): stale, decide below.
        admission_remove(session_id=session.pk, participant_id=participant.pk)
    elif admission is Admission.FULL and session.check_in_count >= session.capacity:
        return _refusal(session, participant, nonce)[0]
    # FULL with room in MongoDB: usually requests in flight (reserved in Redis, not yet written
    # in MongoDB), else check-outs Redis missed. MongoDB decides. No resync here: it would drop
    # the in-flight reservations and leave Redis under-counting just when rejections matter;
    # stale sets are rebuilt by the recovery callback and by the periodic reconcile.

    verdict, inside = _admit_in_mongodb(session, participant, nonce=nonce, source=source)
    if admission is Admission.RESERVED and not inside:
        admission_remove(session_id=session.pk, participant_id=participant.pk)
    elif admission is not Admission.RESERVED and inside:
        admission_add(session_id=session.pk, participant_id=participant.pk)
    if admission is Admission.UNSEEDED:
        # Missing, flushed, evicted or corrupt: rebuild from the CheckIn records (one request
        # per session at a time; the others go on deciding in MongoDB meanwhile).
        session_admission_sync(session=session, lock=True)
    return verdict


def session_check_out(
    *,
    session_id: str | ObjectId,
    participant_id: str | ObjectId | None = None,
    ticket_code: str | None = None,
) -> Verdict:
    """Check a participant out of a session, freeing the place; idempotent (``not_checked_in``)."""
    session = session_get(session_id=session_id)
    participant = _participant_resolve(participant_id, ticket_code)
    record = check_in_get(session_id=session.pk, participant_id=participant.pk)
    left = (
        record is not None
        and CheckIn.objects.filter(pk=record.pk, checked_out_at__isnull=True).update(
            checked_out_at=timezone.now()
        )
        == 1
    )
    if not left:
        return _verdict(Reason.NOT_CHECKED_IN, session, participant)
    failpoint("check_out.after_record")
    _counter_decrement(session.pk)
    admission_remove(session_id=session.pk, participant_id=participant.pk)
    session_cache_invalidate(session.pk)
    return _verdict(Reason.CHECKED_OUT, _session_reread(session.pk), participant)
