"""The admission protocol in MongoDB: admissions and check-outs that no interleaving can break.

Admission: claim (record out -> entering(op)), increment (session count + 1 if open, not deleting,
below capacity, capacity and epoch as read), admit (record entering(op) -> inside). Check-out:
leave (inside -> leaving(op)), decrement (count - 1 if the epoch is as read), finish (-> out).
Why this order keeps every capacity invariant, and how the reconcile's fences (epoch, moves, op)
make ending a stalled operation safe: see docs/door-protocol.md.

Leases (``leases.py``): a door that may go offline holds places of the session
(``Session.leased``, ``lease_room``): online admissions count them as taken, an offline admission
synced later moves its place from the lease to the counter (a transfer), an offline check-out
gives it back to the lease (a credit). Each such move is marked with its op in ``lease_ops`` in the
same update, so it happens once whoever makes it (the request, its retry, the reconcile).

Everything here is plain pymongo on the backend's connection: every filter is an equality (or a
range on one field) on ``_id`` or an indexed pair, so each write is an index lookup on the stand-in
as on MongoDB. The orchestration (Redis, verdicts, the scan log) is in ``check_in.py`` and
``check_out.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from bson import ObjectId
from django.conf import settings
from django.db import connection
from django.utils import timezone
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from core.failpoints import failpoint
from core.process_cache import model_copy

from ..models import CheckIn, Session
from ..selectors import session_copy_replace

OUT, ENTERING, INSIDE, LEAVING = (
    CheckIn.State.OUT.value,
    CheckIn.State.ENTERING.value,
    CheckIn.State.INSIDE.value,
    CheckIn.State.LEAVING.value,
)
HOLDING = [ENTERING, INSIDE, LEAVING]
# Every write that changes a session's count also bumps its live version and stamps when, in the
# same update (no extra round trip): screens order messages by the version, and the live hub's
# "changed since" poll reads the stamp (server time, so a write delayed in flight is stamped
# when it lands). See live_app/hub.py.
LIVE_BUMP = {"version": 1}
LIVE_STAMP = {"$currentDate": {"changed_at": True}}
_POLL_SECONDS = 0.02
# A record remembers the ops that landed on it (an admission that got the person in, a check-out
# that got them out), newest last: a retry that took over a gone original's nonce asks whether the
# original's work landed even after a later visit moved the record on (``op_landed``). Far more
# than the visits one person makes within a retry's few seconds.
DONE_OPS_KEPT = 8


def _checkins():
    return connection.get_collection(CheckIn._meta.db_table)


def _sessions():
    return connection.get_collection(Session._meta.db_table)


def op_new() -> str:
    """Return a fresh operation id (unique across processes)."""
    return str(ObjectId())


@dataclass(frozen=True)
class Claim:
    """An admission in flight: the pair's record is ``entering`` under ``op``."""

    record_id: ObjectId
    op: str
    created: bool  # the claim created the record (first entry of the pair)

    @property
    def key(self) -> dict:
        return {"_id": self.record_id, "state": ENTERING, "op": self.op}


@dataclass(frozen=True)
class SessionAdmission:
    """The admission fields of a session document, as read at one moment."""

    id: ObjectId
    status: str
    capacity: int
    count: int
    epoch: int
    deleting: bool
    moves: int = 0
    leased: int = 0  # places leased to doors and not used yet: taken, for online admissions

    @classmethod
    def of(cls, session: Session) -> SessionAdmission:
        return cls(
            session.pk,
            session.status,
            session.capacity,
            session.check_in_count,
            session.epoch,
            session.deleting,
            session.moves,
            session.leased or 0,
        )

    @property
    def free(self) -> int:
        """Places neither held by someone inside nor leased to a door."""
        return max(0, self.capacity - self.count - self.leased)

    @property
    def full(self) -> bool:
        return self.count + self.leased >= self.capacity


def leased_as_read(leased: int):
    """The filter on ``leased`` as read: a session written before leases existed has none."""
    return {"$in": [0, None]} if leased == 0 else leased


# --- reads ----------------------------------------------------------------------------------------


# The session's admission fields, as every read of them projects them.
_ADMISSION_FIELDS = {
    "status": 1, "capacity": 1, "check_in_count": 1, "epoch": 1, "deleting": 1, "moves": 1,
    "leased": 1,
}  # fmt: skip


def _admission_of(doc: dict) -> SessionAdmission:
    """The admission fields as MongoDB just returned them; this process's copy of the session
    takes them if they are newer (``_copy_take``)."""
    admission = SessionAdmission(
        doc["_id"],
        doc["status"],
        int(doc["capacity"]),
        int(doc.get("check_in_count", 0)),
        int(doc.get("epoch", 0)),
        bool(doc.get("deleting", False)),
        int(doc.get("moves", 0)),
        int(doc.get("leased") or 0),
    )
    session_copy_replace(admission.id, partial(_copy_take, admission))
    return admission


def _copy_take(admission: SessionAdmission, kept: Session) -> Session | None:
    """This process's copy of the session with ``admission``'s fields, if they are newer.

    Newer by ``(epoch, moves)``: every increment and decrement bumps ``moves``, a repair the
    epoch. So an answer made from the copy after one of this process's own admissions (someone
    already inside, say) does not show the count from before it. Other processes' copies stay
    what they were, at most ``DOOR_READ_CACHE_SECONDS`` old.
    """
    if (admission.epoch, admission.moves) <= (kept.epoch, kept.moves):
        return None
    fresh = model_copy(kept)
    fresh.status, fresh.capacity = admission.status, admission.capacity
    fresh.check_in_count, fresh.leased = admission.count, admission.leased
    fresh.epoch, fresh.moves, fresh.deleting = admission.epoch, admission.moves, admission.deleting
    return fresh


def session_admission_read(session_id: ObjectId) -> SessionAdmission | None:
    """Read the session's admission fields, or None if the session is gone."""
    doc = _sessions().find_one({"_id": session_id}, _ADMISSION_FIELDS)
    return None if doc is None else _admission_of(doc)


def record_read(session_id: ObjectId, participant_id: ObjectId) -> dict | None:
    """Read the pair's record (id, state, op, when the op started), or None."""
    return _checkins().find_one(
        {"session_id": session_id, "participant_id": participant_id},
        {
            "state": 1,
            "op": 1,
            "op_started_at": 1,
            "checked_in_at": 1,
            "last_op": 1,
            "done_ops": 1,
            "lease": 1,
            "session_id": 1,
        },
    )


def op_landed(record: dict, ops) -> bool:
    """Tell whether one of ``ops`` did what it set out to do on this record (``done_ops``)."""
    return any(op in ops for op in record.get("done_ops") or ())


def _done(op: str) -> dict:
    """The update part that remembers ``op`` as landed (the last ``DONE_OPS_KEPT`` are kept)."""
    return {"$push": {"done_ops": {"$each": [op], "$slice": -DONE_OPS_KEPT}}}


def record_await(
    session_id: ObjectId, participant_id: ObjectId, *, own_op: str = ""
) -> dict | None:
    """Read the pair's record, waiting (bounded) while another request's operation is in flight.

    Return the record as last read (None if there is none): still ``entering``/``leaving`` when
    the other request did not finish within ``CHECKIN_IN_FLIGHT_WAIT_SECONDS``.
    """
    deadline = time.monotonic() + settings.CHECKIN_IN_FLIGHT_WAIT_SECONDS
    while True:
        record = record_read(session_id, participant_id)
        in_flight = record is not None and record["state"] in (ENTERING, LEAVING)
        if not in_flight or time.monotonic() >= deadline:
            return record
        time.sleep(_POLL_SECONDS)


def holders(session_id: ObjectId) -> list[tuple[str, str]]:
    """Return (participant id, state) of every record holding a place in the session."""
    cursor = _checkins().find(
        {"session_id": session_id, "state": {"$in": HOLDING}}, {"participant_id": 1, "state": 1}
    )
    return [(str(doc["participant_id"]), doc["state"]) for doc in cursor]


def ops_started_before(session_id: ObjectId, moment) -> list[dict]:
    """Return the session's records with an operation in flight since before ``moment``."""
    return list(
        _checkins().find(
            {
                "session_id": session_id,
                "state": {"$in": [ENTERING, LEAVING]},
                "op_started_at": {"$lt": moment},
            },
            {"state": 1, "op": 1, "checked_in_at": 1, "lease": 1, "session_id": 1},
        )
    )


# --- admission ------------------------------------------------------------------------------------


def record_claim(
    *, session_id: ObjectId, participant_id: ObjectId, op: str, source: str, lease: str = ""
) -> Claim | None:
    """Step 1: move the pair's record from ``out`` (or nothing) to ``entering``.

    Return None when the record is in another state: the participant is inside, or another
    request for them is in flight. A first entry inserts the record (the unique pair index lets
    one of two racing inserts through); a re-entry flips the existing record by its id.
    """
    now = timezone.now()
    for _attempt in range(3):  # a record reverted (removed) between our insert and our read
        try:
            result = _checkins().insert_one(
                {
                    "session_id": session_id,
                    "participant_id": participant_id,
                    "state": ENTERING,
                    "op": op,
                    "op_started_at": now,
                    "checked_in_at": None,
                    "checked_out_at": None,
                    "source": source,
                    "lease": lease,
                }
            )
            return Claim(result.inserted_id, op, created=True)
        except DuplicateKeyError:
            pass
        record = record_read(session_id, participant_id)
        if record is None:
            continue
        if record["state"] != OUT:
            return None
        flipped = _checkins().update_one(
            {"_id": record["_id"], "state": OUT},
            {"$set": {"state": ENTERING, "op": op, "op_started_at": now, "lease": lease}},
        )
        if flipped.modified_count:
            return Claim(record["_id"], op, created=False)
    return None


def claim_holds(claim: Claim) -> bool:
    """Tell whether the claim is still in flight (the reconcile may have ended it)."""
    return _checkins().count_documents(claim.key, limit=1) == 1


def claim_revert(claim: Claim) -> None:
    """Give up a claim that was not admitted: a first entry's record goes, a re-entry's is out."""
    if claim.created and _checkins().delete_one({**claim.key, "checked_in_at": None}).deleted_count:
        return
    _checkins().update_one(claim.key, {"$set": {"state": OUT, "op": "", "op_started_at": None}})


def session_increment(admission: SessionAdmission) -> SessionAdmission | None:
    """Step 2: take a place, if the session is still as read (open, room, capacity, epoch).

    Return the session's admission fields as the increment left them (the count the answer
    shows), or None if it took no place: one ``findAndModify``, where an update and a read of the
    count were two round trips.
    """
    doc = _sessions().find_one_and_update(
        {
            "_id": admission.id,
            "status": Session.Status.OPEN.value,
            "deleting": False,
            "capacity": admission.capacity,
            "epoch": admission.epoch,
            "leased": leased_as_read(admission.leased),
            # Leased places are taken: count + leased stays within the capacity.
            "check_in_count": {"$lt": admission.capacity - admission.leased},
        },
        {"$inc": {"check_in_count": 1, "moves": 1, **LIVE_BUMP}, **LIVE_STAMP},
        projection=_ADMISSION_FIELDS,
        return_document=ReturnDocument.AFTER,
    )
    return None if doc is None else _admission_of(doc)


def session_increment_undo(admission: SessionAdmission) -> bool:
    """Give back the place of an admission the reconcile ended after its increment.

    Conditional on the epoch the increment used: if a repair ran since, it already counted the
    ended claim out, and undoing again would count the place twice.
    """
    result = _sessions().update_one(
        {"_id": admission.id, "epoch": admission.epoch, "check_in_count": {"$gt": 0}},
        {"$inc": {"check_in_count": -1, "moves": 1, **LIVE_BUMP}, **LIVE_STAMP},
    )
    return result.modified_count == 1


def record_admit(claim: Claim, *, source: str, at: datetime | None = None) -> bool:
    """Step 3: the claimed record becomes ``inside``; False if the reconcile ended the claim.

    ``at``: when the visit began, if not now (an offline admission: when the door scanned it, so
    a late check-out of the same door compares its own times).
    """
    now = min(at, timezone.now()) if at is not None else timezone.now()
    result = _checkins().update_one(
        claim.key,
        {
            "$set": {
                "state": INSIDE,
                "op": "",
                "op_started_at": None,
                "checked_in_at": now,
                "checked_out_at": None,
                "source": source,
                # Which request got the participant in: an undo ends only this visit.
                "last_op": claim.op,
            },
            **_done(claim.op),
        },
    )
    return result.modified_count == 1


# --- check-out ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaving:
    """A check-out in flight: the pair's record is ``leaving`` under ``op``."""

    record_id: ObjectId
    op: str

    @property
    def key(self) -> dict:
        return {"_id": self.record_id, "state": LEAVING, "op": self.op}


def record_leave(
    *, session_id: ObjectId, participant_id: ObjectId, op: str, admitted_by: tuple[str, ...] = (),
    checked_in_by: datetime | None = None, lease: str = "",
) -> Leaving | dict | None:  # fmt: skip
    """Step 1: ``inside`` -> ``leaving``.

    Return the check-out in flight, or the record as read when it is not inside (None when
    there is no record at all). ``admitted_by`` (an undo: only the visit one of those ops
    admitted) and ``checked_in_by`` (a late check-out: only a visit that began by then) are
    conditions of the flip itself, so a check-out and a re-entry between the read and the write
    cannot make it end another visit; a record that fails them is returned as read.
    """
    record = record_read(session_id, participant_id)
    if record is None or record["state"] != INSIDE:
        return record
    fence = {"_id": record["_id"], "state": INSIDE}
    if admitted_by:
        # Mostly one op (the scan's own): a plain equality, as every other condition here.
        fence["last_op"] = admitted_by[0] if len(admitted_by) == 1 else {"$in": list(admitted_by)}
    if checked_in_by is not None:
        fence["checked_in_at"] = {"$lte": checked_in_by}
    failpoint("check_out.after_read")
    flipped = _checkins().update_one(
        fence,
        {"$set": {"state": LEAVING, "op": op, "op_started_at": timezone.now(), "lease": lease}},
    )
    return (
        Leaving(record["_id"], op)
        if flipped.modified_count
        else record_read(session_id, participant_id)
    )


def leaving_holds(leaving: Leaving) -> bool:
    """Tell whether this check-out is still in flight (the reconcile may have ended it)."""
    return _checkins().count_documents(leaving.key, limit=1) == 1


def session_decrement(*, session_id: ObjectId, epoch: int) -> SessionAdmission | None:
    """Step 2: free the place, if no repair ran since ``epoch`` was read; return the session's
    admission fields as the decrement left them, or None if it freed nothing (one round trip)."""
    doc = _sessions().find_one_and_update(
        {"_id": session_id, "epoch": epoch, "check_in_count": {"$gt": 0}},
        {"$inc": {"check_in_count": -1, "moves": 1, **LIVE_BUMP}, **LIVE_STAMP},
        projection=_ADMISSION_FIELDS,
        return_document=ReturnDocument.AFTER,
    )
    return None if doc is None else _admission_of(doc)


def record_finish_leave(leaving: Leaving) -> bool:
    """Step 3: ``leaving`` -> ``out``; False if the reconcile ended the check-out first."""
    result = _checkins().update_one(
        leaving.key,
        {
            "$set": {
                "state": OUT,
                "op": "",
                "op_started_at": None,
                "checked_out_at": timezone.now(),
                "last_op": leaving.op,
            },
            **_done(leaving.op),
        },
    )
    return result.modified_count == 1


# --- the reconcile's writes -----------------------------------------------------------------------


def op_end(record: dict) -> bool:
    """End a stale operation: its record goes to ``out`` (a never-admitted one is removed).

    Safe at any age: the owner's next record write is conditional on its ``op`` and fails, and
    the counter is then repaired from the records (``counter_repair``). The age only decides
    when a request is given up for dead. A lease operation (an offline scan synced) is resolved
    toward holding more instead (``lease_op_resolve``).
    """
    if record.get("lease"):
        return lease_op_resolve(record)
    mine = {"_id": record["_id"], "state": record["state"], "op": record["op"]}
    if record["state"] == ENTERING and record.get("checked_in_at") is None:
        return _checkins().delete_one(mine).deleted_count == 1
    changes = {"state": OUT, "op": "", "op_started_at": None}
    if record["state"] != LEAVING:  # a re-entry never admitted: nothing landed
        return _checkins().update_one(mine, {"$set": changes}).modified_count == 1
    changes["checked_out_at"] = timezone.now()  # the check-out counts: it landed
    ended = _checkins().update_one(mine, {"$set": changes, **_done(record["op"])})
    return ended.modified_count == 1


def counter_repair(*, session_id: ObjectId, observed: SessionAdmission, truth: int) -> bool:
    """Set the counter to ``truth`` if no increment, decrement or repair happened since ``observed``.

    ``moves`` (bumped by every increment and decrement), not the counter's value: a check-out and
    a check-in between the reconcile's two reads leave the value as it was, and ``truth`` (read
    in between) then misses the one who came in.
    """
    result = _sessions().update_one(
        {
            "_id": session_id,
            "check_in_count": observed.count,
            "epoch": observed.epoch,
            "moves": observed.moves,
        },
        {"$set": {"check_in_count": truth}, "$inc": {"epoch": 1, **LIVE_BUMP}, **LIVE_STAMP},
    )
    return result.modified_count == 1


def counter_settle(session_id: ObjectId) -> tuple[bool, list[tuple[str, str]]] | None:
    """Repair the counter from the records if it is above the truth or below those inside.

    Read the counter first, the holders second, and write only if no increment, decrement or
    repair happened in between (``counter_repair``): the reconcile's step, also run by a retry that has
    just ended its original's operation. Return whether it repaired and the holders read, or
    None if the session is gone.
    """
    observed = session_admission_read(session_id)
    if observed is None:  # deleted since
        return None
    failpoint("reconcile.after_session_read")
    held = holders(session_id)
    failpoint("reconcile.after_observe")
    truth = len(held)
    inside = sum(1 for _, state in held if state == INSIDE)
    repaired = (observed.count > truth or observed.count < inside) and counter_repair(
        session_id=session_id, observed=observed, truth=truth
    )
    return repaired, held


def op_take_over(record: dict, session_id: ObjectId) -> bool:
    """End the operation of a request presumed gone (``op_end``), then settle the counter.

    A retry that took its original's nonce over calls this, so the person at the door is answered
    now instead of after the reconcile; the fences are the reconcile's, so it is as safe as one.
    """
    ended = op_end(record)
    counter_settle(session_id)
    return ended


# --- leases ---------------------------------------------------------------------------------------
#
# A lease's places live in the session document: ``leased`` (the total) and ``lease_room.<lease>``
# (this lease's), changed together by every write below. Online admissions count them as taken
# (``session_increment``), so people inside + leased <= capacity. ``lease_ops.<lease>`` lists the
# ops whose place moved (transfer, credit, late admission) and, as ``~<op>``, the ops the reconcile
# fenced off: each move is conditional on its op being in neither, and adds it, so a move happens
# once whoever makes it. Why each write keeps the invariant: docs/door-protocol.md.

LEASE_FENCE = "~"


def _room(lease_id: str) -> str:
    return f"lease_room.{lease_id}"


def _ops(lease_id: str) -> str:
    return f"lease_ops.{lease_id}"


def _not_moved(lease_id: str, op: str) -> dict:
    return {_ops(lease_id): {"$nin": [op, LEASE_FENCE + op]}}


@dataclass(frozen=True)
class LeaseRoom:
    """A lease's places in the session document, as read at one moment."""

    exists: bool  # False once the lease is settled (or before it was granted)
    room: int
    ops: tuple[str, ...]

    def moved(self, op: str) -> bool:
        return op in self.ops

    def fenced(self, op: str) -> bool:
        return LEASE_FENCE + op in self.ops


def lease_room_read(session_id: ObjectId, lease_id: str) -> LeaseRoom | None:
    """Read the lease's room and ops in the session document (None if the session is gone)."""
    doc = _sessions().find_one({"_id": session_id}, {_room(lease_id): 1, _ops(lease_id): 1})
    if doc is None:
        return None
    rooms, ops = doc.get("lease_room") or {}, doc.get("lease_ops") or {}
    return LeaseRoom(lease_id in rooms, int(rooms.get(lease_id) or 0), tuple(ops.get(lease_id, ())))


def lease_rooms_read(session_id: ObjectId) -> dict[str, int]:
    """Read every lease's room in the session document (``{}`` if none, or the session is gone)."""
    doc = _sessions().find_one({"_id": session_id}, {"lease_room": 1}) or {}
    return {key: int(value or 0) for key, value in (doc.get("lease_room") or {}).items()}


def lease_places_add(admission: SessionAdmission, lease_id: str, places: int, *,
                     first: bool) -> bool:  # fmt: skip
    """Set ``places`` aside for the lease, if the session is still as read and they are free.

    The grant (``first``: the lease has no room yet) and a top-up. Conditional like an online
    admission: open, not deleting, capacity and ``leased`` as read, count <= capacity - leased -
    places; so no interleaving with admissions or other grants takes a place twice.
    """
    result = _sessions().update_one(
        {
            "_id": admission.id,
            "status": Session.Status.OPEN.value,
            "deleting": False,
            "capacity": admission.capacity,
            "leased": leased_as_read(admission.leased),
            "check_in_count": {"$lte": admission.capacity - admission.leased - places},
            _room(lease_id): {"$exists": not first},
        },
        {"$inc": {"leased": places, _room(lease_id): places, **LIVE_BUMP}, **LIVE_STAMP},
    )
    return result.modified_count == 1


def lease_transfer(session_id: ObjectId, lease_id: str, op: str) -> bool:
    """An offline admission's place moves from the lease to the counter (once per op).

    No capacity condition: the place was set aside when the lease was granted.
    """
    result = _sessions().update_one(
        {"_id": session_id, _room(lease_id): {"$gte": 1}, **_not_moved(lease_id, op)},
        {
            "$inc": {"check_in_count": 1, "leased": -1, _room(lease_id): -1, "moves": 1,
                     **LIVE_BUMP},
            "$push": {_ops(lease_id): op},
            **LIVE_STAMP,
        },
    )  # fmt: skip
    return result.modified_count == 1


def lease_admit_late(session_id: ObjectId, lease_id: str, op: str) -> bool:
    """An offline admission of a settled lease: the person is inside, counted without a place.

    The one write that may take the count above the capacity (docs/door-protocol.md, "A lease
    that expired"); once per op.
    """
    result = _sessions().update_one(
        {"_id": session_id, _room(lease_id): {"$exists": False}, **_not_moved(lease_id, op)},
        {
            "$inc": {"check_in_count": 1, "moves": 1, **LIVE_BUMP},
            "$push": {_ops(lease_id): op},
            **LIVE_STAMP,
        },
    )
    return result.modified_count == 1


def lease_credit(session_id: ObjectId, lease_id: str, op: str) -> bool:
    """An offline check-out's place goes back to the lease of the door that freed it (once)."""
    result = _sessions().update_one(
        {
            "_id": session_id,
            "check_in_count": {"$gt": 0},
            _room(lease_id): {"$exists": True},
            **_not_moved(lease_id, op),
        },
        {
            "$inc": {"check_in_count": -1, "leased": 1, _room(lease_id): 1, "moves": 1,
                     **LIVE_BUMP},
            "$push": {_ops(lease_id): op},
            **LIVE_STAMP,
        },
    )  # fmt: skip
    return result.modified_count == 1


def lease_decrement(session_id: ObjectId, lease_id: str, op: str) -> bool:
    """An offline check-out of a settled lease frees its place to the session (once per op)."""
    result = _sessions().update_one(
        {
            "_id": session_id,
            "check_in_count": {"$gt": 0},
            _room(lease_id): {"$exists": False},
            **_not_moved(lease_id, op),
        },
        {
            "$inc": {"check_in_count": -1, "moves": 1, **LIVE_BUMP},
            "$push": {_ops(lease_id): op},
            **LIVE_STAMP,
        },
    )
    return result.modified_count == 1


def lease_fence(session_id: ObjectId, lease_id: str, op: str) -> bool:
    """Make sure ``op``'s move never happens (the reconcile's, for a stale check-out)."""
    result = _sessions().update_one(
        {"_id": session_id, **_not_moved(lease_id, op)},
        {"$push": {_ops(lease_id): LEASE_FENCE + op}},
    )
    return result.modified_count == 1


def lease_ops_forget(session_id: ObjectId, lease_id: str, op: str) -> None:
    """Drop ``op``'s marks once its record is final (nobody will try its move again)."""
    _sessions().update_one(
        {"_id": session_id}, {"$pull": {_ops(lease_id): {"$in": [op, LEASE_FENCE + op]}}}
    )


def lease_places_return(session_id: ObjectId, lease_id: str, places: int) -> bool:
    """Give ``places`` unused places of the lease back to the session, if it has them."""
    result = _sessions().update_one(
        {"_id": session_id, _room(lease_id): {"$gte": places}},
        {"$inc": {"leased": -places, _room(lease_id): -places, **LIVE_BUMP}, **LIVE_STAMP},
    )
    return result.modified_count == 1


def lease_room_settle(session_id: ObjectId, lease_id: str, room: int) -> bool:
    """Give every unused place of the lease back and close its room, if it holds ``room`` now.

    Afterwards no transfer or credit of the lease can land (they need the room); an offline
    admission synced later is counted by ``lease_admit_late``.
    """
    result = _sessions().update_one(
        {"_id": session_id, _room(lease_id): room},
        {"$inc": {"leased": -room, **LIVE_BUMP}, "$unset": {_room(lease_id): ""}, **LIVE_STAMP},
    )
    return result.modified_count == 1


def _record_complete(record: dict, *, lease_id: str) -> bool:
    """A stale offline admission whose place has moved: its record becomes ``inside``."""
    result = _checkins().update_one(
        {"_id": record["_id"], "state": ENTERING, "op": record["op"]},
        {
            "$set": {
                "state": INSIDE, "op": "", "op_started_at": None, "checked_in_at": timezone.now(),
                "checked_out_at": None, "last_op": record["op"], "lease": lease_id,
            },
            **_done(record["op"]),
        },
    )  # fmt: skip
    return result.modified_count == 1


def _record_back_inside(record: dict) -> bool:
    """A stale offline check-out whose credit can no longer land: the record is ``inside`` again."""
    result = _checkins().update_one(
        {"_id": record["_id"], "state": LEAVING, "op": record["op"]},
        {"$set": {"state": INSIDE, "op": "", "op_started_at": None}},
    )
    return result.modified_count == 1


def _lease_entering_resolve(record: dict, session_id: ObjectId, lease_id: str) -> bool:
    op = record["op"]
    if lease_transfer(session_id, lease_id, op):
        return _record_complete(record, lease_id=lease_id)
    now = lease_room_read(session_id, lease_id)
    if now is None:
        return False
    if now.moved(op) or (not now.exists and lease_admit_late(session_id, lease_id, op)):
        return _record_complete(record, lease_id=lease_id)
    if not now.exists:  # admitted late by the owner between our two writes
        return _record_complete(record, lease_id=lease_id)
    # An active lease with no room: only the owner (or its retry) decides; it says
    # ``lease_exhausted``. Were the owner gone, the lease's settle lets it be counted late.
    return False


def lease_op_resolve(record: dict) -> bool:
    """Resolve a stale lease operation toward holding more (over-counting is the safe side).

    An offline admission is completed to ``inside`` (its place moved from the lease, or, the
    lease settled, counted late): the person is inside, the door admitted them. An offline
    check-out whose credit has not landed is fenced off and the record is ``inside`` again (the
    door's retry checks them out afresh); one whose credit landed is finished. The owner, if
    alive, sees its record moved by its op (``last_op``) and answers from that.
    """
    session_id, lease_id, op = record["session_id"], record["lease"], record["op"]
    if record["state"] == ENTERING:
        return _lease_entering_resolve(record, session_id, lease_id)
    if lease_fence(session_id, lease_id, op):
        return _record_back_inside(record)
    now = lease_room_read(session_id, lease_id)
    if now is not None and now.moved(op):
        return record_finish_leave(Leaving(record["_id"], op))
    return _record_back_inside(record)
