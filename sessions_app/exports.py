"""Attendance exports: who is inside now, and every entry and exit from the scan log (CSV).

Rows come from cursors (``iterator()``), never from lists, so a long history is streamed.
Times are in the event's time zone (``TIME_ZONE``), written with their UTC offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.contrib import admin
from django.db.models import F

from core.csv_export import csv_response

from .models import CheckIn, Scan, Session
from .verdicts import LABELS

CHUNK = 2000
# Attendance names people, with e-mails: the one rule for the API and the admin actions.
EXPORT_PERMISSIONS = (
    "sessions_app.view_checkin",
    "sessions_app.view_scan",
    "participants_app.view_participant",
)

INSIDE_HEADER = [
    "Session",
    "Full name",
    "E-mail",
    "Organization",
    "Ticket code",
    "Inside since",
    "Source",
]
HISTORY_HEADER = [
    "Time",
    "Session",
    "Direction",
    "Verdict",
    "Result",
    "Full name",
    "E-mail",
    "Ticket code",
    "Source",
    "Scanned by",
    "Replayed",
    "Count after",
]


def attendance_inside_rows(*, sessions: Iterable[Session]) -> Iterator[list]:
    """Yield one row per participant inside each session now, earliest arrival first."""
    for session in sessions:
        records = (
            CheckIn.objects.filter(session_id=session.pk, state=CheckIn.State.INSIDE)
            .order_by("checked_in_at")
            .values(
                "checked_in_at",
                "source",
                name=F("participant__full_name"),
                email=F("participant__email"),
                organization=F("participant__organization"),
                ticket_code=F("participant__ticket_code"),
            )
        )
        for r in records.iterator(chunk_size=CHUNK):
            yield [
                session.title,
                r["name"],
                r["email"],
                r["organization"],
                r["ticket_code"],
                r["checked_in_at"],
                r["source"],
            ]


def attendance_history_rows(*, sessions: Iterable[Session]) -> Iterator[list]:
    """Yield one row per scan (entry or exit, accepted or refused) of each session, oldest first."""
    for session in sessions:
        scans = (
            Scan.objects.filter(session_id=session.pk)
            .order_by("created_at")
            .values(
                "created_at",
                "direction",
                "reason",
                "participant_name",
                "ticket_code",
                "source",
                "actor",
                "replayed",
                "check_in_count",
                email=F("participant__email"),
            )
        )
        for s in scans.iterator(chunk_size=CHUNK):
            yield [
                s["created_at"],
                session.title,
                s["direction"],
                s["reason"] or "deciding",
                LABELS.get(s["reason"], "being decided"),
                s["participant_name"],
                s["email"] or "",
                s["ticket_code"],
                s["source"],
                s["actor"],
                s["replayed"],
                s["check_in_count"],
            ]


def attendance_inside_response(*, sessions: Iterable[Session], filename: str):
    return csv_response(
        header=INSIDE_HEADER, rows=attendance_inside_rows(sessions=sessions), filename=filename
    )


def attendance_history_response(*, sessions: Iterable[Session], filename: str):
    return csv_response(
        header=HISTORY_HEADER, rows=attendance_history_rows(sessions=sessions), filename=filename
    )


def user_can_export_attendance(user) -> bool:
    """Tell whether ``user`` may download attendance (it names people, with their e-mails)."""
    return bool(user and user.is_authenticated and user.has_perms(EXPORT_PERMISSIONS))


@admin.action(description="Export who is inside now (CSV)", permissions=["export_attendance"])
def export_inside_action(modeladmin, request, queryset):
    """Admin action: the selected sessions' people inside now, as one CSV file."""
    return attendance_inside_response(sessions=list(queryset), filename="inside-now.csv")


@admin.action(
    description="Export entry/exit history from the scan log (CSV)",
    permissions=["export_attendance"],
)
def export_history_action(modeladmin, request, queryset):
    """Admin action: every scan of the selected sessions, as one CSV file."""
    return attendance_history_response(sessions=list(queryset), filename="scan-history.csv")
