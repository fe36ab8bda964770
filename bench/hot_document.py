"""How many admissions per second one session document takes: ``python -m bench.hot_document``.

Every online admission to a session takes its place with one conditional ``$inc`` on the session's
document (``admission_protocol.session_increment``), so a rush at one session is bounded by how
many such updates one document takes. This measures exactly that update (the same filter: id,
open, not deleting, capacity, epoch, leased as read, count below capacity - leased; the same
``$inc`` and ``$currentDate``) with the production write concern (``MONGODB_DURABILITY``: majority,
journaled), from ``--clients`` processes at once, each updating in a loop for ``--seconds``.

By default against a SecantusDB started here (the stand-in, a Python server: its figure is not
mongod's); ``--uri`` measures a real mongod or replica set instead (a scratch database,
``--db``, dropped at the end). Writes JSON with ``--json`` (a section of ``make bench``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time

from bson import ObjectId
from pymongo import MongoClient

from config.settings.database import MONGODB_DURABILITY
from devtools.servers import SecantusServer

OTHER_SESSIONS = 200  # the hot document is not alone in its collection


def _filter(session_id: ObjectId, capacity: int) -> dict:
    # sessions_app/services/admission_protocol.py, session_increment (leased = 0 as read).
    return {
        "_id": session_id, "status": "open", "deleting": False, "capacity": capacity, "epoch": 0,
        "leased": 0, "check_in_count": {"$lt": capacity},
    }  # fmt: skip


_UPDATE = {"$inc": {"check_in_count": 1, "moves": 1, "version": 1}, "$currentDate": {"changed_at": True}}  # fmt: skip


def _client(uri: str) -> MongoClient:
    return MongoClient(uri, **MONGODB_DURABILITY, serverSelectionTimeoutMS=5000)


def _worker(target, window, out) -> None:
    uri, db_name, session_id, capacity = target
    start_at, seconds = window
    client = _client(uri)
    sessions = client[db_name].sessions
    flt = _filter(session_id, capacity)
    latencies = []
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + seconds
    while (begun := time.perf_counter()) and time.time() < end:
        if sessions.update_one(flt, _UPDATE).modified_count != 1:
            raise RuntimeError("the conditional increment did not match")
        latencies.append(time.perf_counter() - begun)
    client.close()
    out.put(latencies)


def _round(uri: str, db_name: str, clients: int, seconds: float) -> dict:
    client = _client(uri)
    capacity = 10**9
    session_id = client[db_name].sessions.insert_one(
        {"status": "open", "deleting": False, "capacity": capacity, "epoch": 0, "leased": 0,
         "check_in_count": 0, "moves": 0, "version": 0}
    ).inserted_id  # fmt: skip
    out: mp.Queue = mp.Queue()
    start_at = time.time() + 1.0  # every process connected before the clock starts
    procs = [
        mp.Process(
            target=_worker, args=((uri, db_name, session_id, capacity), (start_at, seconds), out)
        )
        for _ in range(clients)
    ]
    for proc in procs:
        proc.start()
    latencies = [x for _ in procs for x in out.get(timeout=seconds + 60)]
    for proc in procs:
        proc.join()
    count = client[db_name].sessions.find_one({"_id": session_id})["check_in_count"]
    client.close()
    latencies.sort()
    return {
        "per_s": count / seconds,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
    }


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def measure(uri: str, db_name: str, clients: list[int], seconds: float, runs: int) -> dict:
    """Measure the conditional increment on one document at each client count."""
    client = _client(uri)
    client[db_name].sessions.insert_many(
        [{"status": "open", "capacity": 100, "check_in_count": 0} for _ in range(OTHER_SESSIONS)]
    )
    build = client.admin.command("buildInfo")
    server = client.admin.command("hello")
    rows = []
    for n in clients:
        rounds = [_round(uri, db_name, n, seconds) for _ in range(runs)]
        rows.append(
            {"clients": n, **{k: _spread([r[k] for r in rounds]) for k in ("per_s", "p50_ms", "p99_ms")}}
        )  # fmt: skip
        print(f"[hot_document] {n} clients: {rows[-1]['per_s']['median']:.0f}/s", flush=True)
    client.drop_database(db_name)
    client.close()
    return {
        "server": build.get("version", "?"),
        "replica_set": server.get("setName", ""),
        "write_concern": {"w": MONGODB_DURABILITY["w"], "j": MONGODB_DURABILITY["journal"]},
        "seconds": seconds,
        "runs": runs,
        "rows": rows,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hot_document", description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument(
        "--uri", help="a real MongoDB to measure (default: a SecantusDB started here)"
    )
    parser.add_argument("--db", default="checkin_bench_hot_document")
    parser.add_argument(
        "--clients", default="1,2,4", help="client processes at once, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    clients = [int(n) for n in args.clients.split(",")]
    server = None if args.uri else SecantusServer().start()
    try:
        uri = args.uri or server.uri
        results = measure(uri, args.db, clients, args.seconds, args.runs)
        results["stand_in"] = server is not None
    finally:
        if server is not None:
            server.stop()
    text = json.dumps(results, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
