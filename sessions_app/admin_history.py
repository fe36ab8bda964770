"""Check-in history on the admin's pages: a participant's scans across sessions, a session's
latest scans, each with a link to the scan log filtered to them."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from core.staff_time import staff_time

from .selectors import participant_scan_list, session_scan_list
from .verdicts import LABELS

SHOWN = 20


def _when(moment) -> str:
    return staff_time(moment, seconds=True)


def _table(scans, *, first_column: str, first_value, total: int, filter_query: str) -> str:
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                _when(scan.created_at),
                first_value(scan),
                "in" if scan.direction == "in" else "out",
                LABELS.get(scan.reason, "being decided") + (" (replayed)" if scan.replayed else ""),
                scan.get_source_display(),
                scan.actor or "-",
            )
            for scan in scans
        ),
    )
    url = reverse("admin:sessions_app_scan_changelist")
    if not total:
        return "No scans yet."
    return format_html(
        '<table class="scan-history"><thead><tr><th>time</th><th>{}</th><th>in/out</th>'
        "<th>verdict</th><th>source</th><th>scanned by</th></tr></thead><tbody>{}</tbody>"
        '</table><p><a href="{}?{}">All {} scan{} in the scan log</a></p>',
        first_column,
        rows,
        url,
        filter_query,
        total,
        "" if total == 1 else "s",
    )


def participant_scan_history(participant) -> str:
    """The participant's latest scans across sessions (time, session, in/out, verdict, source,
    who scanned), newest first, and a link to all of them in the scan log."""
    if not participant.pk:
        return "-"
    scans = participant_scan_list(participant_id=participant.pk)
    return _table(
        list(scans[:SHOWN]),
        first_column="session",
        first_value=lambda scan: scan.session.title,
        total=scans.count(),
        filter_query=f"participant__id__exact={participant.pk}",
    )


def session_latest_scans(session) -> str:
    """The session's latest scans (who, in/out, verdict, ...) and a link to its scan log."""
    if not session.pk:
        return "-"
    scans = session_scan_list(session_id=session.pk)
    return _table(
        list(scans[:SHOWN]),
        first_column="participant",
        first_value=lambda scan: scan.participant_name or scan.ticket_code or "-",
        total=scans.count(),
        filter_query=f"session__id__exact={session.pk}",
    )
