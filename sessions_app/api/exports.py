"""Attendance downloads of one session (streamed CSV): who is inside now, the scan history."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated

from core.api.csv import CSVExportView
from core.api.permissions import has_perms
from core.api.schema import csv_responses, not_found

from ..exports import (
    EXPORT_PERMISSIONS,
    attendance_filename,
    attendance_history_response,
    attendance_inside_response,
)
from ..selectors import session_get

PARAMETERS = [
    OpenApiParameter(
        "session_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Session id (24 hex)."
    ),
    OpenApiParameter(
        "format", OpenApiTypes.STR, enum=["csv"], description="`csv` (the default and only one)."
    ),
]


def _responses(what: str) -> dict:
    return csv_responses(what, {404: not_found("session_not_found")})


class AttendanceInsideExportView(CSVExportView):
    """Who is inside the session now (CSV, streamed)."""

    permission_classes = [IsAuthenticated, has_perms(*EXPORT_PERMISSIONS)]

    @extend_schema(
        summary="Who is inside now, as CSV (view check-in, scan and participant permissions)",
        parameters=PARAMETERS,
        responses=_responses(
            "Session, full name, e-mail, organization, ticket code, inside since (event time "
            "zone), source."
        ),
    )
    def get(self, request, session_id):
        session = session_get(session_id=session_id)
        filename = attendance_filename(sessions=[session], kind="inside")
        return attendance_inside_response(sessions=[session], filename=filename)


class AttendanceHistoryExportView(CSVExportView):
    """Every entry and exit attempt at the session's door, from the scan log (CSV, streamed)."""

    permission_classes = [IsAuthenticated, has_perms(*EXPORT_PERMISSIONS)]

    @extend_schema(
        summary="Entry/exit history from the scan log, one row per scan, as CSV",
        parameters=PARAMETERS,
        responses=_responses(
            "Time (event time zone), session, direction, verdict, result, full name, e-mail, "
            "ticket code, source, scanned by, device, replayed, count after, scanned at (the device's "
            "own time of a scan sent late), scan id, undoes scan id (an undo's scan)."
        ),
    )
    def get(self, request, session_id):
        session = session_get(session_id=session_id)
        filename = attendance_filename(sessions=[session], kind="history")
        return attendance_history_response(sessions=[session], filename=filename)
