"""The HTTP status of each verdict reason: the API's concern, not the service's."""

from sessions_app.verdicts import Reason, Verdict

VERDICT_HTTP_STATUS = {
    Reason.CHECKED_IN: 201,
    Reason.ALREADY_CHECKED_IN: 200,
    Reason.SESSION_FULL: 409,
    Reason.SESSION_NOT_OPEN: 409,
    Reason.NOT_YET_OPEN: 409,
    Reason.SESSION_ENDED: 409,
    Reason.CHECK_IN_IN_PROGRESS: 409,
    Reason.NONCE_REUSED: 409,
    Reason.CHECKED_OUT: 200,
    Reason.NOT_CHECKED_IN: 200,
    Reason.ANNULLED: 200,
    Reason.UNDO_WINDOW_PASSED: 409,
    Reason.UNDO_SUPERSEDED: 409,
    Reason.UNDO_NOT_YOURS: 403,
    Reason.UNDO_NOTHING_TO_UNDO: 409,
    Reason.UNDO_CHECK_OUT_REFUSED: 409,
    Reason.SCAN_NOT_FOUND: 404,
    Reason.SESSION_NOT_FOUND: 404,
    Reason.PARTICIPANT_NOT_FOUND: 404,
    Reason.TICKET_NOT_FOUND: 404,
}


def verdict_http_status(verdict: Verdict) -> int:
    """Return the status the API answers ``verdict`` with."""
    # A replay created nothing: its check-in answers 200, not 201.
    if verdict.replayed and verdict.reason == Reason.CHECKED_IN:
        return 200
    return VERDICT_HTTP_STATUS[verdict.reason]
