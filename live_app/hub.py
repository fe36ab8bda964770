"""The live hub: one per ASGI process, feeding every WebSocket client of the process.

Where changes come from:

- **live** (Redis healthy): a ``redis.asyncio`` subscription
  (``redis_fallback.subscription_client``) to ``LIVE_REDIS_CHANNEL``. The code path that changed
  a session publishes its id after the verdict (``sessions_app/services/live_publish.py``); the
  hub reads the notified sessions from MongoDB (``selectors.py``: one ``_id`` query for all the
  ids that arrived meanwhile) and fans the result out. Its own PING every
  ``LIVE_REDIS_PING_SECONDS`` must be answered within ``LIVE_REDIS_TIMEOUT_SECONDS``: a killed,
  restarted or SIGSTOPped Redis is noticed within about a second.
- **polling** (Redis down, hung or not yet reached): every ``LIVE_POLL_SECONDS`` one MongoDB
  query for the sessions changed since the last poll (an index range on ``changed_at``, with an
  overlap of ``LIVE_POLL_OVERLAP_SECONDS``), whatever the number of clients; a new subscription
  is tried every ``LIVE_REDIS_RETRY_SECONDS``. When it succeeds: one full resync (a snapshot to
  every client), then live again.
- In live mode too, the same "changed since" query every ``LIVE_BACKSTOP_POLL_SECONDS``: a
  notification that was never sent (a web process whose breaker was open while the hub's
  subscription was fine, or one stopped between its write and its publish) delays a screen by
  about a second at most.
- In both modes a **full read** (every open session, plus the sessions a client watches) every
  ``LIVE_FULL_SYNC_SECONDS``: a deleted session, or a write stamped earlier than the poll window,
  can only delay a screen, never leave it wrong.

Every message carries the session's whole state (absolute count) and its ``version``, which the
same MongoDB write that changed the session bumped. The hub drops what is not newer than what it
already fanned out; clients do the same, so a duplicate or a late message is never applied. A
Redis fault never disconnects a client: only the hub's source of changes switches.

Each client has a mailbox that keeps the latest message per session (``Subscriber``): a slow
client gets fewer, newer messages, never an unbounded queue, and never holds up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pymongo
from django.conf import settings

from redis_fallback.masking import describe_error
from redis_fallback.subscription_client import (
    describe_pubsub_error,
    pubsub_client,
    pubsub_close_quietly,
)
from sessions_app.models import Session

from . import selectors

logger = logging.getLogger("live_app")

LIVE, POLLING = "live", "polling"
OPEN = Session.Status.OPEN.value

# Internal timings (not settings: nobody tunes them for a deployment).
# The PING on the subscription, and how long Redis may take to answer anything: a killed or
# SIGSTOPped Redis is noticed within about PING + TIMEOUT seconds.
LIVE_REDIS_PING_SECONDS = 0.5
LIVE_REDIS_TIMEOUT_SECONDS = 0.5
LIVE_REDIS_RETRY_SECONDS = 1.0
# Polling mode (Redis unavailable): one "changed since" MongoDB query per process this often,
# reaching back this much further than the last change seen (writes landing out of order).
LIVE_POLL_SECONDS = 0.5
LIVE_POLL_OVERLAP_SECONDS = 3.0
# Live mode: the same query this often, for notifications that were never sent (a web process
# whose breaker was open, or one stopped between its write and its publish).
LIVE_BACKSTOP_POLL_SECONDS = 1.0
# A heartbeat to every client this often (the board reconnects after 2.5 silent heartbeats).
LIVE_HEARTBEAT_SECONDS = 10.0
# Deadline of each of the hub's MongoDB reads.
LIVE_DB_TIMEOUT_SECONDS = 2.0


class Subscriber:
    """One connected client: what it watches, and what it has yet to be sent (latest wins)."""

    def __init__(self, session_id: str | None = None) -> None:
        self.session_id = session_id  # None: every open session (ws/occupancy/)
        self.mode: str | None = None
        self.snapshot: list[dict] | None = None
        self.pending: dict[str, dict] = {}
        self.heartbeat = False
        self.wake = asyncio.Event()

    def watches(self, session_id: str) -> bool:
        return self.session_id is None or self.session_id == session_id

    def offer_state(self, state: dict) -> None:
        """Queue one session's new state (or its removal from an occupancy view)."""
        if self.session_id is None and state["status"] != OPEN:
            self.pending[state["id"]] = {"type": "removed", "id": state["id"]}
        else:
            self.pending[state["id"]] = {"type": "session", "session": state}
        self.wake.set()

    def offer_removed(self, session_id: str) -> None:
        self.pending[session_id] = {"type": "removed", "id": session_id}
        self.wake.set()

    def offer_snapshot(self, states: list[dict]) -> None:
        """Queue the full state; it replaces what the client shows (pending changes stay after)."""
        if self.session_id is None:
            states = [s for s in states if s["status"] == OPEN]
        else:
            states = [s for s in states if s["id"] == self.session_id]
        self.snapshot = states
        self.wake.set()

    def offer_mode(self, mode: str) -> None:
        self.mode = mode
        self.wake.set()

    async def next_batch(self) -> list[dict]:
        """Wait for something to send; return the messages, oldest kind first."""
        await self.wake.wait()
        self.wake.clear()
        batch: list[dict] = []
        if self.mode is not None:
            batch.append({"type": "mode", "mode": self.mode})
            self.mode = None
        if self.snapshot is not None:
            batch.append({"type": "snapshot", "sessions": self.snapshot})
            self.snapshot = None
        batch.extend(self.pending.values())
        self.pending = {}
        if self.heartbeat:
            batch.append({"type": "heartbeat"})
            self.heartbeat = False
        return batch


def _db_call(fn, kwargs: dict):
    # A hung MongoDB must not hold the hub's one database thread for the socket timeout (10 s).
    with pymongo.timeout(LIVE_DB_TIMEOUT_SECONDS):
        return fn(**kwargs)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class Hub:
    """The process's single source of live changes (see the module docstring)."""

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()
        self.mode = POLLING
        self.versions: dict[str, int] = {}  # newest version fanned out, per session
        self.open_ids: set[str] = set()  # open sessions as last fanned out
        self.stats = {
            "notifications": 0,
            "id_reads": 0,
            "polls": 0,
            "full_reads": 0,
            "db_errors": 0,
            "redis_errors": 0,
        }
        self._notified: set[str] = set()
        self._resync = True
        self._poll_now = False
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()  # the first subscription attempt is over
        self._watermark = datetime.now(UTC)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="live-hub-db")
        self._tasks: list[asyncio.Task] = []
        self._closing: set[asyncio.Task] = set()
        self._db_failing = False
        # The doors view's feed (live_app/doors_feed.py), made when a doors screen connects.
        self.doors_feed = None

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the hub's tasks on the running loop (idempotent)."""
        if self._tasks and not any(task.done() for task in self._tasks):
            return
        for task in self._tasks:
            task.cancel()
        self._tasks = [
            asyncio.create_task(self._redis_loop(), name="live-hub-redis"),
            asyncio.create_task(self._fetch_loop(), name="live-hub-fetch"),
            asyncio.create_task(self._heartbeat_loop(), name="live-hub-heartbeat"),
        ]

    async def settle(self) -> None:
        """Start the hub; in a fresh process, let its first Redis attempt finish (bounded)."""
        self.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), LIVE_REDIS_TIMEOUT_SECONDS * 2)

    async def db(self, fn, **kwargs):
        """Run a MongoDB read on the hub's one database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(_db_call, fn, kwargs))

    async def attach(self, subscriber: Subscriber) -> list[dict]:
        """Register a client and queue its mode and snapshot; return the snapshot's states.

        Changes fanned out while the snapshot is read are queued after it; the client keeps
        the newer version of each session.
        """
        await self.settle()
        self.subscribers.add(subscriber)
        subscriber.offer_mode(self.mode)
        try:
            if subscriber.session_id is None:
                docs = await self.db(selectors.live_sessions_open)
            else:
                docs = await self.db(selectors.live_sessions_by_ids, ids=[subscriber.session_id])
        except BaseException:
            self.detach(subscriber)
            raise
        states = [selectors.live_state(doc) for doc in docs]
        subscriber.offer_snapshot(states)
        return states

    def detach(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    # --- fan-out ----------------------------------------------------------------------------------
    def _set_mode(self, mode: str) -> None:
        if mode == self.mode:
            return
        self.mode = mode
        for subscriber in list(self.subscribers):
            subscriber.offer_mode(mode)
        if mode == LIVE:
            self._resync = True  # what happened while polling: one full resync, then live
        else:
            self._poll_now = True  # what the lost subscription may have missed
        self._wake.set()

    def _fan_out(self, docs: list[dict]) -> None:
        """Send every state newer than what was fanned out before to the clients watching it."""
        for doc in docs:
            state = selectors.live_state(doc)
            session_id = state["id"]
            if state["version"] <= self.versions.get(session_id, -1):
                continue
            self.versions[session_id] = state["version"]
            if state["status"] == OPEN:
                self.open_ids.add(session_id)
            else:
                self.open_ids.discard(session_id)
            for subscriber in list(self.subscribers):
                if subscriber.watches(session_id):
                    subscriber.offer_state(state)

    def _fan_out_removed(self, session_ids) -> None:
        for session_id in session_ids:
            self.versions.pop(session_id, None)
            self.open_ids.discard(session_id)
            for subscriber in list(self.subscribers):
                if subscriber.watches(session_id):
                    subscriber.offer_removed(session_id)

    async def _full_read(self, *, resync: bool) -> None:
        watched = {s.session_id for s in self.subscribers if s.session_id is not None}
        docs = await self.db(selectors.live_sessions_open)
        found = {str(doc["_id"]) for doc in docs}
        extra = watched - found
        if extra:
            docs += await self.db(selectors.live_sessions_by_ids, ids=extra)
        self.stats["full_reads"] += 1
        present = {str(doc["_id"]) for doc in docs}
        gone = (self.open_ids - found) | (watched - present)
        if resync:
            self.versions = {}
            self.open_ids = set()
            states = [selectors.live_state(doc) for doc in docs]
            for doc, state in zip(docs, states, strict=True):
                self.versions[state["id"]] = state["version"]
                if doc.get("status") == OPEN:
                    self.open_ids.add(state["id"])
            for subscriber in list(self.subscribers):
                subscriber.offer_snapshot(states)
        else:
            # Closed since (their change was missed): fan out as changes, which removes them.
            self._fan_out(docs)
        self._fan_out_removed(gone - present)
        self._advance_watermark(docs)

    def _advance_watermark(self, docs: list[dict]) -> None:
        stamps = [_aware(doc.get("changed_at")) for doc in docs if doc.get("changed_at")]
        if stamps:
            self._watermark = max(self._watermark, *stamps)

    async def _poll_changed(self) -> None:
        since = self._watermark - timedelta(seconds=LIVE_POLL_OVERLAP_SECONDS)
        docs = await self.db(selectors.live_sessions_changed_since, since=since)
        self.stats["polls"] += 1
        self._fan_out(docs)
        self._advance_watermark(docs)

    async def _read_notified(self) -> None:
        ids, self._notified = self._notified, set()
        try:
            docs = await self.db(selectors.live_sessions_by_ids, ids=ids)
        except BaseException:
            self._notified |= ids
            raise
        self.stats["id_reads"] += 1
        self._fan_out(docs)
        self._fan_out_removed(ids - {str(doc["_id"]) for doc in docs})

    async def _fetch_loop(self) -> None:
        now = time.monotonic()
        next_full = now + settings.LIVE_FULL_SYNC_SECONDS
        next_poll = now
        while True:
            now = time.monotonic()
            due = min(next_full, next_poll)
            if not (self._resync or self._notified or self._poll_now) and due > now:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), due - now)
            self._wake.clear()
            now = time.monotonic()
            try:
                if self._resync or now >= next_full:
                    resync, self._resync = self._resync, False
                    try:
                        await self._full_read(resync=resync)
                    except BaseException:
                        self._resync = self._resync or resync
                        raise
                    next_full = now + settings.LIVE_FULL_SYNC_SECONDS
                elif self._notified:
                    await self._read_notified()
                elif self._poll_now or now >= next_poll:
                    self._poll_now = False
                    next_poll = now + (
                        LIVE_POLL_SECONDS if self.mode == POLLING else LIVE_BACKSTOP_POLL_SECONDS
                    )
                    await self._poll_changed()
                if self._db_failing:
                    self._db_failing = False
                    logger.info("Live hub: MongoDB answers again")
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.stats["db_errors"] += 1
                if not self._db_failing:
                    self._db_failing = True
                    logger.warning(
                        "Live hub: MongoDB read failed (%s); clients keep what they have",
                        describe_error(error),
                    )
                await asyncio.sleep(LIVE_POLL_SECONDS)

    # --- Redis ------------------------------------------------------------------------------------
    def _note(self, data) -> None:
        session_id = data.decode() if isinstance(data, bytes) else str(data)
        self.stats["notifications"] += 1
        self._notified.add(session_id)
        self._wake.set()
        if self.doors_feed is not None:
            self.doors_feed.nudge()  # an accepted scan: the doors view reads early

    async def _subscribe_and_listen(self, pubsub) -> None:
        timeout = LIVE_REDIS_TIMEOUT_SECONDS
        await asyncio.wait_for(pubsub.subscribe(settings.LIVE_REDIS_CHANNEL), timeout)
        deadline = time.monotonic() + timeout
        while True:  # the subscription is confirmed before the hub calls itself live
            message = await asyncio.wait_for(pubsub.get_message(timeout=timeout), timeout * 2)
            if message is not None and message["type"] == "subscribe":
                break
            if time.monotonic() > deadline:
                raise TimeoutError("Redis did not confirm the subscription")
        if self.mode != LIVE:
            logger.info("Live hub: Redis subscription up: live")
        self._set_mode(LIVE)
        self._settled.set()
        ping_every = LIVE_REDIS_PING_SECONDS
        last_seen = time.monotonic()
        next_ping = last_seen + ping_every
        while True:
            message = await asyncio.wait_for(pubsub.get_message(timeout=0.1), timeout)
            now = time.monotonic()
            if message is not None:
                last_seen = now
                if message["type"] == "message":
                    self._note(message["data"])
            if now >= next_ping:
                await asyncio.wait_for(pubsub.ping(), timeout)
                next_ping = now + ping_every
            if now - last_seen > ping_every + timeout:
                raise TimeoutError("Redis did not answer the live hub's PING")

    async def _redis_loop(self) -> None:
        failing = False  # one log line per outage, not one per retry
        while True:
            client = pubsub_client(timeout=LIVE_REDIS_TIMEOUT_SECONDS)
            pubsub = client.pubsub()
            try:
                await self._subscribe_and_listen(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.stats["redis_errors"] += 1
                if not failing or self.mode == LIVE:
                    logger.warning(
                        "Live hub: Redis subscription lost or refused (%s): polling MongoDB "
                        "every %.1f s, retrying Redis every %.1f s",
                        describe_pubsub_error(error),
                        LIVE_POLL_SECONDS,
                        LIVE_REDIS_RETRY_SECONDS,
                    )
                elif failing and self.mode == POLLING:
                    logger.debug("Live hub: Redis still unavailable")
                failing = True
                self._set_mode(POLLING)
            finally:
                self._settled.set()
                # Closing may hang on a paused Redis: never wait for it.
                closing = asyncio.create_task(pubsub_close_quietly(pubsub, client))
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
            await asyncio.sleep(LIVE_REDIS_RETRY_SECONDS)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(LIVE_HEARTBEAT_SECONDS)
            for subscriber in list(self.subscribers):
                subscriber.heartbeat = True
                subscriber.wake.set()


_hub: Hub | None = None
_hub_loop: asyncio.AbstractEventLoop | None = None


def hub() -> Hub:
    """Return this process's hub (one per event loop: an ASGI server runs one loop)."""
    global _hub, _hub_loop
    loop = asyncio.get_running_loop()
    if _hub is None or _hub_loop is not loop:
        _hub, _hub_loop = Hub(), loop
    return _hub
