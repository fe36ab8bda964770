"""All participants as a CSV download (streamed; the columns the import reads back)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated

from core.api.csv import CSVExportView
from core.api.permissions import has_perms
from core.api.schema import csv_responses

from ..exports import participant_export_response
from ..selectors import participant_list


class ParticipantExportView(CSVExportView):
    """Every participant: full name, e-mail, organization, ticket code, created."""

    permission_classes = [IsAuthenticated, has_perms("participants_app.view_participant")]

    @extend_schema(
        summary="All participants as CSV (view participant permission)",
        parameters=[
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=["csv"], description="`csv` (the default)."
            )
        ],
        responses=csv_responses(
            "Full name, e-mail, organization, ticket code, created (event time zone); the import "
            "reads this file back. Named `participants-<export time>.csv`.",
            {},
        ),
    )
    def get(self, request):
        return participant_export_response(participants=participant_list().order_by("full_name"))
