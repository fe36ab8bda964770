"""Stalled web workers: a gunicorn worker stopped (SIGSTOP) in the middle of a request, held until
a reconcile begun after its operation turned stale (CHECKIN_STALE_OP_SECONDS) has run meanwhile (at
most 20 s), then resumed.

- ``web_stall``: blind, a worker of the main server caught holding a client connection;
- ``web_stall_targeted``: exact, a worker of the failpoint-armed server (``STALL_FAILPOINTS``)
  stops itself between the counter write and the record write of a check-in, or between the
  record write and the counter write of a check-out (core.failpoints); the driver sends it one
  request chosen for the purpose, finds the stopped worker (process state 'T'), holds and resumes;
- ``stall_redis_down``: a blind stall, and Redis killed and restarted while the worker is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time

import pymongo

from chaos.celery_faults import _lease_holder, _request_reconcile, reconcile_under_way
from chaos.fault_base import Fault, FaultContext, FaultEvent, redis_down
from chaos.worker_log import reconciles_started_within
from devtools.servers import wait_until_stopped
from devtools.stack import Gunicorn

HOLD_MAX = 20.0  # seconds a worker stays stopped at most, unless a reconcile is under way:
HOLD_LONGEST = 25.0  # then up to this (the doors' requests time out at 30 s)
# Seconds between asks for a reconcile while none has completed since the stale time: an ask that
# meets a run in progress is skipped at once ("another run holds the lease"), so asking often
# starts the next run within this long of the lease's release (seeds 72 and 74: runs of 12-16 s
# under the two-node load; asked every 6 s, the one begun after the stale time ended past the 25 s
# hold).
ASK_AGAIN = 2.0
QUIET_WAIT = 15.0  # seconds a stall waits, before it stops a worker, for no reconcile to run
# The stall server: armed failpoints (it receives nothing but the targeted requests), and no
# request deadline. With one, a request stopped longer than the deadline finds no time left when
# it resumes and pymongo refuses its second write: the deadline happens to fence this race for
# requests, but not for the admin (exempt), jobs, or a write already sent to a hung MongoDB.
# The admission must hold without it.
STALL_SERVER_ENV = {
    "CHECKIN_FAILPOINTS": "check_in.after_increment=sigstop:1,check_out.after_record=sigstop:1",
    "MONGODB_REQUEST_TIMEOUT_SECONDS": "0",
}
TARGET_TRIES = 12  # requests sent before giving up on reaching the failpoint (full sessions...)


def _reconciles_since(ctx: FaultContext, since_run: float) -> int:
    """Reconcile runs begun after ``since_run`` and completed (every node's worker: one log)."""
    worker = ctx.stack.celery_process("celery-worker")
    if worker is None:
        return 0
    return len(reconciles_started_within(worker.log_path, ctx.wall(since_run), time.time()))


def reconcile_due(now: float, stale_at: float, asked: list[float]) -> bool:
    """Whether a stall's hold should ask for a reconcile now: once its operation is stale, and
    again every ASK_AGAIN seconds (the caller stops asking once one begun after it has completed)."""
    return now > stale_at and (not asked or now - asked[-1] >= ASK_AGAIN)


def _ask_for_reconcile(ctx: FaultContext, asked: list[float]) -> None:
    """Publish a reconcile in a thread of its own (Redis may be down: it retries a little, then
    gives up; the hold loop asks again later)."""
    asked.append(ctx.clock())

    def publish() -> None:
        with contextlib.suppress(Exception):
            _request_reconcile(ctx)

    threading.Thread(target=publish, name="stall-reconcile", daemon=True).start()


def hold_and_resume(ctx: FaultContext, event: FaultEvent, *, pid: int, stopped_at: float) -> None:
    """Keep ``pid`` stopped until a reconcile begun after its operation turned stale
    (CHECKIN_STALE_OP_SECONDS after the stop) has completed, so the reconcile may end the stopped
    request's half-done operation; at most HOLD_MAX (see below). Then SIGCONT it. Record the
    window.

    Past HOLD_MAX it is held on (up to HOLD_LONGEST) while a reconcile begun after the stale time
    is under way: at load average 17-19, runs took 8-12 s and seed 61's run held a stall 20.2 s
    while the one begun 6 s after the stale time ended 0.1 s later.

    A reconcile is asked for as soon as the operation is stale (and again every ASK_AGAIN seconds
    while none begun since has completed): beat's alone, every 10-15 s, may start just before the stale time
    and its next end after HOLD_MAX, or be lost to a broker fault (seed 52: none ran in a 20 s
    stall)."""
    stale_at = stopped_at + ctx.stale_op_seconds
    asked: list[float] = []
    client = pymongo.MongoClient(
        ctx.stack.mongo.uri, serverSelectionTimeoutMS=500, socketTimeoutMS=1000
    )
    try:
        while True:
            now = ctx.clock()
            held = now - stopped_at
            if now > stale_at and _reconciles_since(ctx, stale_at):
                break
            if held >= HOLD_LONGEST or (
                held >= HOLD_MAX
                and not reconcile_under_way(ctx, client[ctx.stack.db_name], ctx.wall(stale_at))
            ):
                break
            if reconcile_due(now, stale_at, asked):
                _ask_for_reconcile(ctx, asked)
            time.sleep(0.2)
    finally:
        client.close()
    event.notes["reconciles_asked"] = len(asked)
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:  # killed meanwhile (with its node, node_kill): nothing to resume
        event.notes["died_stopped"] = True
    event.stall = (stopped_at, ctx.clock())
    event.reconciles_during = _reconciles_since(ctx, stopped_at)
    event.worker_pid = pid


def wait_for_no_reconcile(ctx: FaultContext, limit: float = QUIET_WAIT) -> float:
    """Wait (bounded) until no reconcile holds its lease, and return the wait: a stall begun while
    a run is under way waits that run out before the one begun after its stale time can start
    (seed 74: the stop came with a run's start, 299.4 s; that run took 12.6 s, the next 16.5 s)."""
    started = time.monotonic()
    client = pymongo.MongoClient(
        ctx.stack.mongo.uri, serverSelectionTimeoutMS=500, socketTimeoutMS=1000
    )
    try:
        db = client[ctx.stack.db_name]
        while _lease_holder(db) is not None and time.monotonic() - started < limit:
            time.sleep(0.2)
    finally:
        client.close()
    return round(time.monotonic() - started, 1)


def _stop_serving_worker(web: Gunicorn) -> tuple[int, bool]:
    pid = web.serving_worker_pid(timeout=3.0)
    serving = pid is not None
    if pid is None:
        stopped = set(web.stopped_worker_pids())
        running = [p for p in web.worker_pids() if p not in stopped]
        if not running:
            raise RuntimeError(f"{web.name}: no running worker to stop")
        pid = running[0]
    os.kill(pid, signal.SIGSTOP)
    wait_until_stopped(pid)  # "stopped at" means stopped: kill() returns before every thread is
    return pid, serving


def _blind(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
    event.notes["waited_for_no_reconcile"] = wait_for_no_reconcile(ctx)
    web = ctx.serving_web()
    pid, serving = _stop_serving_worker(web)
    stopped_at = ctx.clock()
    redis_text = ""
    if fault.kind == "stall_redis_down":
        time.sleep(0.5)
        redis_text = "; " + redis_down(ctx, event, fault.down) + " meanwhile"
    hold_and_resume(ctx, event, pid=pid, stopped_at=stopped_at)
    held = event.stall[1] - event.stall[0]
    event.outcome = (
        f"worker {pid} stopped {'while serving a request' if serving else '(idle)'}{redis_text}; "
        f"resumed after {held:.1f} s, {event.reconciles_during} reconcile(s) ran meanwhile"
    )
    event.ok = True


def _wait_stopped(web: Gunicorn, task: asyncio.Task, timeout: float = 5.0) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not task.done():
        stopped = web.stopped_worker_pids()
        if stopped:
            return stopped[0]
        time.sleep(0.01)
    return None


async def _targeted(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
    server = (ctx.stall_web.name, ctx.stall_web.url)
    event.notes["waited_for_no_reconcile"] = await asyncio.to_thread(wait_for_no_reconcile, ctx)
    tried, full = [], set()
    for _ in range(TARGET_TRIES):
        request = ctx.driver.stall_request(fault.target, server, frozenset(full))
        if request is None:  # nothing fits now (no one inside a churn session yet...)
            await asyncio.sleep(0.5)
            continue
        task = asyncio.create_task(request)
        pid = await asyncio.to_thread(_wait_stopped, ctx.stall_web, task)
        if pid is not None:
            break
        record = await task  # answered without reaching the failpoint (full, not inside...)
        tried.append(f"{record.status} {record.reason}")
        if record.reason == "session_full":
            full.add(record.session)
    else:
        raise RuntimeError(f"no {fault.target} reached the failpoint: {tried}")
    stopped_at = ctx.clock()
    await asyncio.to_thread(hold_and_resume, ctx, event, pid=pid, stopped_at=stopped_at)
    record = await asyncio.wait_for(task, timeout=40)
    point = "after_increment" if fault.target == "check_in" else "after_record"
    event.notes.update(session=record.session, participant=record.participant, seq=record.seq)
    event.outcome = (
        f"{fault.target} (seq {record.seq}, session {record.session}) stopped worker {pid} at "
        f"{fault.target}.{point}; resumed after {event.stall[1] - event.stall[0]:.1f} s, "
        f"{event.reconciles_during} reconcile(s) ran meanwhile; answered {record.status} {record.reason}"
    )
    event.ok = True


async def apply(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
    """Apply one stall fault (the blocking parts run in a thread)."""
    if fault.kind == "web_stall_targeted":
        await _targeted(ctx, fault, event)
    else:
        await asyncio.to_thread(_blind, ctx, fault, event)


def resume_all(ctx: FaultContext) -> None:
    """SIGCONT every stopped web worker and server of the stack (after the schedule, whatever
    happened: nothing may stay stopped)."""
    for web in ctx.stack.webs.values():
        for pid in web.stopped_worker_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    for server in (*ctx.stack.redis_servers(), ctx.stack.mongo):
        if server is not None:
            server.resume()
