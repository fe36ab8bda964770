"""Reads of the live board: what a screen shows of the sessions, straight from MongoDB.

Plain pymongo reads for the live hub (``hub.py``): an index range on ``changed_at``, an equality
on ``status`` (indexed) or ``_id`` lookups, never ``$expr`` (the stand-in scans for it).
"""

from __future__ import annotations

from datetime import UTC

from bson import ObjectId
from django.db import connection

from devices_app.models import DoorDevice
from sessions_app.models import Scan, Session, fill_percent

_LIVE_FIELDS = {
    "title": 1,
    "location": 1,
    "starts_at": 1,
    "status": 1,
    "capacity": 1,
    "check_in_count": 1,
    "version": 1,
    "changed_at": 1,
}


def _live_sessions():
    return connection.get_collection(Session._meta.db_table)


def _aware(moment):
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def live_state(doc: dict) -> dict:
    """Return what a live screen shows of a session document (the full state, absolute count)."""
    count, capacity = int(doc.get("check_in_count", 0)), int(doc.get("capacity", 0))
    starts_at = doc.get("starts_at")
    return {
        "id": str(doc["_id"]),
        "title": doc.get("title", ""),
        "location": doc.get("location", ""),
        "starts_at": _aware(starts_at).isoformat() if starts_at else None,
        "status": doc.get("status", ""),
        "capacity": capacity,
        "check_in_count": count,
        "fill_percent": fill_percent(count, capacity),
        "version": int(doc.get("version", 0)),
    }


def live_sessions_open() -> list[dict]:
    """Return the documents of every open session (one indexed equality)."""
    return list(_live_sessions().find({"status": Session.Status.OPEN.value}, _LIVE_FIELDS))


def live_sessions_by_ids(*, ids) -> list[dict]:
    """Return the documents of these sessions (those that still exist)."""
    object_ids = [ObjectId(i) for i in ids if ObjectId.is_valid(i)]
    if not object_ids:
        return []
    return list(_live_sessions().find({"_id": {"$in": object_ids}}, _LIVE_FIELDS))


def live_sessions_changed_since(*, since) -> list[dict]:
    """Return the documents of the sessions changed at or after ``since`` (an index range)."""
    return list(_live_sessions().find({"changed_at": {"$gte": since}}, _LIVE_FIELDS))


# --- the doors view -------------------------------------------------------------------------------
# Plain indexed reads, as above: the scan log's (device, -created_at) and (session, -created_at)
# indexes, an equality on ``_id``; the doors view never joins (the stand-in has join gaps).

_DOOR_SCAN_FIELDS = {
    "device_id": 1,
    "session_id": 1,
    "reason": 1,
    "direction": 1,
    "created_at": 1,
    "replayed": 1,
    "client_latency_ms": 1,
}


def _scans():
    return connection.get_collection(Scan._meta.db_table)


def doors_devices() -> list[dict]:
    """Return the door devices not revoked: name, location, when paired and last seen."""
    fields = {"name": 1, "location": 1, "paired_at": 1, "last_seen_at": 1}
    devices = connection.get_collection(DoorDevice._meta.db_table)
    return list(devices.find({"revoked_at": None}, fields))


def doors_scans_since(*, device_ids, session_ids, since) -> list[dict]:
    """Return the scans since ``since`` by these devices or at these sessions.

    One exact index range per device and per session (``$in`` over many values is slow on the
    stand-in: 445 ms where 20 equalities take 107 ms); a scan found twice is returned once.
    """
    found: dict = {}
    keys = [("device_id", i) for i in device_ids] + [("session_id", i) for i in session_ids]
    for field, value in keys:
        query = {field: ObjectId(value), "created_at": {"$gte": since}}
        found.update((doc["_id"], doc) for doc in _scans().find(query, _DOOR_SCAN_FIELDS))
    return list(found.values())


def doors_device_latencies(*, device_id, limit: int) -> list[int]:
    """Return the door-measured latencies of a device's last ``limit`` scans that carry one."""
    query = {"device_id": ObjectId(device_id), "client_latency_ms": {"$ne": None}}
    cursor = (
        _scans()
        .find(query, {"client_latency_ms": 1})
        .sort([("device_id", 1), ("created_at", -1)])
        .limit(limit)
    )
    return [int(doc["client_latency_ms"]) for doc in cursor]
