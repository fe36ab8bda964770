"""Leases of places: a door that may go offline holds a few places of a session, and syncs later.

A lease is granted while the door is online (``session_lease_grant``): its places are taken from
the session's capacity by the admission protocol's own conditional update, so online admissions
count them as taken (people inside + leased <= capacity). Offline, the door admits at most what it
holds; when it is online again it syncs its scans in order (``lease_sync``):

- an offline admission claims the participant's record (``entering``, with the lease), moves one
  place from the lease to the counter (the transfer: no capacity condition, the place was set
  aside) and admits the record; a lease with no room left refuses it (``lease_exhausted``);
- an offline check-out leaves, credits the place back to the lease (the door reused it) and
  finishes;
- every scan is idempotent by its nonce (the scan log's claim, as online); conflicts are recorded
  on the scan's entry (``verdicts.Conflict``), never hidden.

Unused places go back with ``return`` (once per ``sync_id``) or, for a lease not renewed, by the
reconcile (``leases_settle``). Why every write keeps the invariant, and why stale operations
resolve toward holding more: docs/door-protocol.md.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from bson import ObjectId
from django.conf import settings
from django.db import IntegrityError, connection
from django.utils import timezone

from core.exceptions import NotFoundError, NotFoundReason
from core.failpoints import failpoint
from devices_app.models import DoorDevice
from participants_app.models import Participant
from participants_app.selectors import participant_get_for_admission

from ..admission import admission_add
from ..caching import session_cache_invalidate
from ..models import CheckIn, Lease, Scan, Session
from ..selectors import session_get_for_admission
from ..verdicts import Conflict, Reason, Verdict
from . import admission_protocol
from .check_in import door_verdict, participant_remains, record_claim_or_verdict
from .check_out import CheckOutFence, check_out_decide
from .live_publish import session_change_publish
from .scans import Attempt, scan_claim, scan_claim_finish, scan_claim_release, scan_replay

logger = logging.getLogger(__name__)

_GRANT_ATTEMPTS = 5  # an admission or another grant between our read and our write: re-read
ACTIVE_STATES = [Lease.State.GRANTING.value, Lease.State.ACTIVE.value]


class LeaseError(Exception):
    """A lease request refused: an HTTP status, a stable reason and a sentence."""

    def __init__(self, status: int, reason: str, detail: str):
        super().__init__(detail)
        self.status, self.reason, self.detail = status, reason, detail


def _lease_not_found() -> LeaseError:
    return LeaseError(404, "lease_not_found", "No such lease.")


def _leases():
    return connection.get_collection(Lease._meta.db_table)


@dataclass(frozen=True)
class LeaseAnswer:
    """A lease as its holder sees it: the places set aside in all, and those unused now."""

    lease: Lease
    room: int

    @property
    def renew_after(self) -> datetime:
        return self.lease.expires_at - timedelta(seconds=settings.LEASE_SECONDS / 2)

    def as_json(self) -> dict:
        return {
            "lease": str(self.lease.pk),
            "session": str(self.lease.session_id),
            "places": self.lease.granted,
            "room": self.room,
            "state": self.lease.state,
            "expires_at": self.lease.expires_at.isoformat(),
            "renew_after": self.renew_after.isoformat(),
        }


# --- grant and renew ------------------------------------------------------------------------------


def lease_places_allowed(admission: admission_protocol.SessionAdmission, asked: int,
                         room: int = 0) -> int:  # fmt: skip
    """Places a lease holding ``room`` may be given on top: the asked number, bounded by the
    per-lease maximum (``LEASE_MAX_PLACES``, ``LEASE_MAX_FRACTION`` of the capacity) and by the
    places free now (never more)."""
    most = min(
        settings.LEASE_MAX_PLACES, math.floor(settings.LEASE_MAX_FRACTION * admission.capacity)
    )
    return max(0, min(asked, most - room, admission.free))


def _places_add(session_id: ObjectId, lease_id: str, asked: int, *, room: int, first: bool) -> int:
    """Set places aside for the lease (re-reading the session when it changed); return how many."""
    for _attempt in range(_GRANT_ATTEMPTS):
        now = admission_protocol.session_admission_read(session_id)
        if now is None:
            raise NotFoundError(NotFoundReason.SESSION_NOT_FOUND)
        if now.status != Session.Status.OPEN or now.deleting:
            raise LeaseError(409, "session_not_open", "The session is not open for check-in.")
        places = lease_places_allowed(now, asked, room)
        if places == 0:
            return 0
        failpoint("lease.grant_after_read")
        if admission_protocol.lease_places_add(now, lease_id, places, first=first):
            session_change_publish(session_id=session_id)  # the places free for others changed
            return places
    return 0


def _expiry() -> datetime:
    return timezone.now() + timedelta(seconds=settings.LEASE_SECONDS)


def _held(session: Session, device: DoorDevice | None, holder: str) -> Lease | None:
    """The holder's lease at the session that is not settled, if any."""
    leases = Lease.objects.filter(session=session, holder=holder, state__in=ACTIVE_STATES)
    for lease in leases:
        if (device is None and lease.device_id is None) or (
            device is not None and lease.device_id == device.pk
        ):
            return lease
    return None


def _no_places() -> LeaseError:
    return LeaseError(
        409, "no_places_to_lease",
        "No place can be set aside for this door now: the session is full (people inside and "
        "places leased to other doors), or its capacity is too small for a lease.",
    )  # fmt: skip


def session_lease_grant(
    *, session_id: str | ObjectId, places: int, device: DoorDevice | None = None, actor: str = ""
) -> LeaseAnswer:
    """Lease up to ``places`` of the session to the device (or the user ``actor``).

    Asking again while holding a lease renews it and tops it up to ``places`` unused (the same
    lease). Raise ``LeaseError`` (409 ``no_places_to_lease``, ``session_not_open``) or
    ``NotFoundError``.
    """
    session = session_get_for_admission(session_id=session_id)
    holder = device.name if device is not None else actor
    held = _held(session, device, holder)
    if held is not None:
        return lease_renew(lease=held, places=places)
    lease = Lease.objects.create(
        session=session, device=device, holder=holder, requested=places,
        state=Lease.State.GRANTING, expires_at=_expiry(),
    )  # fmt: skip
    lease_id = str(lease.pk)
    granted = _places_add(session.pk, lease_id, places, room=0, first=True)
    failpoint("lease.after_grant")
    if granted == 0:
        _leases().update_one(
            {"_id": lease.pk},
            {"$set": {"state": Lease.State.SETTLED.value, "settled_at": timezone.now()}},
        )
        raise _no_places()
    activated = _leases().update_one(
        {"_id": lease.pk, "state": Lease.State.GRANTING.value},
        {"$set": {"state": Lease.State.ACTIVE.value, "granted": granted}},
    )
    if not activated.modified_count:  # settled by the reconcile meanwhile: give the places back
        leases_settle_room(session.pk, lease_id)
        raise _no_places()
    session_cache_invalidate(session.pk)
    lease.state, lease.granted = Lease.State.ACTIVE, granted
    return LeaseAnswer(lease, granted)


def _room_now(lease: Lease) -> int:
    now = admission_protocol.lease_room_read(lease.session_id, str(lease.pk))
    return now.room if now is not None and now.exists else 0


def _renewed(lease: Lease) -> Lease:
    """Push the lease's expiry on (its holder called); a settled lease stays settled."""
    expires_at = _expiry()
    result = _leases().update_one(
        {"_id": lease.pk, "state": {"$in": ACTIVE_STATES}},
        {"$set": {"expires_at": expires_at}},
    )
    if result.modified_count:
        lease.expires_at = expires_at
    else:
        lease.refresh_from_db()
    return lease


def lease_renew(*, lease: Lease, places: int | None = None) -> LeaseAnswer:
    """Renew the lease (expiry pushed on) and top it up to ``places`` unused, if given.

    A settled lease cannot be renewed: 409 ``lease_settled`` (ask for a new one).
    """
    lease = _renewed(lease)
    if lease.state == Lease.State.SETTLED:
        raise LeaseError(
            409, "lease_settled", "This lease has ended (returned or expired): ask for a new one."
        )
    room = _room_now(lease)
    if places is not None and places > room:
        added = _places_add(lease.session_id, str(lease.pk), places - room, room=room, first=False)
        if added:
            _leases().update_one({"_id": lease.pk}, {"$inc": {"granted": added}})
            lease.granted += added
            room += added
            session_cache_invalidate(lease.session_id)
    return LeaseAnswer(lease, room)


def lease_get_for_holder(
    *, lease_id: str, device: DoorDevice | None, actor: str, may_check_in: bool
) -> Lease:
    """Return the lease if the caller holds it: its device, or (no device) its user; else raise.

    404 for an unknown lease, 403 ``lease_not_yours`` for another holder's.
    """
    if not ObjectId.is_valid(lease_id):
        raise _lease_not_found()
    # No select_related("session"): the backend joined every lease to its session before
    # picking this one by _id ($lookup before $match); the callers need only session_id.
    lease = Lease.objects.filter(pk=ObjectId(lease_id)).first()
    if lease is None:
        raise _lease_not_found()
    mine = (
        lease.device_id == device.pk
        if device is not None
        else (lease.device_id is None and lease.holder == actor and may_check_in)
    )
    if not mine:
        raise LeaseError(403, "lease_not_yours", "This lease is held by another door.")
    return lease


# --- sync -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineScan:
    """One scan a door decided offline, as sent in a sync."""

    nonce: str
    direction: str
    scanned_at: datetime
    ticket_code: str = ""
    participant: ObjectId | None = None


@dataclass(frozen=True)
class SyncAnswer:
    lease: LeaseAnswer
    returned: int
    results: list[Verdict]
    nonces: list[str]

    def as_json(self) -> dict:
        return {
            "lease": self.lease.as_json(),
            "returned": self.returned,
            "results": [
                {
                    "nonce": nonce,
                    "reason": verdict.reason.value,
                    "detail": verdict.detail,
                    "participant_name": verdict.participant_name,
                    "session_title": verdict.session_title,
                    "inside": verdict.inside,
                    "conflict": verdict.conflict,
                    "replayed": verdict.replayed,
                }
                for nonce, verdict in zip(self.nonces, self.results, strict=True)
            ],
        }


def _with(verdict: Verdict, reason: Reason | None = None, conflict: str = "") -> Verdict:
    changes = {"conflict": conflict}
    if reason is not None:
        changes.update(reason=reason, detail="")
    return dataclasses.replace(verdict, **changes)


def _offline_in_resolved(
    session: Session, participant: Participant, lease_id: str, claimed: Verdict
) -> Verdict:
    """An offline admission that found the participant inside (or still deciding) already."""
    if claimed.reason != Reason.ALREADY_CHECKED_IN:
        return claimed
    record = admission_protocol.record_read(session.pk, participant.pk)
    if record is not None and record.get("lease") == lease_id:
        return claimed  # this door's own earlier offline scan of them
    return _with(claimed, conflict=Conflict.ADMITTED_ELSEWHERE)


def _transfer(session: Session, lease_id: str, claim: admission_protocol.Claim) -> str | None:
    """Move the admission's place from the lease; return its conflict ("" or lease_expired), or
    None if the lease has no room (the claim is then given up)."""
    if admission_protocol.lease_transfer(session.pk, lease_id, claim.op):
        return ""
    now = admission_protocol.lease_room_read(session.pk, lease_id)
    if now is None:
        admission_protocol.claim_revert(claim)
        raise NotFoundError(NotFoundReason.SESSION_NOT_FOUND)
    if now.moved(claim.op):  # the reconcile moved it for us
        return ""
    if not now.exists:  # settled: the person is inside; counted beyond the lease
        admission_protocol.lease_admit_late(session.pk, lease_id, claim.op)
        return Conflict.LEASE_EXPIRED
    admission_protocol.claim_revert(claim)
    return None


def _offline_in(
    session: Session, participant: Participant, lease_id: str, op: str,
    took_over: tuple[str, ...], *,
    by_ticket: bool, scanned_at: datetime,
) -> Verdict:  # fmt: skip
    """Decide an offline admission: claim, transfer, admit (docs/door-protocol.md)."""
    source = CheckIn.Source.OFFLINE
    claimed = record_claim_or_verdict(session, participant, source, op, took_over, lease=lease_id)
    if isinstance(claimed, Verdict):
        return _offline_in_resolved(session, participant, lease_id, claimed)
    failpoint("lease.after_claim")
    if not participant_remains(participant, by_ticket=by_ticket):
        admission_protocol.claim_revert(claimed)
        raise NotFoundError(
            NotFoundReason.TICKET_NOT_FOUND if by_ticket else NotFoundReason.PARTICIPANT_NOT_FOUND
        )
    conflict = _transfer(session, lease_id, claimed)
    if conflict is None:
        record = admission_protocol.record_read(session.pk, participant.pk)
        if not (record and record["state"] == admission_protocol.INSIDE
                and record.get("last_op") == op):  # fmt: skip
            verdict = door_verdict(Reason.LEASE_EXHAUSTED, session, participant, inside=False)
            return _with(verdict, conflict=Conflict.LEASE_EXHAUSTED)
        conflict = ""
    failpoint("lease.after_transfer")
    if not admission_protocol.record_admit(claimed, source=source, at=scanned_at):
        record = admission_protocol.record_read(session.pk, participant.pk)
        if not (record and record["state"] == admission_protocol.INSIDE
                and record.get("last_op") == op):  # fmt: skip
            return door_verdict(Reason.CHECK_IN_IN_PROGRESS, session, participant, inside=False)
        # The reconcile completed our admission (toward holding more): it is ours; nothing to undo.
    failpoint("lease.after_admit")
    admission_protocol.lease_ops_forget(session.pk, lease_id, op)
    admission_add(session_id=session.pk, participant_id=participant.pk)
    fresh = admission_protocol.session_admission_read(session.pk)
    verdict = door_verdict(Reason.CHECKED_IN, session, participant, inside=True, now=fresh)
    return _with(verdict, conflict=conflict)


def _offline_out(
    session: Session, participant: Participant, lease_id: str, op: str,
    took_over: tuple[str, ...], *,
    scanned_at: datetime,
) -> Verdict:  # fmt: skip
    """Decide an offline check-out: leave, credit the lease, finish."""
    fence = CheckOutFence(checked_in_by=scanned_at, lease=lease_id)
    verdict = check_out_decide(session, participant, op=op, took_over=took_over, fence=fence)
    if verdict.reason == Reason.NOT_CHECKED_IN:
        return _with(verdict, conflict=Conflict.NOT_CHECKED_IN)
    return verdict


def _unknown(attempt: Attempt, error: NotFoundError, by_ticket: bool) -> Verdict:
    """An offline scan of a ticket or participant the server does not know (now): a conflict."""
    conflict = Conflict.TICKET_NOT_FOUND if by_ticket else Conflict.PARTICIPANT_DELETED
    reason = Reason(error.reason.value)
    entry = attempt.entry(None, reason=reason.value, nonce=attempt.nonce, conflict=conflict)
    replayed = False
    try:
        entry.save(force_insert=True)
    except IntegrityError:
        replayed = True  # recorded by an earlier sync (same nonce)
    session = attempt.session
    return Verdict(
        reason=reason, session=str(session.pk), participant="",
        check_in_count=session.check_in_count, capacity=session.capacity,
        session_title=session.title, conflict=conflict, replayed=replayed,
    )  # fmt: skip


# The online verdicts that did what the door then did offline (the person is inside; they are
# out): an offline scan with the same nonce replays them. Any other online verdict is a refusal.
_ONLINE_DONE = {
    Scan.Direction.IN: {Reason.CHECKED_IN.value, Reason.ALREADY_CHECKED_IN.value},
    Scan.Direction.OUT: {Reason.CHECKED_OUT.value},
}
OFFLINE_NONCE_SUFFIX = ":offline"


def _online_refusal(original: Scan) -> bool:
    """Is the nonce's decided entry an online scan that did not do what the door did offline?

    The door sent the scan online first and, hearing nothing within 2 s, decided it itself with
    the same nonce (an admission on a leased place, a check-out): that decision is still to be
    recorded.
    """
    done = _ONLINE_DONE.get(original.direction, set())
    return original.lease_id is None and original.reason not in done


def _decide_once(attempt: Attempt, participant: Participant, decide) -> Verdict:
    """Decide a synced scan once per nonce (``check_in.decide_once``), conflicts kept on the entry.

    ``check_in_in_progress`` is not a verdict on the scan: the claim is dropped so the door's
    next sync decides it afresh. An offline scan whose nonce holds an online refusal
    (``_online_refusal``) is decided once under ``<nonce>:offline`` (docs/door-protocol.md).
    """
    claimed = scan_claim(attempt=attempt, participant=participant, replay=False)
    if isinstance(claimed, Scan):
        if _online_refusal(claimed):
            offline = dataclasses.replace(attempt, nonce=attempt.nonce + OFFLINE_NONCE_SUFFIX)
            return _decide_once(offline, participant, decide)
        return scan_replay(claimed, attempt, participant)
    if isinstance(claimed, Verdict):
        return claimed
    try:
        verdict = decide(claimed.op, claimed.took_over)
    except BaseException:
        scan_claim_release(claimed)
        raise
    if verdict.reason == Reason.CHECK_IN_IN_PROGRESS:
        scan_claim_release(claimed)
    else:
        scan_claim_finish(claimed, verdict)
    return verdict


def _sync_scan(lease: Lease, session: Session, scan: OfflineScan, device, actor) -> Verdict:
    attempt = Attempt(
        session, scan.direction, CheckIn.Source.OFFLINE, actor, scan.ticket_code, scan.nonce,
        device=device, scanned_at=scan.scanned_at, lease=lease,
    )  # fmt: skip
    by_ticket = scan.participant is None
    lease_id = str(lease.pk)
    try:
        participant = participant_get_for_admission(
            participant_id=scan.participant, ticket_code=scan.ticket_code or None
        )
        if scan.direction == Scan.Direction.IN:
            return _decide_once(
                attempt, participant,
                lambda op, took_over: _offline_in(
                    session, participant, lease_id, op, took_over, by_ticket=by_ticket,
                    scanned_at=scan.scanned_at,
                ),
            )  # fmt: skip
        return _decide_once(
            attempt, participant,
            lambda op, took_over: _offline_out(
                session, participant, lease_id, op, took_over, scanned_at=scan.scanned_at
            ),
        )  # fmt: skip
    except NotFoundError as error:
        if error.reason == NotFoundReason.SESSION_NOT_FOUND:
            raise
        return _unknown(attempt, error, by_ticket)


def _return(lease: Lease, places: int, sync_id: str) -> int:
    """Give back up to ``places`` unused places, once per ``sync_id``; return how many."""
    if places <= 0:
        return 0
    lease_id = str(lease.pk)
    key = f"returns.{sync_id}"
    if sync_id:
        claimed = _leases().update_one({"_id": lease.pk, key: {"$exists": False}},
                                       {"$set": {key: 0}})  # fmt: skip
        if not claimed.modified_count:  # a retry of a sync that returned already
            doc = _leases().find_one({"_id": lease.pk}, {"returns": 1}) or {}
            return int((doc.get("returns") or {}).get(sync_id) or 0)
    returned = 0
    for _attempt in range(3):  # a transfer or credit between our read and our write
        now = admission_protocol.lease_room_read(lease.session_id, lease_id)
        wanted = min(places, now.room) if now is not None and now.exists else 0
        if wanted == 0 or admission_protocol.lease_places_return(lease.session_id, lease_id,
                                                                 wanted):  # fmt: skip
            returned = wanted
            break
    if sync_id:
        _leases().update_one({"_id": lease.pk}, {"$set": {key: returned}})
    return returned


def lease_sync(
    *, lease: Lease, scans: list[OfflineScan], give_back: int = 0, sync_id: str = "",
    device: DoorDevice | None = None, actor: str = "",
) -> SyncAnswer:  # fmt: skip
    """Record a door's offline scans, in order, through its lease; give ``give_back`` places back.

    Idempotent: each scan by its nonce (a retried sync answers as before, ``replayed``), the
    return by ``sync_id``. A settled lease's scans are still recorded (the people are inside),
    each with the conflict ``lease_expired``.
    """
    lease = _renewed(lease)
    session = session_get_for_admission(session_id=lease.session_id)
    results = [_sync_scan(lease, session, scan, device, actor) for scan in scans]
    returned = _return(lease, give_back, sync_id)
    fresh = [v for v in results if not v.replayed]
    used = sum(1 for v in fresh if v.reason == Reason.CHECKED_IN)
    credits = sum(1 for v, s in zip(results, scans, strict=True)
                  if not v.replayed and v.reason == Reason.CHECKED_OUT
                  and s.direction == Scan.Direction.OUT)  # fmt: skip
    _leases().update_one(
        {"_id": lease.pk},
        {
            "$inc": {"used": used, "granted": credits, "returned": returned},
            "$set": {"last_sync_at": timezone.now()},
        },
    )
    lease.used += used
    lease.granted += credits
    lease.returned += returned
    if any(v.reason in (Reason.CHECKED_IN, Reason.CHECKED_OUT) for v in fresh) or returned:
        session_cache_invalidate(session.pk)
        session_change_publish(session_id=session.pk)
    return SyncAnswer(LeaseAnswer(lease, _room_now(lease)), returned, results,
                      [s.nonce for s in scans])  # fmt: skip


# --- the reconcile's part -------------------------------------------------------------------------


def leases_settle_room(session_id: ObjectId, lease_id: str) -> int:
    """Give back every unused place of a lease that has ended; return how many."""
    for _attempt in range(5):  # a transfer or credit between our read and our write
        now = admission_protocol.lease_room_read(session_id, lease_id)
        if now is None or not now.exists:
            return 0
        failpoint("lease.settle_after_read")
        if admission_protocol.lease_room_settle(session_id, lease_id, now.room):
            session_cache_invalidate(session_id)
            session_change_publish(session_id=session_id)
            return now.room
    return 0


def leases_settle_expired() -> int:
    """Settle every lease not renewed by ``LEASE_SETTLE_GRACE_SECONDS`` after its expiry.

    The lease document is settled first, conditional on the expiry read (a renewal meanwhile
    wins), then its room; a crash between the two leaves a room of a settled lease, which
    ``leases_settle_orphans`` gives back.
    """
    before = timezone.now() - timedelta(seconds=settings.LEASE_SETTLE_GRACE_SECONDS)
    settled = 0
    expired = _leases().find(
        {"state": {"$in": ACTIVE_STATES}, "expires_at": {"$lt": before}},
        {"session_id": 1, "expires_at": 1, "state": 1},
    )
    for doc in list(expired):
        ended = _leases().update_one(
            {"_id": doc["_id"], "state": doc["state"], "expires_at": doc["expires_at"]},
            {"$set": {"state": Lease.State.SETTLED.value, "settled_at": timezone.now()}},
        )
        if ended.modified_count:
            returned = leases_settle_room(doc["session_id"], str(doc["_id"]))
            _leases().update_one({"_id": doc["_id"]}, {"$inc": {"returned": returned}})
            settled += 1
    return settled


def leases_settle_orphans(session_id: ObjectId, lease_room: dict) -> int:
    """Give back the rooms of leases that are settled or gone (a crash between two writes)."""
    ids = [ObjectId(key) for key in lease_room if ObjectId.is_valid(key)]
    if not ids:
        return 0
    live = {
        str(doc["_id"])
        for doc in _leases().find(
            {"_id": {"$in": ids}, "state": {"$in": ACTIVE_STATES}}, {"_id": 1}
        )
    }
    return sum(leases_settle_room(session_id, key) for key in lease_room if key not in live)
