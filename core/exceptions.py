"""Errors the services raise and the API answers in DRF's shape (``core/api/exception_handlers.py``)."""

from __future__ import annotations

import enum


class NotFoundReason(enum.StrEnum):
    """Reason codes of a 404; part of the API, they never change meaning."""

    SESSION_NOT_FOUND = "session_not_found"
    PARTICIPANT_NOT_FOUND = "participant_not_found"
    TICKET_NOT_FOUND = "ticket_not_found"


NOT_FOUND_DETAILS = {
    NotFoundReason.SESSION_NOT_FOUND: "No session with this id.",
    NotFoundReason.PARTICIPANT_NOT_FOUND: "No participant with this id.",
    NotFoundReason.TICKET_NOT_FOUND: "No participant with this ticket code.",
}


class NotFoundError(Exception):
    """A session, participant or ticket that does not exist; carries the reason code."""

    def __init__(self, reason: NotFoundReason | str, detail: str | None = None):
        self.reason = NotFoundReason(reason)
        self.detail = detail or NOT_FOUND_DETAILS[self.reason]
        super().__init__(self.detail)
