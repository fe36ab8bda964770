"""Leases of places, measured: ``python -m bench.leases [--runs 5] [--docs]``.

Starts SecantusDB, redis-server and gunicorn (``chaos.settings``, 2 workers) on loopback and
measures, on the same machine in the same run:

- **a door's scan rate**: one door checking people in one after another (by participant id, each
  request after the previous answer), scans per minute: the fastest a door can go here;
- **places for an outage**: how many places a door needs to admit everyone it scans during a
  2-minute outage, as a Poisson quantile (99 % and 99.9 %) of its scans in that time, for a few
  rates (a person every 10, 5, 3 and 2 s, and the measured rate), counting every scan as an
  admission (the worst case: a check-out's credit is not counted on); and how long an outage the
  default lease (``LEASE_MAX_PLACES`` 5) covers at each rate, at 99.9 %;
- **what leases cost the online doors**: online doors (4 concurrent clients, check-ins by id)
  fill a fresh session (capacity 10000), with no lease at the session, with 4 door devices each
  holding a lease of 5 places (idle), and with those 4 devices also syncing: in turn, one offline
  admission synced through a lease (a transfer), then that lease renewed and topped up to 5
  places (a grant), back to back while the online doors run. p50 and p99 per variant, the variants in a rotating order within each run, median and
  spread over runs, and the ratio of each run's p99 to the same run's p99 without leases.

Prints the tables and writes ``bench-results/leases-<time>/leases.json``; with ``--docs`` also
``docs/benchmarks/leases.json`` and the leases section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.docs import machine_facts
from bench.leases_docs import print_tables, write_docs
from bench.load import closed_loop, percentile, summarize
from bench.scale import PARTICIPANTS, participant_doc
from chaos.api import RecordingClient
from chaos.mongo import CHECKINS, SESSIONS, MongoView
from devtools.stack import ROOT, Stack, install_signal_handlers

OUTAGE_SECONDS = 120.0
QUANTILES = (0.99, 0.999)
RATES_PER_MINUTE = (6.0, 12.0, 20.0, 30.0)  # a person every 10, 5, 3 and 2 s
DEFAULT_LEASE = 5  # LEASE_MAX_PLACES' default
CONCURRENCY = 4  # online doors (two per gunicorn worker keeps both busy)
HOLDERS = 4  # door devices holding a lease in the "held" variants
LEASE_PLACES = 5
VARIANTS = ("none", "held", "syncing")
RESET = (CHECKINS, SESSIONS, "sessions_app_scan", "sessions_app_lease")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.leases", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs (each measures every variant)")
    parser.add_argument("--count", type=int, default=150, help="online check-ins per variant")
    parser.add_argument("--rate-scans", type=int, default=60, help="scans of the rate measure")
    parser.add_argument("--out", type=Path, help="results directory")
    parser.add_argument("--docs", action="store_true", help="write the docs/benchmarks.md section")
    return parser.parse_args(argv)


def _say(message: str) -> None:
    print(f"[bench.leases] {message}", flush=True)


# --- places for an outage (Poisson) ---------------------------------------------------------------
def poisson_quantile(mean: float, q: float) -> int:
    """Return the smallest k with P(N <= k) >= q for N ~ Poisson(mean).

    Each term in log space (exp(-mean) alone underflows from a mean of about 745).
    """
    if mean <= 0:
        return 0
    cumulative, k = 0.0, 0
    while True:
        cumulative += math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1))
        if cumulative >= q:
            return k
        k += 1


def outage_covered(places: int, per_minute: float, q: float) -> float:
    """Return the longest outage (s, to 1 s) in which ``places`` cover the scans with probability
    ``q``."""
    seconds = 0
    while poisson_quantile(per_minute / 60.0 * (seconds + 1), q) <= places and seconds < 86400:
        seconds += 1
    return float(seconds)


def places_table(rates: dict[str, float]) -> list[dict]:
    """Return, per rate, the places a 2-minute outage needs and what the default lease covers."""
    rows = []
    for label, per_minute in rates.items():
        mean = per_minute * OUTAGE_SECONDS / 60.0
        rows.append(
            {
                "rate": label,
                "per_minute": round(per_minute, 1),
                "mean": round(mean, 1),
                **{f"q{q * 100:g}": poisson_quantile(mean, q) for q in QUANTILES},
                "default_lease_covers_s": outage_covered(DEFAULT_LEASE, per_minute, 0.999),
            }
        )
    return rows


# --- the stack's data -----------------------------------------------------------------------------
def _reset(view: MongoView) -> None:
    """Start each variant equal: the stand-in scans a collection for every non-pk filter."""
    for name in RESET:
        view.db[name].delete_many({})


async def _session(client: RecordingClient, view: MongoView) -> str:
    await asyncio.to_thread(_reset, view)
    now = datetime.now(UTC)
    record, body = await client.create_session(
        title=f"bench leases {uuid.uuid4().hex[:6]}",
        capacity=10_000,
        starts_at=(now - timedelta(hours=1)).isoformat(),
        ends_at=(now + timedelta(days=1)).isoformat(),
    )
    if record.status != 201:
        raise RuntimeError(f"create session: {record.status} {record.error or body}")
    return str(body["id"])


async def _holders(client: RecordingClient, session: str) -> list[tuple[tuple[str, str], str]]:
    """Add and pair HOLDERS door devices at ``session``, each holding a lease; (device, lease)."""
    held = []
    for index in range(HOLDERS):
        record, body = await client.create_device(name=f"bench door {index}", sessions=[session])
        if record.status != 201:
            raise RuntimeError(f"create device: {record.status} {record.error or body}")
        record, paired = await client.pair_device(code=body["pairing_code"])
        device = (str(paired["device"]), paired["token"])
        record, lease = await client.lease_take(
            session=session, places=LEASE_PLACES, via=None, device=device, timeout=30.0
        )
        if record.status != 201:
            raise RuntimeError(f"lease: {record.status} {record.error or lease}")
        held.append((device, str(lease["lease"])))
    return held


async def _syncing(client, session, held, people, stop: asyncio.Event) -> list:
    """Each holder, in turn: one offline admission synced through its lease, then a renewal."""
    records = []
    index = 0
    while not stop.is_set():
        device, lease = held[index % len(held)]
        person = people[index % len(people)]
        scan = {
            "participant": person[0],
            "nonce": uuid.uuid4().hex,
            "scanned_at": datetime.now(UTC).isoformat(),
            "direction": "in",
        }
        record, _ = await client.lease_sync(
            lease=lease, session=session, scans=[scan], returned=0, sync_id=uuid.uuid4().hex,
            via=None, device=device, timeout=30.0,
        )  # fmt: skip
        records.append(record)
        record, _ = await client.lease_renew(
            lease=lease, session=session, via=None, device=device, timeout=30.0,
            places=LEASE_PLACES,
        )  # fmt: skip
        records.append(record)
        index += 1
    return records


async def _variant(client, view, participants, variant: str, count: int) -> dict:
    session = await _session(client, view)
    held = await _holders(client, session) if variant != "none" else []
    online, offline = participants[:count], participants[count:]

    async def check_in(i: int):
        person = online[i % len(online)]
        record, _ = await client.check_in(
            session=session, participant=person[0], ticket_code=None, nonce=uuid.uuid4().hex
        )
        return record

    stop = asyncio.Event()
    background = (
        asyncio.create_task(_syncing(client, session, held, offline, stop))
        if variant == "syncing"
        else None
    )
    records, seconds = await closed_loop(
        check_in, clock=client.now, concurrency=CONCURRENCY, count=count
    )
    stop.set()
    lease_calls = await background if background else []
    sample = summarize(records, seconds).as_dict()
    syncs = [r.latency_ms for r in lease_calls if r.op == "lease_sync" and r.status == 200]
    sample["lease_calls"] = len(lease_calls)
    sample["syncs_ok"] = len(syncs)
    sample["sync_p50_ms"] = round(percentile(syncs, 50), 1) if syncs else None
    return sample


async def _scan_rate(client, view, participants, scans: int) -> dict:
    """One door, one scan after another: scans per minute and its latency."""
    session = await _session(client, view)
    started = client.now()
    records = []
    for person in participants[:scans]:
        record, _ = await client.check_in(
            session=session, participant=person[0], ticket_code=None, nonce=uuid.uuid4().hex
        )
        records.append(record)
    seconds = client.now() - started
    return {
        "scans": len(records),
        "seconds": round(seconds, 2),
        "per_minute": round(60.0 * len(records) / seconds, 1),
        "p50_ms": round(percentile([r.latency_ms for r in records], 50), 1),
        "answers": summarize(records, seconds).answers,
    }


def _spread(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


async def measure(stack: Stack, args) -> dict:
    client = RecordingClient(stack.webs["web"].url, stack.token, t0=time.monotonic(), limits=16)
    view = MongoView(stack.mongo.uri, stack.db_name)
    try:
        docs = [participant_doc() for _ in range(args.count + 200)]
        await asyncio.to_thread(view.db[PARTICIPANTS].insert_many, docs, ordered=False)
        participants = [(str(d["_id"]), d["ticket_code"]) for d in docs]
        rate = await _scan_rate(client, view, participants, args.rate_scans)
        _say(f"one door: {rate['per_minute']} scans/min (p50 {rate['p50_ms']} ms)")
        runs = []
        for number in range(args.runs):
            order = VARIANTS[number % 3 :] + VARIANTS[: number % 3]
            run = {}
            for variant in order:
                run[variant] = await _variant(client, view, participants, variant, args.count)
                _say(f"run {number + 1} {variant}: p99 {run[variant]['p99_ms']:.0f} ms")
            runs.append(run)
        return {"scan_rate": rate, "runs": runs}
    finally:
        await client.aclose()
        view.close()


def summarize_runs(runs: list[dict]) -> dict:
    """Per variant: p50/p99/rps median (min-max) and the p99 ratio to the same run's no-lease."""
    out = {}
    for variant in VARIANTS:
        samples = [run[variant] for run in runs]
        out[variant] = {
            key: _spread([s[key] for s in samples]) for key in ("rps", "p50_ms", "p99_ms")
        }
        out[variant]["p99_ratio"] = _spread(
            [run[variant]["p99_ms"] / run["none"]["p99_ms"] for run in runs]
        )
        out[variant]["answers"] = {
            answer: sum(s["answers"].get(answer, 0) for s in samples)
            for answer in {a for s in samples for a in s["answers"]}
        }
        syncs = [s["syncs_ok"] for s in samples]
        out[variant]["syncs_ok"] = sum(syncs)
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    started_at = datetime.now()
    out = args.out or ROOT / "bench-results" / f"leases-{started_at:%Y%m%d-%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    machine = machine_facts()
    install_signal_handlers()
    stack = Stack(
        logdir=out / "logs",
        db_name="checkin_bench_leases",
        extra_env={"STACK_LOG_LEVEL": "WARNING"},
    )
    began = time.monotonic()
    try:
        stack.start_servers()
        stack.start_web("web", workers=2)
        measured = asyncio.run(measure(stack, args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        _say("interrupted: stopping everything")
        return 130
    finally:
        stack.stop()
    machine["loadavg_at_end"] = os.getloadavg()
    rate = measured["scan_rate"]["per_minute"]
    rates = {f"a person every {60 / r:g} s": r for r in RATES_PER_MINUTE}
    rates["one door back to back, measured here"] = rate
    results = {
        "started": started_at.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - began, 1),
        "machine": machine,
        "config": {
            "runs": args.runs,
            "count": args.count,
            "concurrency": CONCURRENCY,
            "holders": HOLDERS,
            "lease_places": LEASE_PLACES,
            "outage_s": OUTAGE_SECONDS,
            "default_lease": DEFAULT_LEASE,
        },
        "places": places_table(rates),
        "scan_rate": measured["scan_rate"],
        "online": summarize_runs(measured["runs"]),
        "runs": measured["runs"],
    }
    (out / "leases.json").write_text(json.dumps(results, indent=1, default=str))
    print_tables(results)
    _say(f"results: {out / 'leases.json'}")
    if args.docs:
        write_docs(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
