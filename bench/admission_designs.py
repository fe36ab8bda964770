"""Compare admission designs under a rush at one session: ``python -m bench.admission_designs``.

The capacity invariant needs the counter and the record of who is inside to change together. This
measures, on the MongoDB stand-in (SecantusDB, started here) with raw pymongo, the candidate
designs of the admission-interleavings issue under the same rush: ``--procs`` processes x
``--threads`` threads checking distinct participants in to one session.

- ``two_writes``: the design this replaced: a conditional ``$inc`` on the session document
  (``$expr: check_in_count < capacity``, as the ORM writes ``F("capacity")``), then the record.
- ``transaction``: the same two writes in one multi-document transaction (``with_transaction``
  retries write conflicts).
- ``in_document``: who is inside lives in the session document: one ``update_one`` with plain
  conditions (``places_left > 0``, participant not in ``inside``) decides and records admission;
  the history record is written afterwards.
- ``in_document_map``: the same with who is inside as a map keyed by participant id.
- ``seats``: one pre-created document per place, claimed by a conditional update.
- ``door_protocol``: the design chosen (``sessions_app/services/admission_protocol.py``): the
  record is inserted ``entering``, a plain conditional ``$inc`` takes the place, the record is
  admitted.

Prints, per design, throughput and p99 latency (median and spread over ``--runs`` runs) and the
ratio to the first design named; ``--sessions`` extra session documents show how each decision's cost
grows with the collection (``$expr`` scans on the stand-in).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import threading
import time
from dataclasses import dataclass

from bson import ObjectId
from pymongo import MongoClient

from devtools.servers import SecantusServer

OPEN = "open"


@dataclass(frozen=True)
class Ctx:
    """What every design's check-in needs besides the participant."""

    db: object
    client: MongoClient
    session_id: ObjectId
    capacity: int


def _expr_increment(db, session_id, **kw) -> bool:
    # What the ORM writes for ``check_in_count__lt=F("capacity")``: an $expr condition.
    return bool(
        db.sessions.update_one(
            {"_id": session_id, "status": OPEN, "$expr": {"$lt": ["$check_in_count", "$capacity"]}},
            {"$inc": {"check_in_count": 1}},
            **kw,
        ).modified_count
    )


def two_writes(ctx: Ctx, participant: ObjectId, record: dict) -> bool:
    db, session_id = ctx.db, ctx.session_id
    took = _expr_increment(db, session_id)
    if took:
        db.records.insert_one(record)
    return took


def transaction(ctx: Ctx, participant: ObjectId, record: dict) -> bool:
    db, session_id = ctx.db, ctx.session_id

    def body(session):
        took = _expr_increment(db, session_id, session=session)
        if took:
            db.records.insert_one(record, session=session)
        return took

    with ctx.client.start_session() as session:
        return session.with_transaction(body)


def in_document(ctx: Ctx, participant: ObjectId, record: dict) -> bool:
    db, session_id = ctx.db, ctx.session_id
    took = db.sessions.update_one(
        {
            "_id": session_id,
            "status": OPEN,
            "places_left": {"$gt": 0},
            "inside": {"$ne": participant},
        },
        {"$inc": {"check_in_count": 1, "places_left": -1}, "$push": {"inside": participant}},
    ).modified_count
    if took:
        db.records.insert_one(record)
    return bool(took)


def in_document_map(ctx: Ctx, participant: ObjectId, record: dict) -> bool:
    db, session_id = ctx.db, ctx.session_id
    key = f"inside.{participant}"
    took = db.sessions.update_one(
        {"_id": session_id, "status": OPEN, "places_left": {"$gt": 0}, key: {"$exists": False}},
        {"$inc": {"check_in_count": 1, "places_left": -1}, "$set": {key: 1}},
    ).modified_count
    if took:
        db.records.insert_one(record)
    return bool(took)


def seats(ctx: Ctx, participant: ObjectId, record: dict) -> bool:
    db, session_id = ctx.db, ctx.session_id
    took = db.seats.update_one(
        {"session": session_id, "free": True}, {"$set": {"free": False, "holder": participant}}
    ).modified_count
    if took:
        db.sessions.update_one({"_id": session_id}, {"$inc": {"check_in_count": 1}})
        db.records.insert_one(record)
    return bool(took)


def door_protocol(ctx: Ctx, participant: ObjectId, record: dict) -> bool:
    """The chosen protocol (``admission_protocol.py``): claim (``entering``), increment, admit."""
    db, session_id, capacity = ctx.db, ctx.session_id, ctx.capacity
    op = str(ObjectId())
    record_id = db.records.insert_one({**record, "state": "entering", "op": op}).inserted_id
    took = db.sessions.update_one(
        {
            "_id": session_id,
            "status": OPEN,
            "deleting": False,
            "capacity": capacity,
            "epoch": 0,
            "check_in_count": {"$lt": capacity},
        },
        {"$inc": {"check_in_count": 1}},
    ).modified_count
    mine = {"_id": record_id, "state": "entering", "op": op}
    if took:
        db.records.update_one(mine, {"$set": {"state": "inside", "op": ""}})
    else:
        db.records.delete_one(mine)
    return bool(took)


DESIGNS = {
    f.__name__: f
    for f in (two_writes, transaction, in_document, in_document_map, seats, door_protocol)
}


def _setup(uri: str, db_name: str, capacity: int, extra_sessions: int, design: str) -> ObjectId:
    client = MongoClient(uri)
    db = client[db_name]
    db.drop_collection("sessions")
    db.drop_collection("records")
    db.create_collection("sessions")
    db.create_collection("records")
    db.records.create_index([("session", 1), ("participant", 1)], unique=True)
    db.drop_collection("seats")
    db.create_collection("seats")
    db.seats.create_index([("session", 1), ("holder", 1)], unique=True)
    db.seats.create_index([("session", 1), ("free", 1)])
    filler = [
        {"status": "open", "capacity": 10, "check_in_count": 0, "places_left": 10, "inside": []}
        for _ in range(extra_sessions)
    ]
    if filler:
        db.sessions.insert_many(filler)
    session_id = db.sessions.insert_one(
        {
            "status": "open",
            "capacity": capacity,
            "check_in_count": 0,
            "places_left": capacity,
            "epoch": 0,
            "deleting": False,
            "inside": {} if design == "in_document_map" else [],
        }
    ).inserted_id
    if design == "seats":
        seats = [{"session": session_id, "free": True} for _ in range(capacity)]
        for seat in seats:
            seat["_id"] = ObjectId()
            seat["holder"] = seat["_id"]
        db.seats.insert_many(seats)
    client.close()
    return session_id


def _worker(uri, db_name, design, session_id, participants, threads, out, capacity):  # noqa: PLR0917 - a Process target
    client = MongoClient(uri, maxPoolSize=threads + 2)
    db = client[db_name]
    ctx = Ctx(db, client, session_id, capacity)
    latencies: list[float] = []
    lock = threading.Lock()
    chunks = [participants[i::threads] for i in range(threads)]
    barrier = threading.Barrier(threads)

    def run(chunk):
        barrier.wait()
        for participant in chunk:
            t0 = time.perf_counter()
            record = {"session": session_id, "participant": participant, "at": time.time()}
            DESIGNS[design](ctx, participant, record)
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)

    pool = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    client.close()
    out.put(latencies)


def run_once(uri, db_name, design, *, procs, threads, per_thread, extra_sessions) -> dict:
    total = procs * threads * per_thread
    session_id = _setup(uri, db_name, capacity=total, extra_sessions=extra_sessions, design=design)
    participants = [ObjectId() for _ in range(total)]
    out: mp.Queue = mp.Queue()
    started = time.perf_counter()
    workers = [
        mp.Process(
            target=_worker,
            args=(uri, db_name, design, session_id, participants[i::procs], threads, out, total),
        )
        for i in range(procs)
    ]
    for w in workers:
        w.start()
    latencies = []
    for _ in workers:
        latencies.extend(out.get())
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    client = MongoClient(uri)
    doc = client[db_name].sessions.find_one({"_id": session_id})
    records = client[db_name].records.count_documents(
        {"session": session_id, "state": {"$in": ["inside", None]}}
    )
    client.close()
    assert doc["check_in_count"] == records == total, (design, doc["check_in_count"], records)
    latencies.sort()
    return {
        "throughput": total / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1],
    }


def _summary(values: list[float]) -> str:
    med = statistics.median(values)
    return f"{med:8.1f} ({min(values):.1f}-{max(values):.1f})"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.admission_designs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=10)
    parser.add_argument("--per-thread", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=200, help="other session documents")
    parser.add_argument("--designs", default=",".join(DESIGNS), help="comma-separated subset")
    args = parser.parse_args(argv)
    server = SecantusServer().start()
    try:
        designs = [d for d in DESIGNS if d in args.designs.split(",")]
        results = {d: [] for d in designs}
        for run in range(args.runs):
            for design in designs:  # interleaved, so drift of the machine hits every design
                results[design].append(
                    run_once(
                        server.uri, f"bench_adm_{run}", design, procs=args.procs,
                        threads=args.threads, per_thread=args.per_thread,
                        extra_sessions=args.sessions,
                    )
                )  # fmt: skip
        base = statistics.median(r["throughput"] for r in results[designs[0]])
        print(
            f"{args.procs} procs x {args.threads} threads, "
            f"{args.procs * args.threads * args.per_thread} check-ins per run, "
            f"{args.sessions} other sessions, {args.runs} runs: median (min-max)"
        )
        print(
            f"{'design':<12} {'check-ins/s':>22} {'p50 ms':>22} {'p99 ms':>22} {'x ' + designs[0]:>13}"
        )
        for design in designs:
            rows = results[design]
            tput = [r["throughput"] for r in rows]
            print(
                f"{design:<12} {_summary(tput):>22} {_summary([r['p50_ms'] for r in rows]):>22} "
                f"{_summary([r['p99_ms'] for r in rows]):>22} {statistics.median(tput) / base:>12.2f}x"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
