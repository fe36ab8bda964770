"""The two chaos runs: traffic size and fault schedule (times in seconds after traffic starts).

Sized for a 2-core machine running everything at once (SecantusDB, redis-server, gunicorn with two
workers, a Celery worker and beat, and the driver): the short form, start-up included, stays under
three minutes; the full form takes about five.
"""

from chaos.driver import Profile
from chaos.faults import Fault

SHORT = Profile(
    name="short",
    doors=6,
    duration=66.0,
    max_requests=15_000,
    sessions_per_wave=3,
    waves=7,
    wave_seconds=9.0,
    participants=60,
    capacities=(2, 3, 4, 1, 5, 3, 6),
)

SHORT_FAULTS = [
    Fault(5, "redis_kill", down=2.0),
    Fault(12, "redis_pause", down=5.0),
    Fault(22, "redis_restart"),
    Fault(28, "redis_flushall"),
    Fault(33, "redis_script_flush"),
    Fault(38, "worker_term"),
    Fault(44, "worker_kill"),
    # A longer outage: the breaker's half-open probes fail and it re-opens before Redis returns.
    Fault(50, "redis_kill", down=7.0),
    Fault(52, "worker_kill"),
]

FULL = Profile(
    name="full",
    doors=8,
    duration=230.0,
    max_requests=60_000,
    sessions_per_wave=3,
    waves=20,
    wave_seconds=11.0,
    participants=150,
    capacities=(2, 3, 4, 1, 5, 3, 6, 8, 2, 4),
)


def _full_schedule() -> list[Fault]:
    """Three rounds of every fault, with overlaps (workers killed during an outage)."""
    faults: list[Fault] = []
    for offset in (5.0, 80.0, 155.0):
        faults += [
            Fault(offset + 0, "redis_kill", down=2.0),
            Fault(offset + 8, "redis_pause", down=5.0),
            Fault(offset + 18, "redis_restart"),
            Fault(offset + 24, "redis_flushall"),
            Fault(offset + 30, "redis_script_flush"),
            Fault(offset + 36, "worker_term"),
            Fault(offset + 42, "worker_kill"),
            Fault(offset + 48, "redis_kill", down=12.0),
            Fault(offset + 52, "worker_kill"),
            # A burst: both workers die in turn while Redis is down, mid check-in with luck.
            Fault(offset + 55, "worker_kill"),
            Fault(offset + 56.5, "worker_kill"),
            Fault(offset + 62, "redis_pause", down=5.0),
            Fault(offset + 64, "worker_term"),
        ]
    return faults


FULL_FAULTS = _full_schedule()

PROFILES = {"short": (SHORT, SHORT_FAULTS), "full": (FULL, FULL_FAULTS)}
