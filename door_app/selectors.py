"""Reads of the door page: the sessions a door can choose, the last scans at a door."""

from __future__ import annotations

from bson import ObjectId
from django.db.models import QuerySet

from sessions_app.models import Scan, Session
from sessions_app.selectors import session_list, session_scan_list

RECENT_SCANS = 8


def door_sessions() -> QuerySet[Session]:
    """Return the sessions a door can be set to: the open ones, in their order."""
    return session_list().filter(status=Session.Status.OPEN)


def door_recent_scans(*, session_id: ObjectId, limit: int = RECENT_SCANS) -> list[Scan]:
    """Return the last decided scans at a session's door (from every door), newest first."""
    return list(session_scan_list(session_id=session_id).exclude(reason="")[:limit])
