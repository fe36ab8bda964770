"""Who may see participants' names at the sessions: one rule for the API, the admin and the door.

The attendance (check-in records: who is inside) needs ``view`` on check-ins; the scan log needs
``view`` on scans. The API's lists, the admin session page's "Inside now" and "latest scans"
blocks, the participant page's scan history, and the door page's list of scans ask the same
functions here.

A door account (``check_in`` only) learns a participant's name from a verdict only for someone it
checked in or out, now or earlier: a refusal (not checked in, full, ...) by id or ticket code
answers no name, so counting ids down cannot enumerate the participants.
"""

from __future__ import annotations

import dataclasses

from bson import ObjectId

from .models import Scan
from .selectors import HANDLED_REASONS, scan_participants_handled_by
from .verdicts import Verdict

ATTENDANCE_VIEW = "sessions_app.view_checkin"
SCAN_LOG_VIEW = "sessions_app.view_scan"
# Users who may read participants' names anyway (the participants API, the attendance, the scan
# log): nothing to hide from them.
_NAME_READS = ("participants_app.view_participant", ATTENDANCE_VIEW, SCAN_LOG_VIEW)


def user_can_see_attendance(user) -> bool:
    """Tell whether ``user`` may see who is (was) inside a session (the API's check-in records)."""
    return bool(user and user.is_authenticated and user.has_perm(ATTENDANCE_VIEW))


def user_can_see_scan_log(user) -> bool:
    """Tell whether ``user`` may read the scan log (every door's attempts, names, ticket codes)."""
    return bool(user and user.is_authenticated and user.has_perm(SCAN_LOG_VIEW))


def _user_can_see_every_name(user) -> bool:
    return bool(user and user.is_authenticated and any(user.has_perm(p) for p in _NAME_READS))


def verdict_for_user(*, verdict: Verdict, user) -> Verdict:
    """Return the verdict as ``user`` may see it: without the name unless they may know it.

    They may if they can read names anyway, if this request checked the participant in or out,
    or if their account did so before. The shape stays (``participant_name`` is "").
    """
    if not verdict.participant_name or verdict.ok or _user_can_see_every_name(user):
        return verdict
    if ObjectId.is_valid(verdict.participant) and scan_participants_handled_by(
        actor=user.get_username(), participant_ids=[ObjectId(verdict.participant)]
    ):
        return verdict
    return dataclasses.replace(verdict, participant_name="")


def scans_for_user(*, scans: list[Scan], user) -> list[Scan]:
    """Return ``scans`` with the names blanked that ``user`` may not see (same rule as verdicts).

    The scans are not saved: only the copy shown (the door page's own list) changes.
    """
    if _user_can_see_every_name(user):
        return scans
    unknown = {
        s.participant_id for s in scans if s.participant_name and s.reason not in HANDLED_REASONS
    }
    known = scan_participants_handled_by(actor=user.get_username(), participant_ids=unknown)
    for scan in scans:
        if (
            scan.participant_name
            and scan.reason not in HANDLED_REASONS
            and (scan.participant_id not in known)
        ):
            scan.participant_name = ""
    return scans
