"""Celery faults: the worker's main process, a pool child in the middle of a reconcile, and beat,
each killed with SIGKILL (the stack's supervisor starts a dead worker or beat again; a task whose
pool child died is rejected back to the queue, acks_late + reject_on_worker_lost, and must run
again, once, to completion); and Redis paused exactly while the worker acknowledges a task (the
issue's "Couldn't ack": the worker must consume again once Redis answers, without a restart)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from datetime import UTC, datetime

import psutil
import pymongo
import pymongo.errors
import redis
from celery import Celery

from chaos.fault_base import Fault, FaultContext, FaultEvent, redis_client
from chaos.worker_log import (
    RECONCILE_TASK,
    LogTail,
    TaskEvent,
    broker_lost_since,
    running_task,
    starts,
    succeeded_since,
    task_events,
)

RESTART_WAIT = 60.0
REDELIVERY_WAIT = 45.0
CHILD_KILL_TRIES = 3
RECONCILE_JOB = "reconcile_counters"  # jobs_app.schedule.RECONCILE_JOB: the reconcile's lease
LEASE_COLLECTION = "jobs_app_lease"  # jobs_app.models.Lease
ACK_WAIT = 6.0  # seconds Redis stays paused after the task finished, waiting for its ack
CONSUME_WAIT = 8.0  # after Redis resumes, the worker must take a task within this long


def _kill_and_wait_restart(ctx: FaultContext, event: FaultEvent, name: str) -> None:
    proc = ctx.stack.celery_process(name)
    if proc is None:
        raise RuntimeError(f"no {name} in this run")
    beat = name == "celery-beat"
    before = len(starts(proc.log_path, beat=beat))
    old = proc.pid
    os.kill(old, signal.SIGKILL)
    killed = time.monotonic()
    event.notes["killed_at"] = time.time()
    while time.monotonic() - killed < RESTART_WAIT:
        if len(starts(proc.log_path, beat=beat)) > before:
            break
        time.sleep(0.2)
    else:
        raise RuntimeError(f"{name} not up again {RESTART_WAIT:.0f} s after the kill")
    event.notes["restarted_in"] = round(time.monotonic() - killed, 1)
    event.outcome = (
        f"{name} pid {old} killed; the supervisor started pid {proc.pid}, up "
        f"{event.notes['restarted_in']:.1f} s after the kill"
    )
    event.ok = True


def _workers(ctx: FaultContext) -> list:
    """The running Celery workers of every node (``celery-worker``, ``celery-worker-b``)."""
    return [p for p in ctx.stack.celery if p.name.startswith("celery-worker") and p.running]


def holder_pid(holder: str, host: str) -> int | None:
    """Return the pid of a lease holder id (``host:pid:thread``, jobs_app.services) of this host."""
    name, _, rest = holder.partition(":")
    pid = rest.split(":", 1)[0]
    return int(pid) if name == host and pid.isdigit() else None


def _lease_holder(db) -> int | None:
    """The pid holding the reconcile lease now (None: free, expired, or MongoDB not answering)."""
    try:
        lease = db[LEASE_COLLECTION].find_one({"name": RECONCILE_JOB})
    except pymongo.errors.PyMongoError:
        return None
    now = datetime.now(UTC).replace(tzinfo=None)  # pymongo's datetimes: naive UTC
    if not lease or not lease.get("expires_at") or lease["expires_at"] <= now:
        return None
    return holder_pid(str(lease.get("holder", "")), socket.gethostname())


def _master_answers(ctx: FaultContext) -> bool:
    """Whether the Redis master the Sentinels name answers a PING now (not killed, paused or in
    a failover: a task killed then could be requeued on a master about to lose it)."""
    try:
        client = redis_client(ctx)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, RuntimeError, OSError):
        return False


def _node_cut(ctx: FaultContext, worker) -> bool:
    """Whether the worker's node is cut off Redis now (node_partition_redis)."""
    return any(
        node.worker is worker and node.links is not None and node.links.is_cut
        for node in ctx.nodes.values()
    )


def _running_reconcile(ctx: FaultContext, db, deadline: float):
    """Wait for a pool child of one of the workers to hold the reconcile lease (in the middle of
    a run, not one skipped for want of the lease) while the Redis master answers and the worker
    has held its broker connection since it received the task (the task must be requeued by the
    worker's reject: seed 61's smoke run killed one during a failover, the full run of seed 61
    twice after the worker's node was cut off Redis, which made kombu restore the task as
    unacknowledged and leave it to the 300 s visibility timeout); return (child pid, worker,
    the task's "received" event)."""
    while time.monotonic() < deadline:
        pid = _lease_holder(db) if _master_answers(ctx) else None
        workers = {proc.pid: proc for proc in _workers(ctx)}
        if pid is not None:
            with contextlib.suppress(psutil.Error):
                parent = psutil.Process(pid).ppid()
                if parent in workers:
                    worker = workers[parent]
                    task = running_task(task_events(worker.log_path), parent)
                    if (
                        task is not None
                        and task.task == RECONCILE_TASK
                        and not _node_cut(ctx, worker)
                        and not broker_lost_since(worker.log_path, parent, task.at)
                    ):
                        return pid, worker, task
        time.sleep(0.05)
    return None


def reconcile_under_way(ctx: FaultContext, db, since: float) -> bool:
    """Whether a pool child holds the reconcile lease for a reconcile its worker received after
    ``since`` (epoch seconds): a run begun then, not yet ended."""
    pid = _lease_holder(db)
    if pid is None:
        return False
    workers = {proc.pid: proc for proc in _workers(ctx)}
    with contextlib.suppress(psutil.Error):
        parent = psutil.Process(pid).ppid()
        if parent in workers:
            task = running_task(task_events(workers[parent].log_path), parent)
            return task is not None and task.task == RECONCILE_TASK and task.at >= since
    return False


def _kill_child_mid_reconcile(ctx: FaultContext, event: FaultEvent) -> None:
    """Kill the pool child that holds the reconcile lease, while it holds it: in the middle of a
    reconcile, whichever node's worker runs it (two nodes: either may take a reconcile, and one
    that another node's run holds the lease for is skipped at once)."""
    wait = 2 * ctx.reconcile_interval + 10
    client = pymongo.MongoClient(
        ctx.stack.mongo.uri, serverSelectionTimeoutMS=1000, socketTimeoutMS=2000
    )
    try:
        db = client[ctx.stack.db_name]
        for _ in range(CHILD_KILL_TRIES):
            with contextlib.suppress(Exception):  # beat's next one will do (Redis may be down)
                _request_reconcile(ctx)  # one to kill now, rather than waiting for beat's next
            found = _running_reconcile(ctx, db, time.monotonic() + wait)
            if found is None:
                raise RuntimeError(f"no pool child held the reconcile lease within {wait:.0f} s")
            child, worker, task = found
            task_id = task.id
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                continue  # ended meanwhile
            killed_at = time.time()
            done = succeeded_since(task_events(worker.log_path), task_id, task.at)
            if not any(e.at <= killed_at for e in done):
                break  # killed in the middle of this delivery of it
        else:
            raise RuntimeError(f"each of {CHILD_KILL_TRIES} reconciles finished before the kill")
    finally:
        client.close()
    event.notes.update(task_id=task_id, child_pid=child, killed_at=killed_at, worker=worker.name)
    deadline = time.monotonic() + REDELIVERY_WAIT
    succeeded = []
    while time.monotonic() < deadline and not succeeded:
        time.sleep(0.5)
        succeeded = succeeded_since(task_events(worker.log_path), task_id, killed_at)
    event.notes["succeeded"] = len(succeeded)
    event.outcome = (
        f"{worker.name}'s pool child {child} killed while running reconcile task {task_id[:8]} "
        "(holding its lease); "
        + (
            f"redelivered and succeeded {succeeded[0].at - killed_at:.1f} s after the kill"
            if succeeded
            else f"not run again within {REDELIVERY_WAIT:.0f} s"
        )
    )
    event.ok = True  # applied; whether it ran once to completion is an invariant of the run


def _request_reconcile(ctx: FaultContext) -> str:
    """Publish a reconcile task straight to the broker (not through a web process, whose Redis
    breaker may still be open after the pause and would keep it in the outbox for a while);
    return its id."""
    app = Celery("chaos", broker=ctx.stack.redis_master().url, set_as_current=False)
    try:
        return app.send_task(
            RECONCILE_TASK,
            retry=True,
            retry_policy={"max_retries": 10, "interval_start": 0.1, "interval_step": 0.2},
        ).id
    finally:
        app.close()


def _next_reconcile_received(tail: LogTail, deadline: float) -> TaskEvent | None:
    """Wait for a reconcile received; the events after it stay to be read (seed 63: the task's
    "succeeded", logged 9 ms after, was read here and dropped, so the fault waited for it 30 s
    with Redis paused and the Sentinels failed the master over)."""
    while time.monotonic() < deadline:
        events = tail.new_task_events()
        for at, event in enumerate(events):
            if event.task == RECONCILE_TASK and event.event == "received":
                tail.unread(events[at + 1 :])
                return event
        time.sleep(0.02)
    return None


def _task_received_by(tail: LogTail, worker_pid: int | None, deadline: float) -> bool:
    """Wait for the worker (main process ``worker_pid``) to take any task. Two nodes' workers
    share the log: another node's receipt says nothing of this one (seed 69: the worker whose
    ack failed under Sentinel took nothing for 17 s while the other node's took the probe)."""
    while time.monotonic() < deadline:
        if any(e.event == "received" and e.pid == worker_pid for e in tail.new_task_events()):
            return True
        time.sleep(0.02)
    return False


def _pause_redis_at_ack(ctx: FaultContext, event: FaultEvent) -> None:
    """Ask for a reconcile, pause Redis as soon as the worker has it, keep Redis paused until the
    task has finished and its acknowledgement has met the paused Redis, then resume; then ask for
    another reconcile and measure how soon the worker takes it (it must, within seconds)."""
    worker = ctx.stack.celery_process("celery-worker")
    if worker is None:
        raise RuntimeError("no celery-worker in this run")
    tail = LogTail(worker.log_path)
    acks_before = worker.log_count(r"Couldn't ack")
    event.notes["first_probe"] = _request_reconcile(ctx)
    received = _next_reconcile_received(tail, time.monotonic() + 2 * ctx.reconcile_interval + 10)
    if received is None:
        raise RuntimeError("the worker received no reconcile")
    task_id, acking = received.id, received.pid  # the worker that will acknowledge it
    paused = ctx.stack.redis_master()
    paused.pause()
    paused_at = ctx.clock()
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if any(e.id == task_id and e.event == "succeeded" for e in tail.new_task_events()):
                break
            time.sleep(0.05)
        # The main process acknowledges once its loop gets to it (other calls to the paused Redis
        # may hold it up to a socket timeout each): keep Redis paused until the ack has failed.
        deadline = time.monotonic() + ACK_WAIT
        while time.monotonic() < deadline:
            if worker.log_count(r"Couldn't ack") > acks_before:
                break
            time.sleep(0.1)
        else:
            # Where is the main process instead? Celery logs every thread's stack on SIGUSR1.
            os.kill(worker.pid, signal.SIGUSR1)
            time.sleep(0.5)
    finally:
        paused.resume()
    event.outage = (paused_at, ctx.clock())
    resumed = time.monotonic()
    acks = worker.log_count(r"Couldn't ack") - acks_before
    event.notes.update(task_id=task_id, resumed_at=time.time(), couldnt_ack=acks)
    # Tasks to take: one per worker, so that another node's idle worker cannot take the only one
    # (Redis serves blocked BRPOPs first come, first served: a consuming worker gets one).
    event.notes["probe"] = [_request_reconcile(ctx) for _ in _workers(ctx)]
    event.notes["acking_worker"] = acking
    taken = _task_received_by(tail, acking, resumed + CONSUME_WAIT)
    event.notes["consumed_after"] = round(time.monotonic() - resumed, 1) if taken else None
    event.outcome = (
        f"Redis SIGSTOP while reconcile {task_id[:8]} ran and was acknowledged "
        f"({acks} x 'Couldn't ack'); SIGCONT after {event.outage[1] - paused_at:.1f} s; "
        + (
            f"the worker ({acking}) took the next task {event.notes['consumed_after']:.1f} s "
            "after that"
            if taken
            else f"the worker ({acking}) took no task within {CONSUME_WAIT:.0f} s"
        )
    )
    event.ok = True


def apply(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
    if fault.kind == "celery_worker_kill":
        _kill_and_wait_restart(ctx, event, "celery-worker")
    elif fault.kind == "celery_beat_kill":
        _kill_and_wait_restart(ctx, event, "celery-beat")
    elif fault.kind == "celery_child_kill":
        _kill_child_mid_reconcile(ctx, event)
    elif fault.kind == "redis_pause_at_ack":
        _pause_redis_at_ack(ctx, event)
    else:
        raise ValueError(fault.kind)
