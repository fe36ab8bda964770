"""Ours' MongoDB commands through pymongo: the door protocol as the API runs it, without the API.

``bench.open_loop``'s ``raw`` mode is the admission core of ``bench.admission_designs``: the
participant by ``_id``, then claim, increment, admit, on collections with one index each (four
commands, no scan log). A 201 of ours makes seven, three of them on the scan log (seven indexes
of its own): the nonce's claim and verdict, and the participant's re-read after the claim (the
fence against a delete). The ``raw full`` mode sends this module's commands instead: for every
kind of scan, the MongoDB commands ours makes for it, in ours' order, with ours' filters and
updates, on copies of ours' collections (the same indexes, the same documents at the start of
the step; of the scan log, the entries of the step's sessions, where ours' keeps every step's),
from threads of the benchmark's own process. No Django, no HTTP, no Redis, no admission
control: ours over ``raw full`` at the knee is what the rest of the stack costs; ``raw full`` over
``raw`` is what the commands the core leaves out cost.

The commands, per kind (ours with Redis up and a nonce on every scan, as ``bench.open_loop`` sends
them; ``tests/sessions_app/test_round_trips.py`` and ``test_command_shapes.py`` pin ours'):

- admission: the participant (a process's first scan of them), the nonce's claim (an insert into
  the scan log), the record's claim (an insert, ``entering``), the participant's re-read, the
  increment (a ``findAndModify`` by ``_id``), the admission (``inside``), the claim's verdict;
- duplicate: the participant (first scan), the claim, the record (Redis said "member"), the
  verdict;
- full session: the participant (first scan), the claim, the session's count (Redis said "full"),
  the verdict;
- check-out: the participant (first scan), the claim, the record, leave, decrement, finish, the
  verdict;
- unknown participant: the participant's read (none), the scan log's entry of the refusal.

One participant copy is kept for the step, where ours keeps one per web worker (two): ours reads
a returning participant at most once more. Where the state differs from what the scan expected
(a duplicate whose admission was refused), the commands follow the state, as ours' do.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from bench.scale import PARTICIPANTS
from chaos.mongo import CHECKINS, SESSIONS

SCANS = "sessions_app_scan"
PER_STEP = (SESSIONS, CHECKINS, SCANS)  # copied at every step; the participants once
_ADMISSION_FIELDS = {
    "status": 1,
    "capacity": 1,
    "check_in_count": 1,
    "epoch": 1,
    "deleting": 1,
    "moves": 1,
    "leased": 1,
}
_RECORD_FIELDS = {
    "state": 1,
    "op": 1,
    "op_started_at": 1,
    "checked_in_at": 1,
    "last_op": 1,
    "done_ops": 1,
    "lease": 1,
    "session_id": 1,
}
DONE_OPS_KEPT = 8
LIVE = {"$currentDate": {"changed_at": True}}


def copy_collection(src, dst, name: str, where: dict | None = None) -> int:
    """Make ``dst[name]`` a copy of ``src[name]``: its secondary indexes, then its documents
    (those matching ``where``, if given)."""
    dst.drop_collection(name)
    dst.create_collection(name)
    for spec in src[name].list_indexes():
        if spec["name"] == "_id_":
            continue
        options = {k: v for k, v in spec.items() if k not in {"v", "key", "ns"}}
        dst[name].create_index(list(spec["key"].items()), **options)
    docs = list(src[name].find(where or {}))
    if docs:
        dst[name].insert_many(docs)
    return len(docs)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SessionCopy:
    """A session's admission fields as ours' process copy holds them (read at the step's start)."""

    id: ObjectId
    title: str
    capacity: int
    epoch: int
    leased: int


class RawProtocol:
    """The step's sessions and scan-log template; ``send`` runs one scan's commands."""

    def __init__(self, db, sessions: list[ObjectId]):
        self.db = db
        self.sessions = []
        for sid in sessions:
            doc = db[SESSIONS].find_one({"_id": sid})
            self.sessions.append(
                SessionCopy(
                    sid, doc["title"], doc["capacity"], doc["epoch"], doc.get("leased") or 0
                )
            )
        # A decided entry of ours (the full session's fillers were checked in with nonces): every
        # entry here is written with its fields, the scan's own values put in.
        self.template = db[SCANS].find_one({"nonce": {"$ne": ""}}, {"_id": 0})
        if self.template is None:
            raise RuntimeError("no scan-log entry of ours to copy: check a filler in first")
        self._known: set[ObjectId] = set()
        self._lock = threading.Lock()

    # --- the commands -----------------------------------------------------------------------
    def _participant(self, pid: ObjectId) -> dict | None:
        with self._lock:
            known = pid in self._known
        if known:
            return {"_id": pid}
        doc = self.db[PARTICIPANTS].find_one({"_id": pid})
        if doc is not None:
            with self._lock:
                self._known.add(pid)
        return doc

    def _entry(self, session: SessionCopy, pid, direction: str, **fields) -> dict:
        doc = dict(self.template)
        doc.update(
            session_id=session.id,
            participant_id=pid,
            participant_name="" if pid is None else f"Bench Person {pid}",
            direction=direction,
            reason="",
            nonce="",
            owner_op="",
            created_at=_now(),
            check_in_count=None,
            replayed=False,
            conflict="",
        )
        doc.update(fields)
        return doc

    def _claim(self, session: SessionCopy, pid, direction: str) -> str:
        op = str(ObjectId())
        doc = self._entry(session, pid, direction, nonce=ObjectId().binary.hex(), owner_op=op)
        doc["_id"] = ObjectId(op)
        self.db[SCANS].insert_one(doc)
        return op

    def _finish(self, op: str, reason: str, count: int | None) -> None:
        self.db[SCANS].update_one(
            {"_id": ObjectId(op), "owner_op": op},
            {"$set": {"reason": reason, "check_in_count": count, "conflict": "", "owner_op": ""}},
        )

    def _record(self, session: SessionCopy, pid) -> dict | None:
        return self.db[CHECKINS].find_one(
            {"session_id": session.id, "participant_id": pid}, _RECORD_FIELDS
        )

    def _admit(self, session: SessionCopy, pid, op: str) -> tuple[str, int | None]:
        """Claim, fence, increment, admit: (reason, count)."""
        checkins, now = self.db[CHECKINS], _now()
        try:
            record_id = checkins.insert_one(
                {
                    "session_id": session.id,
                    "participant_id": pid,
                    "state": "entering",
                    "op": op,
                    "op_started_at": now,
                    "checked_in_at": None,
                    "checked_out_at": None,
                    "source": "api",
                    "lease": "",
                }
            ).inserted_id
        except DuplicateKeyError:  # a re-entry: flip the record out -> entering
            record = self._record(session, pid)
            if record is None or record["state"] != "out":
                return "already_checked_in", None
            checkins.update_one(
                {"_id": record["_id"], "state": "out"},
                {"$set": {"state": "entering", "op": op, "op_started_at": now, "lease": ""}},
            )
            record_id = record["_id"]
        self.db[PARTICIPANTS].find_one({"_id": pid}, {"deleting": 1, "ticket_code": 1})
        doc = self.db[SESSIONS].find_one_and_update(
            {
                "_id": session.id,
                "status": "open",
                "deleting": False,
                "capacity": session.capacity,
                "epoch": session.epoch,
                "leased": {"$in": [0, None]} if session.leased == 0 else session.leased,
                "check_in_count": {"$lt": session.capacity - session.leased},
            },
            {"$inc": {"check_in_count": 1, "moves": 1, "version": 1}, **LIVE},
            projection=_ADMISSION_FIELDS,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:  # full: the claim goes (ours reads the session first; not on this mix)
            checkins.delete_one({"_id": record_id, "state": "entering", "op": op})
            return "session_full", None
        checkins.update_one(
            {"_id": record_id, "state": "entering", "op": op},
            {
                "$set": {
                    "state": "inside",
                    "op": "",
                    "op_started_at": None,
                    "checked_in_at": _now(),
                    "checked_out_at": None,
                    "source": "api",
                    "last_op": op,
                },
                "$push": {"done_ops": {"$each": [op], "$slice": -DONE_OPS_KEPT}},
            },
        )
        return "checked_in", doc["check_in_count"]

    def _leave(self, session: SessionCopy, record: dict, op: str) -> int | None:
        checkins = self.db[CHECKINS]
        checkins.update_one(
            {"_id": record["_id"], "state": "inside"},
            {"$set": {"state": "leaving", "op": op, "op_started_at": _now(), "lease": ""}},
        )
        doc = self.db[SESSIONS].find_one_and_update(
            {"_id": session.id, "epoch": session.epoch, "check_in_count": {"$gt": 0}},
            {"$inc": {"check_in_count": -1, "moves": 1, "version": 1}, **LIVE},
            projection=_ADMISSION_FIELDS,
            return_document=ReturnDocument.AFTER,
        )
        checkins.update_one(
            {"_id": record["_id"], "state": "leaving", "op": op},
            {
                "$set": {
                    "state": "out",
                    "op": "",
                    "op_started_at": None,
                    "checked_out_at": _now(),
                    "last_op": op,
                },
                "$push": {"done_ops": {"$each": [op], "$slice": -DONE_OPS_KEPT}},
            },
        )
        return None if doc is None else doc["check_in_count"]

    # --- one scan -------------------------------------------------------------------------------
    def scan(self, kind: str, session_index: int, pid: ObjectId) -> str:
        """Run one scan's commands; return its answer (``<status> <reason>``)."""
        session = self.sessions[session_index]
        if self._participant(pid) is None:
            self.db[SCANS].insert_one(
                self._entry(
                    session,
                    None,
                    "in" if kind != "check_out" else "out",
                    reason="participant_not_found",
                )
            )
            return "404 participant_not_found"
        if kind == "check_out":
            op = self._claim(session, pid, "out")
            record = self._record(session, pid)
            if record is None or record["state"] != "inside":
                self._finish(op, "not_checked_in", None)
                return "200 not_checked_in"
            count = self._leave(session, record, op)
            self._finish(op, "checked_out", count)
            return "200 checked_out"
        op = self._claim(session, pid, "in")
        if kind == "full":  # Redis says "full"; the session's count confirms it
            doc = self.db[SESSIONS].find_one({"_id": session.id}, _ADMISSION_FIELDS)
            self._finish(op, "session_full", doc["check_in_count"])
            return "409 session_full"
        if kind == "duplicate":  # Redis says "member"; the record confirms it
            record = self._record(session, pid)
            if record is not None and record["state"] == "inside":
                self._finish(op, "already_checked_in", None)
                return "200 already_checked_in"
        reason, count = self._admit(session, pid, op)
        self._finish(op, reason, count)
        status = {"checked_in": "201", "session_full": "409"}.get(reason, "200")
        return f"{status} {reason}"
