"""The doors view's feed: one per hub (so one per ASGI process), whatever the number of screens.

While at least one doors screen is connected, the feed reads the doors view (``doors.py``) at
most once per ``DOORS_REFRESH_SECONDS``, on a database thread of its own (a slow read never holds
up the board's session reads), and offers the result to every doors screen when it changed.
With Redis up, a "session changed" notification (an accepted scan) makes the next read come
early — never sooner than ``DOORS_MIN_GAP_SECONDS`` after the last one; refusals change no
session and show at the next read. With Redis down nothing changes here: the feed reads MongoDB
on its own clock in both modes, and the screens are told the hub's mode as the board is.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pymongo

from redis_fallback.masking import describe_error

from .doors import DoorsReader
from .hub import Hub, Subscriber

logger = logging.getLogger("live_app")

DOORS_REFRESH_SECONDS = 1.0
DOORS_MIN_GAP_SECONDS = 0.25
# Deadline of one read (a whole window's read took 0.6 s on the stand-in with 20 busy doors).
DOORS_DB_TIMEOUT_SECONDS = 5.0


def _doors_read(reader: DoorsReader) -> dict:
    with pymongo.timeout(DOORS_DB_TIMEOUT_SECONDS):  # a hung MongoDB never holds the thread long
        return reader.read()


class DoorsSubscriber(Subscriber):
    """A doors screen: the hub's mode and heartbeats, and the latest doors state (latest wins)."""

    def __init__(self) -> None:
        super().__init__(session_id=None)
        self.doors: dict | None = None

    def watches(self, session_id: str) -> bool:
        return False  # no session states: the doors state carries what the screen shows

    def offer_snapshot(self, states: list[dict]) -> None:
        return None  # the hub's resyncs concern session screens

    def offer_doors(self, state: dict) -> None:
        self.doors = state
        self.wake.set()

    async def next_batch(self) -> list[dict]:
        batch = await super().next_batch()
        if self.doors is not None:
            batch.append({"type": "doors", **self.doors})
            self.doors = None
        return batch


def doors_feed(hub: Hub) -> DoorsFeed:
    """Return the hub's doors feed (made on first use; the hub nudges it on each notification)."""
    if hub.doors_feed is None:
        hub.doors_feed = DoorsFeed(hub)
    return hub.doors_feed


def _comparable(state: dict) -> dict:
    return {key: value for key, value in state.items() if key != "now"}


class DoorsFeed:
    """Read the doors view for the hub's doors screens (see the module docstring)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.reader = DoorsReader()
        self.latest: dict | None = None
        self.read_seconds = 0.0  # how long the last read took (the cost, for the logs and tests)
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="live-doors-db")
        self._task: asyncio.Task | None = None
        self._failing = False

    def screens(self) -> list[DoorsSubscriber]:
        return [s for s in self.hub.subscribers if isinstance(s, DoorsSubscriber)]

    def nudge(self) -> None:
        """A session changed (Redis said so): read early if a screen is watching."""
        self._wake.set()

    async def attach(self, subscriber: DoorsSubscriber) -> dict:
        """Register a doors screen; queue the hub's mode and the doors state (read if none yet)."""
        await self.hub.settle()
        if self.latest is None:
            self.latest = await self._read()
        self.hub.subscribers.add(subscriber)
        subscriber.offer_mode(self.hub.mode)
        subscriber.offer_doors(self.latest)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="live-doors-feed")
        return self.latest

    async def _read(self) -> dict:
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        state = await loop.run_in_executor(
            self._executor, functools.partial(_doors_read, self.reader)
        )
        self.read_seconds = time.monotonic() - started
        return state

    async def _loop(self) -> None:
        last = time.monotonic()
        while self.screens():
            with contextlib.suppress(TimeoutError):
                due = DOORS_REFRESH_SECONDS - (time.monotonic() - last)
                await asyncio.wait_for(self._wake.wait(), max(0.0, due))
            await asyncio.sleep(max(0.0, DOORS_MIN_GAP_SECONDS - (time.monotonic() - last)))
            self._wake.clear()
            last = time.monotonic()
            try:
                state = await self._read()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not self._failing:
                    self._failing = True
                    logger.warning(
                        "Doors view: MongoDB read failed (%s); screens keep what they show",
                        describe_error(error),
                    )
                continue
            if self._failing:
                self._failing = False
                logger.info("Doors view: MongoDB answers again")
            changed = self.latest is None or _comparable(state) != _comparable(self.latest)
            self.latest = state
            if changed:
                for screen in self.screens():
                    screen.offer_doors(state)
        self.latest = None  # no screen left: the next one gets a fresh read
