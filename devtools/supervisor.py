"""A small process supervisor for the chaos stack: start again what exits on its own.

What docker compose's ``restart: unless-stopped`` and ``make run`` do for the Celery worker and
beat, done here for the chaos suite's processes, so that its Celery faults (kill -9 of the worker,
of beat) test recovery by restart. A thread polls every ``interval``; each restart is recorded.
Bounded: at most ``max_restarts`` per process, then it is left dead (and the run's checks say so).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Protocol


class Restartable(Protocol):
    name: str

    @property
    def pid(self) -> int | None: ...

    @property
    def running(self) -> bool: ...

    def returncode(self) -> int | None: ...

    def start(self): ...


@dataclass
class Restart:
    name: str
    at: float  # time.monotonic() when the exit was noticed
    old_pid: int | None
    returncode: int | None
    new_pid: int | None = None
    error: str = ""


class Supervisor:
    """Watch processes; start again any that exits while the supervisor runs."""

    def __init__(self, *, interval: float = 0.2, max_restarts: int = 30) -> None:
        self.interval = interval
        self.max_restarts = max_restarts
        self.restarts: list[Restart] = []
        self._watched: list[Restartable] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, proc: Restartable) -> None:
        with self._lock:
            self._watched.append(proc)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
            self._thread.start()

    def unwatch(self, proc: Restartable) -> None:
        """Stop watching ``proc`` (a process stopped on purpose, to be started again later)."""
        with self._lock:
            self._watched = [watched for watched in self._watched if watched is not proc]

    def restarts_of(self, name: str) -> list[Restart]:
        with self._lock:
            return [r for r in self.restarts if r.name == name]

    def stop(self) -> None:
        """Stop supervising (before the processes are stopped on purpose)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                watched = list(self._watched)
            for proc in watched:
                if proc.running or self._stop.is_set():
                    continue
                if len(self.restarts_of(proc.name)) >= self.max_restarts:
                    continue
                self._restart(proc)

    def _restart(self, proc: Restartable) -> None:
        event = Restart(proc.name, time.monotonic(), proc.pid, proc.returncode())
        # Leftovers of its process group (a Celery worker's pool children) go first.
        if proc.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        try:
            proc.start()
            event.new_pid = proc.pid
        except Exception as exc:  # recorded; tried again on the next round
            event.error = f"{type(exc).__name__}: {exc}"[:200]
        print(
            f"[supervisor] {proc.name} (pid {event.old_pid}) exited with code {event.returncode}; "
            + (f"started again as pid {event.new_pid}" if event.new_pid else event.error),
            flush=True,
        )
        with self._lock:
            self.restarts.append(event)
