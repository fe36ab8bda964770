"""The two-node form: app nodes behind the chaos balancer, and the faults that hit a node or the
Sentinel-managed Redis as a whole.

A node is a gunicorn, an ASGI server (uvicorn) and a Celery worker, each its own processes with
its own breakers, caches and hub. Node ``a`` is the stack's first web/live/worker (named ``web``,
``live``, ``celery-worker``, so every single-node fault hits it as before); node ``b`` is
``web-b``, ``live-b``, ``celery-worker-b``. Each node reaches Redis through links of its own
(chaos/redis_links.py) that ``node_partition_redis`` cuts. One beat in all (as one would run it),
on a direct path to the Sentinels (a cut node's beat would stop every node's schedule).

Which node a ``node_kill`` or a ``node_partition_redis`` hits is drawn from the seed
(chaos/profiles.py: each node at least once in a full run).

Faults:
- ``redis_failover``: SIGKILL the master; wait for the Sentinels to promote the replica; after
  ``down`` seconds start the old master again, which the Sentinels make a replica of the new one.
- ``node_kill``: SIGKILL the node's gunicorn, uvicorn and worker (process groups); the balancer
  takes it out on its failed /health/ready checks and the doors' retries land on the other node;
  after ``down`` seconds the node is started again and the balancer puts it back. Node a waits
  (bounded) for a web worker stalled on it (web_stall...) to be resumed first; meanwhile the
  web-worker faults hit node b's gunicorn (FaultContext.serving_web).
- ``node_partition_redis``: cut the node off Redis and the Sentinels for ``down`` seconds while the
  other keeps them; meanwhile both nodes' /health are read: the other's Redis connected and the
  cut node's not (it serves from MongoDB), in one reading. (Not /health's overall status: a node
  may be ``degraded`` for another reason at the time, a stale reconcile after a Celery fault.)
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
from dataclasses import dataclass

import httpx

from chaos.fault_base import Fault, FaultContext, FaultEvent, redis_fault_during
from chaos.redis_links import NodeRedisLinks
from devtools.stack import Gunicorn, Process, Stack, Uvicorn

NODE_KINDS = ("redis_failover", "node_kill", "node_partition_redis")
FAILOVER_WAIT = 40.0  # seconds the Sentinels may take to promote the replica
CALM_WAIT = 20.0  # node_partition_redis waits at most this long for both nodes on Redis
CALM_READINGS = 4  # readings in a row (0.5 s apart) with both nodes on Redis before a cut
STALL_WAIT = 30.0  # node_kill of node a waits at most this long for a stalled web worker


@dataclass
class Node:
    name: str  # "a" | "b"
    web: Gunicorn
    live: Uvicorn | None = None
    worker: Process | None = None
    links: NodeRedisLinks | None = None  # its cuttable path to Redis
    killed: bool = False  # a node_kill has it down now

    def processes(self) -> list[Process]:
        return [proc for proc in (self.web, self.live, self.worker) if proc is not None]


def _at(t: float | None) -> str:
    return "never" if t is None else f"t={t:.1f}s"


def node_links(stack: Stack, name: str) -> NodeRedisLinks:
    """Start a node's own relays to the Sentinel set (stopped after the stack, at exit)."""
    links = NodeRedisLinks(f"node-{name}", stack.sentinel).start()
    atexit.register(links.stop)  # after the stack has stopped: nothing uses the relays then
    return links


def start_node(
    stack: Stack, name: str, *, workers: int, live: bool, celery: bool, web_name: str | None = None
) -> Node:
    """Start a node (node a: web, live, celery-worker; node b: web-b, live-b, celery-worker-b) on
    its own links to the Sentinel set."""
    links = node_links(stack, name)
    env = {"REDIS_URL": links.url}
    suffix = "" if name == "a" else f"-{name}"
    web = stack.start_web(web_name or f"web{suffix}", workers=workers, **env)
    uvicorn = stack.start_live(f"live{suffix}", **env) if live else None
    worker = None
    if celery:
        stack.start_celery(beat=False, name=f"celery-worker{suffix}", **env)
        worker = stack.celery_process(f"celery-worker{suffix}")
    return Node(name, web, uvicorn, worker, links)


def node_down_windows(
    events: list[FaultEvent], end: float, node: str = "b"
) -> list[tuple[float, float]]:
    """Return the windows ``node`` was down (``node_kill``), open ones ending at ``end``."""
    return [
        (event.node_down[0], event.node_down[1] if event.node_down[1] else end)
        for event in events
        if event.kind == "node_kill" and event.node_down is not None and (event.node or "b") == node
    ]


def partition_evidence(readings: list[tuple[float, int | None, int | None, str, str]]) -> bool:
    """Tell whether one reading of both /health saw the node kept on Redis and the cut node not
    (both answered 200: serving). A reading: (t, kept's code, cut's code, kept's, cut's status)."""
    return any(
        kept_code == 200
        and cut_code == 200
        and kept == "connected"
        and cut not in ("connected", "")
        for _t, kept_code, cut_code, kept, cut in readings
    )


# Seconds a node takes to be back on Redis once a Redis outage ended (its breaker's probe, the
# rebuild of a restarted Redis).
REDIS_RECOVERY = 5.0


def redis_down_for_both(cut: FaultEvent, faults: list[FaultEvent]) -> str | None:
    """Why a cut could show nothing, if the kept node was off Redis in every reading of it: a
    Redis outage meanwhile, or Redis not yet back on both nodes when the cut began (its wait for
    that ran out: after a Redis fault every worker reseeds the open sessions from MongoDB at a
    pace, 12-31 s in seed 83's rerun at 9d43e4a); None otherwise."""
    readings = cut.notes.get("readings") or []
    if cut.partition is None or any(kept == "connected" for _t, _a, _b, kept, _c in readings):
        return None
    start, end = cut.partition
    outage = redis_fault_during(faults, start, end, grace=REDIS_RECOVERY, skip=cut)
    if outage is not None:
        return f"during {outage.kind} at {outage.t_start:.0f} s"
    if cut.notes.get("calm") is False:
        return f"Redis not back on both nodes after {cut.notes.get('calm_after')} s of waiting"
    return None


def _kill_group(proc: Process) -> None:
    if proc.running:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.proc.wait(timeout=10)


def _wait_no_stall(node: Node) -> float:
    """Wait (bounded) until no web worker of the node is stopped by a stall fault (it is resumed
    once a reconcile has run, at most 20 s): killed stopped, it would not be a stall any more."""
    started = time.monotonic()
    while node.web.stopped_worker_pids() and time.monotonic() - started < STALL_WAIT:
        time.sleep(0.2)
    return time.monotonic() - started


def _node_kill(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
    node = ctx.nodes[fault.node]
    event.notes["stall_waited"] = round(_wait_no_stall(node), 1)
    node.killed = True
    try:
        _kill_and_restart(ctx, node, fault, event)
    finally:
        node.killed = False


def _kill_and_restart(ctx: FaultContext, node: Node, fault: Fault, event: FaultEvent) -> None:
    backend = f"node-{node.name}"
    supervised = [proc for proc in (node.live, node.worker) if proc is not None]
    for proc in supervised:
        ctx.stack.supervisor.unwatch(proc)
    pids = [proc.pid for proc in node.processes()]
    down_from = ctx.clock()  # before the kills: its live view sees its connection end at once
    event.node_down = (down_from, 0.0)
    for proc in node.processes():
        _kill_group(proc)
    time.sleep(max(0.0, fault.down - (ctx.clock() - down_from)))
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
                (t for t, name, change in balancer.changes if name == backend and change == "in"
                 and t >= down_from),
                None,
            )  # fmt: skip
            time.sleep(0.2)
        out = next(
            (t for t, name, change in balancer.changes
             if name == backend and change == "out" and t >= down_from),
            None,
        )  # fmt: skip
        event.notes.update(taken_out=out, put_back=back)
    event.outcome = (
        f"node {node.name} (pids {pids}) SIGKILLed; started again {event.node_down[1] - down_from:.1f} s "
        f"later; balancer: out at {_at(event.notes.get('taken_out'))}, back at {_at(back)}"
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
    b = ctx.nodes[fault.node]  # the node cut
    a = ctx.nodes["b" if fault.node == "a" else "a"]  # the node kept
    # Both nodes on Redis first (bounded), so that what follows is the cut's doing and not an
    # overlapping fault's (a paused master takes node a off Redis too).
    # Several readings in a row: /health is answered by whichever worker of a node takes it, and
    # one worker may be back on Redis while the other still rebuilds (seed 76: one good reading
    # after a FLUSHALL, then the kept node off Redis for the whole cut).
    deadline, calm = time.monotonic() + CALM_WAIT, 0
    while time.monotonic() < deadline and calm < CALM_READINGS:
        both = _redis_seen(a.web.url)[1] == "connected" == _redis_seen(b.web.url)[1]
        calm = calm + 1 if both else 0
        if calm < CALM_READINGS:
            time.sleep(0.5)
    event.notes["calm_after"] = round(CALM_WAIT - (deadline - time.monotonic()), 1)
    event.notes["calm"] = calm >= CALM_READINGS
    _NO_CUT.clear()
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
        _NO_CUT.set()
    event.partition = (down_from, ctx.clock())
    event.notes["readings"] = readings
    both = partition_evidence(readings)
    event.notes["one_in_fallback_one_not"] = both
    event.outcome = (
        f"node {b.name} cut off Redis for {fault.down:.1f} s (after "
        f"{event.notes['calm_after']:.1f} s waiting for both nodes ok); "
        + (
            f"seen at once: node {a.name} on Redis, node {b.name} not"
            if both
            else f"NOT seen at once (node {a.name} on Redis, node {b.name} not): {readings[-3:]}"
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


# A cut is read while Redis itself serves: the faults that take Redis from both nodes (kill, pause,
# restart, FLUSHALL) wait for a cut in progress to end (seed 71: the calm wait of 7.8 s moved the
# cut to 0.3 s before the schedule's restart, and every reading saw both nodes off Redis).
_NO_CUT = threading.Event()
_NO_CUT.set()
CUT_WAIT = 30.0  # seconds: a cut lasts `down` (10 s in the full form) plus its readings


def wait_for_no_cut(timeout: float = CUT_WAIT) -> float:
    """Wait (bounded) until no node is cut off Redis by a partition fault; return the wait."""
    started = time.monotonic()
    _NO_CUT.wait(timeout)
    return round(time.monotonic() - started, 1)


# One node fault at a time: a partition whose calm wait ran long overlapped the round's failover
# (seed 61, load average 17-19: two of three cuts read with both nodes off Redis, the master
# being replaced). A node fault waits for the one before it to end.
_ONE_AT_A_TIME = threading.Lock()


def apply(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
    waited = time.monotonic()
    with _ONE_AT_A_TIME:
        event.notes["waited_for_node_fault"] = round(time.monotonic() - waited, 1)
        _apply(ctx, fault, event)


def _apply(ctx: FaultContext, fault: Fault, event: FaultEvent) -> None:
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
        untestable = {
            id(f): why
            for f in parts
            if f not in seen and (why := redis_down_for_both(f, data.faults)) is not None
        }
        results.append(
            CheckResult(
                "one node in fallback, the other on Redis, at once (node_partition_redis)",
                bool(seen) and len(seen) + len(untestable) == len(parts),
                f"{len(seen)} of {len(parts)} cuts of one node off Redis (node "
                + ", ".join(f.node or "b" for f in parts)
                + ") seen as the other on Redis and the cut one not, in one reading of both "
                "/health"
                + "".join(
                    f"; the cut at {f.t_start:.0f} s not testable: the kept node was off Redis "
                    f"too, in every reading ({why})"
                    for f in parts
                    if (why := untestable.get(id(f))) is not None
                ),
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
            moved.append(
                (
                    fault.node or "b",
                    fault.notes.get("taken_out") is not None,
                    len(answered),
                    len(inside),
                )
            )
        results.append(
            CheckResult(
                "a killed node's doors move to the other node (node_kill)",
                all(out and answered for _, out, answered, _ in moved),
                "; ".join(
                    f"node {node}: taken out: {out}, {answered}/{sent} door requests answered "
                    "while down"
                    for node, out, answered, sent in moved
                ),
            )
        )
    return results
