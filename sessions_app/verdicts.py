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
    Reason.SESSION_NOT_FOUND: "session not found",
    Reason.PARTICIPANT_NOT_FOUND: "unknown participant",
    Reason.TICKET_NOT_FOUND: "unknown ticket",
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

    def __post_init__(self):
        if not self.detail:
            object.__setattr__(self, "detail", DETAILS[self.reason])

    @property
    def ok(self) -> bool:
        return self.reason in (Reason.CHECKED_IN, Reason.CHECKED_OUT)
