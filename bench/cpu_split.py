"""Where a request's time goes: ``python -m bench.cpu_split [--quick] [--json F] [--requests N] [--runs R]``.

Starts its own stack (SecantusDB, redis-server, one gunicorn worker process, threaded as
everywhere: config/gunicorn.py) and sends
requests one at a time over HTTP, so nothing queues: the wall time is one request's own cost.
For each request kind it reads the CPU time (user + system, from ``/proc`` through psutil) that
every process spent: the gunicorn worker (Django, DRF, the door protocol, pymongo and redis-py),
SecantusDB (the MongoDB stand-in, a Python server), redis-server, and this client. Dividing the
machine's cores by a kind's total CPU per request bounds its throughput however many clients and
workers there are, which is why the check-in throughput's ratio to the floor (``make bench``,
section 1) cannot reach the issue's 0.4x on the stand-in: see docs/benchmarks.md, section 8.

Kinds: the floor (``GET /health/live``, no I/O), a cached session detail, a check-in by
participant id (201) and the same participant again (200 ``already_checked_in``). ``--runs``
repeats the whole set; the table shows the median per request and the range over runs.

The last line printed is the check-in's split (medians): ``check-in 201: worker <ms> ms, server
<ms> ms, total <ms> ms`` (server: SecantusDB; total: every process, redis-server and this client
included). ``--quick`` measures fewer requests (``QUICK_REQUESTS`` per kind, ``QUICK_RUNS`` runs)
unless ``--requests``/``--runs`` are given.

``--baseline [REV]`` measures side by side with another commit (``BASELINE`` if no REV: main as
issue 28 was filed), in the same run: the machine's speed moves by half from one minute to the
next here, so two runs at different moments cannot tell a change of 10 %. The commit is checked
out into a temporary directory and served by a stack of its own (its own SecantusDB and
redis-server; SecantusDB started by this checkout's launcher, so fixes to the stand-in count for
neither side, or with ``--stand-in own`` as that commit started it, its own launcher or the
unpatched ``secantusd-py``; a commit from before ``config/gunicorn.py`` runs gunicorn's sync
workers, as it did), and the 201
check-ins alternate between the two one at a time, each request's CPU read from its own side's
worker and SecantusDB, in blocks whose order alternates too. Printed: per block each side's ms
and the ratio, then the median ratio (and range) per process against issue 28's goals as ratios
(worker 4.0 / 9.0 ms, server 9.0 / 18.4 ms: the issue's figures of the baseline), last:
``paired check-in 201 vs <rev>: worker <x>x (<base> -> <ours> ms), server <x>x (...)``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil

from bench.scale import PARTICIPANTS, participant_doc
from chaos.mongo import MongoView
from devtools.servers import LAUNCHER
from devtools.stack import ROOT, Stack

PROCESSES = ("worker", "secantus", "redis", "client")
QUICK_REQUESTS, QUICK_RUNS = 60, 2
DEFAULT_REQUESTS, DEFAULT_RUNS = 200, 3
CREATE_ATTEMPTS = 5
# Main as issue 28 was filed (7 December 2026, 03:49): its cpu_split read 9.0 ms in the worker and
# 18.4 ms in the server for a 201, and the goals are 4.0 and 9.0 ms: as ratios, for --baseline.
BASELINE = "156d8c8"
PAIRED_GOALS = {"worker": 4.0 / 9.0, "secantus": 9.0 / 18.4}
PAIRED_BLOCKS, PAIRED_REQUESTS = 8, 40
KINDS = (
    ("floor", "GET /health/live (no I/O)"),
    ("detail", "GET session detail, cached"),
    ("check_in", "POST check-in by id, 201"),
    ("duplicate", "POST check-in again, 200 already_checked_in"),
)


def _cpu_seconds(processes: dict[str, psutil.Process]) -> dict[str, float]:
    return {name: sum(proc.cpu_times()[:2]) for name, proc in processes.items()}


def _measure(
    processes: dict[str, psutil.Process], request: Callable[[int], httpx.Response], n: int
) -> dict:
    """Send ``n`` requests one after another; return wall and CPU milliseconds per request."""
    request(-1)  # warm: the first request of a kind may fill a cache or open a connection
    statuses: dict[int, int] = {}
    before, started = _cpu_seconds(processes), time.perf_counter()
    for i in range(n):
        status = request(i).status_code
        statuses[status] = statuses.get(status, 0) + 1
    wall = time.perf_counter() - started
    after = _cpu_seconds(processes)
    cpu = {name: (after[name] - before[name]) / n * 1000 for name in processes}
    return {"wall_ms": wall / n * 1000, "cpu_ms": cpu, "statuses": statuses}


def session_create(client: httpx.Client, title: str) -> str:
    """Create an open session with room for any run over the API; return its id. A busy shared
    machine may answer 503: sent again after Retry-After, CREATE_ATTEMPTS times at most."""
    now = datetime.now(UTC)
    body = {
        "title": f"{title} {uuid.uuid4().hex[:6]}",
        "capacity": 100_000,
        "status": "open",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
        "location": "bench",
    }
    for _attempt in range(CREATE_ATTEMPTS):
        created = client.post("/api/sessions/", json=body)
        if created.status_code != 503:
            break
        time.sleep(float(created.headers.get("Retry-After", "1")))
    created.raise_for_status()
    return str(created.json()["id"])


def _one_run(stack: Stack, web, view: MongoView, n: int) -> dict:
    docs = [participant_doc() for _ in range(n + 1)]
    view.db[PARTICIPANTS].insert_many(docs)
    headers = {"Authorization": f"Token {stack.token}"}
    with httpx.Client(base_url=web.url, headers=headers, timeout=30) as client:
        url = f"/api/sessions/{session_create(client, 'cpu split')}/"
        processes = {
            "worker": psutil.Process(web.worker_pids()[0]),
            "secantus": psutil.Process(stack.mongo.proc.pid),
            "redis": psutil.Process(stack.redis.proc.pid),
            "client": psutil.Process(),
        }

        def check_in(i: int) -> httpx.Response:
            body = {"participant": str(docs[i + 1]["_id"]), "nonce": uuid.uuid4().hex}
            return client.post(f"{url}check-in/", json=body)

        return {
            "floor": _measure(processes, lambda i: client.get("/health/live"), n),
            "detail": _measure(processes, lambda i: client.get(url), n),
            "check_in": _measure(processes, check_in, n),
            "duplicate": _measure(processes, check_in, n),  # the same people again
        }


def summarize(runs: list[dict], *, cores: int) -> list[dict]:
    """One row per kind: medians over runs (and min-max) of wall and per-process CPU ms."""
    rows = []
    for kind, label in KINDS:
        per_run = [run[kind] for run in runs]
        totals = [sum(r["cpu_ms"].values()) for r in per_run]

        def stat(values: list[float]) -> dict:
            return {"median": statistics.median(values), "min": min(values), "max": max(values)}

        total = statistics.median(totals)
        rows.append(
            {
                "kind": kind,
                "label": label,
                "wall_ms": stat([r["wall_ms"] for r in per_run]),
                "cpu_ms": {p: stat([r["cpu_ms"][p] for r in per_run]) for p in PROCESSES},
                "total_cpu_ms": stat(totals),
                "bound_per_s": cores * 1000 / total if total else None,
                "statuses": per_run[0]["statuses"],
            }
        )
    return rows


def table(rows: list[dict]) -> list[str]:
    """Markdown: per kind, wall ms and CPU ms per process (median over runs, range if it varies)."""

    def cell(stat: dict) -> str:
        return f"{stat['median']:.1f} ({stat['min']:.1f}-{stat['max']:.1f})"

    lines = [
        "| request | wall ms | worker | SecantusDB | redis-server | client | total CPU ms "
        "| bound on the cores, /s | answers |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cpu = [cell(row["cpu_ms"][p]) for p in PROCESSES]
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(row["statuses"].items()))
        lines.append(
            f"| {row['label']} | {cell(row['wall_ms'])} | {' | '.join(cpu)} "
            f"| {cell(row['total_cpu_ms'])} | {row['bound_per_s']:.0f} | {answers} |"
        )
    return lines


def check_in_line(rows: list[dict]) -> str:
    """The one-line summary of the 201 check-in's CPU: worker, server (SecantusDB), all processes."""
    row = next(r for r in rows if r["kind"] == "check_in")
    worker, server = row["cpu_ms"]["worker"]["median"], row["cpu_ms"]["secantus"]["median"]
    total = row["total_cpu_ms"]["median"]
    return f"check-in 201: worker {worker:.1f} ms, server {server:.1f} ms, total {total:.1f} ms"


def checkout(rev: str, into: Path) -> Path:
    """Check ``rev`` of this repository out into ``into`` (a clone sharing its objects)."""
    subprocess.run(["git", "clone", "--quiet", "--shared", "--no-checkout", str(ROOT), str(into)],
                   check=True)  # fmt: skip
    subprocess.run(["git", "-C", str(into), "checkout", "--quiet", rev], check=True)
    return into


class _Side:
    """One stack of a paired run: its session, and its worker's and SecantusDB's processes."""

    def __init__(self, name: str, stack: Stack):
        self.name, self.stack = name, stack
        self.web = stack.start_web(name, workers=1)
        self.view = MongoView(stack.mongo.uri, stack.db_name)
        self.client = httpx.Client(
            base_url=self.web.url, headers={"Authorization": f"Token {stack.token}"}, timeout=30
        )
        self.url = f"/api/sessions/{session_create(self.client, f'paired {name}')}/check-in/"
        self.processes = {
            "worker": psutil.Process(self.web.worker_pids()[0]),
            "secantus": psutil.Process(stack.mongo.proc.pid),
        }

    def people(self, n: int) -> list[str]:
        docs = [participant_doc() for _ in range(n)]
        self.view.db[PARTICIPANTS].insert_many(docs)
        return [str(doc["_id"]) for doc in docs]

    def check_in(self, person: str) -> dict[str, float]:
        """One 201 check-in; return the CPU seconds each of this side's processes spent on it."""
        before = _cpu_seconds(self.processes)
        answer = self.client.post(self.url, json={"participant": person, "nonce": uuid.uuid4().hex})
        after = _cpu_seconds(self.processes)
        if answer.status_code != 201:
            raise RuntimeError(f"{self.name}: {answer.status_code} {answer.text[:200]}")
        return {name: after[name] - before[name] for name in after}

    def close(self) -> None:
        self.client.close()
        self.view.close()


def paired_block(sides: list[_Side], n: int, *, reverse: bool) -> dict[str, dict[str, float]]:
    """``n`` check-ins on each side, alternating one by one; CPU ms per request per side."""
    people = {side.name: side.people(n + 1) for side in sides}
    for side in sides:
        side.check_in(people[side.name][n])  # warm: the session's copy, the connections
    spent = {side.name: {p: 0.0 for p in side.processes} for side in sides}
    order = sides[::-1] if reverse else sides
    for i in range(n):
        for side in order:
            for process, seconds in side.check_in(people[side.name][i]).items():
                spent[side.name][process] += seconds
    return {name: {p: s / n * 1000 for p, s in cpu.items()} for name, cpu in spent.items()}


def paired_summary(blocks: list[dict], base: str, ours: str) -> dict[str, dict]:
    """Per process: the median (and range) over blocks of ours / base, and each side's median."""
    summary = {}
    for process, goal in PAIRED_GOALS.items():
        ratios = [b[ours][process] / b[base][process] for b in blocks if b[base][process] > 0]
        summary[process] = {
            "ratio": statistics.median(ratios),
            "min": min(ratios),
            "max": max(ratios),
            "base_ms": statistics.median(b[base][process] for b in blocks),
            "ours_ms": statistics.median(b[ours][process] for b in blocks),
            "goal": goal,
        }
    return summary


def paired_line(summary: dict[str, dict], rev: str) -> str:
    """The last line of a paired run."""

    def part(label: str, s: dict) -> str:
        return f"{label} {s['ratio']:.2f}x ({s['base_ms']:.1f} -> {s['ours_ms']:.1f} ms)"

    return (
        f"paired check-in 201 vs {rev}: {part('worker', summary['worker'])}, "
        f"{part('server', summary['secantus'])}"
    )


_STAND_IN_TEXT = {"same": "this checkout starts it", "own": "each side's checkout started it"}


def _stand_in(root: Path) -> Path | None:
    """How ``root``'s checkout started SecantusDB: its launcher, or (None) the stock server."""
    launcher = root / LAUNCHER.relative_to(ROOT)
    return launcher if launcher.exists() else None


def paired_main(args: argparse.Namespace) -> int:
    """Measure this checkout's 201 check-in against ``args.baseline``'s, interleaved."""
    tmp = Path(tempfile.mkdtemp(prefix="cpu-paired-"))
    base_root = checkout(args.baseline, tmp / "baseline")
    env = {"STACK_LOG_LEVEL": "WARNING"}
    stacks = {
        "baseline": Stack(logdir=tmp / "logs-baseline", db_name="checkin_cpu_paired",
                          extra_env=env, root=base_root,
                          stand_in=_stand_in(base_root) if args.stand_in == "own" else LAUNCHER),
        "ours": Stack(logdir=tmp / "logs-ours", db_name="checkin_cpu_paired", extra_env=env),
    }  # fmt: skip
    sides: list[_Side] = []
    try:
        for name, stack in stacks.items():
            stack.start_servers()
            sides.append(_Side(name, stack))
        blocks = []
        for b in range(args.blocks):
            block = paired_block(sides, args.requests, reverse=b % 2 == 1)
            blocks.append(block)
            print(
                f"block {b + 1}: "
                + "; ".join(
                    f"{name} worker {cpu['worker']:.2f} server {cpu['secantus']:.2f} ms"
                    for name, cpu in block.items()
                ),
                flush=True,
            )
        for side in sides:
            side.close()
    finally:
        for stack in stacks.values():
            stack.stop()
        shutil.rmtree(base_root, ignore_errors=True)  # the checkout; the logs stay in ``tmp``
    summary = paired_summary(blocks, "baseline", "ours")
    print(
        f"{args.blocks} blocks of {args.requests} check-ins per side, alternating one by one "
        f"(block order alternating), SecantusDB started as {_STAND_IN_TEXT[args.stand_in]}; "
        f"ours / {args.baseline}, median over blocks (range):"
    )
    for process, s in summary.items():
        # The goals are ratios to the baseline, not to any commit.
        verdict = "holds" if s["ratio"] <= s["goal"] else "FAILS"
        goal = f"; goal <= {s['goal']:.2f}x: {verdict}" if args.baseline == BASELINE else ""
        print(
            f"  {process}: {s['ratio']:.3f}x ({s['min']:.3f}-{s['max']:.3f}); "
            f"{s['base_ms']:.2f} -> {s['ours_ms']:.2f} ms{goal}"
        )
    if args.json:
        args.json.write_text(json.dumps({"baseline": args.baseline, "blocks": blocks,
                                         "summary": summary}, indent=1))  # fmt: skip
    print(paired_line(summary, args.baseline))
    return 0


def parse_args(argv=None) -> argparse.Namespace:
    """The command line; ``--quick`` sets the smaller defaults, explicit values win."""
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_split")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_REQUESTS} requests per kind, {QUICK_RUNS} runs (unless given)",
    )
    parser.add_argument(
        "--requests", type=int, help=f"requests per kind and run ({DEFAULT_REQUESTS})"
    )
    parser.add_argument("--runs", type=int, help=f"runs ({DEFAULT_RUNS})")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument(
        "--baseline",
        nargs="?",
        const=BASELINE,
        metavar="REV",
        help=f"measure side by side with commit REV (default {BASELINE}), interleaved",
    )
    parser.add_argument(
        "--blocks", type=int, default=PAIRED_BLOCKS, help="--baseline: blocks of requests"
    )
    parser.add_argument(
        "--stand-in",
        choices=("same", "own"),
        default="same",
        help="--baseline: SecantusDB on both sides as this checkout starts it (same: the app's "
        "changes alone), or the baseline's as that commit started it (own: its launcher, or "
        "the unpatched secantusd-py if it had none)",
    )
    args = parser.parse_args(argv)
    if args.baseline is not None and args.requests is None:
        args.requests = PAIRED_REQUESTS
    if args.requests is None:
        args.requests = QUICK_REQUESTS if args.quick else DEFAULT_REQUESTS
    if args.runs is None:
        args.runs = QUICK_RUNS if args.quick else DEFAULT_RUNS
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.baseline is not None:
        return paired_main(args)
    cores = os.cpu_count() or 1
    stack = Stack(
        logdir=Path(tempfile.mkdtemp(prefix="cpu-split-")),
        db_name="checkin_cpu_split",
        extra_env={"STACK_LOG_LEVEL": "WARNING"},
    )
    try:
        stack.start_servers()
        web = stack.start_web("ours", workers=1)
        view = MongoView(stack.mongo.uri, "checkin_cpu_split")
        runs = [_one_run(stack, web, view, args.requests) for _ in range(args.runs)]
        view.close()
    finally:
        stack.stop()
    rows = summarize(runs, cores=cores)
    print(
        f"one request at a time, {args.requests} per kind and run, {args.runs} runs; "
        f"CPU ms per request; bound = {cores} cores / total CPU"
    )
    print("\n".join(table(rows)))
    if args.json:
        args.json.write_text(json.dumps({"cores": cores, "rows": rows}, indent=1))
    print(check_in_line(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
