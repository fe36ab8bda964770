"""Faults on a schedule: Redis killed, paused, restarted empty, flushed; gunicorn workers restarted.

Each fault runs in a thread (they block: waiting for a process to die or a port to open) and is
logged as a FaultEvent with its time window and outcome. Redis outage windows are kept so the
checks can look at the traffic inside them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from devtools.stack import Gunicorn, Stack

KINDS = (
    "redis_kill",  # SIGKILL, start again (empty) after `down` seconds
    "redis_pause",  # SIGSTOP for `down` seconds, then SIGCONT
    "redis_restart",  # SIGKILL and start again at once: back empty before anyone notices
    "redis_flushall",  # FLUSHALL: counters, scripts' keys and Celery's queues gone
    "redis_script_flush",  # SCRIPT FLUSH: the next EVALSHA gets NOSCRIPT
    "worker_term",  # SIGTERM one gunicorn worker (graceful: finishes its request)
    "worker_kill",  # SIGKILL one gunicorn worker (its request in flight is lost)
)


@dataclass
class Fault:
    at: float  # seconds after traffic starts
    kind: str
    down: float = 0.0  # for redis_kill / redis_pause


@dataclass
class FaultEvent:
    kind: str
    t_start: float
    t_end: float = 0.0
    ok: bool = False
    outcome: str = ""
    outage: tuple[float, float] | None = None  # Redis unusable from..to (run clock)
    worker_pid: int | None = None


class FaultInjector:
    """Run a fault schedule against a stack; every fault is recorded, none is skipped silently."""

    def __init__(
        self, stack: Stack, web: Gunicorn, schedule: list[Fault], *, clock: Callable[[], float]
    ) -> None:
        unknown = [fault.kind for fault in schedule if fault.kind not in KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds: {unknown}")
        self.stack = stack
        self.web = web
        self.schedule = sorted(schedule, key=lambda fault: fault.at)
        self.clock = clock
        self.events: list[FaultEvent] = []

    def _redis_client(self) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.stack.redis.port, socket_timeout=2, socket_connect_timeout=2
        )

    def _apply(self, fault: Fault, event: FaultEvent) -> None:
        server = self.stack.redis
        if fault.kind == "redis_kill":
            old = server.proc.pid
            server.kill()
            down_from = self.clock()
            time.sleep(fault.down)
            server.start()
            event.outage = (down_from, self.clock())
            event.outcome = f"pid {old} killed; down {fault.down:.1f} s; restarted empty as pid {server.proc.pid}"
        elif fault.kind == "redis_pause":
            server.pause()
            down_from = self.clock()
            time.sleep(fault.down)
            server.resume()
            event.outage = (down_from, self.clock())
            event.outcome = f"SIGSTOP for {fault.down:.1f} s, then SIGCONT"
        elif fault.kind == "redis_restart":
            old = server.proc.pid
            down_from = self.clock()
            server.restart()
            event.outage = (down_from, self.clock())
            event.outcome = f"pid {old} killed and restarted empty as pid {server.proc.pid} in {event.outage[1] - down_from:.2f} s"
        elif fault.kind == "redis_flushall":
            client = self._redis_client()
            keys = client.dbsize()
            client.flushall()
            client.close()
            event.outcome = f"FLUSHALL removed {keys} keys"
        elif fault.kind == "redis_script_flush":
            client = self._redis_client()
            client.script_flush()
            client.close()
            event.outcome = "SCRIPT FLUSH done"
        elif fault.kind in ("worker_term", "worker_kill"):
            sig = signal.SIGTERM if fault.kind == "worker_term" else signal.SIGKILL
            old, new, seconds = self.web.restart_worker(sig)
            event.worker_pid = old
            if new is None:
                raise RuntimeError(
                    f"worker {old} got {sig.name} but was not replaced in {seconds:.0f} s"
                )
            event.outcome = f"worker {old} got {sig.name}; master started {new} ({seconds:.2f} s)"
        event.ok = True

    async def _inject(self, fault: Fault, stop: asyncio.Event) -> None:
        event = FaultEvent(kind=fault.kind, t_start=self.clock())
        self.events.append(event)
        if stop.is_set():
            event.outcome = "skipped: traffic had already stopped"
            event.t_end = event.t_start
            return
        try:
            await asyncio.to_thread(self._apply, fault, event)
        except Exception as exc:  # a fault that could not be applied fails the run
            event.outcome = f"could not apply: {type(exc).__name__}: {exc}"
        event.t_end = self.clock()
        print(f"[chaos] t={event.t_start:6.1f}s {fault.kind:<18} {event.outcome}", flush=True)

    async def run(self, stop: asyncio.Event) -> None:
        """Start each fault at its time (they may overlap); skip, and record, those after ``stop``."""
        running = []
        for fault in self.schedule:
            delay = fault.at - self.clock()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
            running.append(asyncio.create_task(self._inject(fault, stop)))
        await asyncio.gather(*running)
