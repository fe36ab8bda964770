"""The open-loop benchmark's pure parts: the schedule, the latency clock, the histogram, the knee."""

import itertools
import random
import re
import time

import pytest

import bench.open_loop as ol
from bench import open_loop_docs
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


# --- the paused transition, bounded knees, the climbing rule, the goals (issue 28) ---------------
# Reached through the module (``ol.name``) so that each test fails on its own before its change.
def _outcome(at, ms, kind="verdict"):
    return ol.Outcome(Scan(at, 0, 1, "admission", 0), kind, "201 checked_in", ms)


def test_split_at_puts_the_scans_intended_before_the_lead_apart():
    outcomes = [_outcome(0.2, 270), _outcome(0.99, 260), _outcome(1.0, 20), _outcome(3.5, 30)]
    first, rest = ol.split_at(outcomes, 1.0)
    assert [o.scan.at for o in first] == [0.2, 0.99]
    assert [o.scan.at for o in rest] == [1.0, 3.5]


def test_paused_step_reports_the_first_second_apart_and_its_percentiles_after_it():
    # The first second: two scans waited on the hung Redis (270 ms), one got no verdict; then a
    # steady outage at 20-40 ms. Paused (lead 1 s): the p99 is the steady state's.
    slow = [_outcome(0.1, 270), _outcome(0.4, 265), _outcome(0.7, 250, kind="timeout")]
    steady = [_outcome(1.0 + i / 10, 20 + i % 20) for i in range(80)]  # 8 s at 10/s
    step = ol.step_result(10, 8.0, slow + steady, 9.05, lead=1.0)
    assert step["scans"] == 80 and step["sent_rate"] == pytest.approx(10.0)
    assert step["p99_ms"] == pytest.approx(39, abs=0.1)  # not 270: the transition is left out
    assert step["unserved"] == 0 and step["errors"] == {}
    assert step["achieved"] == pytest.approx(80 / 8.05)  # the time after the first second
    assert step["transition"] == {"scans": 3, "p50_ms": pytest.approx(265, rel=0.002),
                                  "max_ms": pytest.approx(270, rel=0.002), "unserved": 1}  # fmt: skip
    assert step["transition_excluded"] is True


def test_other_modes_show_their_first_second_but_keep_it_in_the_percentiles():
    outcomes = [
        _outcome(0.1, 270),
        _outcome(0.2, 260),
        *(_outcome(i / 10, 20) for i in range(3, 81)),
    ]
    step = ol.step_result(10, 8.0, outcomes, 8.1)
    assert step["scans"] == 80 and step["p99_ms"] == pytest.approx(260, rel=0.002)
    assert step["transition"]["scans"] == 9 and step["transition_excluded"] is False
    assert step["transition"]["max_ms"] == pytest.approx(270, rel=0.002)


def test_knee_bound_says_when_nothing_above_the_knee_was_run():
    raw = [_step(r, 10) for r in (5, 10, 20, 40, 80, 160)]
    assert ol.knee_bound(raw, 5) == {"rate": 160, "bound": ">="}  # never failed: >= the top
    ours = [_step(5, 40), _step(10, 90), _step(20, 400), _step(40, 900)]
    assert ol.knee_bound(ours, 5) == {"rate": 10, "bound": "="}
    assert ol.knee_bound([_step(5, 400), _step(10, 900)], 5) == {"rate": 5, "bound": "<"}


def test_summary_line_bounds_raw_knee_and_ratio_when_raw_never_failed():
    knees = {"healthy": 40.0, "redis down": 40.0, "redis paused": 20.0, "raw": 160.0}
    bounds = {"healthy": {"rate": 40, "bound": "="}, "redis down": {"rate": 40, "bound": "="},
              "redis paused": {"rate": 20, "bound": "="}, "raw": {"rate": 160, "bound": ">="}}  # fmt: skip
    assert ol.summary_line(knees, 5, bounds) == (
        "knee: healthy 40/s, redis down 40/s, redis paused 20/s; raw >=160/s; ours/raw <=0.25"
    )


def test_ratio_interval_and_verdict_with_bounds():
    exact, top = {"rate": 80, "bound": "="}, {"rate": 160, "bound": ">="}
    assert ol.ratio_interval(exact, {"rate": 100, "bound": "="}) == (0.8, 0.8)
    assert ol.verdict((0.8, 0.8), 0.8) == "holds"
    assert ol.ratio_interval(exact, top) == (0.0, 0.5)
    assert ol.ratio_text((0.0, 0.5)) == "<=0.50" and ol.verdict((0.0, 0.5), 0.8) == "FAILS"
    near = ol.ratio_interval({"rate": 150, "bound": "="}, top)
    assert ol.ratio_text(near) == "<=0.94" and ol.verdict(near, 0.8) == "undecided"
    assert ol.ratio_text(ol.ratio_interval(top, top)) == "n/a"
    assert ol.ratio_text(ol.ratio_interval(top, exact)) == ">=2.00"


def test_climbing_stops_after_two_failed_rungs_in_a_row():
    fail, ok = _step(0, 400), _step(0, 40)
    assert ol.keeps_climbing("redis down", [ok, fail], 40, [])
    assert not ol.keeps_climbing("redis down", [ok, fail, fail], 40, [])
    assert ol.keeps_climbing("redis paused", [fail, fail, ok], 40, [])  # a pass in between
    assert ol.keeps_climbing("raw", [ok, ok], 160, [])
    assert not ol.keeps_climbing("raw", [ok, fail], 160, [])  # raw: until its first failure
    assert ol.keeps_climbing("raw full", [ok, ok], 160, [])
    assert not ol.keeps_climbing("raw full", [ok, fail], 160, [])  # as raw


def test_protocol_line_splits_the_gap_between_ours_and_raw():
    bounds = {"healthy": {"rate": 50, "bound": "="}, "raw full": {"rate": 100, "bound": "="},
              "raw": {"rate": 200, "bound": "="}}  # fmt: skip
    assert ol.protocol_line(bounds, 5) == (
        "protocol: raw full 100/s (ours' MongoDB commands through pymongo); "
        "ours/raw full 0.50; raw full/raw 0.50"
    )
    bounds["raw"] = {"rate": 320, "bound": ">="}  # raw never failed: an upper bound
    bounds["healthy"] = {"rate": 5, "bound": "<"}  # not even the lowest rung
    assert ol.protocol_line(bounds, 5) == (
        "protocol: raw full 100/s (ours' MongoDB commands through pymongo); "
        "ours/raw full n/a; raw full/raw <=0.31"
    )
    assert ol.protocol_line({"healthy": bounds["healthy"]}, 5) == "protocol: raw full not run"


def test_healthy_always_runs_twice_its_knee_so_far():
    healthy = [_step(10, 40), _step(20, 60), _step(30, 400), _step(40, 500)]  # stopped at 40
    assert ol.keeps_climbing("healthy", healthy, 40, healthy)  # 2x the knee (20/s)
    assert not ol.keeps_climbing("healthy", healthy, 50, healthy)
    assert not ol.keeps_climbing("redis down", healthy, 40, healthy)  # only healthy


def test_half_knee_rate_exact_or_the_nearest_below():
    assert ol.half_knee_rate([5, 10, 20, 40], 40) == 20
    assert ol.half_knee_rate([5, 10, 15, 20, 30], 50) == 20  # 25 is not a rung
    assert ol.half_knee_rate([10, 20], 10) is None
    assert ol.half_knee_rate([10, 20], None) is None


def _goal_steps(paused_p99_at_20=80):
    steps = {
        "healthy": [_step(10, 50), _step(20, 60), _step(40, 200), _step(80, 900)],
        "redis down": [_step(10, 50), _step(20, 70), _step(40, 250), _step(80, 1000)],
        "redis paused": [_step(10, 55), _step(20, paused_p99_at_20), _step(40, 400)],
        "raw": [_step(r, 10) for r in (10, 20, 40, 80)],
    }
    return steps, {m: ol.knee_bound(s, 10) for m, s in steps.items()}


def test_goals_line_judges_part_4():
    steps, bounds = _goal_steps()
    assert ol.goals_line(ol.goals(steps, bounds)) == (
        "goals: knee ours/raw <=0.50 (>= 0.8) FAILS; redis down knee 1.00x healthy (>= 0.8) "
        "holds; redis paused p99 at 20/s (half the healthy knee) 80 ms vs healthy 60 ms (1.33x, "
        "<= 1.5) holds"
    )
    steps, bounds = _goal_steps(paused_p99_at_20=120)
    assert ol.goals_line(ol.goals(steps, bounds)).endswith(
        "120 ms vs healthy 60 ms (2.00x, <= 1.5) FAILS"
    )


def test_paused_goal_is_judged_on_the_half_knee_steps_pooled():
    # One rung each (table): paused's third-slowest of 240 scans against healthy's.
    healthy = [[10.0] * 237 + [60.0, 61.0, 62.0]] + [[10.0] * 240 for _ in range(3)]
    paused = [[10.0] * 236 + [90.0] * 4] + [[12.0] * 238 + [70.0] * 2 for _ in range(3)]
    half = {"rate": 20, "healthy": ol.pooled(healthy), "redis paused": ol.pooled(paused)}
    assert half["healthy"]["scans"] == 960 and len(half["healthy"]["step_p99_ms"]) == 4
    steps, bounds = _goal_steps(paused_p99_at_20=120)  # the table's rung alone: 2.00x, FAILS
    judged = ol.goals(steps, bounds, half)
    line = ol.goals_line(judged)
    # pooled: the 1 % tail of 960 scans is its slowest 10, not one rung's slowest 2 or 3
    assert judged["paused"]["verdict"] == "holds", line
    assert "at 20/s (half the healthy knee; 4 and 4 steps pooled, 960 and 960 scans) " in line
    assert line.endswith("12 ms vs healthy 10 ms (1.20x, <= 1.5) holds; step by step 1.20-1.50x")
    # the pool of another rung than the one judged is not used
    other = ol.goals(steps, bounds, half | {"rate": 10})
    assert other["paused"]["ratio"] == 2.0 and "pooled" not in other["paused"]


def test_overload_is_judged_on_the_knee_and_twice_it_pooled():
    # The ladder's rungs alone: the knee's p99 a lucky 100 ms, 2x its 286 ms: 2.86x, FAILS.
    knee_rung = _step(80, 100, served_p99=100)
    over_rung = _step(160, 900, served_p99=286, errors={"503 busy, Retry-After": 300})
    assert overload([knee_rung, over_rung], 80)["holds"] is False
    knee_served = [[50.0] * 475 + [100.0] * 5] + [[50.0] * 470 + [180.0] * 10 for _ in range(3)]
    over_served = [[90.0] * 594 + [286.0] * 6] + [[90.0] * 592 + [250.0] * 8 for _ in range(3)]
    repeats = [
        _step(rate, 900, served_p99=1, errors={"503 busy, Retry-After": 100} if rate == 160 else {})
        for _ in range(3)
        for rate in (80, 160)
    ]
    again = {"rate": 80, "knee": ol.pooled(knee_served), "over": ol.pooled(over_served),
             "steps": repeats}  # fmt: skip
    over = overload([knee_rung, over_rung], 80, again)
    # pooled: 1,920 answered scans at the knee, its p99 their 20th slowest, not one rung's 5th
    assert (over["knee_served_p99_ms"], over["served_p99_ms"]) == pytest.approx((180, 250), 0.01)
    assert over["holds"] is True and over["refusals"] == {"503 busy, Retry-After": 600}
    line = overload_line(over, 80)
    assert line.startswith(
        "overload: at 160/s (2x the healthy knee; 4 and 4 steps pooled, 2400 and 1920 answered "
        "scans) answered p99 250 ms vs 180 ms at the knee (1.39x, goal <= 2x); refusals: 503 "
        "busy, Retry-After 600; holds; step by step "
    ), line
    # a timeout in a step run again fails part 3 too; a pool for another knee is not used
    repeats[1]["errors"] = {"503 busy, Retry-After": 99, "timeout": 1}
    assert overload([knee_rung, over_rung], 80, again)["holds"] is False
    assert overload([knee_rung, over_rung], 80, again | {"rate": 40})["pooled"] is None


def test_overload_again_alternates_the_knee_and_twice_it_on_schedules_of_their_own():
    healthy = [_step(40, 100), _step(80, 200), _step(160, 900)]  # knee 80: 160 run
    ran, served, into = [], {80: [[1.0]], 160: [[2.0]]}, []

    def step(mode, seed, rate, *, into):
        ran.append((mode, seed, rate))
        served[rate].append([float(seed)])
        into.append(_step(rate, 1))

    again = ol.overload_again(step, ol.RATES, healthy, into, served)
    first = len(ol.RATES) + ol.HALF_KNEE_REPEATS
    assert ran == [("healthy", first, 80), ("healthy", first, 160),
                   ("healthy", first + 1, 160), ("healthy", first + 1, 80),
                   ("healthy", first + 2, 80), ("healthy", first + 2, 160)]  # fmt: skip
    assert again["rate"] == 80 and len(again["steps"]) == 6
    assert again["knee"]["scans"] == 4 and again["over"]["scans"] == 4
    assert ol.overload_again(step, ol.RATES, healthy[:2], [], served) is None  # no 160/s rung


def test_goals_line_names_the_rung_below_half_the_knee_or_says_not_judged():
    steps, _ = _goal_steps()
    steps["healthy"][2] = _step(40, 900)
    steps["healthy"].insert(2, _step(30, 100))  # healthy knee 30: half 15, no such rung
    bounds = {m: ol.knee_bound(s, 10) for m, s in steps.items()}
    line = ol.goals_line(ol.goals(steps, bounds))
    assert "redis paused p99 at 10/s (the rung nearest below half the healthy knee, 15/s) " in line
    steps["healthy"] = [_step(10, 900)]
    bounds = {m: ol.knee_bound(s, 10) for m, s in steps.items()}
    assert ol.goals_line(ol.goals(steps, bounds)).endswith(
        "redis paused p99: no healthy knee on this ladder, not judged"
    )


def test_ladders_hold_half_and_twice_each_likely_knee_and_tell_0_8():
    for ladder in (ol.RATES, ol.QUICK_RATES):
        assert list(ladder) == sorted(ladder)
    for knee_rate in (20, 40, 60, 80):
        assert knee_rate / 2 in ol.RATES and 2 * knee_rate in ol.RATES
    for raw_knee in (50, 100, 200, 300, 400):  # ours at 0.8x raw is a rung: 0.8 exactly
        assert 0.8 * raw_knee in ol.RATES
    for knee_rate in (100, 120, 160):  # twice a knee above 80/s is a rung too
        assert 2 * knee_rate in ol.RATES


def _results(steps, **extra):
    machine = {"nproc": 2, "loadavg_at_start": [1.0] * 3, "loadavg_at_end": [1.0] * 3}
    cfg = {"rates": [10, 20], "step_seconds": 8, "timeout_s": 10, "doors": 20, "sessions": 10,
           "workers": 2}  # fmt: skip
    knees = {m: ol.knee(s) for m, s in steps.items()}
    return {"started": "2026-12-07T11:00:00", "seconds": 100, "machine": machine, "config": cfg,
            "steps": steps, "knees": knees, "overload": None, "summary": "knee: ...", **extra}  # fmt: skip


def test_docs_section_shows_the_first_second_the_left_out_rungs_and_the_goals():
    paused = _step(10, 60)
    paused |= {"sent_rate": 10, "achieved": 10, "p50_ms": 20, "p999_ms": 60,
               "transition": {"scans": 9, "p50_ms": 30, "max_ms": 271, "unserved": 0},
               "transition_excluded": True}  # fmt: skip
    steps = {m: [dict(paused)] for m in ol.MODES}
    results = _results(steps, goals_line="goals: knee ours/raw 0.50 (>= 0.8) FAILS; ...",
                       skipped={"healthy": [], "raw": [20.0]})  # fmt: skip
    results["config"]["transition_s"] = 1.0
    text = "\n".join(open_loop_docs.section(results, chart_name="c.png"))
    assert "| 20 | 60 | 60 | 9 | 30 | 271 | 0 | 60 | none |" in text  # p99, p99.9, first 1 s
    assert "Rungs left out by the climbing rule: raw 20." in text
    assert "`goals: knee ours/raw 0.50 (>= 0.8) FAILS; ...`" in text
    assert "are in the *first 1 s* columns alone" in text
    assert "both from the table" in text and "Run again after the ladder" not in text
    results["half_knee_repeats"] = {"rate": 10, "steps": {"healthy": [dict(paused)],
                                                          "redis paused": [dict(paused)]}}  # fmt: skip
    results["goals"] = {"paused": {"pooled": {"healthy": {}, "redis paused": {}}}}
    text = "\n".join(open_loop_docs.section(results, chart_name="c.png"))
    assert "Run again after the ladder at 10/s" in text
    assert "| redis paused | 20 | 60 | 60 | 271 | none |" in text
    assert "each mode's steps at that rate pooled" in text
    assert "for issue 28 part 3" not in text  # no steps run again for it
    busy = dict(paused, offered=20, served_p99_ms=88, errors={"503 busy, Retry-After": 4})
    results["overload_repeats"] = {"rate": 10, "steps": [dict(paused), busy]}
    results["overload"] = {"rate": 20, "served_p99_ms": 88, "knee_served_p99_ms": 60,
                           "ratio": 88 / 60, "refusals": {"503 busy, Retry-After": 4},
                           "all_busy_retry_after": True, "holds": True,
                           "pooled": {"steps": 4, "scans": {"knee": 900, "over": 1700},
                                      "step_ratios": [0.9, 1.8]}}  # fmt: skip
    results["knees"]["healthy"] = 10
    text = "\n".join(open_loop_docs.section(results, chart_name="c.png"))
    assert "Run again after the ladder, Redis healthy, for issue 28 part 3: the knee (10/s)" in text
    assert "| 20 | 20 | 60 | 88 | 503 busy, Retry-After: 4 |" in text
    assert (
        "88 ms against 60 ms at the knee, each rung's 4 steps pooled (the ladder's and the ones "
        "run again below: 1700 and 900 answered scans; the pairs one by one 0.90-1.80x): 1.5x "
        "(goal: within 2x)"
    ) in text
    old = {k: v for k, v in paused.items() if not k.startswith("transition")}
    text = "\n".join(
        open_loop_docs.section(_results({m: [old] for m in ol.MODES}), chart_name="c.png")
    )
    assert "this run predates the split" in text and "| 60 | - | - | - | - | 60 |" in text


def test_make_bench_climbs_the_fine_ladder_at_6_s_a_rung():
    from bench.__main__ import parse_args  # noqa: PLC0415 (python -m bench's module)

    args = parse_args([])
    rates = [float(r) for r in args.open_loop_rates.split(",")]
    assert rates == list(ol.RATES) and args.open_loop_seconds == 6.0
    for knee_rate in (20, 30, 40, 60, 80):  # half and twice each likely healthy knee are rungs
        assert knee_rate / 2 in rates and 2 * knee_rate in rates


def test_the_participant_pool_covers_every_step_as_run_step_sends_it():
    steps = [(20.0, 0), (40.0, 1), (20.0, 17)]
    people = ol.people_for(steps, 6.0)
    sent = [ol.door_schedule(r, 6.0 + ol.TRANSITION_S, seed=s) for r, s in steps]
    assert people == max(ol.people_needed(scans) for scans in sent)
    assert all(scan.person < people for scans in sent for scan in scans)
