"""Faults on a schedule, against the real processes of the stack.

Redis killed, paused, restarted empty, flushed; gunicorn workers restarted (here); web workers
stalled, blind or at the failpoint between two writes, also while Redis is down (chaos.stalls);
MongoDB paused or killed and restarted on its data (chaos.server_faults); the Celery worker, a
pool child in the middle of a reconcile, and beat killed (chaos.celery_faults).

Each fault runs in a thread (they block: waiting for a process to die or a port to open), or as
a coroutine when it sends requests itself, and is logged as a FaultEvent with its time window
and outcome. Outage and stall windows are kept so the checks can look at the traffic inside them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

from chaos import celery_faults, nodes, server_faults, stalls
from chaos.fault_base import Fault, FaultContext, FaultEvent, redis_client, redis_down

REDIS_KINDS = (
    "redis_kill",  # SIGKILL, start again (empty) after `down` seconds
    "redis_pause",  # SIGSTOP for `down` seconds, then SIGCONT
    "redis_restart",  # SIGKILL and start again at once: back empty before anyone notices
    "redis_flushall",  # FLUSHALL: counters, scripts' keys and Celery's queues gone
    "redis_script_flush",  # SCRIPT FLUSH: the next EVALSHA gets NOSCRIPT
)
WEB_KINDS = (
    "worker_term",  # SIGTERM one gunicorn worker (graceful: finishes its request)
    "worker_kill",  # SIGKILL one gunicorn worker (its request in flight is lost)
)
STALL_KINDS = (
    "web_stall",  # SIGSTOP a gunicorn worker while it serves a request, until a reconcile ran
    "web_stall_targeted",  # a worker stops itself at a failpoint between two writes (target)
    "stall_redis_down",  # web_stall, and Redis killed (down `down` s) while the worker is stopped
)
MONGO_KINDS = (
    "mongo_pause",  # SIGSTOP SecantusDB for `down` seconds, then SIGCONT
    "mongo_kill",  # SIGKILL SecantusDB, start it again on the same data after `down` seconds
)
CELERY_KINDS = (
    "celery_worker_kill",  # SIGKILL the worker's main process; the supervisor starts it again
    "celery_child_kill",  # SIGKILL the pool child while it runs a reconcile (acks_late: redelivered)
    "celery_beat_kill",  # SIGKILL beat; the supervisor starts it again
    "redis_pause_at_ack",  # SIGSTOP Redis from a reconcile's receipt until after its ack
)
NODE_KINDS = nodes.NODE_KINDS  # the two-node form's (chaos/nodes.py)
KINDS = REDIS_KINDS + WEB_KINDS + STALL_KINDS + MONGO_KINDS + CELERY_KINDS + NODE_KINDS
__all__ = ["KINDS", "Fault", "FaultContext", "FaultEvent", "FaultInjector"]


# The faults that take Redis from every node at once: they wait for a node's cut to end first.
REDIS_WIDE_KINDS = ("redis_kill", "redis_pause", "redis_restart", "redis_flushall")


def apply_redis_or_web(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
    if fault.kind in REDIS_WIDE_KINDS:
        event.notes["waited_for_cut"] = nodes.wait_for_no_cut()
    server = ctx.stack.redis_master()
    if fault.kind == "redis_kill":
        event.outcome = redis_down(ctx, event, fault.down)
    elif fault.kind == "redis_pause":
        server.pause()
        down_from = ctx.clock()
        time.sleep(fault.down)
        server.resume()
        event.outage = (down_from, ctx.clock())
        event.outcome = f"SIGSTOP for {fault.down:.1f} s, then SIGCONT"
    elif fault.kind == "redis_restart":
        old = server.proc.pid
        down_from = ctx.clock()
        server.restart()
        event.outage = (down_from, ctx.clock())
        event.outcome = f"pid {old} killed and restarted empty as pid {server.proc.pid} in {event.outage[1] - down_from:.2f} s"
    elif fault.kind == "redis_flushall":
        client = redis_client(ctx)
        keys = client.dbsize()
        client.flushall()
        client.close()
        event.outcome = f"FLUSHALL removed {keys} keys"
    elif fault.kind == "redis_script_flush":
        client = redis_client(ctx)
        client.script_flush()
        client.close()
        event.outcome = "SCRIPT FLUSH done"
    elif fault.kind in WEB_KINDS:
        sig = signal.SIGTERM if fault.kind == "worker_term" else signal.SIGKILL
        old, new, seconds = ctx.serving_web().restart_worker(sig)
        event.worker_pid = old
        if new is None:
            raise RuntimeError(
                f"worker {old} got {sig.name} but was not replaced in {seconds:.0f} s"
            )
        event.outcome = f"worker {old} got {sig.name}; master started {new} ({seconds:.2f} s)"
    event.ok = True


class FaultInjector:
    """Run a fault schedule against a stack; every fault is recorded, none is skipped silently."""

    def __init__(self, ctx: FaultContext, schedule: list[Fault]) -> None:
        unknown = [fault.kind for fault in schedule if fault.kind not in KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds: {unknown}")
        if any(f.kind == "web_stall_targeted" for f in schedule) and ctx.stall_web is None:
            raise ValueError("targeted stalls need the failpoint-armed gunicorn (stall_web)")
        if any(f.kind in NODE_KINDS for f in schedule) and "b" not in ctx.nodes:
            raise ValueError("node faults need the two-node form (a second node, Sentinel)")
        self.ctx = ctx
        self.schedule = sorted(schedule, key=lambda fault: fault.at)
        self.events: list[FaultEvent] = []

    async def _apply(self, fault: Fault, event: FaultEvent) -> None:
        if fault.kind in STALL_KINDS:
            await stalls.apply(self.ctx, fault, event)
        elif fault.kind in MONGO_KINDS:
            await asyncio.to_thread(server_faults.apply, self.ctx, fault, event)
        elif fault.kind in NODE_KINDS:
            await asyncio.to_thread(nodes.apply, self.ctx, fault, event)
        elif fault.kind in CELERY_KINDS:
            await asyncio.to_thread(celery_faults.apply, self.ctx, fault, event)
        else:
            await asyncio.to_thread(apply_redis_or_web, self.ctx, fault, event)

    async def _inject(self, fault: Fault, stop: asyncio.Event) -> None:
        clock = self.ctx.clock
        event = FaultEvent(kind=fault.kind, t_start=clock())
        if fault.kind in NODE_KINDS and fault.kind != "redis_failover":
            event.node = fault.node
        self.events.append(event)
        if stop.is_set():
            event.outcome = "skipped: traffic had already stopped"
            event.t_end = event.t_start
            return
        try:
            await self._apply(fault, event)
        except Exception as exc:  # a fault that could not be applied fails the run
            event.ok = False
            event.outcome = f"could not apply: {type(exc).__name__}: {exc}"
        event.t_end = clock()
        kind = f"{fault.kind} ({event.node})" if event.node else fault.kind
        print(f"[chaos] t={event.t_start:6.1f}s {kind:<18} {event.outcome}", flush=True)

    async def run(self, stop: asyncio.Event) -> None:
        """Start each fault at its time (they may overlap); skip, and record, those after ``stop``."""
        running = []
        try:
            for fault in self.schedule:
                delay = fault.at - self.ctx.clock()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=delay)
                running.append(asyncio.create_task(self._inject(fault, stop)))
            await asyncio.gather(*running)
        finally:
            # Whatever happened, no process of the stack is left stopped.
            stalls.resume_all(self.ctx)
