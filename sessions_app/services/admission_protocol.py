"""The admission protocol in MongoDB: admissions and check-outs that no interleaving can break.

Admission: claim (record out -> entering(op)), increment (session count + 1 if open, not deleting,
below capacity, capacity and epoch as read), admit (record entering(op) -> inside). Check-out:
leave (inside -> leaving(op)), decrement (count - 1 if the epoch is as read), finish (-> out).
Why this order keeps every capacity invariant, and how the reconcile's fences (epoch, moves, op)
make ending a stalled operation safe: see docs/door-protocol.md.

Everything here is plain pymongo on the backend's connection: every filter is an equality (or a
range on one field) on ``_id`` or an indexed pair, so each write is an index lookup on the stand-in
as on MongoDB. The orchestration (Redis, verdicts, the scan log) is in ``check_in.py`` and
``check_out.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId
from django.conf import settings
from django.db import connection
from django.utils import timezone
from pymongo.errors import DuplicateKeyError

from core.failpoints import failpoint

from ..models import CheckIn, Session

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
        )

    @property
    def full(self) -> bool:
        return self.count >= self.capacity


# --- reads ----------------------------------------------------------------------------------------


def session_admission_read(session_id: ObjectId) -> SessionAdmission | None:
    """Read the session's admission fields, or None if the session is gone."""
    doc = _sessions().find_one(
        {"_id": session_id},
        {"status": 1, "capacity": 1, "check_in_count": 1, "epoch": 1, "deleting": 1, "moves": 1},
    )
    if doc is None:
        return None
    return SessionAdmission(
        doc["_id"],
        doc["status"],
        int(doc["capacity"]),
        int(doc.get("check_in_count", 0)),
        int(doc.get("epoch", 0)),
        bool(doc.get("deleting", False)),
        int(doc.get("moves", 0)),
    )


def record_read(session_id: ObjectId, participant_id: ObjectId) -> dict | None:
    """Read the pair's record (id, state, op, when the op started), or None."""
    return _checkins().find_one(
        {"session_id": session_id, "participant_id": participant_id},
        {"state": 1, "op": 1, "op_started_at": 1, "checked_in_at": 1, "last_op": 1},
    )


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
            {"state": 1, "op": 1, "checked_in_at": 1},
        )
    )


# --- admission ------------------------------------------------------------------------------------


def record_claim(
    *, session_id: ObjectId, participant_id: ObjectId, op: str, source: str
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
            {"$set": {"state": ENTERING, "op": op, "op_started_at": now}},
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


def session_increment(admission: SessionAdmission) -> bool:
    """Step 2: take a place, if the session is still as read (open, room, capacity, epoch)."""
    result = _sessions().update_one(
        {
            "_id": admission.id,
            "status": Session.Status.OPEN.value,
            "deleting": False,
            "capacity": admission.capacity,
            "epoch": admission.epoch,
            "check_in_count": {"$lt": admission.capacity},
        },
        {"$inc": {"check_in_count": 1, "moves": 1, **LIVE_BUMP}, **LIVE_STAMP},
    )
    return result.modified_count == 1


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


def record_admit(claim: Claim, *, source: str) -> bool:
    """Step 3: the claimed record becomes ``inside``; False if the reconcile ended the claim."""
    now = timezone.now()
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
                # Which request got the participant in: its retry (same nonce) answers its verdict.
                "last_op": claim.op,
            }
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
    *, session_id: ObjectId, participant_id: ObjectId, op: str, admitted_by: str = "",
    checked_in_by: datetime | None = None,
) -> Leaving | dict | None:  # fmt: skip
    """Step 1: ``inside`` -> ``leaving``.

    Return the check-out in flight, or the record as read when it is not inside (None when
    there is no record at all). ``admitted_by`` (an undo: only the visit that op admitted) and
    ``checked_in_by`` (a late check-out: only a visit that began by then) are conditions of the
    flip itself, so a check-out and a re-entry between the read and the write cannot make it
    end another visit; a record that fails them is returned as read.
    """
    record = record_read(session_id, participant_id)
    if record is None or record["state"] != INSIDE:
        return record
    fence = {"_id": record["_id"], "state": INSIDE}
    if admitted_by:
        fence["last_op"] = admitted_by
    if checked_in_by is not None:
        fence["checked_in_at"] = {"$lte": checked_in_by}
    failpoint("check_out.after_read")
    flipped = _checkins().update_one(
        fence, {"$set": {"state": LEAVING, "op": op, "op_started_at": timezone.now()}}
    )
    return (
        Leaving(record["_id"], op)
        if flipped.modified_count
        else record_read(session_id, participant_id)
    )


def leaving_holds(leaving: Leaving) -> bool:
    """Tell whether this check-out is still in flight (the reconcile may have ended it)."""
    return _checkins().count_documents(leaving.key, limit=1) == 1


def session_decrement(*, session_id: ObjectId, epoch: int) -> bool:
    """Step 2: free the place, if no repair ran since ``epoch`` was read."""
    result = _sessions().update_one(
        {"_id": session_id, "epoch": epoch, "check_in_count": {"$gt": 0}},
        {"$inc": {"check_in_count": -1, "moves": 1, **LIVE_BUMP}, **LIVE_STAMP},
    )
    return result.modified_count == 1


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
            }
        },
    )
    return result.modified_count == 1


# --- the reconcile's writes -----------------------------------------------------------------------


def op_end(record: dict) -> bool:
    """End a stale operation: its record goes to ``out`` (a never-admitted one is removed).

    Safe at any age: the owner's next record write is conditional on its ``op`` and fails, and
    the counter is then repaired from the records (``counter_repair``). The age only decides
    when a request is given up for dead.
    """
    mine = {"_id": record["_id"], "state": record["state"], "op": record["op"]}
    if record["state"] == ENTERING and record.get("checked_in_at") is None:
        return _checkins().delete_one(mine).deleted_count == 1
    changes = {"state": OUT, "op": "", "op_started_at": None}
    if record["state"] == LEAVING:
        changes["checked_out_at"] = timezone.now()
    return _checkins().update_one(mine, {"$set": changes}).modified_count == 1


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
