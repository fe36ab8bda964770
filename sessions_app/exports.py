"""Attendance exports: who is inside now, and every entry and exit from the scan log (CSV).

Rows come from cursors (``iterator()``), never from lists, so a long history is streamed.
Times are in the event's time zone (``TIME_ZONE``), written with their UTC offset; the history
shows a scan's server time and, for a scan sent late, the device's own (``scanned_at``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from django.contrib import admin
from django.utils import timezone
from django.utils.text import slugify

from core.csv_export import csv_filename, csv_response
from participants_app.models import Participant

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
    "Device",
    "Replayed",
    "Count after",
    # A late scan's own time on the device ("Time" is the server's, when it was decided).
    "Scanned at (device)",
    "Scan id",
    "Undoes scan id",  # an undo (verdict annulled or an undo's refusal): the scan it concerns
]


def _joined(records: Iterator[dict], fields: tuple[str, ...]) -> Iterator[tuple[dict, dict]]:
    """Pair each record with its participant's ``fields`` (one ``$in`` by id per chunk).

    Not ``values()`` across the relation: the stand-in returns wrong data there (docs/mongodb-stand-in.md).
    """
    records = iter(records)
    while chunk := list(itertools.islice(records, CHUNK)):
        ids = {r["participant_id"] for r in chunk if r["participant_id"]}
        people = {p["pk"]: p for p in Participant.objects.filter(pk__in=ids).values("pk", *fields)}
        for record in chunk:
            yield record, people.get(record["participant_id"], {})


def attendance_inside_rows(*, sessions: Iterable[Session]) -> Iterator[list]:
    """Yield one row per participant inside each session now, earliest arrival first."""
    fields = ("full_name", "email", "organization", "ticket_code")
    for session in sessions:
        records = (
            CheckIn.objects.filter(session_id=session.pk, state=CheckIn.State.INSIDE)
            .order_by("checked_in_at")
            .values("participant_id", "checked_in_at", "source")
            .iterator(chunk_size=CHUNK)
        )
        for r, p in _joined(records, fields):
            yield [
                session.title,
                *(p.get(field, "") for field in fields),
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
                "participant_id",
                "created_at",
                "direction",
                "reason",
                "participant_name",
                "ticket_code",
                "source",
                "actor",
                "device_name",
                "replayed",
                "check_in_count",
                "scanned_at",
                "pk",
                "annuls_id",
            )
            .iterator(chunk_size=CHUNK)
        )
        for s, p in _joined(scans, ("email",)):
            yield [
                s["created_at"],
                session.title,
                s["direction"],
                s["reason"] or "deciding",
                LABELS.get(s["reason"], "being decided"),
                s["participant_name"],
                p.get("email", ""),
                s["ticket_code"],
                s["source"],
                s["actor"],
                s["device_name"],
                s["replayed"],
                s["check_in_count"],
                s["scanned_at"],
                s["pk"],
                s["annuls_id"] or "",
            ]


def attendance_inside_response(*, sessions: Iterable[Session], filename: str):
    return csv_response(
        header=INSIDE_HEADER, rows=attendance_inside_rows(sessions=sessions), filename=filename
    )


def attendance_history_response(*, sessions: Iterable[Session], filename: str):
    return csv_response(
        header=HISTORY_HEADER, rows=attendance_history_rows(sessions=sessions), filename=filename
    )


def attendance_filename(*, sessions: list[Session], kind: str) -> str:
    """Name an attendance file (``kind``: inside, history) by what it holds.

    One session: its title and start (``opening-keynote-inside-2026-12-06-2130.csv``); several:
    the export time (``sessions-inside-2026-12-06-2130.csv``).
    """
    if len(sessions) == 1:
        (session,) = sessions
        title = session.title if slugify(session.title) else "session"
        return csv_filename(title, kind, moment=session.starts_at)
    return csv_filename("sessions", kind, moment=timezone.now())


def user_can_export_attendance(user) -> bool:
    """Tell whether ``user`` may download attendance (it names people, with their e-mails)."""
    return bool(user and user.is_authenticated and user.has_perms(EXPORT_PERMISSIONS))


@admin.action(description="Export who is inside now (CSV)", permissions=["export_attendance"])
def export_inside_action(modeladmin, request, queryset):
    """Admin action: the selected sessions' people inside now, as one CSV file."""
    sessions = list(queryset)
    filename = attendance_filename(sessions=sessions, kind="inside")
    return attendance_inside_response(sessions=sessions, filename=filename)


@admin.action(
    description="Export entry/exit history from the scan log (CSV)",
    permissions=["export_attendance"],
)
def export_history_action(modeladmin, request, queryset):
    """Admin action: every scan of the selected sessions, as one CSV file."""
    sessions = list(queryset)
    filename = attendance_filename(sessions=sessions, kind="history")
    return attendance_history_response(sessions=sessions, filename=filename)
