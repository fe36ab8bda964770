"""The doors view's numbers: per door device and per session, from the scan log's recent entries.

``DoorsReader.read()`` runs a bounded set of indexed reads (``selectors.py``: the devices, the
open sessions, one exact index range of the scan log per device and per open session, and a
device's last latencies only when it scanned since they were read) and summarises them in
Python. It keeps the last ``WINDOW_LONG`` of scans: a read asks only for the scans since the
previous one (``OVERLAP`` further back, for verdicts written after their entry and other
processes' clocks); the whole window is read again every ``FULL_READ_SECONDS``, and when a
device or an open session comes or goes. The live hub calls it at most once per ``DOORS_REFRESH_SECONDS`` per process, however
many screens watch (``doors_feed.py``); a check-in never does.

The rules (docs/live.md, "The doors view"):

- **online**: the device made a request (``last_seen_at``), scanned, or paired within
  ``ONLINE_SECONDS``.
- **silent** (highlighted): paired, and none of those for ``ONLINE_SECONDS`` or more.
- **failing** (highlighted): at least ``FAILING_MIN_SCANS`` scans in the last ``ONLINE_SECONDS``
  and not one accepted (every one refused, or never decided).
- A scan is **accepted** when it checked someone in or out, or undid a check-in; a replay of a request already
  answered (same nonce) is not counted twice.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from sessions_app.groups import user_can_check_in
from sessions_app.verdicts import LABELS, Reason

from . import selectors

ONLINE_SECONDS = 60
WINDOW_SHORT = timedelta(minutes=1)
WINDOW_LONG = timedelta(minutes=10)
LATENCY_SCANS = 100  # p50/p95 over a device's last 100 scans that carry the door's measure
FAILING_MIN_SCANS = 3
FULL_READ_SECONDS = 30.0
OVERLAP = timedelta(seconds=5)
# What ``Verdict.ok`` calls a success: a check-in, a check-out, an undo that freed the place.
ACCEPTED = {Reason.CHECKED_IN.value, Reason.CHECKED_OUT.value, Reason.ANNULLED.value}
UNDECIDED = "undecided"  # an entry whose request never got its verdict written


def doors_viewer_allowed(user) -> bool:
    """Who sees the doors view: the board's rule (``user_can_check_in``), never a door device."""
    return getattr(user, "door_device", None) is None and user_can_check_in(user)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def percentile(values: list[int], fraction: float) -> int | None:
    """Return the nearest-rank percentile of ``values`` (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def reason_label(reason: str) -> str:
    """Return a verdict's reason in a few words (the door page's words)."""
    if not reason:
        return UNDECIDED
    try:
        return LABELS[Reason(reason)]
    except ValueError:
        return reason.replace("_", " ")


def _counted(scans: list[dict]) -> list[dict]:
    return [scan for scan in scans if not scan.get("replayed")]


def scan_tally(scans: list[dict], *, since: datetime) -> dict:
    """Count the scans at or after ``since``: all, accepted (in and out) and refused by reason."""
    recent = [s for s in _counted(scans) if _aware(s["created_at"]) >= since]
    reasons = Counter(s.get("reason") or "" for s in recent)
    refused = [
        {"reason": reason or UNDECIDED, "label": reason_label(reason), "count": count}
        for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        if reason not in ACCEPTED
    ]
    return {
        "scans": len(recent),
        "accepted": sum(reasons[r] for r in ACCEPTED),
        "checked_in": reasons[Reason.CHECKED_IN.value],
        "checked_out": reasons[Reason.CHECKED_OUT.value],
        "undone": reasons[Reason.ANNULLED.value],
        "refused": sum(item["count"] for item in refused),
        "refused_by_reason": refused,
    }


def door_alert(*, last_active: datetime | None, paired: bool, minute: dict, now: datetime):
    """Return ``(alert, words)``: why a door needs a look (silent or failing), or ``(None, "")``."""
    # Words that stay the same while the door stays silent: the screen ticks the age itself
    # (last seen), and an unchanged view is not sent again.
    if paired and (last_active is None or (now - last_active).total_seconds() >= ONLINE_SECONDS):
        return "silent", "Silent: no request or scan for a minute or more"
    if minute["scans"] >= FAILING_MIN_SCANS and minute["accepted"] == 0:
        reasons = ", ".join(f"{r['count']} {r['label']}" for r in minute["refused_by_reason"])
        return (
            "failing",
            f"Failing: {minute['scans']} scans in the last minute, none accepted ({reasons})",
        )
    return None, ""


def door_row(device: dict, scans: list[dict], latencies: list[int], *, now: datetime) -> dict:
    """Return one door's line of the view from its recent scans and its last latencies."""
    minute = scan_tally(scans, since=now - WINDOW_SHORT)
    ten = scan_tally(scans, since=now - WINDOW_LONG)
    last_scan = max((_aware(s["created_at"]) for s in scans), default=None)
    seen = _aware(device.get("last_seen_at"))
    paired = _aware(device.get("paired_at"))
    last_active = max((t for t in (seen, last_scan, paired) if t), default=None)
    online = last_active is not None and (now - last_active).total_seconds() < ONLINE_SECONDS
    alert, alert_text = door_alert(
        last_active=last_active, paired=paired is not None or bool(scans), minute=minute, now=now
    )
    return {
        "id": str(device["_id"]),
        "name": device.get("name", ""),
        "location": device.get("location", ""),
        "paired": paired is not None,
        "last_seen_at": _iso(last_active),
        "last_scan_at": _iso(last_scan),
        "online": online,
        "scans_1m": minute["scans"],
        "scans_10m": ten["scans"],
        "checked_in_10m": ten["checked_in"],
        "checked_out_10m": ten["checked_out"],
        "undone_10m": ten["undone"],
        "refused_10m": ten["refused"],
        "refused_by_reason_10m": ten["refused_by_reason"],
        "latency_p50_ms": percentile(latencies, 0.5),
        "latency_p95_ms": percentile(latencies, 0.95),
        "latency_scans": len(latencies),
        "alert": alert,
        "alert_text": alert_text,
    }


def session_row(doc: dict, scans: list[dict], *, now: datetime) -> dict:
    """Return one session's totals of the last ``WINDOW_LONG`` (every scan there, any door)."""
    ten = scan_tally(scans, since=now - WINDOW_LONG)
    state = selectors.live_state(doc)
    return {
        "id": state["id"],
        "title": state["title"],
        "status": state["status"],
        "inside": state["check_in_count"],
        "capacity": state["capacity"],
        "scans_1m": scan_tally(scans, since=now - WINDOW_SHORT)["scans"],
        "scans_10m": ten["scans"],
        "accepted_10m": ten["accepted"],
        "refused_10m": ten["refused"],
    }


def _latest_scan_key(scans: list[dict]):
    return max(((_aware(s["created_at"]), str(s["_id"])) for s in scans), default=None)


class DoorsReader:
    """Read the doors view; keeps each device's latencies until that device scans again."""

    def __init__(self) -> None:
        self._latencies: dict[str, tuple[object, list[int]]] = {}
        self._window: dict = {}  # the scans of the last WINDOW_LONG, by _id
        self._keys: frozenset = frozenset()  # the devices and sessions the window was read for
        self._read_until: datetime | None = None
        self._full_due = 0.0
        self.stats = {"reads": 0, "full_reads": 0, "scans_read": 0, "latency_reads": 0}

    def _recent_scans(self, devices: list[dict], sessions: list[dict], now: datetime) -> list:
        device_ids = [d["_id"] for d in devices]
        session_ids = [s["_id"] for s in sessions]
        keys = frozenset(map(str, [*device_ids, *session_ids]))
        full = keys != self._keys or self._read_until is None or time.monotonic() >= self._full_due
        since = now - WINDOW_LONG if full else self._read_until - OVERLAP
        found = selectors.doors_scans_since(
            device_ids=device_ids, session_ids=session_ids, since=since
        )
        if full:
            self._window, self._keys = {}, keys
            self._full_due = time.monotonic() + FULL_READ_SECONDS
            self.stats["full_reads"] += 1
        self.stats["scans_read"] += len(found)
        self._window.update((doc["_id"], doc) for doc in found)
        self._read_until = now
        oldest = now - WINDOW_LONG
        self._window = {
            key: doc for key, doc in self._window.items() if _aware(doc["created_at"]) >= oldest
        }
        return list(self._window.values())

    def _device_latencies(self, device_id: str, scans: list[dict]) -> list[int]:
        newest = _latest_scan_key(scans)
        cached = self._latencies.get(device_id)
        if cached is not None and cached[0] == newest:
            return cached[1]
        # The window's own scans suffice when they hold LATENCY_SCANS measures (a busy door).
        ordered = sorted(scans, key=lambda s: _aware(s["created_at"]), reverse=True)
        measured = [
            int(s["client_latency_ms"]) for s in ordered if s.get("client_latency_ms") is not None
        ]
        if len(measured) < LATENCY_SCANS:
            measured = selectors.doors_device_latencies(device_id=device_id, limit=LATENCY_SCANS)
            self.stats["latency_reads"] += 1
        latencies = measured[:LATENCY_SCANS]
        self._latencies[device_id] = (newest, latencies)
        return latencies

    def read(self, *, now: datetime | None = None) -> dict:
        """Return the doors view's state now: ``{"now", "doors": [...], "sessions": [...]}``."""
        now = now or timezone.now()
        devices = selectors.doors_devices()
        open_sessions = selectors.live_sessions_open()
        scans = self._recent_scans(devices, open_sessions, now)
        by_device: dict[str, list[dict]] = {str(d["_id"]): [] for d in devices}
        by_session: dict[str, list[dict]] = {}
        for scan in scans:
            if scan.get("device_id") is not None and str(scan["device_id"]) in by_device:
                by_device[str(scan["device_id"])].append(scan)
            by_session.setdefault(str(scan["session_id"]), []).append(scan)
        known = {str(doc["_id"]) for doc in open_sessions}
        others = selectors.live_sessions_by_ids(ids=set(by_session) - known)
        doors = []
        for device in devices:
            own = by_device[str(device["_id"])]
            latencies = self._device_latencies(str(device["_id"]), own)
            doors.append(door_row(device, own, latencies, now=now))
        doors.sort(key=lambda row: row["name"].casefold())  # a steady order; alerts are coloured
        sessions = [
            session_row(doc, by_session.get(str(doc["_id"]), []), now=now)
            for doc in [*open_sessions, *others]
        ]
        sessions.sort(key=lambda row: (-row["scans_10m"], row["title"].casefold()))
        for device_id in set(self._latencies) - set(by_device):
            del self._latencies[device_id]
        self.stats["reads"] += 1
        return {"now": now.isoformat(), "doors": doors, "sessions": sessions}
