"""What a fault is, what became of it, and what applying one needs (shared by chaos.faults and
the modules that implement the fault kinds)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from devtools.stack import Gunicorn, Stack


@dataclass
class Fault:
    at: float  # seconds after traffic starts
    kind: str
    down: float = 0.0  # redis_kill / redis_pause / stall_redis_down / mongo_*: seconds down
    target: str = "check_in"  # web_stall_targeted: "check_in" | "check_out"
    node: str = "b"  # node_kill / node_partition_redis: the node hit, "a" | "b" (seed's choice)


@dataclass
class FaultEvent:
    kind: str
    t_start: float
    t_end: float = 0.0
    ok: bool = False
    outcome: str = ""
    outage: tuple[float, float] | None = None  # Redis unusable from..to (run clock)
    worker_pid: int | None = None
    mongo_outage: tuple[float, float] | None = None  # MongoDB unusable from..to (run clock)
    stall: tuple[float, float] | None = None  # a web worker stopped from..to (run clock)
    reconciles_during: int | None = None  # reconcile runs begun and ended within the stall
    node_down: tuple[float, float] | None = None  # node_kill: the node down from..to (run clock)
    partition: tuple[float, float] | None = None  # node_partition_redis: the node cut from..to
    node: str | None = None  # node_kill / node_partition_redis: the node hit ("a" | "b")
    notes: dict[str, Any] = field(default_factory=dict)


def redis_fault_during(
    faults: list[FaultEvent], start: float, end: float, *, grace: float = 0.0,
    partitions: bool = False, skip: FaultEvent | None = None,
) -> FaultEvent | None:  # fmt: skip
    """The first fault whose Redis outage (and, with ``partitions``, whose cut of a node off
    Redis) overlaps ``start``..``end`` of the run clock, counting ``grace`` seconds after it."""
    for fault in faults:
        window = fault.outage or (fault.partition if partitions else None)
        if fault is not skip and window and window[0] < end and start < window[1] + grace:
            return fault
    return None


@dataclass
class FaultContext:
    """What the fault implementations need besides the stack."""

    stack: Stack
    web: Gunicorn
    clock: Callable[[], float]  # the run clock (seconds since traffic started)
    stale_op_seconds: float  # CHECKIN_STALE_OP_SECONDS of the stack
    reconcile_interval: float  # RECONCILE_INTERVAL_SECONDS of the stack
    stall_web: Gunicorn | None = None  # the failpoint-armed gunicorn (targeted stalls)
    driver: Any = None  # chaos.driver.LoadDriver (targeted stalls send its requests)
    nodes: dict[str, Any] = field(default_factory=dict)  # two-node form: chaos.nodes.Node by name
    balancer: Any = None  # two-node form: chaos.balancer.Balancer

    def serving_web(self) -> Gunicorn:
        """The gunicorn a web-worker fault (kill, term, stall) hits: node a's, or node b's while
        node a is killed whole (node_kill)."""
        a, b = self.nodes.get("a"), self.nodes.get("b")
        if a is not None and b is not None and a.killed:
            return b.web
        return self.web

    def wall(self, t_run: float) -> float:
        """Convert a run-clock time to epoch seconds (to compare with process logs)."""
        return time.time() - (self.clock() - t_run)


def redis_client(ctx: FaultContext) -> redis.Redis:
    return redis.Redis(
        host="127.0.0.1",
        port=ctx.stack.redis_master().port,
        socket_timeout=2,
        socket_connect_timeout=2,
    )


def redis_down(ctx: FaultContext, event: FaultEvent, seconds: float) -> str:
    """Kill Redis, start it again (empty) after ``seconds``; record the outage; describe it."""
    server = ctx.stack.redis_master()
    old = server.proc.pid
    server.kill()
    down_from = ctx.clock()
    time.sleep(seconds)
    server.start()
    event.outage = (down_from, ctx.clock())
    return f"Redis pid {old} killed; down {seconds:.1f} s; restarted empty as pid {server.proc.pid}"
