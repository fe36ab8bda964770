"""An open-loop door benchmark: ``python -m bench.open_loop [--rates 5,10,15,...] [--seconds 20]``.

Doors do not wait for each other: people arrive at a rate. Scans arrive here as a Poisson process
at fixed offered rates (a ladder), each rate for ``--seconds``, spread over 20 doors (each its own
Poisson stream at a twentieth of the rate) and 10 sessions, one hot session taking a third of the
scans. Each scan is sent at its *intended* time by a pool of sender threads sized so that it never
waits for answers (``rate x timeout x 1.5`` threads), and its latency is the answer time minus the
intended time: a scan that could not leave on time still counts from when it should have (no
coordinated omission; the references are wrk2 and k6's constant-arrival-rate executor). Latencies
go into an HDR histogram (``hdrhistogram``, 3 significant digits).

The mix, as a door sees it: a scan at the full session (one of the nine others, filled before the
step) is a refusal (``session_full``): 2/3 / 9 = 7.4 % of the scans. At every other session:
75 % admissions (a person not yet in), 10 % duplicates (someone admitted at least a second before:
``already_checked_in``), 8 % check-outs of such a person, 7 % unknown tickets (a participant id
that does not exist: 404). Scans go by participant id: on the stand-in a ticket-code lookup scans
every participant, which would measure that instead of the door path.

Five modes at every rate, in the same run on the same servers (SecantusDB, redis-server, one
gunicorn with 2 threaded workers, config/gunicorn.py): ours with Redis healthy, Redis killed
(SIGKILL for the step), Redis paused (SIGSTOP for the whole step), the raw door protocol
through pymongo with no Django (``bench.admission_designs.door_protocol``, plus the participant
lookup by ``_id`` the API does), and ``raw full``: every MongoDB command ours makes for each
scan, on copies of ours' collections, through pymongo (``bench.raw_protocol``); scans from the
same seeded schedule. Every step starts on emptied check-in and session collections, so no step
pays for an earlier one's history.

Redis paused is an outage that lasts (a Redis that hangs at 3 a.m. hangs for minutes), and its
first moments are another figure: each web worker's first requests wait on the hung Redis for the
socket timeout (0.25 s here) before its breaker opens, and in a short step at a low rate those few
scans are the whole 1 % tail. So Redis stays paused for the whole step, the schedule runs
``TRANSITION_S`` (1 s) longer, and the scans intended in that first second are reported apart
(the ``transition``: count, p50, max, unserved); the step's rates and percentiles are those of the
scans after it, the steady state of the outage. Every mode's step is run the same way: a step
that follows a Redis fault starts while the web workers recover (measured: 2 busy and a 435 ms
scan in the first second of a healthy step right after Redis came back), and a rung must not
read the previous rung's recovery; each first second is still shown in its own columns. (The
transition itself is measured in docs/benchmarks.md section 3: time to fallback, the slowest
check-in after the fault, and back to Redis.)

The ladder (default 5, 10, 15, 20, 30, 40, 50, 60, 80, 100, 120, 160, 200, 240, 320 scans/s) is
climbed in order, each mode until it fails the knee criterion at ``STOP_AFTER_FAILS`` (2) rungs in
a row; healthy always runs the rung at twice its knee so far (part 3 reads it), raw and raw full
stop at their first failure (the knee is then known) or the top; if paused stopped below half
the healthy knee, that rung is run for it at the end. Then healthy and paused run the rung at half the healthy knee
``HALF_KNEE_REPEATS`` (3) more times each, alternated, each pair on a schedule of its own, and
part 4 judges the two modes' steps there pooled (``half_knee_repeats``): one 6 s rung at 40/s is
240 scans, and its p99 is their third slowest. Last, healthy runs its knee's rung and the rung at
twice it ``OVERLOAD_REPEATS`` (3) more times each, alternated, and part 3 judges each rung's
answered scans pooled (``overload_repeats``; the refusals of every step at twice the knee). The
rungs a mode left out are in ``skipped``.

Per rate and mode: offered and achieved rate, p50, p99, p99.9 of every scan (a scan without an
answer counts at the moment the door gave up, ``--timeout``), the p99 of the served scans (a
verdict, not a 503), answers by kind, and the first second (``transition``). The knee: the
highest offered rate whose p99 stays under 300 ms with at most 1 % of the scans unserved; when no
rung above it was run (it passed the top rung) it is a lower bound, printed ``>=<r>/s``, and a
ratio to it an upper bound, ``<=<x>``: never as if the top rung were the knee.

Printed last, in order: the protocol line (``protocol: raw full <r>/s ...; ours/raw full <x>;
raw full/raw <x>``: what the web stack and what the commands the core leaves out cost); the
overload line (issue 28 part 3: at 2x the healthy knee, the answered scans' p99 against the
knee's, each pooled, goal within 2x, and the refusals by kind, goal every one 503 ``busy`` with
``Retry-After``, no timeout; then the pairs' own ratios); the goals line (part 4: ``goals: knee
ours/raw <x> (>= 0.8) <holds|FAILS>; redis down knee <x>x healthy (>= 0.8) <holds|FAILS>; redis
paused p99 at <r>/s (half the healthy knee; <n> and <n> steps pooled, <n> and <n> scans) <ms> vs
healthy <ms> (<x>x, <= 1.5) <holds|FAILS>; step by step <x>-<x>x``, with ``undecided`` when a
bounded knee straddles the goal, and the rung nearest below named when the ladder has none at
exactly half); and the knee line: ``knee: healthy <r>/s, redis down <r>/s, redis paused <r>/s;
raw <r>/s; ours/raw <x>``. ``--quick`` climbs 10, 20, 30, 40, 60, 80 scans/s
for 8 s each. ``--json F`` writes the results (and the chart, ``F`` with ``.png``); ``--docs``
writes them to docs/benchmarks/ and the section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import runpy
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from bson import ObjectId
from hdrh.histogram import HdrHistogram
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError, PyMongoError

from bench import open_loop_docs
from bench.admission_designs import Ctx, door_protocol
from bench.docs import machine_facts
from bench.raw_protocol import PER_STEP, SCANS, RawProtocol, copy_collection
from bench.scale import PARTICIPANTS, participant_doc
from bench.scenarios import SETUP_ATTEMPTS, SETUP_RETRY_MAX_WAIT, SETUP_RETRY_STATUSES
from chaos.mongo import CHECKINS
from chaos.mongo import SESSIONS as SESSIONS_COLLECTION
from devtools.stack import Stack, install_signal_handlers

# The ladder: fine enough to tell 0.8x between neighbouring rungs from 40/s up (40/50, 80/100,
# 100/120), with the rung at half and at twice each likely knee (10-80/s).
# Above 160/s for the raw protocol (it stops at its first failure) and for twice a knee of 100 or
# 120: the raw knee is measured, not bounded, and ours/raw with it.
RATES = (5, 10, 15, 20, 30, 40, 50, 60, 80, 100, 120, 160, 200, 240, 320)
QUICK_RATES = (10, 20, 30, 40, 60, 80)
SECONDS = 20.0
QUICK_SECONDS = 8.0
DOORS = 20
SESSIONS = 10
HOT = 0  # the hot session's index: a third of the scans
FULL = SESSIONS - 1  # the full session's index: every scan there is refused
HOT_SHARE = 1 / 3
MIX = (("admission", 0.75), ("duplicate", 0.10), ("check_out", 0.08), ("unknown", 0.07))
SETTLED_S = 1.0  # a duplicate or check-out picks someone admitted at least this long before
FULL_CAPACITY = 3
KNEE_P99_MS = 300.0
KNEE_UNSERVED = 0.01
STOP_AFTER_FAILS = 2  # a mode stops climbing after failing the knee criterion at this many rungs
TRANSITION_S = 1.0  # paused: the step runs this much longer; its first second is reported apart
KNEE_RATIO_GOAL = 0.8  # issue 28 part 4: healthy >= 0.8x raw, redis down >= 0.8x healthy
PAUSED_P99_GOAL = 1.5  # issue 28 part 4: paused p99 at half the healthy knee <= 1.5x healthy's
# After the ladder, healthy and paused run this many more steps each at half the healthy knee,
# alternated, and part 4 judges their pooled p99s: a 6 s rung at 40/s holds 240 scans, whose p99
# is their third slowest (two make bench runs read 1.27x and 1.61x from single rungs).
HALF_KNEE_REPEATS = 3
# Then healthy runs the knee's rung and the rung at twice it this many more times each,
# alternated, and part 3 judges their answered scans pooled: at 80/s a 6 s rung's p99 is its
# fifth-slowest scan, and the ratio of two such p99s read 0.90x, 1.46x, 1.81x and 2.86x in four
# make bench runs.
OVERLOAD_REPEATS = 3
TIMEOUT_S = 10.0
MODES = ("healthy", "redis down", "redis paused", "raw", "raw full")
RAW_MODES = ("raw", "raw full")  # no web stack: each climbs until its first failure
SERVED = "verdict"  # an answer that decides the scan (2xx/4xx), as opposed to a refusal or error


# --- the schedule -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scan:
    at: float  # intended send time, seconds from the step's start
    door: int
    session: int
    kind: str  # admission | duplicate | full | check_out | unknown
    person: int  # index into the participant pool (-1: unknown)


def poisson_arrivals(rate: float, seconds: float, rng: random.Random) -> list[float]:
    """Arrival times of a Poisson process of ``rate`` per second over ``[0, seconds)``."""
    times, t = [], rng.expovariate(rate)
    while t < seconds:
        times.append(t)
        t += rng.expovariate(rate)
    return times


def _kind(rng: random.Random) -> str:
    x = rng.random()
    for kind, share in MIX:
        if x < share:
            return kind
        x -= share
    return MIX[0][0]


def door_schedule(rate: float, seconds: float, *, seed: int = 0) -> list[Scan]:
    """The scans of one step: ``DOORS`` Poisson streams merged, each scan given a session, a kind
    and a person (admissions get people not yet in; duplicates and check-outs people admitted at
    least ``SETTLED_S`` earlier, else they become admissions)."""
    rng = random.Random(seed)
    arrivals = sorted(
        (t, door) for door in range(DOORS) for t in poisson_arrivals(rate / DOORS, seconds, rng)
    )
    inside: list[list[tuple[float, int]]] = [[] for _ in range(SESSIONS)]
    next_person, scans = 0, []
    for at, door in arrivals:
        session = HOT if rng.random() < HOT_SHARE else rng.randrange(1, SESSIONS)
        kind = "full" if session == FULL else _kind(rng)
        settled = [i for i, (t, _) in enumerate(inside[session]) if t <= at - SETTLED_S]
        if kind in {"duplicate", "check_out"} and not settled:
            kind = "admission"
        if kind in {"admission", "full"}:
            person, next_person = next_person, next_person + 1
            if kind == "admission":
                inside[session].append((at, person))
        elif kind == "unknown":
            person = -1
        else:
            chosen = rng.choice(settled)
            person = inside[session][chosen][1]
            if kind == "check_out":
                inside[session].pop(chosen)
        scans.append(Scan(at, door, session, kind, person))
    return scans


def people_needed(scans: list[Scan]) -> int:
    return max((s.person for s in scans), default=-1) + 1


def people_for(steps, seconds: float) -> int:
    """The participants enough for every step to be run, each ``(rate, seed)``: the schedule
    ``run_step`` sends (``seconds`` plus its first ``TRANSITION_S``)."""
    return max(
        people_needed(door_schedule(rate, seconds + TRANSITION_S, seed=seed))
        for rate, seed in steps
    )


# --- measuring ----------------------------------------------------------------------------------
class LatencyHistogram:
    """An HDR histogram of latencies in milliseconds (kept in microseconds, 3 digits)."""

    def __init__(self, highest_ms: float = 120_000.0):
        self._h = HdrHistogram(1, int(highest_ms * 1000), 3)

    def record(self, ms: float) -> None:
        self._h.record_value(max(1, round(ms * 1000)))

    @property
    def count(self) -> int:
        return self._h.get_total_count()

    def percentile(self, p: float) -> float | None:
        return self._h.get_value_at_percentile(p) / 1000 if self.count else None


def latency_ms(intended: float, answered: float) -> float:
    """A scan's latency: from when it should have been sent, whenever it actually left."""
    return (answered - intended) * 1000


def classify(status: int, reason: str | None, retry_after: str | None) -> str:
    """Name an answer: a verdict, or which kind of refusal or error."""
    if status == 503 and reason == "busy":
        return "503 busy, Retry-After" if retry_after else "503 busy, no Retry-After"
    if status == 503:
        return f"503 {reason or 'other'}"
    if status >= 500:
        return f"{status}"
    return SERVED


@dataclass
class Outcome:
    scan: Scan
    kind: str  # SERVED, a refusal kind (classify) or "timeout" / "error"
    answer: str  # "201 checked_in", "409 session_full", "timeout", ...
    latency_ms: float


def run_schedule(
    scans: list[Scan], send: Callable[[Scan], tuple[str, str]], *, threads: int
) -> tuple[list[Outcome], float]:
    """Send every scan at its intended time from a pool of ``threads``; wait for every answer.

    ``send`` returns (kind, answer). Returns the outcomes and the seconds from the start to the
    last answer.
    """
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    start = time.monotonic()

    def one(scan: Scan) -> None:
        kind, answer = send(scan)
        outcome = Outcome(scan, kind, answer, latency_ms(start + scan.at, time.monotonic()))
        with lock:
            outcomes.append(outcome)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="door") as pool:
        for scan in scans:
            delay = start + scan.at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, scan)
    return outcomes, time.monotonic() - start


def split_at(outcomes: list[Outcome], lead: float) -> tuple[list[Outcome], list[Outcome]]:
    """The outcomes of the scans intended before ``lead`` seconds, and those of the rest."""
    return [o for o in outcomes if o.scan.at < lead], [o for o in outcomes if o.scan.at >= lead]


def transition(outcomes: list[Outcome]) -> dict:
    """The first second's scans: how many, their p50 and max latency, how many unserved."""
    hist = LatencyHistogram()
    for o in outcomes:
        hist.record(o.latency_ms)
    return {
        "scans": len(outcomes),
        "p50_ms": hist.percentile(50),
        "max_ms": hist.percentile(100),
        "unserved": sum(o.kind != SERVED for o in outcomes),
    }


def step_result(
    rate: float, seconds: float, outcomes: list[Outcome], elapsed: float, *, lead: float = 0.0
) -> dict:
    """One rung of the ladder: rates, percentiles of every scan and of the served ones, answers.

    ``lead`` > 0 (Redis paused): the schedule ran ``lead`` seconds before its ``seconds``; the
    scans intended then are the ``transition`` and left out of everything else (the rest is the
    steady state of the outage). ``lead`` 0: ``transition`` is the step's own first
    ``TRANSITION_S`` seconds, counted in the percentiles too (to show there was no transition).
    """
    first, rest = split_at(outcomes, lead or TRANSITION_S)
    if lead:
        outcomes = rest
    every, served = LatencyHistogram(), LatencyHistogram()
    for o in outcomes:
        every.record(o.latency_ms)
        if o.kind == SERVED:
            served.record(o.latency_ms)
    kinds = Counter(o.kind for o in outcomes)
    unserved = len(outcomes) - kinds[SERVED]
    return {
        "offered": rate,
        "scans": len(outcomes),
        "sent_rate": len(outcomes) / seconds,
        "achieved": kinds[SERVED] / max(elapsed - lead, seconds),
        "transition": transition(first),
        "transition_excluded": bool(lead),
        "p50_ms": every.percentile(50),
        "p99_ms": every.percentile(99),
        "p999_ms": every.percentile(99.9),
        "served_p99_ms": served.percentile(99),
        "unserved": unserved,
        "errors": {k: n for k, n in sorted(kinds.items()) if k != SERVED},
        "answers": dict(sorted(Counter(o.answer for o in outcomes).items())),
    }


def steady_latencies(outcomes: list[Outcome], lead: float) -> list[float]:
    """The latencies a step's percentiles are taken from: every scan's, or with ``lead`` (a
    transition left out) those of the scans intended after it."""
    return [o.latency_ms for o in (split_at(outcomes, lead)[1] if lead else outcomes)]


def served_latencies(outcomes: list[Outcome], lead: float) -> list[float]:
    """Of those, the answered scans' (a verdict, not a refusal): the served p99's sample."""
    return [
        o.latency_ms
        for o in (split_at(outcomes, lead)[1] if lead else outcomes)
        if o.kind == SERVED
    ]


def pooled(latencies: list[list[float]]) -> dict:
    """Several steps' latencies as one sample: its p99 and size, and each step's p99."""
    every = LatencyHistogram()
    per_step = []
    for step in latencies:
        one = LatencyHistogram()
        for ms in step:
            every.record(ms)
            one.record(ms)
        per_step.append(one.percentile(99))
    return {"p99_ms": every.percentile(99), "scans": every.count, "step_p99_ms": per_step}


def under_knee(step: dict) -> bool:
    p99 = step["p99_ms"]
    return (
        p99 is not None
        and p99 < KNEE_P99_MS
        and step["unserved"] <= KNEE_UNSERVED * max(step["scans"], 1)
    )


def knee(steps: list[dict]) -> float | None:
    """The highest offered rate whose p99 stays under 300 ms (and ≤ 1 % unserved); None if none."""
    good = [s["offered"] for s in steps if under_knee(s)]
    return max(good) if good else None


def knee_bound(steps: list[dict], lowest: float) -> dict:
    """The knee and what it is: ``=`` (a rung above it was run and failed), ``>=`` (nothing above
    it was run: it passed at the top of the ladder, or stopped there), ``<`` (not even ``lowest``
    passed; ``rate`` is then ``lowest``)."""
    k = knee(steps)
    if k is None:
        return {"rate": lowest, "bound": "<"}
    return {"rate": k, "bound": ">=" if k >= max(s["offered"] for s in steps) else "="}


def _interval(bound: dict) -> tuple[float, float]:
    rate = bound["rate"]
    return {"=": (rate, rate), ">=": (rate, math.inf), "<": (0.0, rate)}[bound["bound"]]


def ratio_interval(a: dict, b: dict) -> tuple[float, float]:
    """What ``a``'s knee over ``b``'s can be, given their bounds: (lowest, highest)."""
    (a_lo, a_hi), (b_lo, b_hi) = _interval(a), _interval(b)
    return (a_lo / b_hi if b_hi else math.inf), (a_hi / b_lo if b_lo else math.inf)


def ratio_text(interval: tuple[float, float]) -> str:
    """``0.50`` when known, ``<=0.50`` / ``>=1.25`` when only bounded, ``n/a`` when unbounded."""
    lo, hi = interval
    if lo == hi:
        return f"{lo:.2f}"
    if hi == math.inf:
        return "n/a" if lo == 0 else f">={lo:.2f}"
    return f"<={hi:.2f}"


def verdict(interval: tuple[float, float], goal: float) -> str:
    """``holds`` when even the lowest ratio reaches ``goal``, ``FAILS`` when even the highest
    does not, ``undecided`` when the bounds straddle it."""
    lo, hi = interval
    if lo >= goal:
        return "holds"
    return "FAILS" if hi < goal else "undecided"


def _rate(value: float | None, lowest: float, bound: str = "=") -> str:
    if value is None or bound == "<":
        return f"<{lowest:g}/s"
    return f"{'>=' if bound == '>=' else ''}{value:g}/s"


def summary_line(
    knees: dict[str, float | None], lowest: float, bounds: dict[str, dict] | None = None
) -> str:
    """``knee: healthy <r>/s, redis down <r>/s, redis paused <r>/s; raw <r>/s; ours/raw <x>``;
    a knee with nothing above it run reads ``>=<r>/s``, and a ratio so bounded ``<=<x>``."""
    if bounds is None:
        bounds = {
            m: {"rate": lowest, "bound": "<"} if k is None else {"rate": k, "bound": "="}
            for m, k in knees.items()
        }

    def r(mode: str) -> str:
        return _rate(knees[mode], lowest, bounds[mode]["bound"])

    ours, raw = knees["healthy"], knees["raw"]
    ratio = ratio_text(ratio_interval(bounds["healthy"], bounds["raw"])) if ours and raw else "n/a"
    return (
        f"knee: healthy {r('healthy')}, redis down {r('redis down')}, "
        f"redis paused {r('redis paused')}; raw {r('raw')}; ours/raw {ratio}"
    )


def protocol_line(bounds: dict[str, dict], lowest: float) -> str:
    """``protocol: raw full <r>/s (ours' MongoDB commands through pymongo); ours/raw full <x>;
    raw full/raw <x>``: how much of the gap between ours and raw the commands the core leaves
    out account for, and how much the rest of the stack does (``bench.raw_protocol``)."""
    full = bounds.get("raw full")
    if full is None:
        return "protocol: raw full not run"

    def ratio(a: str, b: str) -> str:
        if bounds[a]["bound"] == "<" or bounds[b]["bound"] == "<":
            return "n/a"
        return ratio_text(ratio_interval(bounds[a], bounds[b]))

    return (
        f"protocol: raw full {_rate(full['rate'], lowest, full['bound'])} (ours' MongoDB "
        f"commands through pymongo); ours/raw full {ratio('healthy', 'raw full')}; "
        f"raw full/raw {ratio('raw full', 'raw')}"
    )


# --- climbing the ladder ------------------------------------------------------------------------
def keeps_climbing(mode: str, own: list[dict], rate: float, healthy: list[dict]) -> bool:
    """Whether ``mode`` runs the rung at ``rate``, given its own steps so far and healthy's.

    Raw and raw full climb until they fail once (then the knee is known) or the top. The others
    stop after failing the knee criterion at ``STOP_AFTER_FAILS`` rungs in a row, except that
    healthy always runs the rung at twice its knee so far (issue 28 part 3 reads it)."""
    if mode in RAW_MODES:
        return all(under_knee(s) for s in own)
    if mode == "healthy":
        k = knee(healthy)
        if k is not None and rate == 2 * k:
            return True
    recent = own[-STOP_AFTER_FAILS:]
    return len(recent) < STOP_AFTER_FAILS or any(under_knee(s) for s in recent)


def half_knee_rate(rates, healthy_knee: float | None) -> float | None:
    """The rung at half the healthy knee, else the nearest below it; None if there is none."""
    if healthy_knee is None:
        return None
    below = [r for r in rates if r <= healthy_knee / 2]
    return max(below) if below else None


# --- the goals of issue 28 part 4 ---------------------------------------------------------------
def goals(steps: dict[str, list[dict]], bounds: dict[str, dict], half: dict | None = None) -> dict:
    """Part 4's open-loop goals: healthy's knee >= 0.8x raw's; redis down's >= 0.8x healthy's;
    with Redis paused, the p99 at half the healthy knee (its steady state, after the transition)
    <= 1.5x healthy's p99 at that rung. ``half``: that rung's steps pooled per mode (``pooled``,
    keyed by mode, and ``rate``), judged instead of the table's single rungs when it is that
    rung's."""
    ours_raw = ratio_interval(bounds["healthy"], bounds["raw"])
    down = ratio_interval(bounds["redis down"], bounds["healthy"])
    healthy_knee = knee(steps["healthy"])
    both = {s["offered"] for s in steps["healthy"]} & {s["offered"] for s in steps["redis paused"]}
    rung = half_knee_rate(both, healthy_knee)
    paused = {"half": None if healthy_knee is None else healthy_knee / 2, "rate": rung}
    if rung is not None:
        if half is not None and half["rate"] == rung:
            p, h = half["redis paused"]["p99_ms"], half["healthy"]["p99_ms"]
            paused["pooled"] = {
                m: {k: half[m][k] for k in ("scans", "step_p99_ms")}
                for m in ("healthy", "redis paused")
            }
        else:
            p = next(s for s in steps["redis paused"] if s["offered"] == rung)["p99_ms"]
            h = next(s for s in steps["healthy"] if s["offered"] == rung)["p99_ms"]
        ratio = p / h if p is not None and h else None
        paused |= {
            "paused_p99_ms": p,
            "healthy_p99_ms": h,
            "ratio": ratio,
            "verdict": "not judged"
            if ratio is None
            else ("holds" if ratio <= PAUSED_P99_GOAL else "FAILS"),
        }
    else:
        paused["verdict"] = "not judged"
    return {
        "ours_raw": {"interval": ours_raw, "verdict": verdict(ours_raw, KNEE_RATIO_GOAL)},
        "down_healthy": {"interval": down, "verdict": verdict(down, KNEE_RATIO_GOAL)},
        "paused": paused,
    }


def goals_line(g: dict) -> str:
    """``goals: knee ours/raw <x> (>= 0.8) <holds|FAILS>; redis down knee <x>x healthy (>= 0.8)
    <holds|FAILS>; redis paused p99 at <r>/s (half the healthy knee) <ms> vs healthy <ms> (<x>x,
    <= 1.5) <holds|FAILS>`` (``undecided`` / ``not judged`` when the ladder cannot tell); with the
    steps there pooled, how many of each and their scans, and the range of the pairs' ratios."""
    o, d, p = g["ours_raw"], g["down_healthy"], g["paused"]
    head = (
        f"goals: knee ours/raw {ratio_text(o['interval'])} (>= {KNEE_RATIO_GOAL:g}) "
        f"{o['verdict']}; redis down knee {ratio_text(d['interval'])}x healthy "
        f"(>= {KNEE_RATIO_GOAL:g}) {d['verdict']}; "
    )
    if p["half"] is None:
        return head + "redis paused p99: no healthy knee on this ladder, not judged"
    if p["rate"] is None:
        return head + (
            f"redis paused p99: no rung at or below half the healthy knee ({p['half']:g}/s), "
            "not judged"
        )
    which = (
        "half the healthy knee"
        if p["rate"] == p["half"]
        else f"the rung nearest below half the healthy knee, {p['half']:g}/s"
    )
    ratio = "-" if p["ratio"] is None else f"{p['ratio']:.2f}x"
    pool = p.get("pooled")
    if pool:
        h, q = pool["healthy"], pool["redis paused"]
        which += (
            f"; {len(h['step_p99_ms'])} and {len(q['step_p99_ms'])} steps pooled, "
            f"{h['scans']} and {q['scans']} scans"
        )
    line = head + (
        f"redis paused p99 at {p['rate']:g}/s ({which}) {_ms(p['paused_p99_ms'])} vs healthy "
        f"{_ms(p['healthy_p99_ms'])} ({ratio}, <= {PAUSED_P99_GOAL:g}) {p['verdict']}"
    )
    if pool:
        pairs = zip(
            pool["healthy"]["step_p99_ms"], pool["redis paused"]["step_p99_ms"], strict=True
        )
        ratios = [paused / healthy for healthy, paused in pairs if healthy and paused is not None]
        if ratios:
            line += f"; step by step {min(ratios):.2f}-{max(ratios):.2f}x"
    return line


OVERLOAD_P99_RATIO = 2.0  # at 2x the knee, the answered scans' p99 within 2x the knee's
BUSY = "503 busy, Retry-After"


def overload(steps: list[dict], knee_rate: float | None, again: dict | None = None) -> dict | None:
    """At 2x the knee: the served scans' p99 against the knee's, and whether every refusal was
    ``busy`` with ``Retry-After`` (a timeout, an error or any other 503 is not). ``holds``: both
    (issue 28, part 3). None when the ladder has no rung at 2x the knee.

    ``again``: the two rungs run again after the ladder (``knee`` and ``over``: each rung's
    answered latencies pooled, ``pooled``, the ladder's step and the repeats; ``steps``: the
    repeats' results). When it is for this knee, the p99s are the pooled ones and the refusals
    those of every step at 2x the knee."""
    if knee_rate is None:
        return None
    at_knee = next(s for s in steps if s["offered"] == knee_rate)
    above = next((s for s in steps if s["offered"] == 2 * knee_rate), None)
    if above is None:
        return None
    refusals = Counter(above["errors"])
    served, knee_served = above["served_p99_ms"], at_knee["served_p99_ms"]
    pooled_view = None
    if again is not None and again.get("rate") == knee_rate:
        for s in again["steps"]:
            if s["offered"] == above["offered"]:
                refusals.update(s["errors"])
        served, knee_served = again["over"]["p99_ms"], again["knee"]["p99_ms"]
        pairs = zip(again["knee"]["step_p99_ms"], again["over"]["step_p99_ms"], strict=True)
        step_ratios = [o / k for k, o in pairs if k and o is not None]
        pooled_view = {
            "steps": len(again["over"]["step_p99_ms"]),
            "scans": {"knee": again["knee"]["scans"], "over": again["over"]["scans"]},
            "step_ratios": [min(step_ratios), max(step_ratios)] if step_ratios else None,
        }
    ratio = served / knee_served if served and knee_served else None
    all_busy = set(refusals) <= {BUSY}
    return {
        "rate": above["offered"],
        "served_p99_ms": served,
        "knee_served_p99_ms": knee_served,
        "ratio": ratio,
        "refusals": dict(sorted(refusals.items())),
        "all_busy_retry_after": all_busy,
        "pooled": pooled_view,
        "holds": ratio is not None and ratio <= OVERLOAD_P99_RATIO and all_busy,
    }


def _refusals(errors: dict) -> str:
    return ", ".join(f"{k} {n}" for k, n in errors.items()) or "none"


def overload_line(over: dict | None, knee_rate: float | None, top: dict | None = None) -> str:
    """One line: at 2x the healthy knee, the answered p99 against the knee's, the refusals by
    kind, and whether both goals hold. Without such a rung, what the top rung (``top``) got."""
    if over is None:
        missing = (
            "no healthy knee on this ladder"
            if knee_rate is None
            else f"no rung at 2x the healthy knee ({2 * knee_rate:g}/s)"
        )
        seen = (
            f"; at the top rung, {top['offered']:g}/s: answered p99 "
            f"{_ms(top['served_p99_ms'])}, refusals: {_refusals(top['errors'])}"
            if top
            else ""
        )
        return f"overload: {missing}, nothing to judge{seen}"
    ratio = f"{over['ratio']:.2f}x" if over["ratio"] is not None else "n/a"
    refusals = _refusals(over["refusals"])
    pool = over.get("pooled")
    where = "2x the healthy knee"
    spread = ""
    if pool:
        where += (
            f"; {pool['steps']} and {pool['steps']} steps pooled, {pool['scans']['over']} and "
            f"{pool['scans']['knee']} answered scans"
        )
        if pool["step_ratios"]:
            spread = f"; step by step {pool['step_ratios'][0]:.2f}-{pool['step_ratios'][1]:.2f}x"
    return (
        f"overload: at {over['rate']:g}/s ({where}) answered p99 "
        f"{_ms(over['served_p99_ms'])} vs {_ms(over['knee_served_p99_ms'])} at the knee "
        f"({ratio}, goal <= {OVERLOAD_P99_RATIO:g}x); refusals: {refusals}; "
        f"{'holds' if over['holds'] else 'FAILS'}{spread}"
    )


# --- the two senders ----------------------------------------------------------------------------
def http_sender(base_url: str, token: str, sessions: list[str], people: list[str], timeout: float):
    """A ``send`` for ours: one POST per scan on a fresh connection (gunicorn keeps none alive)."""
    parts = urlsplit(base_url)
    headers = {
        "Authorization": f"Token {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }

    def send(scan: Scan) -> tuple[str, str]:
        action = "check-out" if scan.kind == "check_out" else "check-in"
        participant = people[scan.person] if scan.person >= 0 else uuid.uuid4().hex[:24]
        body = json.dumps({"participant": participant, "nonce": uuid.uuid4().hex})
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            conn.request("POST", f"/api/sessions/{sessions[scan.session]}/{action}/", body, headers)
            response = conn.getresponse()
            data = response.read()
        except TimeoutError:
            return "timeout", "timeout"
        except (OSError, http.client.HTTPException) as exc:
            return "error", type(exc).__name__
        finally:
            conn.close()
        try:
            reason = json.loads(data).get("reason")
        except (ValueError, AttributeError):
            reason = None
        kind = classify(response.status, reason, response.getheader("Retry-After"))
        return kind, f"{response.status} {reason}"

    return send


def raw_sender(db, sessions: list, people: list, capacities: list[int]):
    """A ``send`` for the raw door protocol through pymongo: the participant by ``_id``, then
    ``door_protocol`` (claim, increment, admit) or a check-out (record out, count down)."""

    def send(scan: Scan) -> tuple[str, str]:
        try:
            pid = people[scan.person] if scan.person >= 0 else ObjectId()
            if db.participants.find_one({"_id": pid}, {"_id": 1}) is None:
                return SERVED, "404 participant_not_found"
            session = sessions[scan.session]
            if scan.kind == "check_out":
                done = db.records.update_one(
                    {"session": session, "participant": pid, "state": "inside"},
                    {"$set": {"state": "out"}},
                ).modified_count
                if done:
                    db.sessions.update_one({"_id": session}, {"$inc": {"check_in_count": -1}})
                return SERVED, "200 checked_out" if done else "200 not_checked_in"
            ctx = Ctx(db, db.client, session, capacities[scan.session])
            record = {"session": session, "participant": pid, "at": time.time()}
            took = door_protocol(ctx, pid, record)
            return SERVED, "201 checked_in" if took else "409 session_full"
        except DuplicateKeyError:
            return SERVED, "200 already_checked_in"
        except PyMongoError as exc:
            return "error", type(exc).__name__

    return send


def raw_full_sender(protocol: RawProtocol, people: list):
    """A ``send`` for raw full: the scan's commands as ours makes them (``bench.raw_protocol``)."""

    def send(scan: Scan) -> tuple[str, str]:
        pid = people[scan.person] if scan.person >= 0 else ObjectId()
        try:
            return SERVED, protocol.scan(scan.kind, scan.session, pid)
        except PyMongoError as exc:
            return "error", type(exc).__name__

    return send


def pool_size(rate: float, timeout: float) -> int:
    """Threads enough that a scan never waits for a sender: everything in flight plus bursts."""
    return min(2000, math.ceil(rate * timeout * 1.5) + 32)


# --- the stack ----------------------------------------------------------------------------------
class Bed:
    """The servers, the participants, and the set-up of each step (ours and raw)."""

    def __init__(self, stack, people: int):
        self.stack = stack
        self.web = stack.webs["ours"]
        self.api = httpx.Client(
            base_url=self.web.url, headers={"Authorization": f"Token {stack.token}"}, timeout=30
        )
        self.mongo = MongoClient(stack.mongo.uri, maxPoolSize=400)
        self.ours_db = self.mongo[stack.db_name]
        self.raw_db = self.mongo["open_loop_raw"]
        self.raw_full_db = self.mongo["open_loop_raw_full"]
        docs = [participant_doc() for _ in range(people + FULL_CAPACITY)]
        self.ours_db[PARTICIPANTS].insert_many(docs, ordered=False)
        self.raw_db.participants.insert_many(
            [{"_id": d["_id"], "full_name": d["full_name"]} for d in docs], ordered=False
        )
        self.ids = [d["_id"] for d in docs]
        self.fillers = [str(i) for i in self.ids[-FULL_CAPACITY:]]
        self.people = [str(i) for i in self.ids[:-FULL_CAPACITY]]

    def close(self) -> None:
        self.api.close()
        self.mongo.close()

    # ours
    def ours_sessions(self) -> list[str]:
        self.ours_db[CHECKINS].delete_many({})
        self.ours_db[SESSIONS_COLLECTION].delete_many({})
        now = datetime.now(UTC)
        ids = []
        for i in range(SESSIONS):
            created = self._setup_post(
                "/api/sessions/",
                {
                    "title": f"open loop {i} {uuid.uuid4().hex[:4]}",
                    "capacity": FULL_CAPACITY if i == FULL else 100_000,
                    "status": "open",
                    "starts_at": (now - timedelta(hours=1)).isoformat(),
                    "ends_at": (now + timedelta(days=1)).isoformat(),
                    "location": "bench",
                },
            )
            ids.append(str(created.json()["id"]))
        for person in self.fillers:
            self._setup_post(
                f"/api/sessions/{ids[FULL]}/check-in/",
                {"participant": person, "nonce": uuid.uuid4().hex},
            )
        return ids

    def _setup_post(self, path: str, body: dict) -> httpx.Response:
        """POST a set-up request; a 503 (busy, database_unavailable: the server may still be
        working off the previous step's overload) or 429 is sent again after its Retry-After, as
        every set-up request of make bench (bench.scenarios.setup_send); then, or on any other
        error, raise."""
        for attempt in range(1, SETUP_ATTEMPTS + 1):
            answer = self.api.post(path, json=body)
            if answer.status_code not in SETUP_RETRY_STATUSES or attempt == SETUP_ATTEMPTS:
                break
            time.sleep(min(float(answer.headers.get("Retry-After") or 1), SETUP_RETRY_MAX_WAIT))
        answer.raise_for_status()
        return answer

    def redis_backed(self, *, timeout: float = 30.0) -> None:
        """Wait until /health says Redis is connected 8 times in a row."""
        started, streak = time.monotonic(), 0
        while streak < 8:
            if time.monotonic() - started > timeout:
                raise TimeoutError("Redis not back in /health")
            try:
                body = self.api.get("/health").json()
                section = body.get("redis")
                ok = section.get("status") == "connected" if isinstance(section, dict) else False
            except (ValueError, AttributeError, OSError):
                ok = False
            streak = streak + 1 if ok else 0
            time.sleep(0.1)

    # raw full: ours' collections copied as the step starts (the participants once)
    def raw_full_protocol(self) -> RawProtocol:
        sessions = [ObjectId(s) for s in self.ours_sessions()]
        if PARTICIPANTS not in self.raw_full_db.list_collection_names():
            copy_collection(self.ours_db, self.raw_full_db, PARTICIPANTS)
        for name in PER_STEP:  # the scan log: this step's entries (ours' keeps every step's)
            where = {"session_id": {"$in": sessions}} if name == SCANS else None
            copy_collection(self.ours_db, self.raw_full_db, name, where)
        return RawProtocol(self.raw_full_db, sessions)

    # raw
    def raw_sessions(self) -> tuple[list, list[int]]:
        db = self.raw_db
        db.drop_collection("sessions")
        db.drop_collection("records")
        db.create_collection("records")
        db.records.create_index([("session", 1), ("participant", 1)], unique=True)
        capacities = [FULL_CAPACITY if i == FULL else 100_000 for i in range(SESSIONS)]
        docs = [
            {
                "status": "open",
                "capacity": c,
                "check_in_count": c if i == FULL else 0,
                "epoch": 0,
                "deleting": False,
            }
            for i, c in enumerate(capacities)
        ]
        ids = db.sessions.insert_many(docs).inserted_ids
        return list(ids), capacities


def run_step(bed: Bed, mode: str, rate: float, seconds: float, *, timeout: float, seed: int):
    """One rung for one mode: its result, and the latencies of its steady state (every scan's,
    the answered scans'). The schedule runs ``TRANSITION_S`` longer; the scans of that first
    second are the step's ``transition`` (Redis paused: each worker's wait on the hung Redis;
    after a fault step: the recovery), its percentiles the rest's (the steady state)."""
    lead = TRANSITION_S
    scans = door_schedule(rate, seconds + lead, seed=seed)
    threads = pool_size(rate, timeout)
    redis = bed.stack.redis
    if mode == "raw":
        sessions, capacities = bed.raw_sessions()
        send = raw_sender(bed.raw_db, sessions, bed.ids[:-FULL_CAPACITY], capacities)
    elif mode == "raw full":
        send = raw_full_sender(bed.raw_full_protocol(), bed.ids[:-FULL_CAPACITY])
    else:
        sessions = bed.ours_sessions()  # before the fault: no set-up request trips a breaker
        send = http_sender(bed.web.url, bed.stack.token, sessions, bed.people, timeout)
    if mode == "redis down":
        redis.kill()
    elif mode == "redis paused":
        redis.pause()
    try:
        outcomes, elapsed = run_schedule(scans, send, threads=threads)
    finally:
        if mode == "redis paused":
            redis.resume()
        elif mode == "redis down":
            redis.start()
    if mode in {"redis down", "redis paused"}:
        bed.redis_backed()
    return (
        step_result(rate, seconds, outcomes, elapsed, lead=lead),
        steady_latencies(outcomes, lead),
        served_latencies(outcomes, lead),
    )


def half_knee_again(step, rates, steps, skipped, *, repeats, latencies) -> dict | None:
    """Part 4's rung (half the healthy knee): run for paused if it stopped below it, then again
    ``HALF_KNEE_REPEATS`` times, healthy and paused alternated on the same schedules (part 4's
    ratio from a thousand scans a side, not from one rung's few slowest); the pooled latencies."""
    rung = half_knee_rate(rates, knee(steps["healthy"]))
    if rung is None:
        return None
    if rung in skipped["redis paused"]:
        skipped["redis paused"].remove(rung)
        step("redis paused", list(rates).index(rung), rung)
    for j in range(HALF_KNEE_REPEATS):
        pair = ("redis paused", "healthy") if j % 2 == 0 else ("healthy", "redis paused")
        for mode in pair:
            step(mode, len(rates) + j, rung, into=repeats[mode])
    return {"rate": rung} | {m: pooled(latencies[(m, rung)]) for m in ("healthy", "redis paused")}


def overload_again(step, rates, healthy: list[dict], into: list, served) -> dict | None:
    """Part 3's rungs (the healthy knee and twice it) again ``OVERLOAD_REPEATS`` times each,
    alternated; each rung's answered latencies pooled (the ladder's step and the repeats)."""
    k = knee(healthy)
    if k is None or not any(s["offered"] == 2 * k for s in healthy):
        return None
    for j in range(OVERLOAD_REPEATS):
        for rate in (k, 2 * k) if j % 2 == 0 else (2 * k, k):
            step("healthy", _overload_seed(rates, j), rate, into=into)
    return {"rate": k, "knee": pooled(served[k]), "over": pooled(served[2 * k]), "steps": into}


def _overload_seed(rates, j: int) -> int:
    """The schedule of part 3's ``j``-th repeat: after the ladder's and the half-knee repeats'."""
    return len(rates) + HALF_KNEE_REPEATS + j


def gunicorn_threads() -> int:
    """The threads of each gunicorn worker, as config/gunicorn.py sets them (WEB_THREADS)."""
    return runpy.run_path(str(Path(__file__).resolve().parents[1] / "config" / "gunicorn.py"))[
        "threads"
    ]


def measure(
    rates, seconds: float, *, timeout: float, logdir: Path, web_limit: int | None = None
) -> dict:
    machine = machine_facts()
    started_at, started = datetime.now(), time.monotonic()
    stack = Stack(
        logdir=logdir,
        db_name="checkin_open_loop",
        extra_env={
            "REDIS_BREAKER_RESET_SECONDS": "1",
            "REDIS_SOCKET_TIMEOUT": "0.25",
            "REDIS_SOCKET_CONNECT_TIMEOUT": "0.25",
            "STACK_LOG_LEVEL": "WARNING",
            # Another admission limit per web process than the default (--web-limit).
            **({} if web_limit is None else {"WEB_MAX_CONCURRENT_REQUESTS": str(web_limit)}),
        },
    )
    steps: dict[str, list[dict]] = {m: [] for m in MODES}
    skipped: dict[str, list[float]] = {m: [] for m in MODES}  # rungs the climbing rule left out
    latencies: dict[tuple[str, float], list[list[float]]] = {}  # (mode, rate): each step's
    half: dict | None = None  # the rung at half the healthy knee, its steps pooled per mode
    repeats: dict[str, list[dict]] = {"healthy": [], "redis paused": []}
    served: dict[float, list[list[float]]] = {}  # healthy's answered latencies, per rate
    again: dict | None = None  # the knee's rung and twice it run again, pooled (part 3)
    overload_steps: list[dict] = []  # those steps' results
    try:
        stack.start_servers()
        stack.start_web("ours", workers=2)
        half_rungs = [r for r in rates if r <= max(rates) / 2]  # the repeats' candidates
        people = people_for(
            [
                *((r, i) for i, r in enumerate(rates)),
                *((r, len(rates) + j) for j in range(HALF_KNEE_REPEATS) for r in half_rungs),
                *((r, _overload_seed(rates, j)) for j in range(OVERLOAD_REPEATS) for r in rates),
            ],
            seconds,
        )
        bed = Bed(stack, people)
        bed.redis_backed()

        def step(mode: str, i: int, rate: float, *, into: list | None = None) -> None:
            """Run a rung; keep it in ``into`` (a step run again) or in the ladder's steps."""
            done, steady, answered = run_step(bed, mode, rate, seconds, timeout=timeout, seed=i)
            latencies.setdefault((mode, rate), []).append(steady)
            if mode == "healthy":
                served.setdefault(rate, []).append(answered)
            if into is not None:
                into.append(done)
            else:
                steps[mode].append(done)
                steps[mode].sort(key=lambda s: s["offered"])
            first = done["transition"]
            print(
                f"[open_loop] {rate:g}/s {mode}{'' if into is None else ' (again)'}: "
                f"achieved {done['achieved']:.1f}/s, "
                f"p50 {_ms(done['p50_ms'])}, p99 {_ms(done['p99_ms'])}, "
                f"p99.9 {_ms(done['p999_ms'])}, answered p99 {_ms(done['served_p99_ms'])}, "
                f"refusals {done['errors'] or 'none'}; first {TRANSITION_S:g} s"
                f"{' (before the step)' if done['transition_excluded'] else ''}: "
                f"{first['scans']} scans, p50 {_ms(first['p50_ms'])}, "
                f"max {_ms(first['max_ms'])}, unserved {first['unserved']}",
                flush=True,
            )

        for i, rate in enumerate(rates):
            order = MODES if i % 2 == 0 else MODES[::-1]  # drift of the machine hits every mode
            for mode in order:
                if keeps_climbing(mode, steps[mode], rate, steps["healthy"]):
                    step(mode, i, rate)
                else:
                    skipped[mode].append(rate)
        half = half_knee_again(step, rates, steps, skipped, repeats=repeats, latencies=latencies)
        again = overload_again(step, rates, steps["healthy"], overload_steps, served)
        bed.close()
    finally:
        stack.stop()
    machine["loadavg_at_end"] = os.getloadavg()
    knees = {m: knee(steps[m]) for m in MODES}
    bounds = {m: knee_bound(steps[m], min(rates)) for m in MODES}
    over = overload(steps["healthy"], knees["healthy"], again)
    judged = goals(steps, bounds, half)
    return {
        "started": started_at.isoformat(timespec="seconds"),
        "seconds": time.monotonic() - started,
        "machine": machine,
        "config": {
            "rates": list(rates),
            "step_seconds": seconds,
            "transition_s": TRANSITION_S,
            "stop_after_fails": STOP_AFTER_FAILS,
            "half_knee_repeats": HALF_KNEE_REPEATS,
            "overload_repeats": OVERLOAD_REPEATS,
            "timeout_s": timeout,
            "doors": DOORS,
            "sessions": SESSIONS,
            "workers": 2,
            "threads": gunicorn_threads(),
            "web_limit": web_limit,  # None: the default WEB_MAX_CONCURRENT_REQUESTS
        },
        "steps": steps,
        "skipped": skipped,
        "half_knee_repeats": {"rate": None if half is None else half["rate"], "steps": repeats},
        "overload_repeats": {
            "rate": None if again is None else again["rate"],
            "steps": overload_steps,
        },
        "knees": knees,
        "knee_bounds": bounds,
        "overload": over,
        "overload_line": overload_line(over, knees["healthy"], steps["healthy"][-1]),
        "goals": judged,
        "goals_line": goals_line(judged),
        "summary": summary_line(knees, min(rates), bounds),
        "protocol_line": protocol_line(bounds, min(rates)),
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.open_loop", description=__doc__)
    parser.add_argument(
        "--rates",
        help="offered scans/s, comma-separated, climbed in order (default "
        + ",".join(f"{r:g}" for r in RATES)
        + ")",
    )
    parser.add_argument("--seconds", type=float, help="seconds per rate (default 20)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="a door gives up after")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=",".join(f"{r:g}" for r in QUICK_RATES) + " scans/s for 8 s each",
    )
    parser.add_argument(
        "--web-limit",
        type=int,
        help="WEB_MAX_CONCURRENT_REQUESTS of the web workers (default: the settings' default)",
    )
    parser.add_argument("--json", type=Path, help="write the results here (chart: same stem .png)")
    parser.add_argument("--docs", action="store_true", help="write the docs/benchmarks.md section")
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")] if args.rates else None
    rates = sorted(rates or (QUICK_RATES if args.quick else RATES))  # climbed upwards
    seconds = args.seconds or (QUICK_SECONDS if args.quick else SECONDS)
    install_signal_handlers()
    logdir = Path(tempfile.mkdtemp(prefix="open-loop-"))
    results = measure(rates, seconds, timeout=args.timeout, logdir=logdir, web_limit=args.web_limit)
    out = args.json or logdir / "open_loop.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    chart = open_loop_docs.chart(results, out.with_suffix(".png"))
    print("\n".join(open_loop_docs.section(results, chart_name=str(chart))), flush=True)
    if args.docs:
        open_loop_docs.write_docs(results, chart)
    print(results.get("protocol_line", "protocol: raw full not run"), flush=True)
    print(results["overload_line"], flush=True)
    print(results["goals_line"], flush=True)
    print(results["summary"], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
