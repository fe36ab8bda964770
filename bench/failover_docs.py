"""The failover section of docs/benchmarks.md, from ``bench.failover`` results.

``python -m bench.failover --docs`` keeps its results in ``docs/benchmarks/failover.json`` and puts
this section into docs/benchmarks.md (replacing the one there); ``make bench`` (bench.docs.render)
renders it from that file (``saved_section``), as it does bench.leases's.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from bench import doc_sections

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks" / "failover.json"
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## 11. Redis master killed under Sentinel: back on Redis, and the doors meanwhile"
BEFORE = "## Latency over time"  # the section goes before this one
WINDOW_NAMES = {
    "before": "before (10 s before the kill)",
    "during": "during (kill → every worker on Redis)",
    "after": "after (10 s from then)",
}


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _spread(stat: dict | None, fmt) -> str:
    if stat is None:
        return "-"
    return f"{fmt(stat['median'])} ({fmt(stat['min'])} to {fmt(stat['max'])})"


def _workers(cfg: dict) -> str:
    if "config/gunicorn.py" in cfg.get("gunicorn", ""):
        return "2 threaded workers as config/gunicorn.py makes them"
    return "2 sync workers"


def _pooled(stat: dict) -> str:
    return (
        f"{_ms(stat['p50_ms'])} / {_ms(stat['p99_ms'])} / {_ms(stat['max_ms'])} ({stat['scans']})"
    )


def _errors(errors: dict) -> str:
    return ", ".join(f"{k}: {n}" for k, n in errors.items()) or "none"


def run_line(run: dict, index: int, runs: int) -> str:
    """One run, as printed while the benchmark runs."""
    t, w = run["times"], run["windows"]
    workers = ", ".join(f"{pid} {_s(at)}" for pid, at in t["per_worker_s"].items()) or "none"
    doors = "; ".join(
        f"{name} {w[name]['scans']} scans p50 {_ms(w[name]['p50_ms'])} p99 "
        f"{_ms(w[name]['p99_ms'])} max {_ms(w[name]['max_ms'])} ms, "
        f"unserved {_errors(w[name]['errors'])}"
        for name in ("before", "during", "after")
    )
    held = "held" if run["invariants"]["held"] else f"BROKEN {run['invariants']}"
    return (
        f"[failover] down-after {run['down_after_ms']} ms, run {index}/{runs}: +odown "
        f"{_s(t['odown_s'])}, +switch-master {_s(t['switch_master_s'])}, polled "
        f"{_s(t['promoted_polled_s'])}; back on Redis {_s(t['back_on_redis_s'])} (workers: "
        f"{workers}); {doors}; invariants {held}"
    )


def section(results: dict) -> list[str]:
    """The docs/benchmarks.md section for ``results``."""
    cfg, m = results["config"], results["machine"]
    lines = [
        HEADING,
        "",
        f"`python -m bench.failover --runs {cfg['runs']} --rate {cfg['rate']:g} --down-after "
        f"{','.join(str(d) for d in cfg['down_after_ms'])}` ({results['started']}, "
        f"{results['seconds']:.0f} s; `uptime` at start: {m['uptime_at_start']}; at end: "
        f"{m['uptime_at_end']}; {m['nproc']} CPUs shared with other people's work). SecantusDB, "
        "Redis under Sentinel (a master, a replica, three Sentinels, quorum 2, failover-timeout "
        f"3 s) and gunicorn ({_workers(cfg)}; the product's Redis defaults: a probe every 1 s, 0.25 s "
        "timeouts, paced rebuild of 10 sessions) on loopback. Doors as in section 10 (Poisson over "
        f"20 doors and 10 sessions, latency from the intended send time, no answer counted at "
        f"{cfg['timeout_s']:g} s) at {cfg['rate']:g} scans/s; 10 s in, the master is SIGKILLed. "
        "+odown and +switch-master: as a Sentinel published them; back on Redis: the last web "
        "worker's `breaker closed, using Redis` log line (a worker closes its breaker only after "
        "its prober found the new master and rebuilt the admission sets from MongoDB). Windows "
        "by intended send time. Times: median (range) over the runs, from the kill; doors: every "
        "scan of the runs pooled per window (one run's window holds a few dozen scans); unserved: "
        "answers that were not a verdict (5xx, no answer).",
        "",
        "| down-after | runs | +odown | +switch-master | every worker back on Redis | "
        "doors before: p50 / p99 / max ms (scans) | during | after | unserved | invariants |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, s in results["summary"].items():
        runs = results["runs"][key]
        unserved = sum(
            (Counter(r["windows"][w]["errors"]) for r in runs for w in WINDOW_NAMES), Counter()
        )
        not_back = f" ({s['not_back']} not back)" if s["not_back"] else ""
        doors = " | ".join(_pooled(s[f"{name}_pooled"]) for name in WINDOW_NAMES)
        lines.append(
            f"| {int(key) / 1000:g} s | {len(runs)} | {_spread(s['odown_s'], _s)} | "
            f"{_spread(s['switch_master_s'], _s)} | {_spread(s['back_on_redis_s'], _s)}{not_back} | "
            f"{doors} | {_errors(dict(sorted(unserved.items())))} | "
            f"{'held' if s['invariants_held'] else 'BROKEN'} |"
        )
    lines += [
        "",
        "Each run (scans per window; p50 / p99 / max in ms):",
        "",
        "| down-after | run | +switch-master | back on Redis (per worker) | before | during | after |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, runs in results["runs"].items():
        for i, run in enumerate(runs, 1):
            t, w = run["times"], run["windows"]
            workers = ", ".join(_s(at) for at in t["per_worker_s"].values()) or "-"
            cells = [
                f"{w[n]['scans']}: {_ms(w[n]['p50_ms'])} / {_ms(w[n]['p99_ms'])} / "
                f"{_ms(w[n]['max_ms'])}"
                + (f", {_errors(w[n]['errors'])}" if w[n]["errors"] else "")
                for n in WINDOW_NAMES
            ]
            lines.append(
                f"| {int(key) / 1000:g} s | {i} | {_s(t['switch_master_s'])} | "
                f"{_s(t['back_on_redis_s'])} ({workers}) | " + " | ".join(cells) + " |"
            )
    checks = [r["invariants"] for runs in results["runs"].values() for r in runs]
    wrong_sets = [w for c in checks for w in c["redis_sets_wrong"]]
    wrong = len(wrong_sets)
    missing = sum(len(w["only_in_records"]) for w in wrong_sets)
    extra = sum(len(w["only_in_redis"]) for w in wrong_sets)
    lines += [
        "",
        f"Invariants, every run: nobody over capacity in {sum(c['samples'] for c in checks)} "
        "snapshot samples of MongoDB (every 0.5 s, in a snapshot transaction; "
        f"{sum(c['over_capacity_samples'] for c in checks)} over, "
        f"{sum(c['counter_below_samples'] for c in checks)} with a counter below its records); "
        f"the session capped {cfg.get('capped_room', 1)} place above its occupancy at the kill "
        "(as scheduled; check-outs free places too) ended at "
        + ", ".join(
            f"{c['capped']['inside']}/{c['capped']['capacity']}" for c in checks if c["capped"]
        )
        + "; every 201 has its record and every acknowledged check-out is out "
        f"({sum(len(c['acknowledged_problems']) for c in checks)} disagreements); every counter "
        f"equals its records inside ({sum(len(c['counter_mismatch']) for c in checks)} not). "
        f"**{'Held' if all(c['held'] for c in checks) else 'BROKEN'}.**",
        "",
        "Redis's admission sets on the new master at the end of each run (advisory: its "
        '"inside" and "full" are confirmed in MongoDB before a door is told): '
        f"{sum(c['redis_sets_checked'] for c in checks)} checked, {wrong} not equal to the records holding a place ({missing} holders missing, "
        f"{extra} members no longer holding). Such a difference is a check-in or check-out that a "
        "worker still on its fallback decided in MongoDB after a rebuild had passed that session; "
        "the reconcile (every 30 s, not running in this benchmark) reseeds the sets.",
    ]
    return lines


def saved_section() -> list[str]:
    """The section from ``docs/benchmarks/failover.json``, or nothing if there is none."""
    return doc_sections.saved_section(RESULTS, section)


def write_docs(results: dict) -> None:
    """Keep ``results`` in docs/benchmarks/failover.json; put the section into docs/benchmarks.md."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, default=str))
    doc_sections.put_section(DOC, HEADING, section(results), before=BEFORE)
    print(f"[bench.failover] wrote {DOC} and {RESULTS}", flush=True)
