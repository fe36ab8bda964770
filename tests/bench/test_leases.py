"""bench.leases: the Poisson quantile behind "places for an outage", and its docs section."""

import math

from bench.leases import outage_covered, places_table, poisson_quantile
from bench.leases_docs import HEADING, section


def _quantile_by_sum(mean: float, q: float) -> int:
    total, k = 0.0, 0
    while True:
        total += math.exp(-mean) * mean**k / math.factorial(k)
        if total >= q:
            return k
        k += 1


def test_the_quantile_is_the_smallest_count_reaching_the_probability():
    for mean in (0.5, 1.0, 12.0, 24.0, 60.0):
        for q in (0.99, 0.999):
            assert poisson_quantile(mean, q) == _quantile_by_sum(mean, q)
    assert poisson_quantile(0.0, 0.999) == 0


def test_a_large_mean_does_not_underflow():
    """exp(-mean) is 0.0 in floats from a mean of about 745: the sum must not depend on it."""
    k = poisson_quantile(2000.0, 0.999)
    assert 2000 + 3 * math.sqrt(2000) < k < 2000 + 4 * math.sqrt(2000)


def test_five_places_cover_a_short_outage_at_a_person_every_5_s():
    # 12 scans a minute: 5 s is a mean of 1 scan, P(N <= 5) = 0.99941; 6 s: 0.99854.
    assert outage_covered(5, 12.0, 0.999) == 5.0
    row = places_table({"every 5 s": 12.0})[0]
    assert (row["mean"], row["q99"], row["q99.9"]) == (24.0, 36, 40)


def _stat(value):
    return {"median": value, "min": value * 0.9, "max": value * 1.1}


def test_the_section_shows_the_runs_numbers():
    online = {
        variant: {
            "rps": _stat(20.0), "p50_ms": _stat(90.0), "p99_ms": _stat(p99),
            "p99_ratio": _stat(p99 / 200.0), "syncs_ok": 57, "answers": {},
        }
        for variant, p99 in (("none", 200.0), ("held", 210.0), ("syncing", 333.0))
    }  # fmt: skip
    results = {
        "started": "2026-12-07T03:00:00",
        "seconds": 300.0,
        "machine": {"nproc": 2, "loadavg_at_start": (3.5, 3.6, 3.7), "loadavg_at_end": (4, 4, 4)},
        "config": {
            "runs": 5,
            "count": 150,
            "concurrency": 4,
            "holders": 4,
            "lease_places": 5,
            "outage_s": 120.0,
            "default_lease": 5,
        },
        "scan_rate": {"scans": 60, "seconds": 3.0, "per_minute": 1200.0, "p50_ms": 40.0},
        "places": places_table({"a person every 5 s": 12.0}),
        "online": online,
    }
    text = "\n".join(section(results))
    assert text.startswith(HEADING)
    assert "| a person every 5 s | 12 | 24 | 36 | 40 | 5 s |" in text
    assert "333 (300-366)" in text and "1.67 (1.50-1.83)" in text
    assert "load average at start 3.50, 3.60, 3.70" in text
