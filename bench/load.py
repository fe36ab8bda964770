"""Closed-loop load with a fixed number of concurrent clients; statistics over the answers."""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chaos.api import Record

# One request: given a running index, send it and return its Record.
Request = Callable[[int], Awaitable[Record]]


@dataclass
class Sample:
    """One measured run: how many requests, how long, how fast, what they answered."""

    n: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    answers: dict[str, int]

    def as_dict(self) -> dict:
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (inclusive method); NaN for no values."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summarize(records: list[Record], seconds: float) -> Sample:
    answered = [r for r in records if r.answered]
    latencies = [r.latency_ms for r in answered]
    answers = Counter(
        f"{r.status} {r.reason}" if r.reason else str(r.status) if r.answered else "no answer"
        for r in records
    )
    return Sample(
        n=len(records),
        seconds=seconds,
        rps=len(answered) / seconds if seconds > 0 else 0.0,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies, default=float("nan")),
        answers=dict(answers),
    )


async def closed_loop(
    request: Request,
    *,
    clock: Callable[[], float],
    concurrency: int,
    count: int | None = None,
    seconds: float | None = None,
) -> tuple[list[Record], float]:
    """Run ``concurrency`` clients back to back until ``count`` requests or ``seconds`` pass.

    Return the records and the elapsed seconds. Both limits bound the loop; at least one is given.
    """
    if count is None and seconds is None:
        raise ValueError("give a request count or a duration")
    started = clock()
    deadline = started + (seconds if seconds is not None else 600.0)
    limit = count if count is not None else 1_000_000
    issued = 0
    records: list[Record] = []

    async def client() -> None:
        nonlocal issued
        while issued < limit and clock() < deadline:
            index = issued
            issued += 1
            records.append(await request(index))

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return records, clock() - started


def aggregate(samples: list[Sample]) -> dict:
    """Return median and spread (min..max) over runs for rps, p50 and p99."""
    out: dict = {"runs": len(samples)}
    for key in ("rps", "p50_ms", "p99_ms"):
        values = [getattr(s, key) for s in samples]
        out[key] = {
            "median": round(statistics.median(values), 2),
            "min": round(min(values), 2),
            "max": round(max(values), 2),
        }
    answers: Counter = Counter()
    for s in samples:
        answers.update(s.answers)
    out["answers"] = dict(answers)
    out["samples"] = [s.as_dict() for s in samples]
    return out
