"""The capacity model on paper: ``python -m bench.capacity_model [RESULTS] [--section NAME=PATH]``.

Reads what ``make bench`` measured per request (``RESULTS``, default docs/benchmarks/bench.json):
MongoDB commands and their kinds and Redis round trips and commands per request kind
(``round_trips``), CPU per request in the web worker and wall time one request at a time
(``cpu_split``), and how many conditional increments one session document takes
(``hot_document``). ``--section hot_document=PATH`` reads a section from a file of its own (what
``python -m bench.<name> --json PATH`` writes). Combines them with published per-operation
figures for a real mongod and Redis (``PUBLISHED``; sources in docs/scaling.md) and prints, as
Markdown, the load of three events on MongoDB, Redis and the web tier, the web workers they need
and the first limit. Exits 2, naming what is missing, when the results are not there.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS = ROOT / "docs" / "benchmarks" / "bench.json"
WRITES = ("insert", "update", "delete", "findAndModify")
# The round_trips row each figure uses: the dearest door request (a participant's first scan in
# the process), the cheapest answer (already inside) and a check-out.
CHECK_IN = "check-in, participant's first scan here"
DUPLICATE = "duplicate check-in"
CHECK_OUT = "check-out"
# Published per-operation figures (docs/scaling.md cites each, with its conditions). Per second.
PUBLISHED = {
    # MongoDB's SERVER-20091: point reads by _id, WiredTiger, 12 CPUs, 150 connections, in memory.
    "mongod_reads": 174_000,
    # Redis's benchmark page: 50 clients, no pipelining, 256-byte values, GET (the slower of SET
    # and GET there); one figure per command.
    "redis_commands": 81_000,
    # Not published as such (docs/scaling.md, "What the figures are"): a planning value for the
    # primary of a three-member replica set writing w=majority, j=true. Deliberately low.
    "mongod_writes": 5_000,
    # Not published either: a planning value for conditional $inc on ONE document, which
    # WiredTiger serialises (concurrent writers conflict and retry). Deliberately low.
    "mongod_one_document": 1_000,
}
WORKER_UTILISATION = 0.5  # plan web workers and cores at half load: room for bursts and a node lost


@dataclass(frozen=True)
class Event:
    """One event's peak: admissions per second, all at one session or spread."""

    name: str
    per_s: float
    one_session: bool
    how: str


EVENTS = (
    Event("50,000 people, 200 doors", 200 / 2, False, "200 doors x one scan every 2 s"),
    Event("keynote, average", 10_000 / (15 * 60), True, "10,000 in 15 min, evenly"),
    Event("keynote, rush", 5_000 / (5 * 60), True, "half of the 10,000 in the last 5 min"),
)


class MissingResults(Exception):
    """What the model needs and did not find, with the command that makes it."""


@dataclass(frozen=True)
class Inputs:
    """Per-request figures read from the benchmark's results."""

    mongo_writes: float
    mongo_reads: float
    redis_trips: float
    redis_commands: float
    worker_cpu_ms: float
    wall_ms: float
    stand_in_cpu_ms: float
    duplicate_mongo: float
    check_out_mongo: float
    hot_document_per_s: float
    hot_document_stand_in: bool
    started: str
    machine: str


def _row(round_trips: list[dict], kind: str) -> dict:
    for row in round_trips:
        if row["kind"] == kind:
            return row
    raise MissingResults(f"round_trips has no row {kind!r}: run `python -m bench.round_trips`")


def _cpu_row(cpu_split: dict, kind: str) -> dict:
    for row in cpu_split["rows"]:
        if row["kind"] == kind:
            return row
    raise MissingResults(f"cpu_split has no row {kind!r}: run `python -m bench.cpu_split`")


def load(results_path: Path, sections: dict[str, Path]) -> dict:
    """Read make bench's results and any section given in a file of its own."""
    if not results_path.exists():
        raise MissingResults(
            f"no benchmark results at {results_path}: run `make bench` (about 20 minutes) or give"
            " the path of its bench.json (bench-results/<time>/bench.json)"
        )
    results = json.loads(results_path.read_text())
    for name, path in sections.items():
        if not path.exists():
            raise MissingResults(f"no {name} results at {path}: run `python -m bench.{name} --json {path}`")  # fmt: skip
        results[name] = json.loads(path.read_text())
    for name in ("round_trips", "cpu_split", "hot_document"):
        if name not in results:
            raise MissingResults(
                f"{results_path} has no {name!r} section: run `make bench`, or"
                f" `python -m bench.{name} --json F` and pass `--section {name}=F`"
            )
    return results


def inputs_from(results: dict) -> Inputs:
    """Pick the per-request figures the model uses out of the results."""
    check_in = _row(results["round_trips"], CHECK_IN)
    commands = check_in["mongo_commands"]
    cpu = _cpu_row(results["cpu_split"], "check_in")
    hot = results["hot_document"]
    machine = results.get("machine", {})
    return Inputs(
        mongo_writes=sum(n for kind, n in commands.items() if kind in WRITES),
        mongo_reads=sum(n for kind, n in commands.items() if kind not in WRITES),
        redis_trips=check_in["redis_trips"]["median"],
        redis_commands=check_in["redis"]["median"],
        worker_cpu_ms=cpu["cpu_ms"]["worker"]["median"],
        wall_ms=cpu["wall_ms"]["median"],
        stand_in_cpu_ms=cpu["cpu_ms"]["secantus"]["median"],
        duplicate_mongo=_row(results["round_trips"], DUPLICATE)["mongo"]["median"],
        check_out_mongo=_row(results["round_trips"], CHECK_OUT)["mongo"]["median"],
        hot_document_per_s=max(row["per_s"]["median"] for row in hot["rows"]),
        hot_document_stand_in=bool(hot.get("stand_in", True)),
        started=str(results.get("started", "?")),
        machine=f"{machine.get('nproc', '?')} cores, {machine.get('cpu', '?')}",
    )


def event_load(event: Event, i: Inputs) -> dict:
    """The load one event puts on each part, every scan an admission (the dearest request)."""
    r = event.per_s
    return {
        "event": event.name,
        "how": event.how,
        "per_s": r,
        "mongo_writes_per_s": r * i.mongo_writes,
        "mongo_reads_per_s": r * i.mongo_reads,
        "one_document_per_s": r,  # one conditional increment per admission
        "redis_trips_per_s": r * i.redis_trips,
        "redis_commands_per_s": r * i.redis_commands,
        "web_cores": r * i.worker_cpu_ms / 1000 / WORKER_UTILISATION,
        "web_workers": math.ceil(r * i.wall_ms / 1000 / WORKER_UTILISATION),
        "doors_needed": math.ceil(r / 0.5),
        "stand_in_cores": r * i.stand_in_cpu_ms / 1000,
    }


def ceilings(i: Inputs) -> list[tuple[str, float, str]]:
    """Admissions per second each single point allows, lowest first: the first is the first limit.

    The web tier is not among them: it scales out (more workers, more nodes); these do not without
    a different deployment (a sharded cluster, another Redis) or protocol.
    """
    found = [
        (
            "MongoDB primary, writes",
            PUBLISHED["mongod_writes"] / i.mongo_writes,
            f"{i.mongo_writes:g} writes per admission",
        ),
        (
            "MongoDB primary, reads",
            PUBLISHED["mongod_reads"] / i.mongo_reads,
            f"{i.mongo_reads:g} reads per admission",
        ),
        (
            "one session document (mongod, planning)",
            PUBLISHED["mongod_one_document"],
            "one conditional $inc per admission, all at one session",
        ),
        (
            "Redis (one server)",
            PUBLISHED["redis_commands"] / i.redis_commands,
            f"{i.redis_commands:g} commands per admission",
        ),
    ]
    return sorted(found, key=lambda row: row[1])


def _n(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def render(i: Inputs) -> str:
    """The model's output, as Markdown."""
    lines = [
        f"Inputs: `make bench` of {i.started} ({i.machine}). Per admission (a participant's first",
        f"scan in the process, the dearest door request): {i.mongo_writes:g} MongoDB writes and",
        f"{i.mongo_reads:g} reads; {i.redis_trips:g} Redis round trips carrying {i.redis_commands:g} commands;",
        f"{i.worker_cpu_ms:.1f} ms CPU in the web worker, {i.wall_ms:.1f} ms wall one at a time on the stand-in.",
        f"An already-inside answer costs {i.duplicate_mongo:g} commands, a check-out {i.check_out_mongo:g}.",
        f"One session document took {_n(i.hot_document_per_s)} conditional increments/s"
        + (
            " on the stand-in (SecantusDB, not mongod)."
            if i.hot_document_stand_in
            else " on the MongoDB measured."
        ),
        "",
        "| event | admissions/s | MongoDB writes/s | reads/s | one document/s | Redis trips/s | Redis commands/s | web cores | web workers | doors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    loads = [event_load(event, i) for event in EVENTS]
    for row in loads:
        one = _n(row["one_document_per_s"]) if any(e.one_session for e in EVENTS if e.name == row["event"]) else f"≤ {_n(row['per_s'])}"  # fmt: skip
        lines.append(
            f"| {row['event']} ({row['how']}) | {_n(row['per_s'])} | {_n(row['mongo_writes_per_s'])}"
            f" | {_n(row['mongo_reads_per_s'])} | {one} | {_n(row['redis_trips_per_s'])}"
            f" | {_n(row['redis_commands_per_s'])} | {row['web_cores']:.1f} | {row['web_workers']}"
            f" | {row['doors_needed']} |"
        )
    lines += [
        "",
        f"Web cores and workers at {WORKER_UTILISATION:.0%} load; a worker here is one request served at",
        "a time (a gunicorn thread admitted by `WEB_MAX_CONCURRENT_REQUESTS`), busy for the stand-in's",
        "wall time per request (an upper bound: mongod answers faster than the stand-in).",
        "",
        "| part | admissions/s it allows | why |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {_n(per_s)} | {why} |" for name, per_s, why in ceilings(i)]
    lines.append(
        f"| web tier (scales out) | {_n(1000 / i.worker_cpu_ms)} per core | {i.worker_cpu_ms:.1f} ms worker CPU per admission |"
    )  # fmt: skip
    peak = max(row["per_s"] for row in loads)
    first = ceilings(i)[0]
    lines += [
        "",
        f"Busiest event: {_n(peak)} admissions/s; first limit on a real deployment: {first[0]}, at"
        f" {_n(first[1])}/s ({first[1] / peak:.0f}x the busiest event).",
        f"On the stand-in the first limit is the stand-in itself: {i.stand_in_cpu_ms:.1f} ms of its CPU per"
        f" admission, {_n(1000 / i.stand_in_cpu_ms)}/s per core; one document {_n(i.hot_document_per_s)}/s.",
    ]
    return "\n".join(lines) + "\n"


def _section(text: str) -> tuple[str, Path]:
    name, _, path = text.partition("=")
    if not name or not path:
        raise argparse.ArgumentTypeError("expected NAME=PATH, e.g. hot_document=hot_document.json")
    return name, Path(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity_model", description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("results", nargs="?", type=Path, default=DEFAULT_RESULTS, help="make bench's bench.json")  # fmt: skip
    parser.add_argument("--section", type=_section, action="append", default=[], metavar="NAME=PATH")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    try:
        inputs = inputs_from(load(args.results, dict(args.section)))
    except MissingResults as missing:
        print(f"capacity_model: {missing}", file=sys.stderr)
        return 2
    sys.stdout.write(render(inputs))
    if args.json:
        figures = {
            "inputs": inputs.__dict__,
            "published": PUBLISHED,
            "events": [event_load(event, inputs) for event in EVENTS],
            "ceilings": ceilings(inputs),
        }
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
