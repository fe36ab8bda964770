"""Invariants of the chaos v2 faults: MongoDB faults (503 within the deadline, health error,
recovery), stalled web workers (held past the settle time, a reconcile meanwhile), Celery crashes
(restarted, the killed reconcile run again once to completion, the schedule kept)."""

from __future__ import annotations

import re
from datetime import datetime

from chaos.api import Record
from chaos.celery_faults import REDELIVERY_WAIT
from chaos.fault_base import redis_fault_during
from chaos.faults import FaultEvent
from chaos.run_data import CheckResult, RunData, traffic, web_threads
from chaos.worker_log import (
    RECONCILE_LEASE,
    lease_takeovers,
    reconcile_runs,
    starts,
    succeeded_since,
    task_events,
)

DEADLINE_LIMIT_MS = 2000.0  # a request must give up on a hung MongoDB within about 2 s
RECOVERY_LIMIT = 15.0  # seconds after MongoDB returns by which the app answers 2xx again
MONGO_GRACE = 5.0  # after MongoDB returns, a pooled connection may still be found dead


def _ms(value: float | None) -> str:
    return f"{value:.0f} ms" if value is not None else "-"


def _in(record: Record, start: float, end: float) -> bool:
    """Tell whether the request was in flight at some moment between ``start`` and ``end``."""
    return record.t_start <= end and record.t_end >= start


def held_by_a_stall(data: RunData, fives: list[Record]) -> list[Record]:
    """Return the 503s of requests caught on a stopped web worker (at most one per thread of it).

    A worker serves up to ``WEB_THREADS`` requests at once (config/gunicorn.py); stopped past the request's MongoDB deadline, it
    resumes with no time left and answers 503 busy (pymongo sends nothing, MongoDB answers the
    ping that follows), or database_unavailable if MongoDB did not answer that ping either. A
    ``/health`` held so answers 503 "error": its probes' budget ran out while the process was
    stopped (seed 36: the stall caught a /health, not a door request).
    """
    held = []
    for fault in data.faults:
        if not fault.stall:
            continue
        start, end = fault.stall
        caught = [
            r
            for r in fives
            if r.status == 503
            and (
                r.reason in ("database_unavailable", "busy")
                or (r.op, r.health) == ("health", "error")
            )
            and r.t_start <= start + 0.5
            and r.t_end >= end - 0.2
            and r not in held
        ]
        held += caught[: web_threads()]
    return held


_ACCESS = re.compile(r'^\[([^\]]+)\] pid=<?(\d+)>? "(\S+) (\S+) [^"]*" (\d+) (\d+)ms', re.M)


def server_503s(data: RunData, fault: FaultEvent) -> list[int]:
    """Return how long the web workers took (server side, ms) for each 503 they answered in the
    fault's window: the request's own give-up time, without its wait for a free worker."""
    if data.access_log is None or not data.access_log.exists():
        return []
    start, end = (data.wall0 + t for t in fault.mongo_outage)
    # A request a worker held through its stall is the stall's, not MongoDB's: a 503 of the
    # stalled pid, about as long as the stall, logged within it (seed 61: a check-in of 16.4 s on
    # a worker stalled 15.8 s, in the log at the second its request began, inside the MongoDB
    # fault's window; the old rule looked for it only around the resume).
    stalled = [
        (f.worker_pid, data.wall0 + f.stall[0], data.wall0 + f.stall[1])
        for f in data.faults
        if f.stall and f.worker_pid
    ]
    durations = []
    for m in _ACCESS.finditer(data.access_log.read_text(errors="replace")):
        logged = datetime.strptime(m[1], "%d/%b/%Y:%H:%M:%S %z").timestamp()  # when it ended
        if not (start - 1 <= logged <= end + MONGO_GRACE + 1) or m[5] != "503":
            continue
        if m[4].startswith("/health") or any(
            int(m[2]) == pid
            and stop - 2 <= logged <= resume + 3
            and int(m[6]) >= (resume - stop - 2) * 1000
            for pid, stop, resume in stalled
        ):
            continue
        durations.append(int(m[6]))
    return durations


def mongo_fault_stats(data: RunData, fault: FaultEvent) -> dict:
    """Measure the traffic around one MongoDB fault (run clock)."""
    start, end = fault.mongo_outage
    window = [r for r in traffic(data) if _in(r, start, end + MONGO_GRACE)]
    fives = [r for r in window if r.status is not None and r.status >= 500 and r.op != "health"]
    # A request held on a stopped web worker waited for the stall, not for MongoDB.
    held = held_by_a_stall(data, [r for r in traffic(data) if r.status == 503])
    fives = [r for r in fives if r not in held]
    # busy: MongoDB answered its ping after the request's deadline ran out (paused, then resumed).
    bad = [
        r
        for r in fives
        if (r.status, r.reason) not in {(503, "database_unavailable"), (503, "busy")}
    ]
    health_error = next(
        (r for r in window if r.op == "health" and r.health == "error"),
        None,
    )
    back = next(
        (
            r
            for r in traffic(data)
            if r.t_start >= end and r.op != "health" and r.status and 200 <= r.status < 300
        ),
        None,
    )
    return {
        "n503": sum(1 for r in fives if r.status == 503),
        "worst_503_ms": max((r.latency_ms for r in fives if r.status == 503), default=None),
        "worst_server_503_ms": max(server_503s(data, fault), default=None),
        "bad": bad,
        "health_error_after": max(0.0, health_error.t_end - start) if health_error else None,
        "back_after": back.t_end - end if back else None,
    }


def _mongo_checks(data: RunData) -> list[CheckResult]:
    faults = [f for f in data.faults if f.mongo_outage]
    if not faults:
        return []
    stats = [(f, mongo_fault_stats(data, f)) for f in faults]
    bad = [r for _, st in stats for r in st["bad"]]
    # Judged on the web worker's own time; the door's also includes waiting for a free worker
    # while the others give up (2 sync workers, 8 doors), and is reported.
    slow = [(f, st) for f, st in stats if (st["worst_server_503_ms"] or 0) > DEADLINE_LIMIT_MS]
    no_error = [f for f, st in stats if st["health_error_after"] is None]
    not_back = [
        f for f, st in stats if st["back_after"] is None or st["back_after"] > RECOVERY_LIMIT
    ]
    worst = "; ".join(
        f"t={f.t_start:.0f}s {f.kind}: {st['n503']} x 503, worst {_ms(st['worst_server_503_ms'])} "
        f"in the web worker, {_ms(st['worst_503_ms'])} at the door"
        for f, st in stats
    )
    return [
        CheckResult(
            "MongoDB down: 503 database_unavailable (never another 5xx), given up within 2 s",
            not bad and not slow,
            f"{len(faults)} MongoDB faults: {worst}; {len(bad)} other 5xx"
            + (f" (first: seq {bad[0].seq} {bad[0].status} {bad[0].reason})" if bad else "")
            + (f"; over {DEADLINE_LIMIT_MS:.0f} ms: {len(slow)} fault(s)" if slow else ""),
        ),
        CheckResult(
            "MongoDB down: /health says error",
            not no_error,
            "; ".join(
                f"t={f.t_start:.0f}s "
                + (
                    f"error at +{st['health_error_after']:.1f} s"
                    if st["health_error_after"] is not None
                    else "never error"
                )
                for f, st in stats
            ),
        ),
        CheckResult(
            f"MongoDB back: 2xx again within {RECOVERY_LIMIT:.0f} s, no app restart",
            not not_back,
            "; ".join(
                f"t={f.t_start:.0f}s "
                + (f"+{st['back_after']:.1f} s" if st["back_after"] is not None else "never")
                for f, st in stats
            ),
        ),
    ]


def _stall_checks(data: RunData) -> list[CheckResult]:
    stalls = [f for f in data.faults if f.stall]
    if not stalls:
        return []
    short = [f for f in stalls if f.stall[1] - f.stall[0] <= data.stale_op_seconds]
    # With Redis down meanwhile (the broker: a task sent is lost, or waits for a worker that is
    # reconnecting) the Celery worker may not run one: reported, not required. At least one stall
    # must have seen a reconcile, or the check has tested nothing.
    broker_out = {id(f): redis_fault_during(data.faults, *f.stall, partitions=True) for f in stalls}
    idle = [
        f
        for f in stalls
        if f.kind != "stall_redis_down" and not f.reconciles_during and not broker_out[id(f)]
    ]
    seen = [f for f in stalls if f.reconciles_during]

    def told(f: FaultEvent) -> str:
        text = f"t={f.t_start:.0f}s {f.kind} {f.stall[1] - f.stall[0]:.1f} s, "
        text += f"{f.reconciles_during} reconcile(s)"
        out = broker_out[id(f)]
        if not f.reconciles_during and out is not None:
            text += f" (Redis out meanwhile: {out.kind} at {out.t_start:.0f} s; not required)"
        return text

    return [
        CheckResult(
            "stalled web workers: held past the stale-op time, a reconcile begun after it ran meanwhile",
            not short and not idle and bool(seen),
            "; ".join(told(f) for f in stalls),
        )
    ]


# Faults that take Redis's data (its queues with it): a kill or restart that comes back empty, a
# FLUSHALL, a failover to a replica that may not have the latest writes.
QUEUE_LOSING_FAULTS = ("redis_kill", "redis_restart", "redis_flushall", "redis_failover",
                       "stall_redis_down")  # fmt: skip


def _queue_lost_after(data: RunData, killed_at: float) -> str | None:
    """Name the fault that took Redis's data while a killed child's task waited to run again
    (None if none did): a requeued message lives in Redis until a worker takes it."""
    kill_t = killed_at - data.wall0
    for fault in data.faults:
        if (
            fault.kind in QUEUE_LOSING_FAULTS
            and kill_t <= fault.t_start <= kill_t + REDELIVERY_WAIT
        ):
            return f"{fault.kind} at t={fault.t_start:.0f}s, {fault.t_start - kill_t:.1f} s after the kill"
    return None


def _celery_checks(data: RunData) -> list[CheckResult]:
    faults = [
        f for f in data.faults if f.kind.startswith("celery_") or f.kind == "redis_pause_at_ack"
    ]
    if not faults or data.worker_log is None:
        return []
    results = []
    runs = reconcile_runs(data.worker_log)
    children = [f for f in faults if f.kind == "celery_child_kill" and "task_id" in f.notes]
    if children:
        events = task_events(data.worker_log)
        takeovers = lease_takeovers(data.worker_log, RECONCILE_LEASE)
        lines = []
        ok = True
        for fault in children:
            killed_at, task_id = fault.notes["killed_at"], fault.notes["task_id"]
            done = succeeded_since(events, task_id, killed_at)  # not an earlier delivery's
            # A full run, not "skipped: another run holds the lease": the task's own, or the
            # run that took the dead child's lease over before the task came back (seed 62: a
            # reconcile beat sent meanwhile held it, so the redelivered one skipped, rightly).
            # Or the run that took the killed child's lease over: its start (its end less its
            # duration) includes its wait for the lease, which may begin before the kill (seed 93:
            # 42 ms before; the takeover logged 217 ms after it).
            took_over = [
                at
                for at, pid in takeovers
                if pid == fault.notes.get("child_pid") and at >= killed_at
            ]
            completed = done and any(
                killed_at <= run.ended <= done[0].at + 1.0
                or killed_at <= run.started <= done[0].at
                or any(run.started <= at <= run.ended for at in took_over)
                for run in runs
            )
            lost_with = _queue_lost_after(data, killed_at) if not done else None
            if lost_with is not None:
                # The requeued message was in Redis when its data went (seed 67: the master
                # killed 6 s after the child, the promoted replica without it): the promise is
                # then beat's next reconcile, run to completion.
                after = [run for run in runs if run.started >= killed_at]
                ok = ok and bool(after)
                lines.append(
                    f"task {task_id[:8]}: requeued, then lost with Redis's data ({lost_with}); "
                    + (
                        f"a complete reconcile began {after[0].started - killed_at:.1f} s after "
                        "the kill"
                        if after
                        else "NO complete reconcile after the kill"
                    )
                )
                continue
            ok = ok and len(done) == 1 and bool(completed)
            lines.append(
                f"task {task_id[:8]}: succeeded {len(done)} time(s) after the kill, "
                + ("a complete reconcile" if completed else "NOT a complete reconcile")
            )
        results.append(
            CheckResult(
                "reconcile whose pool child was killed: redelivered, run once to completion",
                ok,
                "; ".join(lines),
            )
        )
    at_ack = [f for f in faults if f.kind == "redis_pause_at_ack" and "resumed_at" in f.notes]
    if at_ack:
        lines, ok = [], True
        restarts = starts(data.worker_log)
        for fault in at_ack:
            resumed, consumed = fault.notes["resumed_at"], fault.notes.get("consumed_after")
            restarted = [t for t in restarts if resumed <= t <= resumed + (consumed or 0)]
            # The ack must have met the paused Redis, or the fault did not test what it claims.
            good = fault.notes["couldnt_ack"] >= 1 and consumed is not None and not restarted
            ok = ok and good
            lines.append(
                f"t={fault.t_start:.0f}s: {fault.notes['couldnt_ack']} x Couldn't ack; "
                + (
                    f"next task taken {consumed:.1f} s after Redis resumed"
                    if consumed is not None
                    else "no task taken afterwards"
                )
                + (", by a restarted worker" if restarted else ", by the same worker")
            )
        results.append(
            CheckResult(
                "an ack Redis missed (paused): the same worker takes a task again within 8 s",
                ok,
                "; ".join(lines),
            )
        )
    watchdog = _log_count(data.worker_log, "took no task for")
    results.append(
        CheckResult(
            "the worker never hung (its liveness watchdog never had to end it)",
            watchdog == 0,
            f"{watchdog} watchdog exit(s) in the worker log",
        )
    )
    late, moved = [], []
    for fault in faults:

        def reconciled_by(deadline: float, fault=fault) -> bool:
            start, limit = data.wall0 + fault.t_end, data.wall0 + deadline
            return any(start <= run.started and run.ended <= limit for run in runs)

        if reconciled_by(fault.t_end + 2 * data.reconcile_interval + 10):
            continue
        deadline, by = reconcile_deadline(data, fault)
        if by and reconciled_by(deadline):
            moved.append(f"t={fault.t_start:.0f}s {fault.kind} by t={deadline:.0f}s ({by})")
        else:
            late.append(fault)
    results.append(
        CheckResult(
            "reconcile on schedule after each Celery crash (within two intervals + 10 s)",
            not late,
            f"{len(faults)} Celery faults ({', '.join(sorted({f.kind for f in faults}))}); "
            f"supervisor restarts: {len(data.restarts)}; {len(late)} without a reconcile after"
            + (f": first t={late[0].t_start:.0f}s {late[0].kind}" if late else "")
            + (
                f"; {len(moved)} reconciled only within two intervals + 10 s of a later fault "
                f"that stopped reconciles in the window: {', '.join(moved)}"
                if moved
                else ""
            ),
        )
    )
    return results


def _reconciles_back_at(data: RunData, fault: FaultEvent) -> float | None:
    """Return when (run clock) a fault stopped keeping reconciles from being sent or completed,
    or None if it never does: a Celery fault (a pool child's kill at the kill, not at the end of
    the fault's watch; a worker's or beat's kill when the supervisor had it up again), the broker
    unusable (a Redis outage, a failover until the old master is back as a replica), a node
    killed, MongoDB unusable. A node cut off Redis is not one: the other node's worker runs them."""
    if fault.kind == "celery_child_kill" and "killed_at" in fault.notes:
        return fault.notes["killed_at"] - data.wall0
    if fault.kind.startswith("celery_") or fault.kind == "redis_pause_at_ack":
        return fault.t_end
    if fault.outage or fault.node_down or fault.mongo_outage:
        return fault.t_end
    return None


def reconcile_deadline(data: RunData, fault: FaultEvent) -> tuple[float, str]:
    """Return by when (run clock) a complete reconcile must follow ``fault``, and what moved it.

    Two beat intervals + 10 s after the fault's end; but a later fault that began within that
    window and stopped reconciles starts the window again when it is over. Seed 61: the only
    reconcile begun after t=311's paused ack was killed with its pool child at t=349 (the t=336
    celery_child_kill), and beat could not send the next one through the t=345 Redis failover;
    beat's first tick after it ran at once and completed 29 s later. One level only: the later
    fault's own later faults do not move it again (in the full form faults follow each other
    every few seconds, and a chain would reach the end of the run)."""
    window = 2 * data.reconcile_interval + 10
    later = [
        (back, other)
        for other in data.faults
        if other is not fault and fault.t_start <= other.t_start <= fault.t_end + window
        for back in [_reconciles_back_at(data, other)]
        if back is not None and back > fault.t_end
    ]
    if not later:
        return fault.t_end + window, ""
    back, last = max(later, key=lambda pair: pair[0])
    return back + window, f"t={last.t_start:.0f}s {last.kind}"


def _log_count(path, text: str) -> int:
    try:
        return path.read_text(errors="replace").count(text)
    except FileNotFoundError:
        return 0


def fault_checks(data: RunData) -> list[CheckResult]:
    """Run the checks of the MongoDB, stall and Celery faults that the run injected."""
    return [*_mongo_checks(data), *_stall_checks(data), *_celery_checks(data)]


def fault_measure(data: RunData, fault: FaultEvent) -> str:
    """Describe what one fault measured, for the fault table."""
    if fault.mongo_outage:
        st = mongo_fault_stats(data, fault)
        worst = f"{_ms(st['worst_server_503_ms'])} (web worker), {_ms(st['worst_503_ms'])} (door)"
        health = (
            f"+{st['health_error_after']:.1f} s"
            if st["health_error_after"] is not None
            else "never"
        )
        back = f"+{st['back_after']:.1f} s" if st["back_after"] is not None else "never"
        return f"worst 503 {worst} ({st['n503']} x 503); /health error {health}; 2xx again {back}"
    if fault.stall:
        return f"stopped {fault.stall[1] - fault.stall[0]:.1f} s; {fault.reconciles_during} reconcile(s) meanwhile"
    if "restarted_in" in fault.notes:
        return f"up again after {fault.notes['restarted_in']:.1f} s"
    return ""
