"""The open-loop benchmark's pure parts: the schedule, the latency clock, the histogram, the knee."""

import itertools
import random
import re
import time

import pytest

from bench.open_loop import (
    FULL,
    HOT,
    SETTLED_S,
    LatencyHistogram,
    Scan,
    door_schedule,
    knee,
    latency_ms,
    overload,
    overload_line,
    poisson_arrivals,
    run_schedule,
    summary_line,
)


def _step(rate, p99, *, scans=100, unserved=0, served_p99=None, errors=None):
    return {"offered": rate, "p99_ms": p99, "scans": scans, "unserved": unserved,
            "served_p99_ms": served_p99 or p99, "errors": errors or {}}  # fmt: skip


def test_poisson_mean_rate_over_a_long_seeded_sequence():
    times = poisson_arrivals(40.0, 2000.0, random.Random(7))
    assert len(times) / 2000.0 == pytest.approx(40.0, rel=0.02)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert sum(gaps) / len(gaps) == pytest.approx(1 / 40, rel=0.02)
    assert times == sorted(times) and times[-1] < 2000.0


def test_door_schedule_rate_hot_session_and_mix():
    scans = door_schedule(20.0, 500.0, seed=3)
    assert len(scans) / 500.0 == pytest.approx(20.0, rel=0.03)
    assert {s.door for s in scans} == set(range(20))
    assert sum(s.session == HOT for s in scans) / len(scans) == pytest.approx(1 / 3, abs=0.02)
    assert all(s.kind == "full" for s in scans if s.session == FULL)
    kinds = [s.kind for s in scans if s.session != FULL]
    assert kinds.count("admission") / len(kinds) == pytest.approx(0.75, abs=0.02)
    assert kinds.count("unknown") / len(kinds) == pytest.approx(0.07, abs=0.01)
    assert door_schedule(20.0, 500.0, seed=3) == scans  # seeded: the same scans every run


def test_duplicates_and_check_outs_name_someone_admitted_a_second_before():
    admitted: dict[tuple[int, int], float] = {}
    for scan in door_schedule(20.0, 200.0, seed=5):
        key = (scan.session, scan.person)
        if scan.kind == "admission":
            assert key not in admitted
            admitted[key] = scan.at
        elif scan.kind in {"duplicate", "check_out"}:
            assert admitted[key] <= scan.at - SETTLED_S
            if scan.kind == "check_out":
                del admitted[key]


def test_latency_counts_from_the_intended_time_when_the_sender_is_late():
    assert latency_ms(10.0, 10.25) == pytest.approx(250.0)
    # One sender thread and a 0.2 s answer: the second scan leaves ~0.19 s late; that wait counts.
    scans = [Scan(0.0, 0, 0, "admission", 0), Scan(0.01, 1, 0, "admission", 1)]

    def send(scan):
        time.sleep(0.2)
        return "verdict", "201 checked_in"

    outcomes, elapsed = run_schedule(scans, send, threads=1)
    by_at = {o.scan.at: o.latency_ms for o in outcomes}
    assert 195 <= by_at[0.0] < 300
    assert by_at[0.01] >= 385  # 0.4 s answer - 0.01 s intended, not the 0.2 s of its own request
    assert elapsed >= 0.4


def test_histogram_percentiles():
    hist = LatencyHistogram()
    assert hist.percentile(99) is None
    for ms in range(1, 1001):  # 1..1000 ms
        hist.record(float(ms))
    assert hist.count == 1000
    assert hist.percentile(50) == pytest.approx(500, rel=0.002)
    assert hist.percentile(99) == pytest.approx(990, rel=0.002)
    assert hist.percentile(99.9) == pytest.approx(999, rel=0.002)
    assert hist.percentile(100) == pytest.approx(1000, rel=0.002)


def test_knee_is_the_highest_rate_under_300_ms():
    steps = [_step(5, 40), _step(10, 90), _step(20, 280), _step(40, 900), _step(80, 5000)]
    assert knee(steps) == 20
    assert knee([_step(5, 40), _step(10, 310), _step(20, 200)]) == 20  # the highest, not the first


def test_knee_none_under_and_all_under():
    assert knee([_step(5, 300), _step(10, 800)]) is None  # 300 ms is not under 300 ms
    assert knee([_step(5, 20), _step(10, 30), _step(40, 299)]) == 40
    assert knee([_step(5, None, scans=0)]) is None


def test_knee_needs_the_scans_served():
    assert knee([_step(5, 40), _step(10, 50, scans=100, unserved=2)]) == 5  # 2 % refused


def test_summary_line_format():
    line = summary_line(
        {"healthy": 20.0, "redis down": 10.0, "redis paused": None, "raw": 40.0}, lowest=5
    )
    assert line == (
        "knee: healthy 20/s, redis down 10/s, redis paused <5/s; raw 40/s; ours/raw 0.50"
    )
    pattern = r"knee: healthy \S+/s, redis down \S+/s, redis paused \S+/s; raw \S+/s; ours/raw \S+"
    assert re.fullmatch(pattern, line)
    none = summary_line(dict.fromkeys(("healthy", "redis down", "redis paused", "raw")), 5)
    assert none.endswith("raw <5/s; ours/raw n/a")


def test_overload_at_twice_the_knee():
    steps = [
        _step(10, 100, served_p99=100),
        _step(20, 900, served_p99=150, unserved=30, errors={"503 busy, Retry-After": 30}),
    ]
    over = overload(steps, 10)
    assert over["ratio"] == pytest.approx(1.5)
    assert over["all_busy_retry_after"] is True
    steps[1]["errors"] = {"503 busy, Retry-After": 29, "timeout": 1}
    assert overload(steps, 10)["all_busy_retry_after"] is False
    assert overload(steps, 20) is None  # no rung at 40/s
    assert overload(steps, None) is None


def test_overload_holds_only_within_twice_the_knee_p99_and_with_busy_refusals_only():
    knee_rung = _step(10, 100, served_p99=100)
    within = _step(20, 900, served_p99=190, errors={"503 busy, Retry-After": 30})
    assert overload([knee_rung, within], 10)["holds"] is True
    slow = _step(20, 900, served_p99=210, errors={"503 busy, Retry-After": 30})
    assert overload([knee_rung, slow], 10)["holds"] is False  # 2.1x the knee's p99
    timed_out = _step(20, 900, served_p99=150, errors={"503 busy, Retry-After": 29, "timeout": 1})
    assert overload([knee_rung, timed_out], 10)["holds"] is False


def test_overload_line_names_the_rung_the_p99s_the_refusals_and_the_verdict():
    steps = [
        _step(10, 100, served_p99=100),
        _step(20, 900, served_p99=150, errors={"503 busy, Retry-After": 30, "timeout": 2}),
    ]
    line = overload_line(overload(steps, 10), 10)
    assert line == (
        "overload: at 20/s (2x the healthy knee) answered p99 150 ms vs 100 ms at the knee "
        "(1.50x, goal <= 2x); refusals: 503 busy, Retry-After 30, timeout 2; FAILS"
    )
    top = _step(40, 900, served_p99=400, errors={"503 busy, Retry-After": 3})
    assert overload_line(None, None, top) == (
        "overload: no healthy knee on this ladder, nothing to judge; at the top rung, 40/s: "
        "answered p99 400 ms, refusals: 503 busy, Retry-After 3"
    )
    assert overload_line(None, 40) == (
        "overload: no rung at 2x the healthy knee (80/s), nothing to judge"
    )
