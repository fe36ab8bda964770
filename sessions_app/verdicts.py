"""Check-in verdicts: the stable, machine-readable answers of the door services."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from core.exceptions import NOT_FOUND_DETAILS, NotFoundReason


class Reason(enum.StrEnum):
    """Reason codes; these strings are part of the API and never change meaning."""

    CHECKED_IN = "checked_in"
    ALREADY_CHECKED_IN = "already_checked_in"
    SESSION_FULL = "session_full"
    SESSION_NOT_OPEN = "session_not_open"
    NOT_YET_OPEN = "not_yet_open"
    SESSION_ENDED = "session_ended"
    CHECK_IN_IN_PROGRESS = "check_in_in_progress"
    NONCE_REUSED = "nonce_reused"
    CHECKED_OUT = "checked_out"
    NOT_CHECKED_IN = "not_checked_in"
    # Undo (``services/undo.py``): the scan annulled, or why it was not.
    ANNULLED = "annulled"
    UNDO_WINDOW_PASSED = "undo_window_passed"
    UNDO_SUPERSEDED = "undo_superseded"
    UNDO_NOT_YOURS = "undo_not_yours"
    UNDO_NOTHING_TO_UNDO = "undo_nothing_to_undo"
    UNDO_CHECK_OUT_REFUSED = "undo_check_out_refused"
    SCAN_NOT_FOUND = "scan_not_found"
    # An offline scan synced through a lease (``services/leases.py``) the lease could not cover.
    LEASE_EXHAUSTED = "lease_exhausted"
    SESSION_NOT_FOUND = NotFoundReason.SESSION_NOT_FOUND.value
    PARTICIPANT_NOT_FOUND = NotFoundReason.PARTICIPANT_NOT_FOUND.value
    TICKET_NOT_FOUND = NotFoundReason.TICKET_NOT_FOUND.value


DETAILS = {
    Reason.CHECKED_IN: "Checked in.",
    Reason.ALREADY_CHECKED_IN: "The participant is checked in to this session already.",
    Reason.SESSION_FULL: "The session is full.",
    Reason.SESSION_NOT_OPEN: "The session is not open for check-in.",
    Reason.NOT_YET_OPEN: "The doors of this session are not open yet.",
    Reason.SESSION_ENDED: "The session has ended.",
    Reason.CHECK_IN_IN_PROGRESS: (
        "Another request for this participant is still being decided. Retry in a second."
    ),
    Reason.NONCE_REUSED: "This nonce was used for another participant's check-in at this session.",
    Reason.CHECKED_OUT: "Checked out.",
    Reason.NOT_CHECKED_IN: "The participant is not checked in to this session.",
    Reason.ANNULLED: "The check-in was undone: the place is free again.",
    Reason.UNDO_WINDOW_PASSED: "Too late to undo this scan: check the participant out instead.",
    Reason.UNDO_SUPERSEDED: (
        "The participant was scanned again at this session since: this scan is not undone."
    ),
    Reason.UNDO_NOT_YOURS: "This scan was made by another door: only that door can undo it.",
    Reason.UNDO_NOTHING_TO_UNDO: (
        "This scan changed nothing (refused, or a repeat of an earlier one): nothing to undo."
    ),
    Reason.UNDO_CHECK_OUT_REFUSED: (
        "A check-out is not undone: scan the participant in again (the session may be full now)."
    ),
    Reason.SCAN_NOT_FOUND: "No scan with this nonce at this session.",
    Reason.LEASE_EXHAUSTED: (
        "This door's offline places were used up: the participant was not admitted by this scan."
    ),
    **{Reason(reason): detail for reason, detail in NOT_FOUND_DETAILS.items()},
}
# A few words per reason for people at a door or a desk (the door page, the admin's messages).
LABELS = {
    Reason.CHECKED_IN: "checked in",
    Reason.ALREADY_CHECKED_IN: "already inside",
    Reason.SESSION_FULL: "session full",
    Reason.SESSION_NOT_OPEN: "not open",
    Reason.NOT_YET_OPEN: "doors not open yet",
    Reason.SESSION_ENDED: "session ended",
    Reason.CHECK_IN_IN_PROGRESS: "still being decided, scan again",
    Reason.NONCE_REUSED: "scan id already used for someone else",
    Reason.CHECKED_OUT: "checked out",
    Reason.NOT_CHECKED_IN: "was not inside",
    Reason.ANNULLED: "check-in undone",
    Reason.UNDO_WINDOW_PASSED: "too late to undo",
    Reason.UNDO_SUPERSEDED: "not undone, scanned again since",
    Reason.UNDO_NOT_YOURS: "not undone, another door's scan",
    Reason.UNDO_NOTHING_TO_UNDO: "nothing to undo",
    Reason.UNDO_CHECK_OUT_REFUSED: "a check-out is not undone",
    Reason.SCAN_NOT_FOUND: "scan not found",
    Reason.LEASE_EXHAUSTED: "offline places used up",
    Reason.SESSION_NOT_FOUND: "session not found",
    Reason.PARTICIPANT_NOT_FOUND: "unknown participant",
    Reason.TICKET_NOT_FOUND: "unknown ticket",
}


class Conflict(enum.StrEnum):
    """Why an offline scan synced through a lease conflicts with what the server knows.

    A scan-log entry's ``conflict`` (listed at GET /api/sessions/{id}/conflicts/ and on the
    admin's Conflicts page); these strings are part of the API.
    """

    ADMITTED_ELSEWHERE = "admitted_elsewhere"
    TICKET_NOT_FOUND = "ticket_not_found"
    PARTICIPANT_DELETED = "participant_deleted"
    LEASE_EXHAUSTED = "lease_exhausted"
    LEASE_EXPIRED = "lease_expired"
    NOT_CHECKED_IN = "not_checked_in"


CONFLICT_LABELS = {
    Conflict.ADMITTED_ELSEWHERE: "admitted offline here, but already inside (another door)",
    Conflict.TICKET_NOT_FOUND: "ticket unknown to the server",
    Conflict.PARTICIPANT_DELETED: "participant deleted meanwhile",
    Conflict.LEASE_EXHAUSTED: "this door's offline places were used up: not admitted",
    Conflict.LEASE_EXPIRED: "admitted after the door's lease expired: counted beyond the lease",
    Conflict.NOT_CHECKED_IN: "checked out offline, but was not inside",
}
REPLAY_DETAIL = (
    "This request (same nonce) was answered already; this is its original verdict. Nothing changed."
)
# Seconds a door should wait before retrying a request answered ``check_in_in_progress``.
IN_PROGRESS_RETRY_AFTER = 1


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check-in or check-out, with the session's counts at that moment.

    ``inside`` says whether the participant is inside the session now (after this request);
    ``replayed`` marks the answer to a replay of an earlier request (same nonce): its original
    verdict, with today's counts.
    """

    reason: Reason
    session: str
    participant: str
    check_in_count: int
    capacity: int
    detail: str = ""
    session_title: str = ""
    participant_name: str = ""
    inside: bool = False
    replayed: bool = False
    conflict: str = ""  # an offline scan's conflict (``Conflict``), if any

    def __post_init__(self):
        if not self.detail:
            object.__setattr__(self, "detail", DETAILS[self.reason])

    @property
    def ok(self) -> bool:
        return self.reason in (Reason.CHECKED_IN, Reason.CHECKED_OUT, Reason.ANNULLED)
