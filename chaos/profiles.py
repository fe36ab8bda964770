"""The two chaos runs: traffic size and fault schedule (times in seconds after traffic starts).

Sized for a 2-core machine running everything at once (SecantusDB, redis-server, gunicorn with two
workers, a Celery worker and beat, and the driver): the short form, start-up included, stays under
two minutes; the full form takes about eight.

``TARGETED_STALLS``: also stall a web worker exactly between the counter write and the record
write of a check-in (and between the record and counter writes of a check-out), through the
failpoints of core.failpoints, on a second gunicorn that receives only those requests. The old
reconcile's settle logic failed this (counter below its records, then over capacity); the door
protocol (sessions_app/services/admission_protocol.py) holds it, so it is on.
"""

import random

from chaos.driver import Profile
from chaos.faults import Fault

TARGETED_STALLS = True

SHORT = Profile(
    name="short",
    doors=6,
    duration=58.0,
    max_requests=15_000,
    sessions_per_wave=3,
    waves=7,
    wave_seconds=9.0,
    participants=60,
    capacities=(2, 3, 4, 1, 5, 3, 6),
    reconcile_interval=10,  # short stalls and a short wait for the run after the faults
    offline_doors=2,  # of the 3 device doors
)


def _short_schedule(targeted: bool) -> list[Fault]:
    faults = [
        Fault(3, "redis_kill", down=2.0),
        # A web worker stopped mid-request until a reconcile has run (beat: every 10 s here).
        Fault(7, "web_stall"),
        Fault(22, "mongo_pause", down=4.0),
        # Redis paused from a reconcile's receipt until after its acknowledgement.
        Fault(27, "redis_pause_at_ack"),
        Fault(40, "redis_restart"),
        Fault(42, "redis_flushall"),
        Fault(43, "celery_beat_kill"),
        Fault(44, "worker_term"),
        Fault(45, "redis_script_flush"),
        # A longer outage: the breaker's half-open probes fail and it re-opens before Redis returns.
        Fault(47, "redis_kill", down=5.0),
        Fault(48, "worker_kill"),
        Fault(51, "worker_kill"),
        Fault(54, "redis_pause", down=2.0),
    ]
    if targeted:
        faults.append(Fault(12, "web_stall_targeted", target="check_in"))
    return faults


FULL = Profile(
    name="full",
    doors=8,
    duration=425.0,
    max_requests=100_000,
    sessions_per_wave=3,
    waves=39,
    wave_seconds=11.0,
    participants=150,
    capacities=(2, 3, 4, 1, 5, 3, 6, 8, 2, 4),
    offline_doors=3,  # of the 4 device doors
    cut_seconds=(2.0, 12.0),
)
ROUND = 140.0


def _full_schedule(targeted: bool) -> list[Fault]:
    """Three rounds of every fault, with overlaps (web workers killed during a Redis outage,
    Redis down while a web worker is stalled)."""
    faults: list[Fault] = []
    for number in range(3):
        offset = 5.0 + number * ROUND
        faults += [
            Fault(offset + 0, "redis_kill", down=2.0),
            Fault(offset + 4, "web_stall"),
            # Redis paused from a reconcile's receipt until after its acknowledgement.
            Fault(offset + 26, "redis_pause_at_ack"),
            Fault(offset + 44, "redis_restart"),
            Fault(offset + 46, "redis_flushall"),
            Fault(offset + 48, "redis_script_flush"),
            Fault(offset + 49, "worker_term"),
            # Kills the pool child while it runs a reconcile; redelivered, it must run again.
            Fault(offset + 51, "celery_child_kill"),
            Fault(
                offset + 78,
                ("celery_worker_kill", "celery_beat_kill", "celery_worker_kill")[number],
            ),
            # 3 s at least: both web workers are held for the 1.4 s deadline first, and /health
            # must still be served (and say error) while MongoDB hangs.
            Fault(offset + 84, "mongo_pause", down=(3.0, 4.0, 5.0)[number]),
            Fault(offset + 92, "mongo_kill", down=2.5),
            Fault(offset + 99, "stall_redis_down", down=5.0),
            Fault(offset + 121, "redis_kill", down=10.0),
            # A burst: web workers die in turn while Redis is down, mid check-in with luck.
            Fault(offset + 123, "worker_kill"),
            Fault(offset + 126, "worker_kill"),
            Fault(offset + 127.5, "worker_kill"),
            Fault(offset + 133, "redis_pause", down=4.0),
        ]
        if number == 2:
            faults.append(Fault(offset + 81, "celery_beat_kill"))
        if targeted:
            target = ("check_in", "check_out", "check_in")[number]
            faults.append(Fault(offset + 14, "web_stall_targeted", target=target))
    return faults


def nodes_hit(rng: random.Random, rounds: int = 3) -> list[str]:
    """The node each of ``rounds`` faults of one kind hits: both nodes at least once (with two
    rounds or more), in an order and with a third pick of the seed's drawing."""
    picks = ["a", "b"] + [rng.choice("ab") for _ in range(rounds - 2)]
    rng.shuffle(picks)
    return picks[:rounds]


def _two_node_schedule(seed: int) -> list[Fault]:
    """The two-node form's faults, in each round's quieter stretches: one node cut off Redis
    while the other keeps it, a Sentinel failover (the old master back as a replica 10 s after the
    kill), one node killed whole and started again 5 s later. Which node each cut and each kill
    hits is the seed's drawing, each node at least once of the three."""
    rng = random.Random(f"nodes:{seed}")
    cut, kill = nodes_hit(rng), nodes_hit(rng)
    faults: list[Fault] = []
    for number in range(3):
        offset = 5.0 + number * ROUND
        faults += [
            Fault(offset + 36, "node_partition_redis", down=10.0, node=cut[number]),
            Fault(offset + 60, "redis_failover", down=10.0),
            Fault(offset + 108, "node_kill", down=5.0, node=kill[number]),
        ]
    return faults


def chaos_form(
    name: str, *, targeted: bool = TARGETED_STALLS, two_nodes: bool = False, seed: int = 0
) -> tuple[Profile, list[Fault]]:
    """Return the traffic profile and fault schedule of the short or full form (the full form
    with two nodes adds the node and failover faults, their nodes drawn from ``seed``)."""
    if name == "short":
        return SHORT, _short_schedule(targeted)
    return FULL, _full_schedule(targeted) + (_two_node_schedule(seed) if two_nodes else [])
