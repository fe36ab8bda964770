"""Redis master failover under Sentinel, as the doors see it: ``python -m bench.failover``.

``[--runs 3] [--rate 10] [--down-after 5000,1000] [--json F] [--docs]``

The stack: SecantusDB, Redis under Sentinel (a master, a replica and three Sentinels:
``devtools.servers.SentinelSet``, quorum 2, the app on ``REDIS_URL=redis+sentinel://...``) and one
gunicorn with 2 workers, the product's Redis settings left at their defaults (breaker probe every
1 s, 0.25 s socket timeouts, paced rebuild). Doors send scans as in ``bench.open_loop`` (its Poisson
schedule over 20 doors and 10 sessions, its sender and HDR histogram, latency from the intended
send time) at a fixed offered rate; 10 s into the run the master is SIGKILLed. One session's
capacity is set so that it fills just after the kill: a door admitting there meanwhile must be
refused by MongoDB, whatever Redis says.

Measured per run, from the kill:

- the Sentinels: ``+odown`` and ``+switch-master`` as published on a Sentinel's pub/sub, and the
  moment ``SENTINEL GET-MASTER-ADDR-BY-NAME`` (polled every 50 ms) names the new master;
- back on Redis: each web worker logs one line when its breaker opens and one when it closes
  (``Redis reachable again ... breaker closed, using Redis``), with its pid and the time to the
  millisecond (config/settings/logging.py). A worker closes its breaker only after its prober has
  found the new master and rebuilt the admission sets from MongoDB (redis_fallback/restarts.py),
  so that line is the moment it decides on Redis again; "every worker back" is the last of them;
- the doors in three windows by intended send time: before (the 10 s before the kill), during
  (kill to every worker back on Redis) and after (the 10 s after): p50, p99, max, and every
  answer that was not a verdict (5xx, no answer within ``--timeout``);
- the invariants: MongoDB sampled every 0.5 s in a snapshot transaction (nobody over capacity,
  counter never below the records inside), and at the end every acknowledged check-in (201) has
  its record, everyone acknowledged out is out, every counter equals its records inside, and the
  new master's admission sets equal the records holding a place.

Between runs the killed server is started again (empty) and the Sentinels make it a replica of
the new master; the next run kills whichever is the master then. Each down-after setting gets
``--runs`` runs (``SENTINEL SET`` on every Sentinel); the summary gives median and range.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import redis

from bench import failover_docs
from bench.docs import machine_facts
from bench.open_loop import (
    SERVED,
    TIMEOUT_S,
    Bed,
    LatencyHistogram,
    Outcome,
    Scan,
    door_schedule,
    http_sender,
    people_needed,
    pool_size,
    run_schedule,
)
from chaos.mongo import HOLDING_STATES, MongoView, Sampler, admission_sets
from devtools.servers import SentinelSet, redis_command
from devtools.stack import Stack, install_signal_handlers

DOWN_AFTER_MS = (5000, 1000)  # docker-compose's ha profile (docs/operations.md); the Sentinel test
RATE = 5.0  # under the knee of section 10 on this shared machine: the failover shows, not a queue
RUNS = 3
BEFORE_S = 10.0  # load before the kill: the "before" window
AFTER_S = 10.0  # the "after" window, from every worker back on Redis
SLACK_S = 12.0  # the schedule runs down-after + this for the failover and the follow
CAPPED = 1  # this session's capacity is set so that it fills just after the kill
CAPPED_ROOM = 1  # places left in it at the kill (as scheduled): the next admission fills it
SAMPLE_S = 0.5
WINDOWS = ("before", "during", "after")


# --- the workers' breakers, from their log lines -------------------------------------------------
_BREAKER_LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \S+ redis_fallback \[(?P<pid>\d+)\] (?P<msg>.*)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Transition:
    at: float  # wall clock, seconds (time.time())
    pid: int
    state: str  # "open" | "closed"


def breaker_transitions(text: str) -> list[Transition]:
    """The breaker openings and closings in a log (the logging format of config/settings)."""
    found = []
    for match in _BREAKER_LINE.finditer(text):
        message = match["msg"]
        if "breaker open" in message:
            state = "open"
        elif "breaker closed" in message:
            state = "closed"
        else:
            continue
        at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f").timestamp()  # local time
        found.append(Transition(at, int(match["pid"]), state))
    return sorted(found, key=lambda t: t.at)


def back_on_redis(
    transitions: list[Transition], since: float
) -> tuple[dict[int, float | None], float | None]:
    """Per process whose breaker opened at or after ``since``: when it last closed (None if it
    ends open); and when every one of them was back (None if one is not, or none opened).

    Log times are truncated to the millisecond, so a transition in the kill's own millisecond
    counts as after it.
    """
    since_ms = int(since * 1000) / 1000
    after = [t for t in transitions if t.at >= since_ms]
    opened = {t.pid for t in after if t.state == "open"}
    back: dict[int, float | None] = {}
    for pid in sorted(opened):
        mine = [t for t in after if t.pid == pid]
        back[pid] = mine[-1].at if mine[-1].state == "closed" else None
    if not back or any(at is None for at in back.values()):
        return back, None
    return back, max(at for at in back.values() if at is not None)


# --- the doors' windows ------------------------------------------------------------------------
def window_of(at: float, *, kill: float, back: float | None, before_s: float, after_s: float):
    """The window of a scan intended at ``at``: before, during, after, or None (outside them).

    ``back`` None (not every worker came back within the run): everything after the kill is
    "during".
    """
    if kill - before_s <= at < kill:
        return "before"
    if at >= kill and (back is None or at < back):
        return "during"
    if back is not None and back <= at < back + after_s:
        return "after"
    return None


def percentiles(latencies: list[float]) -> dict:
    """p50 and p99 (HDR histogram, 3 digits: never above the max) and the max of latencies."""
    histogram = LatencyHistogram()
    for ms in latencies:
        histogram.record(ms)
    top = max(latencies, default=None)
    return {
        "p50_ms": None if top is None else min(histogram.percentile(50), top),
        "p99_ms": None if top is None else min(histogram.percentile(99), top),
        "max_ms": top,
    }


def window_stats(outcomes: list[Outcome], seconds: float) -> dict:
    """p50, p99 and max of a window's scans, its unserved answers by kind."""
    kinds = Counter(o.kind for o in outcomes if o.kind != SERVED)
    return {
        "seconds": seconds,
        "scans": len(outcomes),
        **percentiles([o.latency_ms for o in outcomes]),
        "unserved": sum(kinds.values()),
        "errors": dict(sorted(kinds.items())),
        "answers": dict(sorted(Counter(o.answer for o in outcomes).items())),
        "latencies_ms": sorted(round(o.latency_ms, 1) for o in outcomes),  # for the pooled figures
    }


def pooled(latencies: list[float]) -> dict:
    """p50, p99 and max of latencies pooled over runs (a window of one run holds few scans)."""
    return {"scans": len(latencies), **percentiles(latencies)}


def windows(
    outcomes: list[Outcome],
    *,
    start: float,
    kill: float,
    back: float | None,
    end: float,
    before_s: float,
    after_s: float,
) -> dict[str, dict]:
    """Split a run's outcomes into the three windows (``start``: the schedule's time 0, on the
    same clock as ``kill``, ``back`` and ``end``) and describe each."""
    parts: dict[str, list[Outcome]] = {name: [] for name in WINDOWS}
    for o in outcomes:
        name = window_of(
            start + o.scan.at, kill=kill, back=back, before_s=before_s, after_s=after_s
        )
        if name is not None:
            parts[name].append(o)
    spans = {
        "before": before_s,
        "during": (back if back is not None else end) - kill,
        "after": min(after_s, end - back) if back is not None else 0.0,
    }
    return {name: window_stats(parts[name], max(0.0, spans[name])) for name in WINDOWS}


# --- the acknowledged answers against MongoDB ----------------------------------------------------
def acknowledged_problems(
    answered: list[tuple[str, str, str, str]], records: list[dict], *, limit: int = 10
) -> list[str]:
    """Compare the doors' verdicts with MongoDB's records; return what disagrees (empty: held).

    ``answered``: (session id, participant id, action "check-in"/"check-out", answer such as
    "201 checked_in"), in the order they were sent. A 201 needs its record; the pair's last
    acknowledged verdict decides whether the record must hold a place (checked in) or not.
    """
    state = {(str(r["session_id"]), str(r["participant_id"])): r.get("state") for r in records}
    last: dict[tuple[str, str], str] = {}
    problems = []
    for session, person, action, answer in answered:
        pair = (session, person)
        if action == "check-in" and answer.startswith("201"):
            last[pair] = "in"
            if pair not in state:
                problems.append(f"201 without a record: session {session}, {person}")
        elif action == "check-out" and answer == "200 checked_out":
            last[pair] = "out"
    for pair, verdict in last.items():
        holding = state.get(pair) in HOLDING_STATES
        if verdict == "in" and pair in state and not holding:
            problems.append(f"acknowledged in, record {state[pair]}: session {pair[0]}, {pair[1]}")
        if verdict == "out" and holding:
            problems.append(f"acknowledged out, record {state[pair]}: session {pair[0]}, {pair[1]}")
    return problems[:limit] + (
        [f"... {len(problems) - limit} more"] if len(problems) > limit else []
    )


def median_range(values) -> dict | None:
    """Median, lowest and highest of the values that are not None (None if there are none)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return {"median": statistics.median(present), "min": min(present), "max": max(present)}


def summarize(runs: list[dict]) -> dict:
    """Median and range over runs of the failover times and each window's p50, p99 and max."""
    summary = {
        key: median_range([r["times"][key] for r in runs])
        for key in ("odown_s", "switch_master_s", "promoted_polled_s", "back_on_redis_s")
    }
    for name in WINDOWS:
        for stat in ("p50_ms", "p99_ms", "max_ms"):
            summary[f"{name}_{stat}"] = median_range([r["windows"][name][stat] for r in runs])
        summary[f"{name}_pooled"] = pooled(
            [ms for r in runs for ms in r["windows"][name]["latencies_ms"]]
        )
    summary["unserved"] = sum(r["windows"][w]["unserved"] for r in runs for w in WINDOWS)
    summary["unanswered"] = sum(r["unanswered"] for r in runs)
    summary["not_back"] = sum(r["times"]["back_on_redis_s"] is None for r in runs)
    summary["invariants_held"] = all(r["invariants"]["held"] for r in runs)
    return summary


# --- the Sentinels -------------------------------------------------------------------------------
def about_master(data: str, master_name: str) -> bool:
    """Tell whether a Sentinel event's text is about the master ``master_name``.

    ``+odown`` and ``+sdown`` say ``master <name> <ip> <port> ...`` (a replica's or another
    Sentinel's start with ``slave`` or ``sentinel``); ``+switch-master`` says ``<name> <old ip>
    <old port> <new ip> <new port>``.
    """
    words = data.split()
    if words[:1] == ["master"]:
        return words[1:2] == [master_name]
    return words[:1] == [master_name]


class SentinelEvents:
    """Every event one Sentinel publishes (``+sdown``, ``+odown``, ``+switch-master``...), timed."""

    def __init__(self, port: int, master_name: str) -> None:
        self.master_name = master_name
        self.client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.psubscribe("*")
        self.events: list[tuple[float, str, str]] = []  # (time.time(), channel, data)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="sentinel-events", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                message = self.pubsub.get_message(timeout=0.05)
            except redis.RedisError:
                time.sleep(0.05)
                continue
            if message and message["type"] == "pmessage":
                self.events.append((time.time(), message["channel"], message["data"]))

    def first(self, channel: str, *, after: float) -> float | None:
        """When the master's first ``channel`` event after ``after`` arrived (time.time())."""
        return next(
            (
                at
                for at, name, data in list(self.events)
                if name == channel and at >= after and about_master(data, self.master_name)
            ),
            None,
        )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.pubsub.close()
        self.client.close()


def sentinels_down_after(servers: SentinelSet, down_after_ms: int) -> None:
    """Set ``down-after-milliseconds`` of the master on every Sentinel."""
    for sentinel in servers.sentinels:
        redis_command(
            sentinel.port,
            "SENTINEL",
            "SET",
            servers.master_name,
            "down-after-milliseconds",
            str(down_after_ms),
        )


# --- one run ------------------------------------------------------------------------------------
def _capped_capacity(scans: list[Scan], kill_at: float) -> int:
    """The capacity that leaves ``CAPPED_ROOM`` places in the capped session at the kill."""
    inside = 0
    for scan in scans:
        if scan.session == CAPPED and scan.at < kill_at:
            inside += {"admission": 1, "check_out": -1}.get(scan.kind, 0)
    return max(1, inside + CAPPED_ROOM)


class Watch:
    """What runs beside the doors: MongoDB sampled for capacity, a Sentinel's events."""

    def __init__(self, stack: Stack) -> None:
        self.view = MongoView(stack.mongo.uri, stack.db_name)
        self.sampler = Sampler(self.view, clock=time.monotonic, interval=SAMPLE_S)
        self.events = SentinelEvents(stack.sentinel.sentinels[0].port, stack.sentinel.master_name)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="sampler", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.sampler.sample_once()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.events.close()
        self.sampler.sample_once()


def doors_with_a_kill(servers: SentinelSet, scans, send, *, threads: int, down_after_ms: int):
    """Run the schedule; SIGKILL the master ``BEFORE_S`` into it. Return the outcomes, the
    schedule's time 0, the kill (monotonic and wall clock), the killed server, and when the
    Sentinels named a new master (polled)."""
    result: dict = {}
    began = threading.Event()

    def doors() -> None:
        result["start"] = time.monotonic()  # run_schedule's time 0, to well under a millisecond
        began.set()
        result["outcomes"], _ = run_schedule(scans, send, threads=threads)

    door_thread = threading.Thread(target=doors, name="doors")
    door_thread.start()
    try:
        began.wait()
        time.sleep(max(0.0, result["start"] + BEFORE_S - time.monotonic()))
        old = servers.master()
        kill_wall, kill = time.time(), time.monotonic()
        old.kill()
        servers.wait_for_new_master(old.port, timeout=down_after_ms / 1000 + 30)
        promoted = time.monotonic()
    finally:
        door_thread.join()
    return result["outcomes"], result["start"], (kill, kill_wall), old, promoted


def _set_up(step, *, tries: int = 10):
    """Run a set-up step again after a 503 (MongoDB slow on a loaded machine: ``busy``)."""
    for attempt in range(tries):
        try:
            return step()
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 503 or attempt == tries - 1:
                raise
            time.sleep(float(exc.response.headers.get("Retry-After") or 1))
    raise AssertionError("unreachable")


def run_once(bed: Bed, stack: Stack, *, rate: float, down_after_ms: int, seed: int, timeout: float):
    """One failover under load; return its times, windows and invariant checks."""
    servers = stack.sentinel
    sentinels_down_after(servers, down_after_ms)
    seconds = BEFORE_S + down_after_ms / 1000 + SLACK_S + AFTER_S
    scans = door_schedule(rate, seconds, seed=seed)
    sessions = _set_up(bed.ours_sessions)
    capacity = _capped_capacity(scans, BEFORE_S)
    path = f"/api/sessions/{sessions[CAPPED]}/"
    _set_up(lambda: bed.api.patch(path, json={"capacity": capacity}).raise_for_status())
    bed.redis_backed()
    send = http_sender(bed.web.url, stack.token, sessions, bed.people, timeout)
    log_offset = bed.web.log_path.stat().st_size
    watch = Watch(stack)
    try:
        outcomes, start, (kill, kill_wall), old, promoted = doors_with_a_kill(
            servers, scans, send, threads=pool_size(rate, timeout), down_after_ms=down_after_ms
        )
    finally:
        watch.stop()
    with bed.web.log_path.open(errors="replace") as log:
        log.seek(log_offset)
        transitions = breaker_transitions(log.read())
    per_worker, back_wall = back_on_redis(transitions, kill_wall)
    back = kill + (back_wall - kill_wall) if back_wall is not None else None
    odown, switch = (watch.events.first(c, after=kill_wall) for c in ("+odown", "+switch-master"))

    old.start()  # empty: the Sentinels make it a replica of the new master
    answered = [
        (
            sessions[o.scan.session],
            bed.people[o.scan.person] if o.scan.person >= 0 else "-",
            "check-out" if o.scan.kind == "check_out" else "check-in",
            o.answer,
        )
        for o in sorted(outcomes, key=lambda o: o.scan.at)
    ]
    invariants = check_invariants(stack, watch, sessions, answered)
    for wrong in invariants["redis_sets_wrong"]:  # what the doors were told about those people
        for person in wrong["only_in_redis"] + wrong["only_in_records"]:
            told = [
                f"{start + o.scan.at - kill:+.2f} s {o.scan.kind} {o.answer}"
                for o in outcomes
                if o.scan.person >= 0 and bed.people[o.scan.person] == person
            ]
            print(f"[failover] session {wrong['session']}, {person}: {told}", flush=True)
    watch.view.close()
    deadline = time.monotonic() + 60
    while servers.role_of(old) != "slave" and time.monotonic() < deadline:
        time.sleep(0.1)
    servers.wait_until_settled(timeout=60)

    def since_kill(at: float | None) -> float | None:
        return None if at is None else at - kill_wall

    return {
        "down_after_ms": down_after_ms,
        "seed": seed,
        "scans": len(scans),
        "times": {
            "odown_s": since_kill(odown),
            "switch_master_s": since_kill(switch),
            "promoted_polled_s": promoted - kill,
            "back_on_redis_s": None if back is None else back - kill,
            "per_worker_s": {str(pid): since_kill(at) for pid, at in per_worker.items()},
        },
        "windows": windows(
            outcomes,
            start=start,
            kill=kill,
            back=back,
            end=start + seconds,
            before_s=BEFORE_S,
            after_s=AFTER_S,
        ),
        "unanswered": sum(o.kind in {"timeout", "error"} for o in outcomes),
        "invariants": invariants,
    }


def check_invariants(stack: Stack, watch: Watch, sessions: list[str], answered) -> dict:
    """Capacity as sampled, and the end state against the doors' verdicts and Redis's sets."""
    sampler = watch.sampler
    snap = watch.view.snapshot()
    problems = acknowledged_problems(answered, snap.records)
    ours = [snap.sessions[s] for s in sessions if s in snap.sessions]
    counters = [
        f"{s.id}: counter {s.counter}, inside {s.inside}" for s in ours if s.counter != s.inside
    ]
    over = [f"{s.id}: {s.inside} inside of {s.capacity}" for s in ours if s.inside > s.capacity]
    holding: dict[str, set[str]] = {s: set() for s in sessions}
    for r in snap.records:
        if r.get("state") in HOLDING_STATES and str(r["session_id"]) in holding:
            holding[str(r["session_id"])].add(str(r["participant_id"]))
    sets = admission_sets(stack.sentinel.master_port()) or {}
    redis_wrong = [
        {
            "session": index,
            "only_in_redis": sorted(sets[s] - holding[s]),
            "only_in_records": sorted(holding[s] - sets[s]),
        }
        for index, s in enumerate(sessions)
        if s in sets and sets[s] != holding[s]
    ]
    capped = snap.sessions.get(sessions[CAPPED])
    held = not (sampler.violations or sampler.below or problems or counters or over)
    return {
        "held": held,
        "samples": sampler.samples,
        "over_capacity_samples": len(sampler.violations),
        "counter_below_samples": len(sampler.below),
        "acknowledged_problems": problems,
        "counter_mismatch": counters,
        "over_capacity_at_end": over,
        "redis_sets_checked": sum(s in sets for s in sessions),
        "redis_sets_wrong": redis_wrong,
        "capped": None
        if capped is None
        else {"capacity": capped.capacity, "inside": capped.inside},
    }


# --- the whole benchmark -------------------------------------------------------------------------
def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def measure(down_afters, *, runs: int, rate: float, timeout: float, logdir: Path) -> dict:
    machine = machine_facts()
    machine["uptime_at_start"] = _uptime()
    started_at, started = datetime.now(), time.monotonic()
    stack = Stack(logdir=logdir, db_name="checkin_failover", extra_env={"LOG_LEVEL": "INFO"})
    results: dict[str, list[dict]] = {str(d): [] for d in down_afters}
    try:
        stack.start_servers(sentinel=True, down_after_ms=down_afters[0])
        web = stack.start_web("ours", workers=2)
        gunicorn_args = " ".join(a for a in web.argv[3:] if "/tmp" not in a and "%" not in a)
        seconds = BEFORE_S + max(down_afters) / 1000 + SLACK_S + AFTER_S
        people = max(people_needed(door_schedule(rate, seconds, seed=i)) for i in range(runs))
        bed = Bed(stack, people)
        try:
            for down_after in down_afters:
                for i in range(runs):
                    run = run_once(
                        bed, stack, rate=rate, down_after_ms=down_after, seed=i, timeout=timeout
                    )
                    results[str(down_after)].append(run)
                    print(failover_docs.run_line(run, i + 1, runs), flush=True)
        finally:
            bed.close()
    finally:
        stack.stop()
    machine["uptime_at_end"] = _uptime()
    machine["loadavg_at_end"] = os.getloadavg()
    return {
        "started": started_at.isoformat(timespec="seconds"),
        "seconds": time.monotonic() - started,
        "machine": machine,
        "config": {
            "rate": rate,
            "runs": runs,
            "down_after_ms": list(down_afters),
            "before_s": BEFORE_S,
            "after_s": AFTER_S,
            "timeout_s": timeout,
            "workers": 2,
            "capped_room": CAPPED_ROOM,
            "gunicorn": gunicorn_args,
        },
        "runs": results,
        "summary": {key: summarize(value) for key, value in results.items()},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__)
    parser.add_argument("--runs", type=int, default=RUNS, help="runs per down-after (default 3)")
    parser.add_argument("--rate", type=float, default=RATE, help="offered scans/s (default 5)")
    parser.add_argument(
        "--down-after",
        default=",".join(str(d) for d in DOWN_AFTER_MS),
        help="the Sentinels' down-after-milliseconds, comma-separated (default 5000,1000)",
    )
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="a door gives up after")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--docs", action="store_true", help="write the docs/benchmarks.md section")
    args = parser.parse_args(argv)
    down_afters = [int(d) for d in args.down_after.split(",")]
    install_signal_handlers()
    logdir = Path(tempfile.mkdtemp(prefix="failover-"))
    results = measure(
        down_afters, runs=args.runs, rate=args.rate, timeout=args.timeout, logdir=logdir
    )
    out = args.json or logdir / "failover.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print("\n".join(failover_docs.section(results)), flush=True)
    if args.docs:
        failover_docs.write_docs(results)
    held = all(s["invariants_held"] for s in results["summary"].values())
    print(f"invariants {'held' if held else 'BROKEN'} in every run; results in {out}", flush=True)
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
