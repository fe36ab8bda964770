"""The failover benchmark's pure parts: the breaker log lines, back on Redis, the windows, the
acknowledged answers against the records, the summary over runs and the docs section."""

from datetime import datetime

import pytest

from bench import failover_docs
from bench.failover import (
    Transition,
    about_master,
    acknowledged_problems,
    back_on_redis,
    breaker_transitions,
    median_range,
    percentiles,
    summarize,
    window_of,
    windows,
)
from bench.failover_docs import HEADING, section
from bench.open_loop import SERVED, Outcome, Scan

LOG = """\
2026-12-07 05:10:00,100 INFO django [100] something else
2026-12-07 05:10:01,250 WARNING redis_fallback [101] Redis unavailable (ConnectionError: Error 111 connecting to ***:6379. Connection refused.): breaker open, serving from the fallback; one probe every 1.0 s
2026-12-07 05:10:01,300 WARNING redis_fallback [102] Redis unavailable (TimeoutError: Timeout reading from socket): breaker open, serving from the fallback; one probe every 1.0 s
[2026-12-07 05:10:02 +0000] [99] [INFO] Booting worker with pid: 103
2026-12-07 05:10:03,900 INFO redis_fallback [101] Redis reachable again after 2s (unavailable since 05:10:01 UTC; 2 probe(s), 14 calls served by the fallback): breaker closed, using Redis
2026-12-07 05:10:04,125 INFO redis_fallback [102] Redis reachable again after 2s (unavailable since 05:10:01 UTC; 3 probe(s), 9 calls served by the fallback): breaker closed, using Redis
"""


def _at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def test_breaker_transitions_reads_each_workers_openings_and_closings_to_the_millisecond():
    found = breaker_transitions(LOG)
    assert [(t.pid, t.state) for t in found] == [
        (101, "open"),
        (102, "open"),
        (101, "closed"),
        (102, "closed"),
    ]
    assert found[0].at == pytest.approx(_at("2026-12-07 05:10:01,250"))
    assert found[-1].at == pytest.approx(_at("2026-12-07 05:10:04,125"))


def test_back_on_redis_is_the_last_worker_to_close_after_the_kill():
    kill = _at("2026-12-07 05:10:01,000")
    per_worker, every = back_on_redis(breaker_transitions(LOG), kill)
    assert per_worker == {101: pytest.approx(kill + 2.9), 102: pytest.approx(kill + 3.125)}
    assert every == pytest.approx(kill + 3.125)


def test_back_on_redis_is_none_while_one_worker_is_still_open():
    t = [Transition(10.0, 1, "open"), Transition(10.1, 2, "open"), Transition(12.0, 1, "closed")]
    per_worker, every = back_on_redis(t, 9.5)
    assert per_worker == {1: 12.0, 2: None}
    assert every is None


def test_back_on_redis_takes_a_workers_last_closing_and_ignores_what_came_before_the_kill():
    t = [
        Transition(5.0, 1, "open"),  # an earlier outage
        Transition(6.0, 1, "closed"),
        Transition(10.0, 1, "open"),
        Transition(11.0, 1, "closed"),
        Transition(11.5, 1, "open"),  # the promoted master seen: rebuilt before use
        Transition(13.0, 1, "closed"),
    ]
    assert back_on_redis(t, 9.0) == ({1: 13.0}, 13.0)
    assert back_on_redis([Transition(5.0, 1, "open")], 9.0) == ({}, None)


def test_back_on_redis_counts_a_transition_logged_in_the_kills_own_millisecond():
    # The log keeps milliseconds only: an opening 0.4 ms after the kill reads as before it.
    assert back_on_redis([Transition(10.001, 1, "open")], 10.0014)[0] == {1: None}


@pytest.mark.parametrize(
    ("at", "expected"),
    [(0.0, None), (1.0, "before"), (10.99, "before"), (11.0, "during"), (14.9, "during"),
     (15.0, "after"), (24.99, "after"), (25.0, None)],
)  # fmt: skip
def test_window_of_splits_by_intended_time_around_the_kill_and_the_return(at, expected):
    assert window_of(at, kill=11.0, back=15.0, before_s=10.0, after_s=10.0) == expected


def test_window_of_counts_everything_after_the_kill_as_during_when_redis_never_came_back():
    assert window_of(99.0, kill=11.0, back=None, before_s=10.0, after_s=10.0) == "during"


def _outcome(at, latency, kind=SERVED, answer="201 checked_in"):
    return Outcome(Scan(at, 0, 0, "admission", 0), kind, answer, latency)


def test_windows_give_percentiles_max_and_unserved_answers_per_window():
    outcomes = [_outcome(float(i) / 10, 10.0) for i in range(100)]  # before: 0..9.9 s, 10 ms
    outcomes += [_outcome(10.0 + i / 10, 500.0) for i in range(30)]  # during: 10..12.9 s
    outcomes.append(_outcome(12.95, 10_000.0, "timeout", "timeout"))
    outcomes += [_outcome(13.0 + i / 10, 20.0 + i) for i in range(50)]  # after: 13..17.9 s
    result = windows(outcomes, start=100.0, kill=110.0, back=113.0, end=130.0, before_s=10.0,
                     after_s=10.0)  # fmt: skip
    before, during, after = result["before"], result["during"], result["after"]
    assert (before["scans"], during["scans"], after["scans"]) == (100, 31, 50)
    assert before["p99_ms"] == pytest.approx(10.0, rel=0.01)
    assert during["p50_ms"] == pytest.approx(500.0, rel=0.01)
    assert during["max_ms"] == 10_000.0
    assert during["p99_ms"] == pytest.approx(10_000.0, rel=0.01)
    assert during["unserved"] == 1 and during["errors"] == {"timeout": 1}
    assert during["answers"] == {"201 checked_in": 30, "timeout": 1}
    assert after["max_ms"] == 69.0 and after["unserved"] == 0
    assert (before["seconds"], during["seconds"], after["seconds"]) == (10.0, 3.0, 10.0)


def test_an_empty_window_has_no_percentiles():
    result = windows([], start=0.0, kill=10.0, back=None, end=20.0, before_s=10.0, after_s=10.0)
    assert result["after"] == {"seconds": 0.0, "scans": 0, "p50_ms": None, "p99_ms": None,
                               "max_ms": None, "unserved": 0, "errors": {}, "answers": {},
                               "latencies_ms": []}  # fmt: skip
    assert result["during"]["seconds"] == 10.0


def _record(session, person, state):
    return {"session_id": session, "participant_id": person, "state": state}


def test_acknowledged_answers_agree_with_the_records():
    answered = [
        ("s1", "p1", "check-in", "201 checked_in"),
        ("s1", "p2", "check-in", "201 checked_in"),
        ("s1", "p2", "check-in", "200 already_checked_in"),
        ("s1", "p2", "check-out", "200 checked_out"),
        ("s1", "p3", "check-in", "409 session_full"),
        ("s1", "-", "check-in", "404 participant_not_found"),
        ("s1", "p4", "check-in", "timeout"),  # no answer: either way is right
    ]
    records = [_record("s1", "p1", "inside"), _record("s1", "p2", "out"),
               _record("s1", "p4", "inside")]  # fmt: skip
    assert acknowledged_problems(answered, records) == []


def test_acknowledged_answers_missing_or_contradicted_in_the_records_are_named():
    answered = [
        ("s1", "p1", "check-in", "201 checked_in"),  # lost
        ("s1", "p2", "check-in", "201 checked_in"),  # recorded out, never checked out
        ("s1", "p3", "check-in", "201 checked_in"),
        ("s1", "p3", "check-out", "200 checked_out"),  # still inside
    ]
    records = [_record("s1", "p2", "out"), _record("s1", "p3", "inside")]
    assert acknowledged_problems(answered, records) == [
        "201 without a record: session s1, p1",
        "acknowledged in, record out: session s1, p2",
        "acknowledged out, record inside: session s1, p3",
    ]


def test_acknowledged_problems_are_capped_with_a_count_of_the_rest():
    answered = [("s", f"p{i}", "check-in", "201 checked_in") for i in range(15)]
    problems = acknowledged_problems(answered, [], limit=3)
    assert len(problems) == 4 and problems[-1] == "... 12 more"


def test_about_master_reads_the_sentinel_event_texts():
    assert about_master("master mymaster 127.0.0.1 6379 #quorum 2/2", "mymaster")
    assert about_master("mymaster 127.0.0.1 6379 127.0.0.1 6380", "mymaster")
    assert not about_master("slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379",
                            "mymaster")  # fmt: skip
    assert not about_master("master other 127.0.0.1 6379 #quorum 2/2", "mymaster")
    assert not about_master("", "mymaster")


def test_median_range_leaves_out_missing_values():
    assert median_range([3.0, None, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert median_range([None]) is None


def _window(p99, unserved=0):
    errors = {"timeout": unserved} if unserved else {}
    return {"seconds": 10.0, "scans": 100, "p50_ms": p99 / 2, "p99_ms": p99, "max_ms": p99 * 2,
            "unserved": unserved, "errors": errors, "answers": {},
            "latencies_ms": [p99 / 2] * 99 + [p99]}  # fmt: skip


def _run(back, during_p99, *, held=True, unserved=0):
    return {
        "down_after_ms": 1000,
        "times": {"odown_s": 1.1, "switch_master_s": 1.6, "promoted_polled_s": 1.65,
                  "back_on_redis_s": back, "per_worker_s": {"101": back}},
        "windows": {"before": _window(40.0), "during": _window(during_p99, unserved),
                    "after": _window(50.0)},
        "unanswered": unserved,
        "invariants": {"held": held, "samples": 40, "over_capacity_samples": 0,
                       "counter_below_samples": 0, "acknowledged_problems": [],
                       "counter_mismatch": [], "over_capacity_at_end": [],
                       "redis_sets_checked": 9, "redis_sets_wrong": [],
                       "capped": {"capacity": 12, "inside": 12}},
    }  # fmt: skip


def test_summarize_gives_median_and_range_and_counts_what_went_wrong():
    runs = [_run(2.5, 300.0), _run(None, 900.0, unserved=2), _run(3.5, 500.0, held=False)]
    summary = summarize(runs)
    assert summary["back_on_redis_s"] == {"median": 3.0, "min": 2.5, "max": 3.5}
    assert summary["during_p99_ms"] == {"median": 500.0, "min": 300.0, "max": 900.0}
    assert summary["before_max_ms"]["median"] == 80.0
    pooled = summary["during_pooled"]  # 300 scans: 99 at half each run's p99, one at it
    assert pooled["scans"] == 300 and pooled["max_ms"] == 900.0
    assert pooled["p50_ms"] == pytest.approx(250.0, rel=0.01)
    assert pooled["p99_ms"] == pytest.approx(450.0, rel=0.01)  # the 297th of 300
    assert summary["not_back"] == 1
    assert summary["unserved"] == 2 and summary["unanswered"] == 2
    assert summary["invariants_held"] is False
    assert summarize(runs[:1])["invariants_held"] is True


def _results():
    runs = {"1000": [_run(2.5, 300.0), _run(3.5, 500.0, unserved=1)]}
    results = {
        "started": "2026-12-07T05:10:00",
        "seconds": 120.0,
        "machine": {"nproc": 2, "uptime_at_start": "load average: 5.1, 3.2, 2.7",
                    "uptime_at_end": "load average: 6.0, 4.0, 3.0"},
        "config": {"rate": 10.0, "runs": 2, "down_after_ms": [1000], "timeout_s": 10.0},
        "runs": runs,
        "summary": {"1000": summarize(runs[("1000")])},
    }  # fmt: skip
    return results


def test_the_docs_section_has_the_command_the_load_and_one_row_per_setting_and_run():
    lines = section(_results())
    text = "\n".join(lines)
    assert lines[0] == HEADING
    assert "`python -m bench.failover --runs 2 --rate 10 --down-after 1000`" in text
    assert "load average: 5.1, 3.2, 2.7" in text
    assert "| 1 s | 2 | 1.10 s (1.10 s to 1.10 s) | 1.60 s (1.60 s to 1.60 s) | " \
           "3.00 s (2.50 s to 3.50 s) | 20 / 20 / 40 (200) | 250 / 250 / 500 (200) | " \
           "25 / 25 / 50 (200) | timeout: 1 | held |" in text  # fmt: skip
    assert sum(line.startswith("| 1 s | ") for line in lines) == 3  # summary row and two runs
    assert "**Held.**" in text


def test_write_docs_replaces_only_its_section_and_make_bench_renders_it_from_the_saved_file(
    tmp_path, monkeypatch
):
    doc, saved = tmp_path / "benchmarks.md", tmp_path / "benchmarks" / "failover.json"
    monkeypatch.setattr(failover_docs, "DOC", doc)
    monkeypatch.setattr(failover_docs, "RESULTS", saved)
    assert failover_docs.saved_section() == []
    doc.write_text("# Benchmarks\n\n## 10. Open loop\n\nten\n\n## Latency over time\n\nend\n")
    failover_docs.write_docs(_results())
    failover_docs.write_docs(_results())  # again: replaced, not added
    text = doc.read_text()
    assert text.count(HEADING) == 1
    assert text.index("ten") < text.index(HEADING) < text.index("## Latency over time")
    assert text.endswith("## Latency over time\n\nend\n")
    assert failover_docs.saved_section()[1:] == section(_results())


def test_percentiles_never_exceed_the_slowest_scan():
    # The HDR histogram reports the top of a value's bucket (3 digits): 834.2 ms reads as 834.3.
    stats = percentiles([10.0] * 5 + [834.2])
    assert stats == {"p50_ms": pytest.approx(10.0, rel=0.001), "p99_ms": 834.2, "max_ms": 834.2}
    assert percentiles([]) == {"p50_ms": None, "p99_ms": None, "max_ms": None}
