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
