"""The live board under fire: a WebSocket client that stays connected through the fault schedule.

``LiveWatcher`` keeps one connection to the stack's ASGI server (``ws/occupancy/``, token
sign-in) and applies messages as the board does (a state only if its version is newer). A
comparator reads every session's counter and version from MongoDB every ``interval`` seconds.

The lag of one change: from the first sample that saw a session's version in MongoDB to the moment
the client held that version or a newer one (sampling makes it at most ``interval`` short);
while MongoDB does not answer (a fault's window, or the run's sampler failing), nobody can read a
change, so that time is not counted in a lag (the raw worst is reported too).
Worst lag per fault kind: over the changes first seen between a fault's start and 2 s after its
end. The check: the client never had to reconnect, never applied a version out of order, every
change reached it within ``MAX_LAG`` seconds (Redis outages included), and at the end its view
equals MongoDB's counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pymongo
from websockets.asyncio.client import connect

from chaos.run_data import CheckResult

MAX_LAG = 2.0  # seconds: the acceptance bound
SESSIONS = "sessions_app_session"


@dataclass
class LiveWatcher:
    url: str  # ws://host:port
    token: str
    mongo_uri: str
    db_name: str
    clock: Callable[[], float]
    interval: float = 0.25
    view: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (version, count)
    arrivals: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # id -> (v, t)
    first_seen: dict[tuple[str, int], float] = field(default_factory=dict)  # (id, v) -> t
    mongo_counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (v, count)
    connects: int = 0
    dropped: int = 0  # states not newer than the one held (late or repeated): not applied
    modes: list[tuple[float, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    final_mismatch: dict[str, tuple[int | None, int]] | None = None

    def _apply(self, state: dict, now: float) -> None:
        have = self.view.get(state["id"])
        if have is not None and state["version"] <= have[0]:
            self.dropped += have[0] > state["version"]
            return
        self.view[state["id"]] = (state["version"], state["check_in_count"])
        self.arrivals.setdefault(state["id"], []).append((state["version"], now))

    def _handle(self, message: dict) -> None:
        now = self.clock()
        kind = message.get("type")
        if kind == "mode":
            self.modes.append((now, message["mode"]))
        elif kind == "snapshot":
            for state in message["sessions"]:
                self._apply(state, now)
        elif kind == "session":
            self._apply(message["session"], now)

    async def _listen(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with connect(
                    f"{self.url}/ws/occupancy/",
                    subprotocols=["checkin", f"token.{self.token}"],
                    open_timeout=10,
                    ping_interval=None,  # the server's heartbeat is enough; no client timeouts
                ) as ws:
                    self.connects += 1
                    while not stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            self._handle(json.loads(await asyncio.wait_for(ws.recv(), 0.5)))
            except Exception as error:
                self.errors.append(f"{self.clock():.1f} {type(error).__name__}: {error}"[:200])
                await asyncio.sleep(0.5)

    def _sample(self, client: pymongo.MongoClient) -> None:
        docs = client[self.db_name][SESSIONS].find(
            {"status": "open"}, {"version": 1, "check_in_count": 1}
        )
        now = self.clock()
        for doc in docs:
            key = str(doc["_id"])
            version, count = int(doc.get("version", 0)), int(doc.get("check_in_count", 0))
            self.mongo_counts[key] = (version, count)
            self.first_seen.setdefault((key, version), now)

    async def _compare(self, stop: asyncio.Event) -> None:
        client = pymongo.MongoClient(self.mongo_uri, serverSelectionTimeoutMS=1000, timeoutMS=1000)
        try:
            while not stop.is_set():
                with contextlib.suppress(pymongo.errors.PyMongoError):
                    await asyncio.to_thread(self._sample, client)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval)
            # The end: within MAX_LAG the view must equal MongoDB's counts.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + MAX_LAG
            while True:
                with contextlib.suppress(pymongo.errors.PyMongoError):
                    await asyncio.to_thread(self._sample, client)
                mismatch = self._mismatch()
                if (not mismatch and not self._behind()) or loop.time() > deadline:
                    self.final_mismatch = mismatch
                    return
                await asyncio.sleep(0.1)
        finally:
            client.close()

    def _mismatch(self) -> dict[str, tuple[int | None, int]]:
        return {
            key: (self.view.get(key, (None, None))[1], count)
            for key, (_version, count) in self.mongo_counts.items()
            if self.view.get(key, (None, None))[1] != count
        }

    def _behind(self) -> list[str]:
        """The sessions whose last version seen in MongoDB the client does not hold yet: the end
        waits for those too (seed 68: a version bump with the count unchanged, seen by the last
        sample, was never waited for; the listener stopped and its lag counted as infinite)."""
        return [
            key
            for key, (version, _count) in self.mongo_counts.items()
            if self.view.get(key, (-1, None))[0] < version
        ]

    async def run(self, traffic_done: asyncio.Event) -> None:
        """Listen and compare until ``traffic_done``; then the final comparison."""
        stop_listening = asyncio.Event()
        listener = asyncio.create_task(self._listen(stop_listening))
        await self._compare(traffic_done)
        stop_listening.set()
        await listener

    def lags(self, mongo_down: list[tuple[float, float]] = ()) -> list[tuple[float, float]]:
        """Return (first seen in MongoDB, lag) for every version the comparator saw.

        While MongoDB does not answer, nobody can read a change (the hub reads MongoDB, which
        decides): the time of the windows in ``mongo_down`` (run clock) within a lag is not
        counted.
        """
        out = []
        for (key, version), seen in self.first_seen.items():
            arrived = next((t for v, t in self.arrivals.get(key, []) if v >= version), None)
            if arrived is None:
                out.append((seen, float("inf")))
                continue
            # Only the time MongoDB answered counts (merged windows: no overlap counted twice).
            down, edge = 0.0, seen
            for down_from, down_to in sorted(mongo_down):
                low, high = max(down_from, edge), min(down_to, arrived)
                if high > low:
                    down += high - low
                    edge = high
            out.append((seen, max(0.0, arrived - seen - down)))
        return out


def _mongo_down(data) -> list[tuple[float, float]]:
    return list(data.mongo_windows())


def worst_lag_by_fault(data) -> dict[str, float]:
    """Return the worst lag of the changes first seen during each kind of fault (+ 2 s after)."""
    lags = data.live.lags(_mongo_down(data))
    worst: dict[str, float] = {}
    for fault in data.faults:
        end = max(fault.t_end, fault.t_start) + 2.0
        during = [lag for seen, lag in lags if fault.t_start <= seen <= end]
        if during:
            worst[fault.kind] = max(worst.get(fault.kind, 0.0), *during)
    return worst


def live_table(data) -> str:
    """The report's table: worst lag of the live view per fault kind."""
    if data.live is None:
        return "(no live view in this run)"
    lags = data.live.lags(_mongo_down(data))
    rows = [("all traffic", max((lag for _, lag in lags), default=0.0), len(lags))]
    for kind, lag in sorted(worst_lag_by_fault(data).items()):
        rows.append((kind, lag, sum(1 for f in data.faults if f.kind == kind)))
    lines = [
        "| fault | worst lag of the live view (s; MongoDB's outages not counted) "
        "| changes (all traffic) or faults of the kind |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {lag:.2f} | {n} |" for name, lag, n in rows]
    return "\n".join(lines)


def check_live_view(data) -> list[CheckResult]:
    """The live view followed MongoDB within MAX_LAG, on one connection (versions only rise).

    In the two-node form each node's view (node a's is ``data.live``): while its node was killed
    (node_kill) nobody on it can see a change, so that time is not counted, and it reconnects once
    per kill of its node (and only then).
    """
    if data.live_b is None:
        return _live_view_result(data, data.live, "", [], 1)
    from chaos.nodes import node_down_windows  # noqa: PLC0415 - the two-node form only

    end = max((f.t_end for f in data.faults), default=0.0) + 1e9
    results = []
    for node, watcher in (("a", data.live), ("b", data.live_b)):
        down = node_down_windows(data.faults, end, node)
        results += _live_view_result(data, watcher, f" on node {node}", down, 1 + len(down))
    return results


def _live_view_result(data, watcher, where, node_down, connects) -> list[CheckResult]:
    if watcher is None:
        return []
    lags = watcher.lags(_mongo_down(data) + list(node_down))
    raw = max((lag for _, lag in watcher.lags()), default=0.0)
    worst = max((lag for _, lag in lags), default=0.0)
    late = sum(1 for _, lag in lags if lag > MAX_LAG)
    modes = [mode for _, mode in watcher.modes]
    ok = watcher.connects == connects and late == 0 and not watcher.final_mismatch and bool(lags)
    stays = (
        "stays connected"
        if connects == 1
        else f"reconnects only after its node's {connects - 1} kills"
    )
    return [
        CheckResult(
            f"live view (WebSocket){where} equals MongoDB within {MAX_LAG:.0f} s, {stays}",
            ok,
            f"{len(lags)} changes, worst lag {worst:.2f} s ({raw:.2f} s counting MongoDB's "
            f"outages), {late} later than {MAX_LAG:.0f} s; connections {watcher.connects}; older "
            f"states dropped {watcher.dropped}; modes {' > '.join(modes)}; at the end "
            + ("equal" if not watcher.final_mismatch else f"DIFFERENT {watcher.final_mismatch}")
            + (f"; errors {watcher.errors[:2]}" if watcher.errors else ""),
        )
    ]
