"""Undo the last scan: a door annuls its own accepted check-in, within minutes.

Reads top to bottom like a check-in:

1. find the scan by its nonce at the session (``scan_not_found`` if none);
2. the early answers, each recorded in the scan log: another door's or user's scan
   (``undo_not_yours``), a scan that changed nothing (``undo_nothing_to_undo``), a check-out
   (``undo_check_out_refused``: re-admitting is a capacity decision, made by a new check-in),
   too late (``undo_window_passed``), the participant scanned again at the session since
   (``undo_superseded``);
3. the undo's own nonce (derived from the scan's) is claimed in the scan log, so an undo sent
   twice, or racing its own retry, decides once and the repeat answers the first one's verdict
   (an undo answered ``check_in_in_progress`` gives its claim up: the retry decides);
4. the decision: a check-out by the admission protocol (``check_out_decide``), fenced to the
   visit the scan admitted (the record's ``last_op`` is the scan's op, or that of a retry that
   took the scan over and admitted the participant itself: ``scan_entry_ops``), so a check-out
   and a re-entry meanwhile make it ``undo_superseded``, never the end of the new visit. Redis's
   admission set and the cached counts follow as after any check-out.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta

from bson import ObjectId
from django.conf import settings
from django.utils import timezone

from core.exceptions import NotFoundError
from core.failpoints import failpoint
from devices_app.models import DoorDevice
from participants_app.selectors import participant_get_for_admission

from ..models import CheckIn, Scan, Session
from ..selectors import session_get_for_admission
from ..verdicts import DETAILS, Reason, Verdict
from . import admission_protocol
from .check_out import CheckOutFence, check_out_decide
from .live_publish import session_change_publish
from .scans import (
    Attempt,
    scan_claim,
    scan_claim_finish,
    scan_claim_release,
    scan_entry_ops,
    scan_record,
    scan_record_verdict,
)

_NONCE_LENGTH = 64  # Scan.nonce


def undo_nonce(nonce: str) -> str:
    """Return the nonce of the undo of the scan with ``nonce`` (one undo per scan, ever)."""
    readable = f"undo:{nonce}"
    if len(readable) <= _NONCE_LENGTH:
        return readable
    return "undo:" + hashlib.sha256(nonce.encode()).hexdigest()[: _NONCE_LENGTH - 5]


def _answer(reason: Reason, session: Session, participant, *, inside: bool | None = None):
    """A verdict on the scan's participant (or none), with the session's counts now."""
    now = admission_protocol.session_admission_read(session.pk)
    if inside is None and participant is not None:
        record = admission_protocol.record_read(session.pk, participant.pk)
        inside = record is not None and record["state"] == admission_protocol.INSIDE
    return Verdict(
        reason=reason,
        session=str(session.pk),
        participant=str(participant.pk) if participant else "",
        check_in_count=now.count if now else session.check_in_count,
        capacity=now.capacity if now else session.capacity,
        session_title=session.title,
        participant_name=participant.full_name if participant else "",
        inside=bool(inside),
    )


def _participant_of(scan: Scan | None):
    """The scan's participant (this process's copy, as a check-out reads them), or None.

    Not by ``select_related``: django-mongodb-backend puts the join's ``$lookup`` before the
    ``$match``, so the whole scan log was joined to its participants before the one scan was
    picked (past the request's MongoDB deadline once the log is long). Deleted since: None, as
    the scan's link would be (``SET_NULL``).
    """
    if scan is None or scan.participant_id is None:
        return None
    try:
        participant = participant_get_for_admission(participant_id=scan.participant_id)
    except NotFoundError:
        participant = None
    scan.participant = participant  # ``original.participant`` below reads no more
    return participant


def _mine(original: Scan, actor: str, device: DoorDevice | None) -> bool:
    """The same device (a device's request), or the same user with no device (a person's)."""
    if device is not None:
        return original.device_id == device.pk
    return original.device_id is None and original.actor == actor


def _scanned_again(original: Scan) -> bool:
    """Tell whether the participant was scanned at the session after ``original``.

    Replays (the same scans again) and this scan's own undo attempts do not count.
    """
    return (
        Scan.objects.filter(
            session_id=original.session_id,
            participant_id=original.participant_id,
            created_at__gt=original.created_at,
            replayed=False,
        )
        .exclude(annuls_id=original.pk)
        .exists()
    )


def _early(original: Scan, attempt: Attempt) -> Reason | None:
    """Answer an undo that cannot be decided (before its nonce is claimed), or None."""
    if not original.reason:
        return Reason.CHECK_IN_IN_PROGRESS  # the scan itself is still being decided
    if not _mine(original, attempt.actor, attempt.device):
        return Reason.UNDO_NOT_YOURS
    if original.reason == Reason.CHECKED_OUT:
        return Reason.UNDO_CHECK_OUT_REFUSED
    if original.reason != Reason.CHECKED_IN or original.replayed or original.participant is None:
        return Reason.UNDO_NOTHING_TO_UNDO
    return _too_late(original, attempt)


def _too_late(original: Scan, attempt: Attempt) -> Reason | None:
    """Answer an undo of an accepted check-in made too late, or after a later scan, or None."""
    if Scan.objects.filter(session_id=original.session_id, nonce=attempt.nonce).exists():
        return None  # undone (or being undone) already: the claim answers that undo's verdict
    window = timedelta(seconds=settings.UNDO_WINDOW_SECONDS)
    if timezone.now() - original.created_at > window:
        return Reason.UNDO_WINDOW_PASSED
    if _scanned_again(original):
        return Reason.UNDO_SUPERSEDED
    return None


def _decide(session: Session, original: Scan, op: str, took_over: tuple[str, ...]) -> Verdict:
    """Check the participant out, but only out of the visit ``original`` admitted."""
    failpoint("undo.after_claim")
    verdict = check_out_decide(
        session, original.participant, op=op, took_over=took_over,
        fence=CheckOutFence(admitted_by=scan_entry_ops(original)),
    )  # fmt: skip
    if verdict.reason == Reason.CHECKED_OUT:
        return dataclasses.replace(verdict, reason=Reason.ANNULLED, detail=DETAILS[Reason.ANNULLED])
    if verdict.reason in (Reason.NOT_CHECKED_IN, Reason.UNDO_SUPERSEDED):
        # Checked out (or out and in again) by another scan since: that scan stands.
        return dataclasses.replace(
            verdict, reason=Reason.UNDO_SUPERSEDED, detail=DETAILS[Reason.UNDO_SUPERSEDED]
        )
    return verdict  # check_in_in_progress: another request for them is still deciding


def _once(attempt: Attempt, session: Session, original: Scan) -> Verdict:
    """Decide once per scan: claim the undo's nonce, decide, record the verdict on the claim.

    ``check_in_in_progress`` is not a verdict on the undo (another request for the participant
    was still deciding): the claim is dropped, so the door's retry (the same nonce: the same
    undo) decides afresh instead of being answered "in progress" for ever.
    """
    participant = original.participant
    claimed = scan_claim(attempt=attempt, participant=participant)
    if isinstance(claimed, Verdict):
        return claimed
    try:
        verdict = _decide(session, original, claimed.op, claimed.took_over)
    except BaseException:
        scan_claim_release(claimed)
        raise
    if verdict.reason == Reason.CHECK_IN_IN_PROGRESS:
        scan_claim_release(claimed)
        scan_record_verdict(
            attempt=dataclasses.replace(attempt, nonce=""), participant=participant, verdict=verdict
        )
    else:
        scan_claim_finish(claimed, verdict)
    return verdict


def session_scan_undo(
    *,
    session_id: str | ObjectId,
    nonce: str,
    source: str = CheckIn.Source.API,
    actor: str = "",
    device: DoorDevice | None = None,
    client_latency_ms: int | None = None,
) -> Verdict:
    """Undo the accepted check-in scanned with ``nonce`` at the session; return the verdict.

    ``annulled``: the place is free again (the scan log has the undo as its own entry, linked
    to the scan). Only the device (or, without a device, the user) that scanned may undo, within
    ``UNDO_WINDOW_SECONDS``, and only while the participant was not scanned there again. An
    undo sent again answers the first one's verdict (``replayed``). Raise ``NotFoundError`` for
    an unknown session; an unknown nonce answers ``scan_not_found``.
    """
    session = session_get_for_admission(session_id=session_id)
    original = Scan.objects.filter(session=session, nonce=nonce).first() if nonce else None
    participant = _participant_of(original)
    attempt = Attempt(
        session, Scan.Direction.OUT, source, actor, original.ticket_code if original else "",
        undo_nonce(nonce), device=device, client_latency_ms=client_latency_ms, annuls=original,
    )  # fmt: skip
    early = Reason.SCAN_NOT_FOUND if original is None else _early(original, attempt)
    if early is not None:
        scan_record(attempt=dataclasses.replace(attempt, nonce=""), participant=participant,
                    reason=early)  # fmt: skip
        return _answer(early, session, participant)
    failpoint("undo.after_check")
    verdict = _once(attempt, session, original)
    if verdict.reason == Reason.ANNULLED and not verdict.replayed:
        session_change_publish(session_id=session.pk)  # after the verdict; never fails it
    return verdict
