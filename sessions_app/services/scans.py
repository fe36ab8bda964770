"""The scan log: every check-in and check-out attempt, and the nonce store of idempotent check-ins.

Writing an entry never fails or delays a verdict that MongoDB has decided: a failed write is
logged and the verdict stands. The one exception is a check-in's *nonce claim*, written before
anything else: the entry's ``(session, nonce)`` is unique, so the claim is what makes a replay of
that request (even one racing its original, even years of check-outs later) answer the original
verdict instead of deciding again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bson import ObjectId
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection
from django.utils import timezone
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from core.failpoints import failpoint
from core.metrics import scan_verdict_count
from core.mongo_docs import doc_for_insert
from core.mongo_failures import note_database_failure
from devices_app.models import DoorDevice
from participants_app.models import Participant

from ..models import Lease, Scan, Session
from ..verdicts import REPLAY_DETAIL, Reason, Verdict
from . import admission_protocol

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.02
# pymongo's server selection looks at a request's deadline every 0.5 s, so a request's MongoDB work
# may go on up to this long past ``MONGODB_REQUEST_TIMEOUT_SECONDS`` (the README's 1.9 s bound).
PYMONGO_WAKE_UP_SECONDS = 0.5
# Clock differences between web hosts (the entry's age is their clocks' difference) and the few
# milliseconds between a request's start and its nonce claim.
TAKEOVER_MARGIN_SECONDS = 1.0


def nonce_takeover_seconds() -> float:
    """Return the age after which an undecided nonce's request is gone: a retry takes it over.

    The longest any request can run (its deadline plus pymongo's wake-up) plus a margin, so a
    door that retries is answered within seconds of the original's 503, not after the reconcile's
    ``CHECKIN_STALE_OP_SECONDS``. Without a request deadline nothing bounds a request, and that
    age applies. Liveness only: ending an operation that is still alive is safe
    (``admission_protocol.py``).
    """
    deadline = settings.MONGODB_REQUEST_TIMEOUT_SECONDS
    if not deadline:
        return settings.CHECKIN_STALE_OP_SECONDS
    return deadline + PYMONGO_WAKE_UP_SECONDS + TAKEOVER_MARGIN_SECONDS


def _scans():
    """The scan log's collection, for the writes by ``_id`` on the hot path.

    The ORM's ``filter(pk=..., owner_op=...).update()`` becomes an ``$expr`` filter, which the
    MongoDB stand-in answers by scanning the collection: a check-in took 24 ms with 30 scans
    logged and 125 ms with 6,000. A plain ``update_one`` by ``_id`` is an index lookup on both.
    """
    return connection.get_collection(Scan._meta.db_table)


@dataclass(frozen=True)
class Attempt:
    """Who scanned what, where: everything a scan entry records besides the verdict."""

    session: Session
    direction: str
    source: str
    actor: str = ""
    ticket_code: str = ""
    nonce: str = ""
    device: DoorDevice | None = None  # the paired door device that scanned, if any
    scanned_at: datetime | None = None  # when the device scanned (a late scan), if it said
    client_latency_ms: int | None = None  # the door's own measure of its previous request
    annuls: Scan | None = None  # an undo's entry: the scan it annuls
    lease: Lease | None = None  # an offline scan synced through a lease (services/leases.py)

    def entry(self, participant: Participant | None, **fields) -> Scan:
        return Scan(
            session=self.session,
            participant=participant,
            participant_name=participant.full_name if participant else "",
            ticket_code=self.ticket_code,
            direction=self.direction,
            source=self.source,
            actor=self.actor,
            device=self.device,
            device_name=self.device.name if self.device else "",
            scanned_at=self.scanned_at,
            client_latency_ms=self.client_latency_ms,
            annuls=self.annuls,
            lease=self.lease,
            **fields,
        )


def _entry_insert(entry: Scan) -> None:
    """Insert a new entry (its ``_id`` set) as one ``insert_one``, the document the ORM would write.

    ``save(force_insert=True)`` runs the whole save machinery for the same one insert (the scan
    log has no save receivers). A taken ``(session, nonce)`` raises ``IntegrityError``, as the ORM.
    Used for the nonce claim (the first write of every check-in with a nonce); the entries of
    refusals and of check-ins without a nonce stay ORM saves.
    """
    try:
        _scans().insert_one(doc_for_insert(entry))
    except DuplicateKeyError as exc:
        raise IntegrityError(str(exc)) from exc
    entry._state.adding = False
    entry._state.db = connection.alias


def scan_record(*, attempt: Attempt, participant: Participant | None, reason: str,
                check_in_count: int | None = None, replayed: bool = False) -> None:  # fmt: skip
    """Write a decided attempt (never raises: the verdict it records stands regardless)."""
    scan_verdict_count(direction=attempt.direction, reason=reason, source=attempt.source)
    try:
        attempt.entry(
            participant, reason=reason, check_in_count=check_in_count, replayed=replayed
        ).save(force_insert=True)
    except DatabaseError as exc:
        note_database_failure(exc)
        logger.error("scan log write failed (%s): %s", reason, type(exc).__name__)


def scan_record_verdict(*, attempt: Attempt, participant: Participant, verdict: Verdict) -> None:
    """Write a decided attempt with its verdict (never raises)."""
    scan_record(
        attempt=attempt,
        participant=participant,
        reason=verdict.reason,
        check_in_count=verdict.check_in_count,
    )


def _current(
    verdict_reason: str, session: Session, participant: Participant, conflict: str = ""
) -> Verdict:
    """The original verdict of a replayed request, with today's count and presence."""
    fresh = admission_protocol.session_admission_read(session.pk)
    record = admission_protocol.record_read(session.pk, participant.pk)
    return Verdict(
        reason=Reason(verdict_reason),
        session=str(session.pk),
        participant=str(participant.pk),
        check_in_count=fresh.count if fresh else session.check_in_count,
        capacity=fresh.capacity if fresh else session.capacity,
        detail=REPLAY_DETAIL,
        session_title=session.title,
        participant_name=participant.full_name,
        inside=record is not None and record["state"] == admission_protocol.INSIDE,
        replayed=True,
        conflict=conflict,
    )


@dataclass(frozen=True)
class NonceClaim:
    """An undecided scan entry this request owns (decide, then ``scan_claim_finish``)."""

    entry_id: object
    # Also the admission operation's id (``admission_protocol.py``), so a retry can recognise it.
    op: str
    # The ops of the requests that owned the entry before this retry took it over (presumed gone),
    # oldest first: the decision asks whether one of them landed (``admission_protocol.op_landed``).
    took_over: tuple[str, ...] = ()
    direction: str = ""  # the attempt's, for the verdict's metric
    source: str = ""


def scan_claim(
    *, attempt: Attempt, participant: Participant, replay: bool = True
) -> NonceClaim | Verdict | Scan:
    """Claim the attempt's nonce at its session, or answer the request it repeats.

    Return the claim when the nonce is new. Otherwise return a verdict: the original's (a
    replay, ``replayed``), ``check_in_in_progress`` when the original is still deciding after a
    short wait, ``nonce_reused`` when the nonce was used for another participant or the other
    direction (a check-in's nonce replayed as a check-out). An original that has been deciding
    for longer than any request can run (``nonce_takeover_seconds``) is taken over: the claim
    names the ops of every earlier owner (the entry keeps them, ``owner_ops``), which the caller
    ends with the reconcile's fences (the admission protocol keeps even a late original from
    counting twice), or finds landed already.

    With ``replay=False`` a decided original is returned as its entry, unanswered: the caller
    looks at it and answers it (``scan_replay``) or decides otherwise (a synced offline scan
    whose online attempt was refused: ``services/leases.py``).
    """
    op = admission_protocol.op_new()
    try:
        # The entry's id is its op: an undo tells the visit this scan admitted by the record's
        # ``last_op`` (``services/undo.py``).
        entry = attempt.entry(participant, reason="", nonce=attempt.nonce, owner_op=op)
        entry.pk = ObjectId(op)
        _entry_insert(entry)
        return NonceClaim(entry.pk, op, direction=attempt.direction, source=attempt.source)
    except IntegrityError:
        pass
    deadline = time.monotonic() + settings.CHECKIN_IN_FLIGHT_WAIT_SECONDS
    while True:
        original = Scan.objects.filter(session=attempt.session, nonce=attempt.nonce).first()
        if original is None:  # abandoned by a request that gave up: claim it afresh
            return scan_claim(attempt=attempt, participant=participant, replay=replay)
        if original.participant_id != participant.pk or original.direction != attempt.direction:
            return _refusal(Reason.NONCE_REUSED, attempt, participant)
        if original.reason:
            return scan_replay(original, attempt, participant) if replay else original
        stale = timezone.now() - timedelta(seconds=nonce_takeover_seconds())
        taken = original.created_at < stale and _scans().find_one_and_update(
            {"_id": original.pk, "reason": "", "owner_op": original.owner_op},
            {
                "$set": {"owner_op": op, "created_at": timezone.now()},
                "$push": {"owner_ops": original.owner_op},
            },
            projection={"owner_ops": 1},
            return_document=ReturnDocument.AFTER,
        )
        if taken:
            return NonceClaim(
                original.pk,
                op,
                took_over=tuple(taken["owner_ops"]),
                direction=attempt.direction,
                source=attempt.source,
            )
        if time.monotonic() >= deadline:
            return _refusal(Reason.CHECK_IN_IN_PROGRESS, attempt, participant)
        time.sleep(_POLL_SECONDS)


def scan_replay(original: Scan, attempt: Attempt, participant: Participant) -> Verdict:
    """Answer a repeat of a decided attempt with its original verdict; log the repeat."""
    verdict = _current(original.reason, attempt.session, participant, original.conflict)
    scan_record(
        attempt=replace(attempt, nonce=""),
        participant=participant,
        reason=original.reason,
        check_in_count=verdict.check_in_count,
        replayed=True,
    )
    return verdict


def _refusal(reason: Reason, attempt: Attempt, participant: Participant) -> Verdict:
    session = attempt.session
    scan_record(attempt=replace(attempt, nonce=""), participant=participant, reason=reason)
    return Verdict(
        reason=reason,
        session=str(session.pk),
        participant=str(participant.pk),
        check_in_count=session.check_in_count,
        capacity=session.capacity,
        session_title=session.title,
        participant_name=participant.full_name,
    )


def scan_claim_finish(claim: NonceClaim, verdict: Verdict) -> None:
    """Record the verdict on the claimed entry (never raises)."""
    scan_verdict_count(direction=claim.direction, reason=verdict.reason, source=claim.source)
    try:
        failpoint("scans.finish")
        update = {
            "$set": {
                "reason": verdict.reason.value,
                "check_in_count": verdict.check_in_count,
                "conflict": verdict.conflict,
                "owner_op": "",
            }
        }
        if claim.took_over:
            # A retry that took the entry over decided: its op joins those the entry keeps (the
            # takeover pushed its predecessors'), so an undo knows the visit it began.
            update["$push"] = {"owner_ops": claim.op}
        _scans().update_one({"_id": claim.entry_id, "owner_op": claim.op}, update)
    except (DatabaseError, PyMongoError) as exc:
        note_database_failure(exc)
        logger.error("scan log finish failed (%s): %s", verdict.reason, type(exc).__name__)


def scan_entry_ops(entry: Scan) -> tuple[str, ...]:
    """The ops of every request that owned a decided entry: its own (the entry's id) first, then
    those of the retries that took it over, the deciding one last. One read by ``_id`` (the ops
    are not a model field: only a takeover writes them)."""
    doc = _scans().find_one({"_id": entry.pk}, {"owner_ops": 1}) or {}
    return (str(entry.pk), *(op for op in doc.get("owner_ops") or () if op != str(entry.pk)))


def scan_claim_release(claim: NonceClaim) -> None:
    """Drop an undecided claim (the request failed before deciding); never raises."""
    try:
        failpoint("scans.release")
        _scans().delete_one({"_id": claim.entry_id, "owner_op": claim.op, "reason": ""})
    except (DatabaseError, PyMongoError) as exc:
        note_database_failure(exc)
        logger.error("scan log release failed: %s", type(exc).__name__)
