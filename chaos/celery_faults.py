"""Celery crashes: the worker's main process, a pool child in the middle of a reconcile, and beat,
each killed with SIGKILL. The stack's supervisor starts a dead worker or beat again; a task whose
pool child died is rejected back to the queue (acks_late + reject_on_worker_lost) and must run
again, once, to completion."""

from __future__ import annotations

import os
import signal
import time

import psutil

from chaos.fault_base import Fault, FaultContext, FaultEvent
from chaos.worker_log import RECONCILE_TASK, LogTail, starts, task_events

RESTART_WAIT = 60.0
REDELIVERY_WAIT = 45.0
CHILD_KILL_TRIES = 3


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


def _pool_child(worker_pid: int) -> int | None:
    for child in psutil.Process(worker_pid).children():
        if child.status() != psutil.STATUS_ZOMBIE:
            return child.pid
    return None


def _next_reconcile_received(tail: LogTail, deadline: float) -> str | None:
    while time.monotonic() < deadline:
        for event in tail.new_task_events():
            if event.task == RECONCILE_TASK and event.event == "received":
                return event.id
        time.sleep(0.02)
    return None


def _kill_child_mid_reconcile(ctx: FaultContext, event: FaultEvent) -> None:
    worker = ctx.stack.celery_process("celery-worker")
    if worker is None:
        raise RuntimeError("no celery-worker in this run")
    tail = LogTail(worker.log_path)
    wait = 2 * ctx.reconcile_interval + 10
    for _ in range(CHILD_KILL_TRIES):
        task_id = _next_reconcile_received(tail, time.monotonic() + wait)
        child = _pool_child(worker.pid) if task_id else None
        if child is None:
            raise RuntimeError(f"no reconcile received (or no pool child) within {wait:.0f} s")
        os.kill(child, signal.SIGKILL)
        killed_at = time.time()
        done = [e for e in task_events(worker.log_path) if e.id == task_id]
        if not any(e.event == "succeeded" and e.at <= killed_at for e in done):
            break  # killed in the middle of it
    else:
        raise RuntimeError(f"each of {CHILD_KILL_TRIES} reconciles finished before the kill")
    event.notes.update(task_id=task_id, child_pid=child, killed_at=killed_at)
    deadline = time.monotonic() + REDELIVERY_WAIT
    succeeded = []
    while time.monotonic() < deadline and not succeeded:
        time.sleep(0.5)
        succeeded = [
            e for e in task_events(worker.log_path) if e.id == task_id and e.event == "succeeded"
        ]
    event.notes["succeeded"] = len(succeeded)
    event.outcome = f"pool child {child} killed while running reconcile task {task_id[:8]}; " + (
        f"redelivered and succeeded {succeeded[0].at - killed_at:.1f} s after the kill"
        if succeeded
        else f"not run again within {REDELIVERY_WAIT:.0f} s"
    )
    event.ok = True  # applied; whether it ran once to completion is an invariant of the run


def apply(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
    if fault.kind == "celery_worker_kill":
        _kill_and_wait_restart(ctx, event, "celery-worker")
    elif fault.kind == "celery_beat_kill":
        _kill_and_wait_restart(ctx, event, "celery-beat")
    elif fault.kind == "celery_child_kill":
        _kill_child_mid_reconcile(ctx, event)
    else:
        raise ValueError(fault.kind)
