"""Machine facts and the Markdown report (docs/benchmarks.md) built from a run's results."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from importlib import metadata
from pathlib import Path

from bench.check_in_cpu_docs import saved_sections as check_in_cpu_notes
from bench.cpu_split import table as cpu_split_table
from bench.doc_sections import load_averages
from bench.failover_docs import saved_section as failover_section
from bench.leases_docs import saved_section as leases_section
from bench.open_loop_docs import rendered_section as open_loop_section
from bench.round_trips import table as round_trips_table
from devtools.servers import redis_server_binary

PACKAGES = (
    "Django", "django-mongodb-backend", "pymongo", "SecantusDB", "django-redis", "redis",
    "gunicorn", "celery", "djangorestframework", "httpx",
)  # fmt: skip


def machine_facts() -> dict:
    """Return CPU, memory, OS and package versions of this machine."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    redis_version = subprocess.run(
        [redis_server_binary(), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "redis_server": redis_version,
        "loadavg_at_start": os.getloadavg(),
        "packages": versions,
    }


def _mm(stat: dict, digits: int = 0) -> str:
    fmt = f"{{:.{digits}f}}"
    return f"{fmt.format(stat['median'])} ({fmt.format(stat['min'])}-{fmt.format(stat['max'])})"


def _answers(answers: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(answers.items(), key=lambda kv: -kv[1]))


def _ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}" if floor else "-"


def _med(agg: dict, key: str) -> float:
    return agg[key]["median"]


def _paused_tail(results: dict, paused: dict, healthy: dict) -> str:
    """Say what the paused p99 is made of: how few samples a run has, and the one timeout."""
    per_run = [sample["n"] for sample in paused["samples"]]
    slowest = statistics.median(sample["max_ms"] for sample in paused["samples"])
    timeout_ms = results["config"]["redis_socket_timeout"] * 1000
    extra = _med(paused, "p99_ms") - _med(healthy, "p99_ms")
    cost = ""
    if results.get("cpu_split"):
        rows = {row["kind"]: row for row in results["cpu_split"]["rows"]}
        total = rows["check_in"]["total_cpu_ms"]["median"]
        cost = f" (a check-in costs {total:.0f} ms of CPU in all, section 8)"
    return (
        f"- Why the paused p99 ratio: a run has only {min(per_run)}-{max(per_run)} check-ins in "
        f"the {results['config']['paused_seconds']:g} s window{cost}, so its p99 is its "
        "slowest request or next to it "
        f"(median slowest {slowest:.0f} ms). Each worker waits on the hung Redis once per outage "
        f"(the socket timeout, {timeout_ms:.0f} ms), and that request and the ones queued behind it "
        f"are the slowest: paused p99 - healthy p99 = {extra:.0f} ms. The other requests do not "
        f"wait (paused p50 {_med(paused, 'p50_ms'):.0f} ms, healthy {_med(healthy, 'p50_ms'):.0f} "
        "ms). With a MongoDB that answers in a millisecond, the same window holds thousands of "
        "check-ins and those few fall below the 1 % tail."
    )


def _summary(results: dict) -> list[str]:
    """Return the headline comparisons, computed from the medians."""
    out = []
    paused = results["paused"]
    for op, label in (("check_in", "check-in"), ("reads", "reads")):
        ours = paused.get(f"ours|redis paused|{op}")
        plain = paused.get(f"plain|redis paused|{op}")
        healthy = paused.get(f"ours|healthy|{op}")
        if ours and plain and healthy:
            out.append(
                f"- Redis paused, {label}: ours p50 {_med(ours, 'p50_ms'):.0f} ms / p99 "
                f"{_med(ours, 'p99_ms'):.0f} ms (healthy: {_med(healthy, 'p50_ms'):.0f} / "
                f"{_med(healthy, 'p99_ms'):.0f} ms); plain p50 {_med(plain, 'p50_ms'):.0f} ms / p99 "
                f"{_med(plain, 'p99_ms'):.0f} ms, {_med(plain, 'p50_ms') / _med(ours, 'p50_ms'):.0f}x "
                "ours at the median."
            )
    ours_paused = paused.get("ours|redis paused|check_in")
    ours_healthy = paused.get("ours|healthy|check_in")
    plain_paused = paused.get("plain|redis paused|check_in")
    if ours_paused and ours_healthy and plain_paused:
        out.append(
            f"- Check-in p99 while Redis is paused: {_med(ours_paused, 'p99_ms') / _med(ours_healthy, 'p99_ms'):.2f}x "
            "ours healthy (goal <= 1.5x); plain's paused p99 is "
            f"{_med(plain_paused, 'p99_ms') / _med(ours_paused, 'p99_ms'):.1f}x ours (goal >= 10x)."
        )
        out.append(_paused_tail(results, ours_paused, ours_healthy))
    thr = results["check_in_throughput"]
    if "ours, healthy" in thr:
        up = _med(thr["ours, healthy"], "rps")
        out.append(
            f"- Healthy check-in throughput: {up:.0f}/s, {up / _med(results['floor'], 'rps'):.2f}x "
            f"the floor's {_med(results['floor'], 'rps'):.0f}/s (goal >= 0.4x)."
        )
    if "ours, healthy" in thr and "ours, redis down" in thr:
        up, down = _med(thr["ours, healthy"], "rps"), _med(thr["ours, redis down"], "rps")
        out.append(
            f"- Check-in throughput with Redis down (fallback): {down:.0f}/s, "
            f"{100 * down / up:.0f}% of the {up:.0f}/s with Redis healthy."
        )
    tr = results["transitions"]
    for kind in tr:
        data = tr[kind]
        if "to_fallback_s" in data and "to_redis_all_s" in data:
            out.append(
                f"- Redis {kind}: /health reported the fallback {data['to_fallback_s']['max']:.2f} s "
                f"after the fault at worst; Redis-backed again {data['to_redis_all_s']['max']:.2f} s "
                "after Redis returned at worst (bounded by the breaker's reset interval)."
            )
    rej = results["rejections"]
    if len(rej) == 2:
        (a_name, a), (b_name, b) = rej.items()
        out.append(
            f"- Full-session rejections: {_med(a, 'rps'):.0f}/s on the {a_name}, "
            f"{_med(b, 'rps'):.0f}/s on the {b_name}."
        )
    floor = results["floor"]
    out.append(
        f"- Floor (`/health/live`, no I/O): {_med(floor, 'rps'):.0f}/s, p50 "
        f"{_med(floor, 'p50_ms'):.1f} ms."
    )
    return out


def _round_trips_section(rows: list | None) -> list[str]:
    if not rows:
        return []
    return [
        "",
        "## 6. MongoDB commands and Redis round trips per door request",
        "",
        "`python -m bench.round_trips`: one request of each kind through DRF's test client with a "
        "real API token, on servers of its own (median over several requests; a range if they "
        "vary). MongoDB commands are counted by a pymongo `CommandListener`; Redis round trips are "
        "the packets the app's redis-py connections send (a script call is one); Redis commands run "
        "are the server's own count (`INFO commandstats`), which includes the commands a Lua script "
        'runs inside Redis. Why each MongoDB command is needed: README, "The door\'s hot path"; '
        "`tests/sessions_app/test_round_trips.py` pins these counts.",
        "",
        *round_trips_table(rows),
    ]


def _scale_section(rows: list | None) -> list[str]:
    if not rows:
        return []
    lines = [
        "",
        "## 7. Cost of a check-in as the event grows",
        "",
        "`python -m bench.scale`: check-ins through DRF's test client (the whole request) by "
        "participant id and by ticket code, with the participant, CheckIn and scan-log collections grown by "
        "raw writes; median of round medians (min-max), and the ratio to the smallest size "
        "(goal: within 1.5x).",
        "",
        "| participants | other CheckIn records | other scan-log entries | by id ms | x "
        "| by ticket ms | x |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = []
        for kind in ("id", "ticket"):
            st = row[kind]
            cells += [
                f"{st['median']:.1f} ({st['min']:.1f}-{st['max']:.1f})",
                f"{st['ratio']:.2f}",
            ]
        lines.append(
            f"| {row['participants']} | {row['check_ins']} | {row.get('scans', 0)} | "
            + " | ".join(cells)
            + " |"
        )
    worst = max(max(row["id"]["ratio"], row["ticket"]["ratio"]) for row in rows)
    lines += ["", f"Largest ratio to the smallest size: {worst:.2f}x."]
    return lines


def _cpu_split_section(found: dict | None, results: dict) -> list[str]:
    if not found:
        return []
    rows = {row["kind"]: row for row in found["rows"]}
    floor, check_in = rows["floor"], rows["check_in"]
    secantus = check_in["cpu_ms"]["secantus"]["median"]
    worker = check_in["cpu_ms"]["worker"]["median"]
    floor_total = floor["total_cpu_ms"]["median"]
    duplicate = rows["duplicate"]["cpu_ms"]["worker"]["median"]
    client = check_in["cpu_ms"]["client"]["median"]
    worker_budget = max(floor_total / 0.4 - client, 0.0)
    trips = {row["kind"]: row for row in results.get("round_trips") or []}
    first, again = (
        trips.get("check-in, participant's first scan here"),
        trips.get("duplicate check-in"),
    )
    commands, duplicate_commands, more = "section 6's commands", "section 6", 4
    if first and again:
        more = max(
            first["mongo"]["median"]
            + first["redis_trips"]["median"]
            - again["mongo"]["median"]
            - again["redis_trips"]["median"],
            1,
        )
        commands = (
            f"{first['mongo']['median']} MongoDB commands, "
            f"{first['redis_trips']['median']} Redis round trips"
        )
        duplicate_commands = f"{again['mongo']['median']} and {again['redis_trips']['median']}"
    measured = results.get("check_in_throughput", {}).get("ours, healthy")
    measured_text = ""
    if measured:
        ratio = _med(measured, "rps") / _med(results["floor"], "rps")
        measured_text = f" (section 1 measured {ratio:.2f}x under concurrency)"
    return [
        "",
        "## 8. Where a request's time goes: CPU per process",
        "",
        "`python -m bench.cpu_split`: one gunicorn with one threaded worker (config/gunicorn.py), requests sent one at a "
        "time over HTTP (nothing queues), CPU time (user + system) of each process per request: "
        "the worker (Django, DRF, the door protocol, pymongo, redis-py), SecantusDB, redis-server "
        "and the client. Median over runs (min-max). A kind's throughput cannot exceed the cores "
        "divided by its total CPU per request, whatever the concurrency.",
        "",
        *cpu_split_table(found["rows"]),
        "",
        f"What this says about the goal of a healthy check-in at >= 0.4x the floor: the bounds "
        f"alone give {check_in['bound_per_s']:.0f}/s against {floor['bound_per_s']:.0f}/s, "
        f"{check_in['bound_per_s'] / floor['bound_per_s']:.2f}x{measured_text}. SecantusDB alone "
        f"spends {secantus:.1f} ms of CPU on a check-in's MongoDB commands, which caps the ratio "
        f"at {floor_total / secantus:.2f}x even if the app cost nothing; 0.4x needs the whole "
        f"check-in within {floor_total / 0.4:.1f} ms of CPU. What would reach it: a real mongod "
        "(a command costs it a small fraction of a millisecond) and a worker that spends at most "
        f"{worker_budget:.1f} ms instead of today's {worker:.1f} ms. The worker's own cost grows "
        f"with the commands: the check-in ({commands}) costs it "
        f"{worker - duplicate:.1f} ms more than the duplicate ({duplicate_commands}), about "
        f"{(worker - duplicate) / more:.1f} ms per command or round trip more; README, "
        '"The door\'s hot path", says why each command is needed.',
    ]


def render(results: dict, *, chart_name: str) -> str:
    """Return docs/benchmarks.md for ``results`` (the bench.json content)."""
    m = results["machine"]
    load, load_end = load_averages(m)
    cfg = results["config"]
    floor = results["floor"]
    floor_rps = floor["rps"]["median"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (bench/__main__.py) from the run of "
        f"{results['started']}; total {results['seconds']:.0f} s. Do not edit by hand: run it again.",
        "",
        "What is measured: the real stack on loopback — SecantusDB, redis-server, gunicorn "
        f"(`config.wsgi`, {cfg['workers']} threaded workers per server as `config/gunicorn.py` "
        "makes them: 8 threads, at most 4 writes at once) — driven over HTTP by an "
        f"asyncio/httpx closed loop with {cfg['concurrency']} concurrent clients per server, "
        f"{cfg['runs']} runs per figure, shown as **median (min-max over runs)**. Latency is measured "
        "at the client, so it includes queueing behind the other clients. "
        '"ours" is the project (redis_fallback cache backend and circuit breaker); "plain" is the '
        "common setup (`bench/settings_plain.py`): django-redis `RedisCache` with "
        "`DJANGO_REDIS_IGNORE_EXCEPTIONS=True` and the same socket timeouts "
        f"({cfg['redis_socket_timeout']} s), and the check-in script's client with breaker reset 0 s "
        "(it tries Redis on every call, as code without a breaker does). Both run in the same process "
        "layout, against the same MongoDB and Redis, in the same run.",
        "",
        "**Caveats.** The MongoDB stand-in (SecantusDB, a Python server) is much slower than mongod "
        "and scans a collection for every non-primary-key filter, so absolute figures are far below "
        "production; read them as ratios of the floor and of each other. Each run starts with empty "
        "CheckIn/Session collections so runs are comparable. Everything (servers, both gunicorns, the "
        "load generator) shares the same "
        f"{m['nproc']} cores. No Celery worker/beat runs during the benchmark.",
        "",
        "## Summary",
        "",
        *_summary(results),
        "",
        "## Machine",
        "",
        f"- {m['nproc']} CPUs: {m['cpu']}; {m['memory_gb']} GB RAM; {m['os']}; Python {m['python']}",
        f"- {m['redis_server']}",
        "- " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"- load average (1/5/15 min) at start: {load}; "
        f"at end: {load_end} (the machine is shared: "
        "other work running at the same time shows here)",
        "",
        "## 5. The floor: `GET /health/live` (no I/O), ours",
        "",
        "| requests/s | p50 ms | p99 ms |",
        "|---|---|---|",
        f"| {_mm(floor['rps'])} | {_mm(floor['p50_ms'], 1)} | {_mm(floor['p99_ms'], 1)} |",
        "",
        "## 1. Check-in throughput, Redis healthy and Redis down (SIGKILL, not restarted)",
        "",
        f"Each run checks {cfg['checkin_count']} distinct participants into a fresh session "
        "(capacity 100000) by participant id. The ticket-code row is a reference: on the stand-in a "
        f"ticket lookup scans all {cfg.get('participants', '?')} participants (real MongoDB uses the "
        "unique index), so it measures the stand-in more than the admission path.",
        "",
        "| server, Redis | check-ins/s | x floor | p50 ms | p99 ms | answers |",
        "|---|---|---|---|---|---|",
    ]
    for key, agg in results["check_in_throughput"].items():
        lines.append(
            f"| {key} | {_mm(agg['rps'])} | {_ratio(agg['rps']['median'], floor_rps)} | "
            f"{_mm(agg['p50_ms'], 1)} | {_mm(agg['p99_ms'], 1)} | {_answers(agg['answers'])} |"
        )
    lines += [
        "",
        "## 2. Latency while Redis is paused (SIGSTOP), ours against plain",
        "",
        f"Mixed traffic for {cfg['paused_seconds']:.0f} s per run and server (one third check-ins by id, "
        "two thirds reads: session detail and stats, both cached). Healthy first, then paused; the "
        "server measured first alternates between runs. The paused window includes each worker's "
        "first timeout (that is what opens ours' breaker) and ours' half-open probes.",
        "",
        "| server | Redis | requests | n (all runs) | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for key, agg in results["paused"].items():
        variant, state, op = key.split("|")
        n = sum(s["n"] for s in agg["samples"])
        lines.append(
            f"| {variant} | {state} | {op.replace('_', '-')} | {n} | {_mm(agg['p50_ms'], 1)} | "
            f"{_mm(agg['p99_ms'], 1)} |"
        )
    tr = results["transitions"]
    lines += [
        "",
        "## 3. Time to fallback, and back to Redis",
        "",
        "Ours under light mixed load (2 clients) while `/health` is polled at 20 Hz. Redis is "
        f"SIGKILLed (then started again, empty) or SIGSTOPped (then SIGCONT) for {cfg['outage']:.0f} s. "
        "*To fallback*: from the fault to the first `/health` answer reporting Redis not connected. "
        "*Back*: from Redis's return to the first `/health` answer reporting it connected, and to "
        "the start of 8 consecutive such answers (both workers, by round robin); for the kill also "
        "to the first EVAL/EVALSHA that the fresh Redis served (admission through Redis again, after "
        "the reseed). Detection, probes and the reseed run in each process's background prober "
        f"(one PING per {cfg['breaker_reset']:g} s while Redis is suspect or down), not in requests, "
        "so Redis is back in use about one probe interval after it returns.",
        "",
        "| fault | to fallback s | max check-in ms in the 2 s after the fault | back: first /health s | back: 8 in a row s | back: first EVAL s |",
        "|---|---|---|---|---|---|",
    ]
    for kind, data in tr.items():
        cells = []
        for key, digits in (
            ("to_fallback_s", 3),
            ("checkin_max_ms_after_fault", 0),
            ("to_redis_health_s", 2),
            ("to_redis_all_s", 2),
            ("first_eval_s", 2),
        ):
            cells.append(_mm(data[key], digits) if key in data else "-")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## 4. Rejections of a full session: Redis path against MongoDB-only path",
        "",
        f"A session of capacity 2 is filled, then {cfg['reject_count']} other participants (by id) try to "
        "check in (every answer should be 409 `session_full`). Redis path: the Lua script answers "
        '"full" and the service confirms it with one MongoDB read of the session\'s count, then '
        "logs the scan. MongoDB-only (Redis down): the record is claimed, the conditional update is "
        "refused, the claim is undone and the scan logged (section 6 lists the commands).",
        "",
        "| path | rejections/s | x floor | p50 ms | p99 ms | answers |",
        "|---|---|---|---|---|---|",
    ]
    for key, agg in results["rejections"].items():
        lines.append(
            f"| {key} | {_mm(agg['rps'])} | {_ratio(agg['rps']['median'], floor_rps)} | "
            f"{_mm(agg['p50_ms'], 1)} | {_mm(agg['p99_ms'], 1)} | {_answers(agg['answers'])} |"
        )
    faults = ", ".join(
        f"{f['kind']} at {f['start']:.0f}-{f['end']:.0f} s" for f in results["timeline"]["faults"]
    )
    lines += _round_trips_section(results.get("round_trips"))
    lines += _scale_section(results.get("scale"))
    if results.get("scale_note"):  # the table came from another run than the rest (it says which)
        lines += ["", results["scale_note"]]
    lines += _cpu_split_section(results.get("cpu_split"), results)
    lines += leases_section()  # python -m bench.leases --docs: its own run, kept in its own file
    lines += open_loop_section(results.get("open_loop"))
    lines += failover_section()  # python -m bench.failover --docs, kept in its own file
    lines += [
        "",
        "## Latency over time through a pause, a kill and a restart",
        "",
        "Each server in turn (same fault schedule, so neither takes CPU from the other) under "
        f"light mixed load, 2 clients; faults: {faults}. Every dot is one request (log scale).",
        "",
        f"![latency over time]({chart_name})",
        "",
        "## Reproduce",
        "",
        "```",
        "make bench            # 15-20 minutes on 2 cores; BENCH_ARGS='--runs 5' for more runs a figure",
        "```",
        "",
        "It writes `bench-results/<time>/bench.json` (every figure and every timeline point) and "
        "`timeline.png`, and regenerates this file with `docs/benchmarks/bench.json` and the chart.",
    ]
    lines += check_in_cpu_notes()  # hand-kept, docs/benchmarks/check_in_cpu.json
    lines += [""]
    return "\n".join(lines)
