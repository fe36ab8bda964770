"""How the door page shows an answer: a tone (green, blue, amber, red), a few words, a name, the count."""

from __future__ import annotations

from dataclasses import dataclass

from core.exceptions import NotFoundReason
from sessions_app.models import Scan
from sessions_app.verdicts import LABELS, Reason, Verdict

OK, OUT, WARN, STOP = "ok", "out", "warn", "stop"
# Green: in. Blue: out (a check-out must never be mistaken for a check-in at a glance).
# Amber: nothing changed, nothing wrong (inside already, not inside, retry).
# Red: the person does not get in (full, not open, unknown ticket, not a ticket code).
TONES = {
    Reason.CHECKED_IN: OK,
    Reason.CHECKED_OUT: OUT,
    Reason.ALREADY_CHECKED_IN: WARN,
    Reason.NOT_CHECKED_IN: WARN,
    Reason.CHECK_IN_IN_PROGRESS: WARN,
    Reason.ANNULLED: OUT,  # the place is free again, as after a check-out
    Reason.UNDO_WINDOW_PASSED: WARN,
    Reason.UNDO_SUPERSEDED: WARN,
    Reason.UNDO_NOT_YOURS: WARN,
    Reason.UNDO_NOTHING_TO_UNDO: WARN,
    Reason.UNDO_CHECK_OUT_REFUSED: WARN,
}
# Answers to an Undo that changed nothing: the door reads why, in full, under the headline.
UNDO_REFUSALS = {reason for reason, tone in TONES.items() if reason.startswith("undo_")}
INVALID_CODE = "invalid_code"
# A scan that cannot be a ticket, in a door team's words, as big as any other verdict; the rule
# itself (4 to 64 letters, digits, '-' or '_') is the small print.
NOT_A_TICKET = "Not a ticket code"
NOT_A_TICKET_NOTE = "Scan again. (A ticket code is 4 to 64 letters, digits, '-' or '_'.)"


def _tone(reason: str) -> str:
    return TONES.get(reason, STOP)


@dataclass(frozen=True)
class Answer:
    """The big box under the scan field."""

    reason: str
    headline: str
    tone: str
    code: str = ""
    name: str = ""
    replayed: bool = False
    note: str = ""
    undo_nonce: str = ""  # an accepted check-in's nonce: the answer offers its Undo

    @property
    def show_code(self) -> bool:
        """Show the code as scanned only when it named nobody (a known person shows the name)."""
        return not self.name and bool(self.code)

    @classmethod
    def of_verdict(cls, verdict: Verdict, code: str, *, nonce: str = "") -> Answer:
        accepted = verdict.reason == Reason.CHECKED_IN and not verdict.replayed
        return cls(
            reason=verdict.reason.value,
            headline=LABELS[verdict.reason].capitalize(),
            tone=_tone(verdict.reason),
            code=code,
            name=verdict.participant_name,
            replayed=verdict.replayed,
            note=verdict.detail if verdict.reason in UNDO_REFUSALS else "",
            undo_nonce=nonce if accepted else "",
        )

    @classmethod
    def scan_not_found(cls) -> Answer:
        return cls(
            reason=Reason.SCAN_NOT_FOUND.value,
            headline=LABELS[Reason.SCAN_NOT_FOUND].capitalize(),
            tone=STOP,
            note="Nothing was undone.",
        )

    @classmethod
    def not_found(cls, reason: NotFoundReason, code: str) -> Answer:
        return cls(
            reason=reason.value,
            headline=LABELS[Reason(reason.value)].capitalize(),
            tone=STOP,
            code=code,
        )

    @classmethod
    def invalid(cls, code: str) -> Answer:
        return cls(
            reason=INVALID_CODE, headline=NOT_A_TICKET, tone=STOP, code=code, note=NOT_A_TICKET_NOTE
        )


@dataclass(frozen=True)
class RecentScan:
    """One line of the list of last scans."""

    at: object
    who: str
    direction: str
    label: str
    tone: str

    @classmethod
    def of(cls, scan: Scan) -> RecentScan:
        reason = Reason(scan.reason)
        return cls(
            at=scan.created_at,
            who=scan.participant_name or scan.ticket_code.strip() or "?",
            direction="in" if scan.direction == Scan.Direction.IN else "out",
            label=LABELS[reason] + (" (repeat)" if scan.replayed else ""),
            tone=_tone(reason),
        )
