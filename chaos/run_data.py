"""What one chaos run produced (requests, faults, MongoDB snapshots, logs) and what a check says."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.api import Record
from chaos.driver import SessionPlan
from chaos.faults import FaultEvent
from chaos.mongo import Sampler, Snapshot


def web_threads() -> int:
    """The threads of each gunicorn worker of the stack (config/gunicorn.py's WEB_THREADS)."""
    return int(os.environ.get("WEB_THREADS", "8"))


@dataclass
class CheckResult:
    name: str
    ok: bool | None  # None: reported, not judged (the means to judge it are not there yet)
    detail: str


@dataclass
class RunData:
    records: list[Record]
    plans: list[SessionPlan]
    faults: list[FaultEvent]
    sampler: Sampler
    before: Snapshot  # MongoDB after traffic stopped
    after: Snapshot  # MongoDB after the reconcile (same as before when there is none)
    reconciled: str  # how counters were reconciled, for the report
    processes: dict[str, bool]
    workers: tuple[int, int]  # (live worker processes, configured)
    redis_sets: dict[str, set[str]] | None = None  # seeded admission sets; None: Redis silent
    reconcile_ran: bool = False
    celery_after: tuple[int, float | None] | None = None  # see chaos.__main__._celery_after_faults
    wall0: float = 0.0  # epoch seconds at run-clock 0 (to compare with process logs)
    worker_log: Path | None = None  # the Celery worker's log (all its restarts)
    access_log: Path | None = None  # the main gunicorn's access log (pid and duration per request)
    stale_op_seconds: float = 4.0
    reconcile_interval: float = 30.0
    restarts: list = field(default_factory=list)  # devtools.supervisor.Restart
    live: Any = None  # chaos.live_watch.LiveWatcher: the WebSocket client's view, if any
    live_b: Any = None  # two-node form: the WebSocket client of node b's ASGI server
    balancer: Any = None  # two-node form: chaos.balancer.Balancer (its out/in changes)
    device_scans: set[tuple[str, str]] | None = None  # (door device id, nonce) in the scan log
    offline_doors: list | None = None  # chaos.offline_door.OfflineDoor: journals, syncs, links
    conflicts: dict[str, set[str] | None] | None = None  # session -> nonces listed (None: unread)

    def mongo_windows(self, grace: float = 0.0) -> list[tuple[float, float]]:
        """Return when MongoDB was faulted (run clock): fault windows and sampler failures."""
        faults = [
            (f.mongo_outage[0], f.mongo_outage[1] + grace) for f in self.faults if f.mongo_outage
        ]
        return faults + self.sampler.mongo_down_windows()


def traffic(data: RunData) -> list[Record]:
    """Return the run's requests without the set-up ones."""
    return [r for r in data.records if r.op != "setup"]
