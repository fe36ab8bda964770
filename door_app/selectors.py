"""Reads of the door page: the sessions a door can choose, the last scans at a door."""

from __future__ import annotations

import datetime as dt

from bson import ObjectId
from django.db.models import QuerySet

from devices_app.models import DoorDevice
from sessions_app.models import Scan, Session
from sessions_app.selectors import session_list, session_scan_list

RECENT_SCANS = 8
NOT_OPEN_LISTED = 12


def door_sessions(*, device: DoorDevice | None = None) -> QuerySet[Session]:
    """Return the sessions a door can be set to: the open ones, in their order; for a paired
    door device, only those it may scan at."""
    sessions = session_list().filter(status=Session.Status.OPEN)
    if device is not None and not device.all_sessions:
        sessions = sessions.filter(pk__in=device.session_ids)
    return sessions


def door_sessions_not_open(*, now: dt.datetime, limit: int = NOT_OPEN_LISTED) -> tuple[list, int]:
    """Return the sessions a door cannot choose yet or any more, and how many others there are.

    Listed (greyed on the picker, so nobody wonders where their session went): the ones not open
    (draft, closed, cancelled) that have not ended, first ``limit`` by start. Counted only: the
    rest (ended ones, or beyond ``limit``).
    """
    not_open = session_list().exclude(status=Session.Status.OPEN)
    listed = list(not_open.filter(ends_at__gt=now)[:limit])
    return listed, not_open.count() - len(listed)


def door_recent_scans(
    *, session_id: ObjectId, actor: str | None = None, limit: int = RECENT_SCANS
) -> list[Scan]:
    """Return the last decided scans at a session, newest first: by ``actor`` only, if given.

    The scan log names participants and carries ticket codes; whoever may not read it (no
    ``view_scan`` permission: door staff) sees the scans they made themselves, not everyone's.
    """
    scans = session_scan_list(session_id=session_id).exclude(reason="")
    if actor is not None:
        scans = scans.filter(actor=actor)
    return list(scans[:limit])
