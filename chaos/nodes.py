"""The two-node form: app nodes behind the chaos balancer, and the faults that hit a node or the
Sentinel-managed Redis as a whole.

A node is a gunicorn, an ASGI server (uvicorn) and a Celery worker, each its own processes with
its own breakers, caches and hub. Node ``a`` is the stack's first web/live/worker (named ``web``,
``live``, ``celery-worker``, so every single-node fault hits it as before); node ``b`` is
``web-b``, ``live-b``, ``celery-worker-b`` and reaches Redis through links of its own
(chaos/redis_links.py) that ``node_partition_redis`` cuts. One beat in all (as one would run it).

Faults:
- ``redis_failover``: SIGKILL the master; wait for the Sentinels to promote the replica; after
  ``down`` seconds start the old master again, which the Sentinels make a replica of the new one.
- ``node_kill``: SIGKILL node b's gunicorn, uvicorn and worker (process groups); the balancer takes
  it out on its failed /health/ready checks and the doors' retries land on node a; after ``down``
  seconds the node is started again and the balancer puts it back.
- ``node_partition_redis``: cut node b off Redis and the Sentinels for ``down`` seconds while node
  a keeps them; meanwhile both nodes' /health are read: node a's Redis connected and node b's
  not (it serves from MongoDB), in one reading. (Not /health's overall status: node a may be
  ``degraded`` for another reason at the time, a stale reconcile after a Celery fault.)
"""

from __future__ import annotations

import atexit
import os
import signal
import time
from dataclasses import dataclass, field

import httpx

from chaos.fault_base import Fault, FaultContext, FaultEvent
from chaos.redis_links import NodeRedisLinks
from devtools.stack import Gunicorn, Process, Stack, Uvicorn

NODE_KINDS = ("redis_failover", "node_kill", "node_partition_redis")
FAILOVER_WAIT = 40.0  # seconds the Sentinels may take to promote the replica
CALM_WAIT = 20.0  # node_partition_redis waits at most this long for both nodes on Redis


@dataclass
class Node:
    name: str  # "a" | "b"
    web: Gunicorn
    live: Uvicorn | None = None
    worker: Process | None = None
    links: NodeRedisLinks | None = None  # node b only: its cuttable path to Redis
    down: list[list[float]] = field(default_factory=list)  # killed from..to (run clock)

    def processes(self) -> list[Process]:
        return [proc for proc in (self.web, self.live, self.worker) if proc is not None]


def start_second_node(stack: Stack, *, workers: int, live: bool, celery: bool) -> Node:
    """Start node b (web-b, live-b, celery-worker-b) on its own links to the Sentinel set."""
    links = NodeRedisLinks("node-b", stack.sentinel).start()
    atexit.register(links.stop)  # after the stack has stopped: nothing uses the relays then
    env = {"REDIS_URL": links.url}
    web = stack.start_web("web-b", workers=workers, **env)
    uvicorn = stack.start_live("live-b", **env) if live else None
    worker = None
    if celery:
        stack.start_celery(beat=False, name="celery-worker-b", **env)
        worker = stack.celery_process("celery-worker-b")
    return Node("b", web, uvicorn, worker, links)


def first_node(stack: Stack) -> Node:
    return Node(
        "a", stack.webs["web"], stack.lives.get("live"), stack.celery_process("celery-worker")
    )


def node_down_windows(events: list[FaultEvent], end: float) -> list[tuple[float, float]]:
    """Return the windows node b was down (``node_kill``), open ones ending at ``end``."""
    return [
        (event.node_down[0], event.node_down[1] if event.node_down[1] else end)
        for event in events
        if event.kind == "node_kill" and event.node_down is not None
    ]


def partition_evidence(readings: list[tuple[float, int | None, int | None, str, str]]) -> bool:
    """Tell whether one reading of both /health saw node a on Redis and node b not (both
    answered 200: serving)."""
    return any(
        a_code == 200 and b_code == 200 and a == "connected" and b not in ("connected", "")
        for _t, a_code, b_code, a, b in readings
    )


def _kill_group(proc: Process) -> None:
    if proc.running:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.proc.wait(timeout=10)


def _node_kill(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
    node = ctx.nodes["b"]
    supervised = [proc for proc in (node.live, node.worker) if proc is not None]
    for proc in supervised:
        ctx.stack.supervisor.unwatch(proc)
    pids = [proc.pid for proc in node.processes()]
    for proc in node.processes():
        _kill_group(proc)
    down_from = ctx.clock()
    event.node_down = (down_from, 0.0)
    time.sleep(fault.down)
    node.web.start()
    node.web.wait_ready()
    if node.live is not None:
        node.live.start()
        node.live.wait_ready()
    if node.worker is not None:
        node.worker.start()
    for proc in supervised:
        ctx.stack.supervisor.watch(proc)
    event.node_down = (down_from, ctx.clock())
    balancer = ctx.balancer
    back = None
    if balancer is not None:  # wait (bounded) for the balancer to put it back
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and back is None:
            back = next(
                (t for t, name, change in balancer.changes if name == "node-b" and change == "in"
                 and t >= down_from),
                None,
            )  # fmt: skip
            time.sleep(0.2)
        out = next(
            (t for t, name, change in balancer.changes
             if name == "node-b" and change == "out" and t >= down_from),
            None,
        )  # fmt: skip
        event.notes.update(taken_out=out, put_back=back)
    event.outcome = (
        f"node b (pids {pids}) SIGKILLed; started again {event.node_down[1] - down_from:.1f} s "
        f"later; balancer: out at {event.notes.get('taken_out')}, back at {back}"
    )
    event.ok = back is not None or balancer is None


def _redis_seen(url: str) -> tuple[int | None, str]:
    """Return /health's status code and its ``redis.status`` (connected, disconnected...)."""
    try:
        answer = httpx.get(f"{url}/health", timeout=3)
        return answer.status_code, str((answer.json().get("redis") or {}).get("status", ""))
    except (httpx.HTTPError, ValueError, AttributeError):
        return None, ""


def _node_partition(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
    a, b = ctx.nodes["a"], ctx.nodes["b"]
    # Both nodes on Redis first (bounded), so that what follows is the cut's doing and not an
    # overlapping fault's (a paused master takes node a off Redis too).
    deadline = time.monotonic() + CALM_WAIT
    while time.monotonic() < deadline:
        if _redis_seen(a.web.url)[1] == "connected" == _redis_seen(b.web.url)[1]:
            break
        time.sleep(0.5)
    event.notes["calm_after"] = round(CALM_WAIT - (deadline - time.monotonic()), 1)
    b.links.cut()
    down_from = ctx.clock()
    readings = []
    deadline = time.monotonic() + fault.down
    try:
        while time.monotonic() < deadline:
            (a_code, a_status), (b_code, b_status) = _redis_seen(a.web.url), _redis_seen(b.web.url)
            readings.append((ctx.clock(), a_code, b_code, a_status, b_status))
            time.sleep(0.5)
    finally:
        b.links.restore()
    event.partition = (down_from, ctx.clock())
    event.notes["readings"] = readings
    both = partition_evidence(readings)
    event.notes["one_in_fallback_one_not"] = both
    event.outcome = (
        f"node b cut off Redis for {fault.down:.1f} s (after {event.notes['calm_after']:.1f} s "
        "waiting for both nodes ok); "
        + (
            "seen at once: node a on Redis, node b not"
            if both
            else f"NOT seen at once (node a on Redis, node b not): {readings[-3:]}"
        )
        + f" ({len(readings)} readings)"
    )
    event.ok = True  # applied; the evidence is a check of the run


def _redis_failover(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
    servers = ctx.stack.sentinel
    old = servers.kill_master()
    down_from = ctx.clock()
    new_port = servers.wait_for_new_master(old.port, timeout=FAILOVER_WAIT)
    promoted = ctx.clock()
    event.outage = (down_from, promoted)
    time.sleep(max(0.0, fault.down - (promoted - down_from)))
    old.start()
    deadline = time.monotonic() + FAILOVER_WAIT
    role = servers.role_of(old)
    while role != "slave" and time.monotonic() < deadline:
        time.sleep(0.2)
        role = servers.role_of(old)
    event.notes.update(old_port=old.port, new_port=new_port, promoted_after=promoted - down_from)
    event.outcome = (
        f"master {old.port} SIGKILLed; the Sentinels promoted {new_port} "
        f"{promoted - down_from:.1f} s later; the old master is back as {role}"
    )
    event.ok = role == "slave"


def apply(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
    if fault.kind == "redis_failover":
        _redis_failover(ctx, fault, event)
    elif fault.kind == "node_kill":
        _node_kill(ctx, fault, event)
    elif fault.kind == "node_partition_redis":
        _node_partition(ctx, fault, event)
    else:
        raise ValueError(fault.kind)


def node_checks(data) -> list:
    """The two-node form's checks: one node in fallback while the other was not, at once; a
    killed node was taken out and put back by the balancer while the doors kept their answers."""
    from chaos.run_data import CheckResult  # noqa: PLC0415 - run_data imports nothing of ours

    results = []
    parts = [f for f in data.faults if f.kind == "node_partition_redis" and f.ok]
    if parts:
        seen = [f for f in parts if f.notes.get("one_in_fallback_one_not")]
        results.append(
            CheckResult(
                "one node in fallback, the other on Redis, at once (node_partition_redis)",
                len(seen) == len(parts),
                f"{len(seen)} of {len(parts)} cuts of node b off Redis seen as node a on Redis and "
                "node b not, in one reading of both /health",
            )
        )
    kills = [f for f in data.faults if f.kind == "node_kill" and f.node_down]
    if kills:
        moved = []
        for fault in kills:
            start, end = fault.node_down
            inside = [
                r for r in data.records
                if r.op in ("check_in", "check_out") and start <= r.t_start <= end
            ]  # fmt: skip
            answered = [r for r in inside if r.status is not None]
            moved.append((fault.notes.get("taken_out") is not None, len(answered), len(inside)))
        results.append(
            CheckResult(
                "a killed node's doors move to the other node (node_kill)",
                all(out and answered for out, answered, _ in moved),
                "; ".join(
                    f"taken out: {out}, {answered}/{sent} door requests answered while down"
                    for out, answered, sent in moved
                ),
            )
        )
    return results
