"""Does a check-in cost the same as the event grows? ``python -m bench.scale``

Starts its own MongoDB stand-in (SecantusDB) and redis-server, migrates, and measures check-ins
through DRF's test client with a real API token (the whole request: authentication, the door
protocol, the scan log), by participant id and by ticket code, at 100, 10,000 and 100,000
participants with 0 and 50,000 CheckIn records of other sessions in the collection, and at the
largest size once more with ``--scans`` (50,000) scan-log entries of other sessions (every check-in
writes one, so the scan log is the collection that grows fastest during an event). Prints per
size the median latency (and its spread over ``--rounds`` rounds of ``--per-round`` check-ins per
kind) and the ratio to the smallest size: a hot path made of index lookups stays flat.
Documents are written with raw pymongo ``insert_many`` (fast set-up); every check-in goes through
the app. After each growth one round is run and not counted (the stand-in settles after a bulk
load).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bson import ObjectId
from pymongo import MongoClient, monitoring

from devtools.servers import RedisServer, SecantusServer

BATCH = 5_000
PARTICIPANTS = "participants_app_participant"


class _SlowCommands(monitoring.CommandListener):
    """Name every MongoDB command slower than 50 ms (a scan shows up here as the size grows)."""

    def __init__(self):
        self.commands: dict[int, str] = {}

    def started(self, event):
        self.commands[event.request_id] = str(event.command)[:300]

    def succeeded(self, event):
        command = self.commands.pop(event.request_id, "")
        if event.duration_micros > 50_000 and event.command_name not in ("insert", "delete"):
            print(f"slow: {event.duration_micros / 1000:.0f} ms {command}", file=sys.stderr)

    def failed(self, event):
        pass


def setup_django(mongo_uri: str, redis_url: str, *, name: str = "bench_scale") -> None:
    """Configure Django for this run's servers (dev settings, no request deadline) and migrate."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        MONGODB_URI=mongo_uri,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        MONGODB_NAME=name,
        # Measure how long a request takes, not whether it beats the door's 1.5 s deadline.
        MONGODB_REQUEST_TIMEOUT_SECONDS="0",
    )
    monitoring.register(_SlowCommands())
    import django  # noqa: PLC0415 - configured with this run's servers first

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415 - after setup

    call_command("migrate", verbosity=0)


def participant_doc() -> dict:
    """A Participant document as the app stores it (for raw, fast set-up writes)."""
    oid = ObjectId()
    return {
        "_id": oid,
        "full_name": f"Bench Person {oid}",
        "email": f"{oid}@bench.example",
        "organization": "",
        "ticket_code": f"B{str(oid).upper()}",
        "deleting": False,
    }


def _participants_to(db, target: int, have: list[ObjectId]) -> None:
    """Grow the participant collection to ``target`` documents (raw writes)."""
    while len(have) < target:
        docs = [participant_doc() for _ in range(min(BATCH, target - len(have)))]
        db[PARTICIPANTS].insert_many(docs, ordered=False)
        have.extend(d["_id"] for d in docs)


def _other_check_ins(db, count: int) -> None:
    sessions = [ObjectId() for _ in range(50)]
    for start in range(0, count, BATCH):
        db.sessions_app_checkin.insert_many(
            [
                {
                    "session_id": sessions[i % len(sessions)],
                    "participant_id": ObjectId(),
                    "state": "inside" if i % 2 else "out",
                    "op": "",
                    "op_started_at": None,
                    "source": "api",
                }
                for i in range(start, min(count, start + BATCH))
            ],
            ordered=False,
        )


def _other_scans(db, count: int) -> None:
    sessions = [ObjectId() for _ in range(50)]
    now = datetime.now(UTC)
    for start in range(0, count, BATCH):
        db.sessions_app_scan.insert_many(
            [
                {
                    "session_id": sessions[i % len(sessions)],
                    "participant_id": ObjectId(),
                    "participant_name": "Bench Person",
                    "ticket_code": "",
                    "direction": "in",
                    "reason": "checked_in",
                    "nonce": uuid.uuid4().hex,
                    "source": "api",
                    "actor": "bench",
                    "created_at": now,
                    "check_in_count": i,
                    "replayed": False,
                    "owner_op": "",
                }
                for i in range(start, min(count, start + BATCH))
            ],
            ordered=False,
        )


def _measure(client, participants: list, per_round: int) -> dict[str, float]:
    """Median ms of ``per_round`` check-ins by id and by ticket into a fresh session."""
    from bench.data import bench_session  # noqa: PLC0415 - after django.setup()
    from participants_app.models import Participant  # noqa: PLC0415 - after django.setup()

    session = bench_session(capacity=10 * per_round)
    picked = participants[: 2 * per_round]
    tickets = dict(
        Participant.objects.filter(pk__in=picked[per_round:]).values_list("pk", "ticket_code")
    )
    out = {}
    for kind, people in (("id", picked[:per_round]), ("ticket", picked[per_round:])):
        times = []
        for pk in people:
            body = {"participant": str(pk)} if kind == "id" else {"ticket_code": tickets[pk]}
            body["nonce"] = uuid.uuid4().hex  # as door scanners send it: looked up in the scan log
            started = time.perf_counter()
            response = client.post(f"/api/sessions/{session.pk}/check-in/", body, format="json")
            times.append(1000 * (time.perf_counter() - started))
            if response.status_code != 201:
                raise SystemExit(f"check-in answered {response.status_code}: {response.content!r}")
        out[kind] = statistics.median(times)
    participants[:] = participants[2 * per_round :] + participants[: 2 * per_round]
    return out


def _rows_json(rows: list, base: dict[str, float]) -> list[dict]:
    out = []
    for participants, check_ins, scans, rounds in rows:
        row = {"participants": participants, "check_ins": check_ins, "scans": scans}
        for kind in ("id", "ticket"):
            values = [r[kind] for r in rounds]
            med = statistics.median(values)
            row[kind] = {
                "median": med,
                "min": min(values),
                "max": max(values),
                "ratio": med / base[kind],
            }
        out.append(row)
    return out


def _print_table(rows: list, base: dict[str, float], *, rounds: int, per_round: int) -> None:
    print(
        f"check-in latency through the test client, ms: median (min-max) of {rounds} "
        f"round medians of {per_round} check-ins; x = ratio to the smallest size"
    )
    print(f"{'participants':>12} {'check-ins':>10} {'scans':>7} {'by id':>24} {'by ticket':>24}")
    for participants, check_ins, scans, measured in rows:
        cells = []
        for kind in ("id", "ticket"):
            values = [r[kind] for r in measured]
            med = statistics.median(values)
            cells.append(
                f"{med:6.1f} ({min(values):.1f}-{max(values):.1f}) {med / base[kind]:4.2f}x"
            )
        print(f"{participants:>12} {check_ins:>10} {scans:>7} {cells[0]:>24} {cells[1]:>24}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--sizes", default="100,10000,100000", help="participant counts")
    parser.add_argument("--check-ins", type=int, default=50_000, help="other CheckIn records")
    parser.add_argument("--scans", type=int, default=50_000, help="other scan-log entries")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    mongo, redis = SecantusServer().start(), RedisServer().start()
    try:
        setup_django(mongo.uri, f"redis://127.0.0.1:{redis.port}/0")
        from django.contrib.auth import get_user_model  # noqa: PLC0415 - after django.setup()
        from django.db import connection  # noqa: PLC0415 - after django.setup()
        from rest_framework.authtoken.models import Token  # noqa: PLC0415 - after django.setup()
        from rest_framework.test import APIClient  # noqa: PLC0415 - after django.setup()

        # Set-up writes go through a client of their own, without the app's socket timeout.
        db = MongoClient(mongo.uri)[connection.settings_dict["NAME"]]
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
        client = APIClient(HTTP_HOST="localhost")
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        have: list[ObjectId] = []
        rows = []
        plan = [(n, 0, 0) for n in sizes] + [(n, args.check_ins, 0) for n in sizes]
        if args.scans:
            plan.append((sizes[-1], args.check_ins, args.scans))
        for participants, check_ins, scans in plan:
            if check_ins and db.sessions_app_checkin.estimated_document_count() < check_ins:
                _other_check_ins(db, check_ins)
                db[PARTICIPANTS].delete_many({})  # grow again from the smallest
                have.clear()
            if scans:
                _other_scans(db, scans)
            _participants_to(db, participants + 4 * args.per_round * args.rounds, have)
            pool = list(have)
            # One round first, not counted: right after a bulk load the stand-in is still busy
            # with it (run of 10:53: a round at 22.6 ms then two at 41 ms, at a size whose
            # next, larger step measured 26.6 ms).
            _measure(client, pool, args.per_round)
            rounds = [_measure(client, pool, args.per_round) for _ in range(args.rounds)]
            rows.append((participants, check_ins, scans, rounds))
            print(
                f"measured {participants} participants, {check_ins} check-ins, {scans} scans",
                file=sys.stderr,
            )
        base = {k: statistics.median(r[k] for r in rows[0][3]) for k in ("id", "ticket")}
        _print_table(rows, base, rounds=args.rounds, per_round=args.per_round)
        if args.json:
            args.json.write_text(json.dumps(_rows_json(rows, base), indent=1))
    finally:
        redis.stop()
        mongo.stop()


if __name__ == "__main__":
    main()
