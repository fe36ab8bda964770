"""Build interleavings step by step: requests in threads, paused at failpoints of the real code.

A ``Gate`` armed at a failpoint (``core.failpoints``) stops the threads the test names there
until the test opens it; the test meanwhile runs other requests, the reconcile or a delete, and
looks at MongoDB. Everything runs the real services against the real servers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import pymongo
from django.db import connections

from core import failpoints

WAIT = 10.0  # seconds: a step that takes longer has deadlocked the test


class Gate:
    """Pause the named threads (all threads if none named) when they reach a failpoint."""

    def __init__(self, *threads: str) -> None:
        self.threads = set(threads)
        self.arrived: dict[str, threading.Event] = {}
        self._open = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, name: str) -> None:
        me = threading.current_thread().name
        if self.threads and me not in self.threads:
            return
        with self._lock:
            self.arrived.setdefault(me, threading.Event()).set()
        if not self._open.wait(WAIT):
            raise TimeoutError(f"gate at {name} never opened for {me}")

    def wait_for(self, thread: str) -> None:
        """Block until ``thread`` is paused at the gate."""
        with self._lock:
            event = self.arrived.setdefault(thread, threading.Event())
        if not event.wait(WAIT):
            raise TimeoutError(f"{thread} never reached the gate")

    def open(self) -> None:
        self._open.set()


@contextmanager
def gate_at(name: str, *threads: str):
    """Arm a gate at failpoint ``name`` for the block; it opens (and disarms) on the way out."""
    gate = Gate(*threads)
    failpoints.arm(name, gate)
    try:
        yield gate
    finally:
        gate.open()
        failpoints.disarm(name)


class Request(threading.Thread):
    """Run ``call`` in a thread of its own (its own database connection); keep the outcome."""

    def __init__(self, name: str, call: Callable[[], Any]) -> None:
        super().__init__(name=name, daemon=True)
        self.call = call
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.call()
        except BaseException as exc:  # handed to the test by outcome()
            self.error = exc
        finally:
            connections.close_all()

    def outcome(self) -> Any:
        """Wait for the request and return its result (or raise what it raised)."""
        self.join(WAIT)
        if self.is_alive():
            raise TimeoutError(f"{self.name} did not finish")
        if self.error is not None:
            raise self.error
        return self.result


def started(name: str, call: Callable[[], Any]) -> Request:
    request = Request(name, call)
    request.start()
    return request


def deadline_runs_out(_name: str) -> None:
    """A failpoint action: the MongoDB call that follows fails as the request deadline makes it
    fail (pymongo's NetworkTimeout)."""
    raise pymongo.errors.NetworkTimeout("the request deadline ran out (test)")
