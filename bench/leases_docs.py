"""The leases section of docs/benchmarks.md, from ``python -m bench.leases`` results.

``python -m bench.leases --docs`` keeps its results in ``docs/benchmarks/leases.json`` and puts
this section into docs/benchmarks.md (replacing the one there); ``make bench`` (bench.docs.render)
regenerates docs/benchmarks.md with the section from that file, so neither run erases the other.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import doc_sections

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks" / "leases.json"
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## 9. Offline doors: places for an outage, and what leases cost the online doors"
BEFORE = "## Latency over time"  # the section goes before this one
LABELS = {
    "none": "no lease at the session",
    "held": "4 leases held (idle)",
    "syncing": "4 leases held, syncing",
}


def _mm(stat: dict, digits: int = 0) -> str:
    fmt = f"{{:.{digits}f}}"
    return f"{fmt.format(stat['median'])} ({fmt.format(stat['min'])}-{fmt.format(stat['max'])})"


def section(results: dict) -> list[str]:
    """Return the section's Markdown lines."""
    cfg, rate, m = results["config"], results["scan_rate"], results["machine"]
    load, load_end = doc_sections.load_averages(m)
    lines = [
        HEADING,
        "",
        f"`python -m bench.leases --docs` ({results['started']}, {results['seconds']:.0f} s; "
        f"load average at start {load}, at end {load_end} on {m['nproc']} shared CPUs: other work "
        "ran at the same time). SecantusDB, redis-server and gunicorn (2 workers) on loopback.",
        "",
        f"**Places for a {cfg['outage_s'] / 60:g}-minute outage.** A door offline admits on its "
        "leased places only, so it needs one place per person it lets in until the network is "
        "back. Its scans in the outage are taken as a Poisson count at the door's rate, and the "
        "places it needs as that count's 99 % and 99.9 % quantiles (every scan counted as an "
        "admission: the worst case). The measured rate is one door scanning one person after "
        f"another here, each request after the previous answer: {rate['scans']} scans in "
        f"{rate['seconds']:.1f} s, p50 {rate['p50_ms']:.0f} ms, the fastest a door can go on this "
        "machine (a person needs seconds to step up). The last column: how long an outage the "
        f"default lease ({cfg['default_lease']} places, `LEASE_MAX_PLACES`) covers at 99.9 %.",
        "",
        "| door's rate | scans/min | mean scans in 2 min | places, 99 % | places, 99.9 % | "
        f"{cfg['default_lease']} places cover (99.9 %) |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["places"]:
        covers = row["default_lease_covers_s"]
        lines.append(
            f"| {row['rate']} | {row['per_minute']:g} | {row['mean']:g} | {row['q99']} | "
            f"{row['q99.9']} | {covers:.0f} s |"
        )
    lines += [
        "",
        f"**What leases cost the online doors.** {cfg['concurrency']} online doors check "
        f"{cfg['count']} people in (by id) at a fresh session of capacity 10000: with no lease at "
        f"the session; with {cfg['holders']} door devices each holding a lease of "
        f"{cfg['lease_places']} places; and with those devices also syncing, in turn and back to "
        "back, one offline admission each (a transfer from the lease) followed by a renewal that "
        "tops the lease up again (a grant). Every variant in every run, in a rotating order; "
        f"{cfg['runs']} runs, median (min-max); the ratio is each run's p99 over the same run's "
        "p99 without leases.",
        "",
        "| variant | check-ins/s | p50 ms | p99 ms | p99 / no lease | syncs answered (all runs) |",
        "|---|---|---|---|---|---|",
    ]
    for variant, label in LABELS.items():
        agg = results["online"][variant]
        syncs = str(agg["syncs_ok"]) if variant == "syncing" else "-"
        lines.append(
            f"| {label} | {_mm(agg['rps'], 1)} | {_mm(agg['p50_ms'])} | {_mm(agg['p99_ms'])} | "
            f"{_mm(agg['p99_ratio'], 2)} | {syncs} |"
        )
    lines += ["", *_reading(results)]
    return lines


def _cost(ratio: dict) -> str:
    spread = (
        f"p99 ratio median {ratio['median']:.2f}, {ratio['min']:.2f}-{ratio['max']:.2f} over runs"
    )
    if ratio["min"] <= 1.0 <= ratio["max"]:
        return f"no difference this machine can tell from its noise ({spread})"
    return f"a p99 {ratio['median']:.2f}x as long ({spread})"


def _reading(results: dict) -> list[str]:
    online, places = results["online"], results["places"]
    lines = [
        f"Reading: with leases held, the online doors show {_cost(online['held']['p99_ratio'])}; "
        "an online admission's conditional update matches one more field of the same session "
        "document. With the leases in use at the same time (each transfer and top-up is another "
        "write to that document, and a changed `leased` makes an online admission read it again "
        f"and retry), they show {_cost(online['syncing']['p99_ratio'])}.",
    ]
    human = next((r for r in places if r["per_minute"] == 12.0), None)
    if human is not None:
        lines.append(
            f"A door letting a person in every 5 s needs {human['q99.9']} places for a 2-minute "
            f"outage (99.9 %); the default lease ({results['config']['default_lease']} places) "
            f"covers {human['default_lease_covers_s']:.0f} s at that rate. The measured row is a "
            "bound (the API's pace, not a door's): no door scans that fast."
        )
    return [" ".join(lines)]


def print_tables(results: dict) -> None:
    print("\n".join(section(results)), flush=True)


def saved_section() -> list[str]:
    """The section from ``docs/benchmarks/leases.json``, or nothing if there is none."""
    return doc_sections.saved_section(RESULTS, section)


def write_docs(results: dict) -> None:
    """Keep ``results`` in docs/benchmarks/leases.json; put the section into docs/benchmarks.md."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=1))
    doc_sections.put_section(DOC, HEADING, section(results), before=BEFORE)
    print(f"[bench.leases] wrote {DOC} and {RESULTS}", flush=True)
