"""Read what the Celery worker did from its log (one file across restarts): task receipts, task
outcomes, reconcile runs, start-ups. Times are epoch seconds (the log's local wall clock)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

_STAMP = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) "
# The process id in brackets before "Task": the worker's main process on "received", its pool
# child on "succeeded"/"failed" (two nodes' workers share one log: it tells them apart).
_TASK = re.compile(
    _STAMP
    + r"(?:\S+ \S+ \[(\d+)\] )?.*Task ([\w.]+)\[([0-9a-f-]+)\] (received|succeeded|failed|retry)",
    re.M,
)
_RECONCILE = re.compile(_STAMP + r".*Reconcile: (.*?) duration_ms=(\d+)", re.M)
_BROKER_LOST = re.compile(_STAMP + r"\S+ \S+ \[(\d+)\] consumer: Connection to broker lost", re.M)
_READY = re.compile(_STAMP + r".*celery@\S+ ready\.", re.M)
_BEAT_START = re.compile(_STAMP + r".*beat: Starting", re.M)
# jobs_app.services.lease_acquire: a lease whose holder (host:pid:thread) no longer runs.
_TAKEOVER = re.compile(_STAMP + r".*Lease (\S+) taken over from [^:\s]+:(\d+):", re.M)
RECONCILE_TASK = "sessions_app.reconcile_counters"
RECONCILE_LEASE = "reconcile_counters"  # jobs_app.schedule.RECONCILE_JOB: the lease its runs hold


def _epoch(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


@dataclass(frozen=True)
class TaskEvent:
    at: float
    task: str
    id: str
    event: str  # received | succeeded | failed | retry
    pid: int | None = None  # the logging process: the main process (received), a pool child


@dataclass(frozen=True)
class ReconcileRun:
    started: float
    ended: float
    summary: str


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _task_events(text: str) -> list[TaskEvent]:
    return [
        TaskEvent(_epoch(m[1]), m[3], m[4], m[5], int(m[2]) if m[2] else None)
        for m in _TASK.finditer(text)
    ]


def task_events(path: Path) -> list[TaskEvent]:
    """Return every task receipt and outcome in the log, oldest first."""
    return _task_events(_read(path))


def running_task(events: list[TaskEvent], worker_pid: int) -> TaskEvent | None:
    """Return the task the worker (main process ``worker_pid``) has received last, if it has not
    finished yet: with one pool child and a prefetch of one (acks_late), the one it is running."""
    received = [e for e in events if e.event == "received" and e.pid == worker_pid]
    if not received:
        return None
    last = received[-1]
    finished = any(
        e.id == last.id and e.event in ("succeeded", "failed") and e.at >= last.at for e in events
    )
    return None if finished else last


def succeeded_since(events: list[TaskEvent], task_id: str, since: float) -> list[TaskEvent]:
    """Return the task's "succeeded" outcomes logged at or after ``since``. One task id can be
    delivered more than once (a message whose acknowledgement met a paused or restarted Redis is
    restored and runs again): an outcome of an earlier delivery says nothing about this one (seeds
    65 and 66: a reconcile killed mid-run was judged "finished before the kill" by the
    "succeeded" of its delivery half a minute before)."""
    return [e for e in events if e.id == task_id and e.event == "succeeded" and e.at >= since]


def broker_lost_since(path: Path, worker_pid: int, since: float) -> bool:
    """Whether the worker (main process ``worker_pid``) lost its broker connection after
    ``since``: kombu then restores its unacknowledged messages, so a task it received before is
    no longer its to reject (a pool child killed now: the task waits for the visibility timeout)."""
    return any(
        int(m[2]) == worker_pid and _epoch(m[1]) >= since
        for m in _BROKER_LOST.finditer(_read(path))
    )


def reconcile_runs(path: Path) -> list[ReconcileRun]:
    """Return every completed reconcile run (its start is its end minus its duration)."""
    runs = []
    for m in _RECONCILE.finditer(_read(path)):
        ended = _epoch(m[1])
        runs.append(ReconcileRun(ended - int(m[3]) / 1000, ended, m[2]))
    return runs


def lease_takeovers(path: Path, name: str) -> list[tuple[float, int]]:
    """Return when the lease ``name`` was taken over from a holder gone, and that holder's pid."""
    return [(_epoch(m[1]), int(m[3])) for m in _TAKEOVER.finditer(_read(path)) if m[2] == name]


def starts(path: Path, *, beat: bool = False) -> list[float]:
    """Return when the worker (or beat) logged that it was up, each time it started."""
    pattern = _BEAT_START if beat else _READY
    return [_epoch(m[1]) for m in pattern.finditer(_read(path))]


def reconciles_started_within(path: Path, start: float, end: float) -> list[ReconcileRun]:
    """Return the reconcile runs that began after ``start`` and completed before ``end``."""
    return [run for run in reconcile_runs(path) if run.started >= start and run.ended <= end]


class LogTail:
    """Follow a growing log: each ``new_task_events()`` returns only what was appended since (and
    what a reader gave back with ``unread``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
        self._partial = ""
        self._unread: list[TaskEvent] = []

    def _new_text(self) -> str:
        try:
            with open(self.path, "rb") as log:
                log.seek(self.offset)
                data = log.read()
        except FileNotFoundError:
            return ""
        self.offset += len(data)
        text = self._partial + data.decode(errors="replace")
        complete, _, self._partial = text.rpartition("\n")
        return complete + "\n" if complete else ""

    def new_task_events(self) -> list[TaskEvent]:
        events, self._unread = [*self._unread, *_task_events(self._new_text())], []
        return events

    def unread(self, events: list[TaskEvent]) -> None:
        """Give back events read but not looked at: the next ``new_task_events`` returns them."""
        self._unread = [*events, *self._unread]
