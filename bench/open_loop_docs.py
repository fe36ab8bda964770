"""The open-loop section of docs/benchmarks.md and its chart, from ``bench.open_loop`` results.

``python -m bench.open_loop --docs`` keeps its results in ``docs/benchmarks/open_loop.json`` (chart
``open_loop.png``) and puts this section into docs/benchmarks.md (replacing the one there);
``make bench`` (bench.docs.render) renders it from its own run, else from that file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import matplotlib

from bench import doc_sections

matplotlib.use("Agg")  # no display here; must precede pyplot
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks" / "open_loop.json"
CHART = ROOT / "docs" / "benchmarks" / "open_loop.png"
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## 10. Open loop: scans arriving at a rate, as doors send them"
BEFORE = "## Latency over time"  # the section goes before this one


def chart(results: dict, path: Path) -> Path:
    """p99 against offered rate, one line per mode (log scale), the 300 ms knee line."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for mode, steps in results["steps"].items():
        points = [(s["offered"], s["p99_ms"]) for s in steps if s["p99_ms"] is not None]
        ax.plot(*zip(*points, strict=True), marker="o", label=mode)
    first = [
        (s["offered"], s["transition"]["max_ms"])
        for s in results["steps"].get("redis paused", [])
        if s.get("transition_excluded") and s["transition"]["max_ms"] is not None
    ]
    if first:  # the paused steps' first second, left out of their p99: its max, apart
        ax.plot(*zip(*first, strict=True), marker="x", linestyle=":", color="grey",
                label="redis paused, first 1 s (max)")  # fmt: skip
    ax.axhline(300, color="grey", linestyle="--", linewidth=1, label="300 ms")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("offered scans/s (Poisson)")
    ax.set_ylabel("p99 latency from intended send, ms")
    ax.set_xticks(results["config"]["rates"], [f"{r:g}" for r in results["config"]["rates"]])
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _errors(errors: dict) -> str:
    return ", ".join(f"{k}: {n}" for k, n in errors.items()) or "none"


def _overload(results: dict) -> str:
    over = results.get("overload")
    healthy = results["knees"]["healthy"]
    if healthy is None or over is None:
        top = results["steps"]["healthy"][-1]
        missing = (
            "No healthy knee on this ladder"
            if healthy is None
            else f"The ladder has no rung at 2x the healthy knee ({2 * healthy:g}/s)"
        )
        return (
            f"{missing}, so no 2x-the-knee rung to read. At its top rung ({top['offered']:g}/s, "
            f"Redis healthy) the served scans' p99 was {_ms(top['served_p99_ms'])} ms; refusals "
            f"and errors: {_errors(top['errors'])}."
        )
    ratio = f"{over['ratio']:.1f}x" if over["ratio"] else "-"
    refusals = _errors(over["refusals"])
    verdict = (
        "every refusal was `busy` with `Retry-After`"
        if over["all_busy_retry_after"]
        else "**not** every refusal was `busy` with `Retry-After`"
    )
    goals = (
        "both goals hold" if over.get("holds") else "**the goals do not hold**"
    )  # p99 within 2x the knee's, every refusal busy
    pool = over.get("pooled")
    if pool:
        spread = (
            f"; the pairs one by one {pool['step_ratios'][0]:.2f}-{pool['step_ratios'][1]:.2f}x"
            if pool["step_ratios"]
            else ""
        )
        where = (
            f", each rung's {pool['steps']} steps pooled (the ladder's and the ones run again "
            f"below: {pool['scans']['over']} and {pool['scans']['knee']} answered scans{spread})"
        )
    else:
        where = ""
    return (
        f"At 2x the healthy knee ({over['rate']:g}/s): the served scans' p99 was "
        f"{_ms(over['served_p99_ms'])} ms against {_ms(over['knee_served_p99_ms'])} ms at the "
        f"knee{where}: {ratio} (goal: within 2x); refusals and errors: {refusals}; {verdict}: "
        f"{goals}."
    )


def _first_second(step: dict) -> str:
    """The transition columns: scans, p50 ms, max ms, unserved (older results: -)."""
    first = step.get("transition")
    if not first:
        return "- | - | - | -"
    return (
        f"{first['scans']} | {_ms(first['p50_ms'])} | {_ms(first['max_ms'])} | {first['unserved']}"
    )


def _skipped(results: dict) -> str:
    """Which rungs the climbing rule left out, per mode."""
    skipped = {m: r for m, r in results.get("skipped", {}).items() if r}
    if not skipped:
        return "Every mode ran every rung."
    return (
        "Rungs left out by the climbing rule: "
        + "; ".join(f"{m} {', '.join(f'{r:g}' for r in rates)}" for m, rates in skipped.items())
        + "."
    )


def _repeats(results: dict) -> list[str]:
    """The steps run again at half the healthy knee after the ladder (older results: none)."""
    again = results.get("half_knee_repeats") or {}
    if not again.get("rate"):
        return []
    lines = [
        "",
        f"Run again after the ladder at {again['rate']:g}/s (half the healthy knee, or the rung "
        "nearest below), healthy and paused alternated, each pair on one schedule of its own:",
        "",
        "| mode | p50 ms | p99 ms | p99.9 ms | first 1 s: max ms | refusals and errors |",
        "|---|---|---|---|---|---|",
    ]
    for mode, steps in again["steps"].items():
        for s in steps:
            first = s.get("transition") or {}
            lines.append(
                f"| {mode} | {_ms(s['p50_ms'])} | {_ms(s['p99_ms'])} | {_ms(s['p999_ms'])} | "
                f"{_ms(first.get('max_ms'))} | {_errors(s['errors'])} |"
            )
    return lines


def _overload_repeats(results: dict) -> list[str]:
    """The knee's rung and twice it run again after the ladder (older results: none)."""
    again = results.get("overload_repeats") or {}
    if not again.get("rate"):
        return []
    lines = [
        "",
        f"Run again after the ladder, Redis healthy, for issue 28 part 3: the knee ("
        f"{again['rate']:g}/s) and twice it, alternated, each pair on one schedule of its own:",
        "",
        "| offered /s | p50 ms | p99 ms | served p99 ms | refusals and errors |",
        "|---|---|---|---|---|",
    ]
    for s in again["steps"]:
        lines.append(
            f"| {s['offered']:g} | {_ms(s['p50_ms'])} | {_ms(s['p99_ms'])} | "
            f"{_ms(s['served_p99_ms'])} | {_errors(s['errors'])} |"
        )
    return lines


def _goals(results: dict) -> list[str]:
    """Issue 28 part 4's open-loop goals as judged on this run (older results: nothing)."""
    if "goals_line" not in results:
        return []
    if results.get("goals", {}).get("paused", {}).get("pooled"):
        where = (
            "each mode's steps at that rate pooled (the table's and the ones run again above; "
            "paused: each step's steady state, after its first second)"
        )
    else:
        where = "both from the table (paused: its steady state, after the first second)"
    return [
        "",
        "Issue 28 part 4, judged on this run: healthy's knee at least 0.8x the raw protocol's; "
        "Redis killed's knee at least 0.8x healthy's; with Redis paused, the p99 at half the "
        "healthy knee (the rung at exactly half, else the nearest below, named) at most 1.5x "
        f"healthy's p99 at that rung, {where}. A ratio to a knee that is only a lower bound is "
        "only an upper bound (`<=`); where a bound straddles the goal the line says "
        "`undecided`, not `holds`.",
        "",
        f"`{results['goals_line']}`",
    ]


def _protocol(results: dict) -> list[str]:
    """Ours against raw full, raw full against raw (older results: nothing)."""
    if "protocol_line" not in results:
        return []
    return [
        f"`{results['protocol_line']}`: ours over raw full is what the web stack costs at the "
        "knee (HTTP, gunicorn, Django and DRF, Redis, the admission control), with the same "
        "MongoDB commands on both sides; raw full over raw is what the commands the core leaves "
        "out cost (the nonce's claim and verdict in the scan log, the participant's re-read "
        "after the claim).",
        "",
    ]


def _paused_method(cfg: dict) -> str:
    """How Redis paused was measured: as a lasting outage (its first second apart), or, in older
    results, with that first second in its percentiles."""
    if "transition_s" not in cfg:
        return (
            "Redis paused: SIGSTOP for the whole step, its first second (each web worker's first "
            "requests waiting on the hung Redis for the socket timeout) counted in the step's "
            "percentiles: this run predates the split of that transition from the steady state."
        )
    return (
        "Redis paused is measured as an outage that lasts, not as its first moments: Redis is "
        "paused for the whole step, which runs 1 s longer, and the scans intended in that first "
        "second (each web worker's first requests wait on the hung Redis for its 0.25 s socket "
        "timeout before its breaker opens) are in the *first 1 s* columns alone (scans, p50, "
        "max, unserved), side by side with the step's percentiles. The paused rows' rates and percentiles are the scans after it, the "
        "steady state. Every mode's step runs the same way (each row's first second is in its "
        "*first 1 s* columns, out of its percentiles): a step that follows a Redis fault starts "
        "while the workers recover from it, and one rung must not read the previous rung's "
        "recovery. The transitions themselves are measured in section 3 (time to fallback, the "
        "slowest check-in after the fault, and back to Redis)."
    )


def _workers(cfg: dict) -> str:
    """The web workers: how many, their threads and admission limit (older runs: workers only)."""
    if "threads" not in cfg:
        return f"{cfg['workers']} workers"
    limit = cfg.get("web_limit")
    limit = "at its default" if limit is None else f"= {limit}"
    return (
        f"{cfg['workers']} threaded workers, {cfg['threads']} threads each, "
        f"`WEB_MAX_CONCURRENT_REQUESTS` {limit}"
    )


def section(results: dict, *, chart_name: str) -> list[str]:
    """Return the section's Markdown lines."""
    cfg, m = results["config"], results["machine"]
    load, load_end = doc_sections.load_averages(m)
    lines = [
        HEADING,
        "",
        f"`python -m bench.open_loop` ({results['started']}, {results['seconds']:.0f} s; rates "
        f"{', '.join(f'{r:g}' for r in cfg['rates'])} scans/s, {cfg['step_seconds']:g} s each; "
        f"load average at start {load}, at end {load_end} on {m['nproc']} CPUs shared with other "
        "people's work running at the same time). SecantusDB, redis-server and gunicorn "
        f"({_workers(cfg)}) on loopback. Scans arrive as a Poisson process over "
        f"{cfg['doors']} doors and {cfg['sessions']} sessions (one hot: a third of the scans); "
        "7.4 % at a full session, the rest 75 % admissions, 10 % duplicates, 8 % check-outs, 7 % "
        "unknown participants. Each is sent at its intended time by a sender pool that never "
        "waits, and its latency runs from the intended time (no coordinated omission); a scan "
        f"without an answer counts at {cfg['timeout_s']:g} s. Modes in a rotating order at each "
        "rate: Redis healthy, killed (SIGKILL), paused (SIGSTOP for the whole step), the raw "
        "door protocol through pymongo with no Django (`bench.admission_designs`: the admission "
        "core, four commands), and *raw full*: every MongoDB command ours makes for each scan, "
        "in ours' order and on copies of ours' collections, through pymongo with no Django, HTTP "
        "or Redis (`bench.raw_protocol`). The knee: "
        "the highest offered rate whose p99 stays under 300 ms with at most 1 % unserved; "
        "`>=` when no rung above it was run (it passed the top of the ladder), and a ratio to "
        "such a knee an upper bound, `<=`. The ladder is climbed upwards, each mode until it "
        "failed that criterion at two rungs in a row (healthy always runs the rung at twice its "
        "knee so far, for the overload reading; raw and raw full stop at their first failure). "
        "Scheduled: the scans this step's seeded Poisson draw sent (its mean is the offered rate); "
        "achieved: the served scans (a verdict, not a 503 or no answer) per second.",
        "",
        _paused_method(cfg),
        "",
        f"**{results['summary']}**",
        "",
        *_protocol(results),
        f"![p99 against offered rate]({chart_name})",
        "",
        "| mode | offered /s | scheduled /s | achieved /s | p50 ms | p99 ms | p99.9 ms "
        "| first 1 s: scans | first 1 s: p50 ms | first 1 s: max ms | first 1 s: unserved "
        "| served p99 ms | refusals and errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, steps in results["steps"].items():
        for s in steps:
            lines.append(
                f"| {mode} | {s['offered']:g} | {s['sent_rate']:.1f} | {s['achieved']:.1f} | "
                f"{_ms(s['p50_ms'])} | "
                f"{_ms(s['p99_ms'])} | {_ms(s['p999_ms'])} | {_first_second(s)} | "
                f"{_ms(s['served_p99_ms'])} | {_errors(s['errors'])} |"
            )
    lines += [
        "",
        _skipped(results),
        *_repeats(results),
        *_overload_repeats(results),
        "",
        _overload(results),
        *_goals(results),
    ]
    return lines


def saved_section() -> list[str]:
    """The section from ``docs/benchmarks/open_loop.json``, or nothing if there is none."""
    if not RESULTS.exists():
        return []
    return ["", *section(json.loads(RESULTS.read_text()), chart_name="benchmarks/open_loop.png")]


def rendered_section(results: dict | None) -> list[str]:
    """The section from this run's results when it has them, else from the kept file."""
    if results is None:
        return saved_section()
    return ["", *section(results, chart_name="benchmarks/open_loop.png")]


def keep(results: dict, chart_path: Path) -> None:
    """Keep ``results`` and the chart in docs/benchmarks/ (what ``saved_section`` reads)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, default=str))
    if chart_path.resolve() != CHART.resolve():
        shutil.copy(chart_path, CHART)


def write_docs(results: dict, chart_path: Path) -> None:
    """Keep the results and chart; put the section into docs/benchmarks.md (only that section)."""
    keep(results, chart_path)
    lines = section(results, chart_name="benchmarks/open_loop.png")
    doc_sections.put_section(DOC, HEADING, lines, before=BEFORE)
    print(f"[bench.open_loop] wrote {DOC} and {RESULTS}", flush=True)
