"""Run the benchmark: ``python -m bench [--runs N] [--no-docs]``.

First, each in a process of its own with its own servers: MongoDB commands and Redis round trips
per door request (``bench.round_trips``) and the cost of a check-in as the event grows
(``bench.scale``), then the CPU split, the hot document and the open-loop door ladder
(``bench.open_loop``). Then starts SecantusDB, redis-server and two gunicorns (ours:
chaos.settings; plain: bench.settings_plain) on loopback, writes participants, and
measures in order: the floor, check-in throughput (Redis healthy/down), latency while Redis is
paused (ours and plain), time to fallback and back, rejections of a full session, and a latency
timeline for the chart. Writes bench-results/<time>/{bench.json,timeline.png} and, unless --no-docs,
docs/benchmarks.md with docs/benchmarks/{bench.json,timeline.png}. Stops every process at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from bench import imports, open_loop, open_loop_docs, readme_figures, scenarios
from bench import websockets as bench_websockets
from bench.chart import timeline_chart
from bench.docs import machine_facts, render
from chaos.api import RecordingClient
from chaos.mongo import MongoView
from devtools.stack import ROOT, Stack, handle_signals_in_loop, install_signal_handlers

BREAKER_RESET = "1"  # the shipped default (config/settings/base.py)
SOCKET_TIMEOUT = "0.25"
# The open-loop ladder of make bench: bench.open_loop's own rungs (5 to 320 scans/s, fine enough to
# tell 0.8x, with the rungs at half and twice each likely knee for issue 28 parts 3 and 4), 6 s
# each instead of 20 s. Each mode climbs until it fails at two rungs in a row (raw: its first
# failure; the rungs above 160/s are mostly raw's), then healthy and paused run the rung at half
# the healthy knee 3 more times each (bench.open_loop.HALF_KNEE_REPEATS). A 4-rung run at 8 s a
# rung (10-80/s) took 133 s for its 12 steps on 2026-12-07 (1.4 s of set-up a step, 17 s of stack
# start); the run of 23:07 took 376 s for 39 steps, so about 7.5 min with the 6 more steps and
# raw's 1-3 higher rungs. --open-loop-rates / --open-loop-seconds give another.
OPEN_LOOP_RATES = open_loop.RATES
OPEN_LOOP_SECONDS = 6.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median and spread)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument(
        "--scale-sizes", default="100,10000,100000", help="participant counts for bench.scale"
    )
    parser.add_argument("--scale-check-ins", type=int, default=50_000)
    parser.add_argument(
        "--open-loop-rates",
        default=",".join(f"{r:g}" for r in OPEN_LOOP_RATES),
        help="offered scans/s of bench.open_loop's ladder (its own default, climbed per mode)",
    )
    parser.add_argument(
        "--open-loop-seconds",
        type=float,
        default=OPEN_LOOP_SECONDS,
        help="seconds per rung of bench.open_loop (its own default: 20)",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument(
        "--no-websockets", action="store_true", help="skip bench.websockets (live occupancy)"
    )
    parser.add_argument("--out", type=Path, help="results directory (default bench-results/<time>)")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="BENCH_JSON",
        help="only rewrite docs/benchmarks.md (and its chart) from an earlier run's bench.json",
    )
    return parser.parse_args(argv)


async def measure(stack: Stack, args, config: dict, timings: dict[str, float]) -> dict:
    # A signal cancels the measurement; the caller's finally stops every process.
    task = asyncio.current_task()
    handle_signals_in_loop(task.cancel)
    t0 = time.monotonic()
    clients = {
        name: RecordingClient(web.url, stack.token, t0=t0, limits=16)
        for name, web in stack.webs.items()
    }
    bench = scenarios.Bench(
        stack=stack,
        webs=stack.webs,
        clients=clients,
        view=MongoView(stack.mongo.uri, stack.db_name),
        runs=args.runs,
    )
    try:
        begun = time.monotonic()
        await scenarios.create_participants(bench, args.participants)
        bench.say(f"{len(bench.participants)} participants created")
        await scenarios.all_redis_backed(bench)
        timings["participants"] = time.monotonic() - begun
        results = {}
        steps = [
            ("floor", scenarios.floor(bench)),
            (
                "check_in_throughput",
                scenarios.check_in_throughput(bench, count=config["checkin_count"]),
            ),
            ("paused", scenarios.paused_latency(bench, seconds=config["paused_seconds"])),
            ("transitions", scenarios.transitions(bench, outage=config["outage"])),
            ("rejections", scenarios.rejections(bench, count=config["reject_count"])),
            ("timeline", scenarios.timeline(bench)),
        ]
        for name, step in steps:
            started = time.monotonic()
            results[name] = await step
            timings[name] = time.monotonic() - started
            bench.say(f"{name} done in {timings[name]:.0f} s")
        return results
    finally:
        for client in clients.values():
            await client.aclose()
        bench.view.close()


def _in_own_processes(args, out: Path, timings: dict[str, float]) -> dict:
    """Run bench.round_trips, scale, cpu_split, hot_document and open_loop (each starts its own
    servers); put each one's wall time into ``timings``."""
    found = {}
    for name, extra in (
        ("round_trips", []),
        (
            "scale",
            ["--sizes", args.scale_sizes, "--check-ins", str(args.scale_check_ins)],
        ),
        ("cpu_split", ["--runs", str(args.runs)]),
        ("hot_document", ["--runs", str(args.runs)]),
        # the door ladder; its chart: open_loop.png next to the JSON
        (
            "open_loop",
            ["--rates", args.open_loop_rates, "--seconds", f"{args.open_loop_seconds:g}"],
        ),
    ):
        print(f"[bench] {name} ...", flush=True)
        begun = time.monotonic()
        found[name] = run_section(name, extra, out)
        timings[name] = time.monotonic() - begun
        print(f"[bench] {name} done in {timings[name]:.0f} s", flush=True)
    return found


def run_section(name: str, extra: list[str], out: Path) -> dict:
    """Run ``python -m bench.<name> --json out/<name>.json *extra`` (output in out/<name>.log);
    return its JSON. A section that fails fails the run, printing the last lines of its log."""
    path, log_path = out / f"{name}.json", out / f"{name}.log"
    with log_path.open("w") as log:
        done = subprocess.run(
            [sys.executable, "-m", f"bench.{name}", "--json", str(path), *extra],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-20:]
        print("\n".join(f"[bench] {name}| {line}" for line in tail), flush=True)
        raise SystemExit(f"[bench] {name} failed (exit {done.returncode}); log: {log_path}")
    return json.loads(path.read_text())


def server_errors(results: dict) -> list[str]:
    """Name every figure whose requests got a 500: such a figure measures a crash, not the path."""
    bad = []
    for section in ("check_in_throughput", "paused", "rejections"):
        for key, agg in results.get(section, {}).items():
            for sample in agg.get("samples", []):
                crashed = {a: n for a, n in sample["answers"].items() if a.startswith("500")}
                if crashed:
                    bad.append(f"{section} / {key}: {crashed}")
                    break
    return bad


def write_docs(results: dict, chart: Path) -> None:
    """Write docs/benchmarks.md, docs/benchmarks/timeline.png and a slim bench.json."""
    docs = ROOT / "docs"
    (docs / "benchmarks").mkdir(parents=True, exist_ok=True)
    shutil.copy(chart, docs / "benchmarks" / "timeline.png")
    slim = {k: v for k, v in results.items() if k != "timeline"}
    slim["timeline"] = {"faults": results["timeline"]["faults"]}
    (docs / "benchmarks" / "bench.json").write_text(json.dumps(slim, indent=1, default=str))
    if "open_loop" in results:
        open_loop_docs.keep(results["open_loop"], chart.with_name("open_loop.png"))
    (docs / "benchmarks.md").write_text(render(results, chart_name="benchmarks/timeline.png"))
    readme_figures.write(ROOT / "README.md", slim)
    print(f"[bench] wrote {docs / 'benchmarks.md'} and README.md's figures", flush=True)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["imports"]:  # python -m bench imports: the participant import (own module)
        return imports.main(argv[1:])
    args = parse_args(argv)
    if args.render:
        results = json.loads(args.render.read_text())
        write_docs(
            results, timeline_chart(results["timeline"], args.render.with_name("timeline.png"))
        )
        return 0
    started_at = datetime.now()
    out = args.out or ROOT / "bench-results" / started_at.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "runs": args.runs,
        "workers": args.workers,
        "concurrency": scenarios.CONCURRENCY,
        "checkin_count": 150,
        "participants": args.participants,
        "reject_count": 200,
        "paused_seconds": 5.0,
        "outage": 4.0,
        "breaker_reset": float(BREAKER_RESET),
        "redis_socket_timeout": float(SOCKET_TIMEOUT),
    }
    machine = machine_facts()
    started = time.monotonic()
    timings: dict[str, float] = {}  # wall seconds of each section, in the order they ran
    pre = _in_own_processes(args, out, timings)
    install_signal_handlers()
    stack = Stack(
        logdir=out / "logs",
        db_name="checkin_bench",
        extra_env={
            "REDIS_BREAKER_RESET_SECONDS": BREAKER_RESET,
            "REDIS_SOCKET_TIMEOUT": SOCKET_TIMEOUT,
            "REDIS_SOCKET_CONNECT_TIMEOUT": SOCKET_TIMEOUT,
            "STACK_LOG_LEVEL": "WARNING",
        },
    )
    try:
        begun = time.monotonic()
        stack.start_servers()
        stack.start_web("ours", workers=args.workers)
        stack.start_web(
            "plain", workers=args.workers, DJANGO_SETTINGS_MODULE="bench.settings_plain"
        )
        timings["stack start"] = time.monotonic() - begun
        results = asyncio.run(measure(stack, args, config, timings))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("[bench] interrupted: stopping everything", flush=True)
        return 130
    finally:
        stack.stop()
    machine["loadavg_at_end"] = os.getloadavg()
    results.update(pre)
    results.update(
        started=started_at.isoformat(timespec="seconds"),
        seconds=time.monotonic() - started,
        section_seconds={name: round(value, 1) for name, value in timings.items()},
        machine=machine,
        config=config,
    )
    (out / "bench.json").write_text(json.dumps(results, indent=1, default=str))
    crashed = server_errors(results)
    if crashed:
        print("[bench] 500 answers (see the logs): " + "; ".join(crashed), flush=True)
        return 1
    chart = timeline_chart(results["timeline"], out / "timeline.png")
    print(f"[bench] results: {out / 'bench.json'}  chart: {chart}", flush=True)
    if not args.no_docs:
        write_docs(results, chart)
    print(f"[bench] total {time.monotonic() - started:.0f} s", flush=True)
    code = 0
    if not args.no_websockets:  # its own stack: 500 WebSocket clients, WSGI vs ASGI
        begun = time.monotonic()
        code = bench_websockets.main(
            ["--runs", str(min(args.runs, 3)), "--out", str(out / "websockets")]
        )
        timings["websockets"] = time.monotonic() - begun
    print(f"[bench] {section_times(timings, time.monotonic() - started)}", flush=True)
    return code


def section_times(timings: dict[str, float], total: float) -> str:
    """One line: every section's wall time in the order they ran, then the whole run's."""
    parts = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items())
    return f"sections: {parts}; whole run {total:.0f} s ({total / 60:.1f} min)"


if __name__ == "__main__":
    sys.exit(main())
