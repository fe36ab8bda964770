"""Print the run's tables (traffic, faults, invariants) and write everything to JSON files."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from chaos.api import Record
from chaos.fault_checks import fault_measure
from chaos.live_watch import live_table
from chaos.run_data import CheckResult, RunData


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def traffic_table(records: list[Record]) -> str:
    rows = []
    by_op: dict[str, list[Record]] = {}
    for r in records:
        if r.op != "setup":
            by_op.setdefault(r.op, []).append(r)
    for op, recs in sorted(by_op.items()):
        outcomes = Counter(
            f"{r.status} {r.reason}" if r.reason else str(r.status) if r.answered else "no answer"
            for r in recs
        )
        lat = [r.latency_ms for r in recs if r.answered]
        rows.append(
            [
                op,
                str(len(recs)),
                f"{_pct(lat, 50):.0f}",
                f"{_pct(lat, 99):.0f}",
                ", ".join(f"{k}: {v}" for k, v in outcomes.most_common()),
            ]
        )
    every = [r for r in records if r.op != "setup"]
    answered = [r for r in every if r.answered]
    lat = [r.latency_ms for r in answered]
    by_class = Counter(f"{r.status // 100}xx" for r in answered)
    rows.append(
        [
            "TOTAL",
            str(len(every)),
            f"{_pct(lat, 50):.0f}",
            f"{_pct(lat, 99):.0f}",
            ", ".join(f"{k}: {v}" for k, v in sorted(by_class.items()))
            + f", no answer: {len(every) - len(answered)}",
        ]
    )
    return _table(["request", "n", "p50 ms", "p99 ms", "answers"], rows)


def _window_traffic(records: list[Record], start: float, end: float) -> str:
    inside = [r for r in records if r.op != "setup" and start <= r.t_start <= end]
    answered = sum(1 for r in inside if r.answered)
    admitted = sum(1 for r in inside if r.op == "check_in" and r.status == 201)
    fives = sum(1 for r in inside if r.status is not None and r.status >= 500)
    lost = len(inside) - answered
    return f"{answered} answered, {admitted} admitted, {fives} x 5xx, {lost} no answer"


def _health_view(records: list[Record], fault) -> str:
    """Say when /health (whichever worker answered) first saw Redis lost, and connected again."""
    polls = sorted((r for r in records if r.op == "health" and r.answered), key=lambda r: r.t_start)
    start = fault.t_start
    end = fault.outage[1] if fault.outage else fault.t_end
    lost = next((r for r in polls if r.t_start >= start and r.reason != "redis connected"), None)
    if lost is None or lost.t_start > end + 10:
        return "stayed connected"
    back = next(
        (r for r in polls if r.t_start >= max(end, lost.t_start) and r.reason == "redis connected"),
        None,
    )
    text = f"{lost.reason.replace('redis ', '')} at +{lost.t_start - start:.1f} s"
    if back is not None:
        text += f", connected {back.t_start - end:.1f} s after Redis returned"
    return text


def fault_table(data: RunData) -> str:
    rows = []
    for f in sorted(data.faults, key=lambda f: f.t_start):
        window_end = max(f.t_end, f.t_start) + 2.0
        rows.append(
            [
                f"{f.t_start:6.1f}",
                f.kind,
                "ok" if f.ok else "FAILED",
                f.outcome,
                _window_traffic(data.records, f.t_start, window_end),
                _health_view(data.records, f) if f.outage else "",
                fault_measure(data, f),
            ]
        )
    headers = [
        "t (s)",
        "fault",
        "",
        "outcome",
        "traffic from fault start to end + 2 s",
        "/health (Redis)",
        "measured",
    ]
    return _table(headers, rows)


def check_table(results: list[CheckResult]) -> str:
    label = {True: "PASS", False: "FAIL", None: "INFO"}
    rows = [[label[r.ok], r.name, r.detail] for r in results]
    return _table(["", "invariant", "numbers"], rows)


def print_report(data: RunData, results: list[CheckResult], *, title: str) -> None:
    print(f"\n=== {title}: traffic ===", flush=True)
    print(traffic_table(data.records))
    print(f"\n=== {title}: faults injected ===")
    print(fault_table(data))
    print(f"\n=== {title}: live view (WebSocket client vs MongoDB) ===")
    print(live_table(data))
    print(f"\n=== {title}: invariants ===")
    print(check_table(results))
    failed = sum(1 for r in results if r.ok is False)
    verdict = "PASSED" if not failed else f"FAILED ({failed} of {len(results)} invariants)"
    requests = [r for r in data.records if r.op != "setup"]
    print(
        f"\nchaos {title}: {verdict} — {len(requests)} requests, {len(data.faults)} faults "
        f"({sum(1 for f in data.faults if f.ok)} applied), "
        f"{sum(1 for r in results if r.ok)} of {len(results)} invariants held",
        flush=True,
    )


def write_json(logdir: Path, data: RunData, results: list[CheckResult], meta: dict) -> Path:
    """Write the summary (meta, faults, checks) and every request (JSON lines) to ``logdir``."""
    with open(logdir / "requests.jsonl", "w") as out:
        for r in data.records:
            out.write(json.dumps(r.as_dict()) + "\n")
    summary = {
        **meta,
        "sessions": [
            {"id": p.id, "capacity": p.capacity, "kind": p.kind, "wave": p.wave} for p in data.plans
        ],
        "faults": [asdict(f) for f in data.faults],
        "checks": [asdict(r) for r in results],
        "sampler": {
            "samples": data.sampler.samples,
            "errors": data.sampler.errors,
            "violations": [asdict(v) for v in data.sampler.violations],
            "below": [asdict(v) for v in data.sampler.below],
        },
        "restarts": [asdict(r) for r in data.restarts],
        "passed": all(r.ok is not False for r in results),
    }
    if data.offline_doors:
        offline = {
            door.name: {
                "cuts": door.link.cuts,
                # the answers lost on purpose, as the server sent them
                "dropped": {k: v.decode(errors="replace") for k, v in door.link.dropped.items()},
                "journal": [asdict(d) for d in door.journal],
                "syncs": [asdict(c) for c in door.syncs],
            }
            for door in data.offline_doors
        }
        (logdir / "offline.json").write_text(json.dumps(offline, indent=1, default=str))
    path = logdir / "summary.json"
    path.write_text(json.dumps(summary, indent=2, default=str))
    return path
