"""The benchmark's pure parts: percentiles, per-run summaries, medians over runs, the closed loop."""

import asyncio
import itertools
import math

import pytest

from bench.load import aggregate, closed_loop, percentile, summarize
from chaos.api import Record


def _record(seq: int, ms: float, status: int | None = 201, reason: str | None = "checked_in"):
    return Record(seq=seq, op="check_in", method="POST", path="/", t_start=0.0,
                  t_end=ms / 1000, status=status, reason=reason)  # fmt: skip


def test_percentile_inclusive_and_edges():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))


def test_summary_counts_answers_and_ignores_unanswered_latency():
    records = [_record(i, 10.0) for i in range(3)]
    records += [_record(3, 5000.0, status=None, reason=None), _record(4, 20.0, 409, "session_full")]
    sample = summarize(records, seconds=2.0)
    assert sample.n == 5
    assert sample.rps == 2.0  # 4 answered in 2 s; the lost one is not throughput
    assert sample.max_ms == pytest.approx(20.0)  # the 5 s "no answer" is not a latency
    assert sample.answers == {"201 checked_in": 3, "no answer": 1, "409 session_full": 1}


def test_aggregate_gives_median_and_spread_over_runs():
    samples = [summarize([_record(0, ms)], seconds=1.0) for ms in (10.0, 30.0, 20.0)]
    agg = aggregate(samples)
    assert agg["runs"] == 3
    assert agg["p50_ms"] == {"median": 20.0, "min": 10.0, "max": 30.0}
    assert agg["answers"] == {"201 checked_in": 3}


def test_closed_loop_keeps_the_concurrency_and_stops_at_the_count():
    in_flight, peak, ticks = 0, 0, itertools.count()

    async def request(index: int) -> Record:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        return _record(index, 1.0)

    records, _ = asyncio.run(
        closed_loop(request, clock=lambda: next(ticks) * 0.0, concurrency=4, count=10)
    )
    assert sorted(r.seq for r in records) == list(range(10))
    assert peak == 4
    with pytest.raises(ValueError, match="request count or a duration"):
        asyncio.run(closed_loop(request, clock=lambda: 0.0, concurrency=1))
