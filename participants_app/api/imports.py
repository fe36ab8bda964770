"""Participant import API: upload a file for a preview, then confirm it (staff: add + change)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api.fields import RejectUnknownFieldsMixin
from core.api.permissions import has_perms
from core.api.schema import NOT_AUTHENTICATED, STAFF_ONLY, VALIDATION_ERROR, reason_response
from jobs_app.api.serializers import JOB_NOT_FOUND, JobOutputSerializer
from jobs_app.api.views import job_for_api

from ..imports.files import MAX_BYTES, ImportFileError
from ..imports.retention import PREVIEW_EXPIRED_MESSAGE, ImportPreviewExpired
from ..imports.services import IMPORT_KIND, participant_import_confirm, participant_import_preview

IMPORT_PERMISSIONS = ("participants_app.add_participant", "participants_app.change_participant")


class ImportUploadSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV (UTF-8, with or without BOM; `,` or `;`) or XLSX, at most 5 MB and "
        "50,000 rows, with a header row: full name, e-mail, organization, ticket code."
    )

    def validate_file(self, value):
        if value.size > MAX_BYTES:
            raise serializers.ValidationError(
                f"The file is too large: at most {MAX_BYTES // (1024 * 1024)} MB."
            )
        return value


class PreviewRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    action = serializers.ChoiceField(choices=["create", "update", "unchanged", "error"])
    full_name = serializers.CharField()
    email = serializers.CharField()
    organization = serializers.CharField(allow_blank=True)
    ticket_code = serializers.CharField(allow_blank=True)
    messages = serializers.ListField(child=serializers.CharField())
    changes = serializers.ListField(child=serializers.CharField(), required=False)


class ImportPreviewSerializer(serializers.Serializer):
    job = serializers.CharField(source="job.pk", help_text="Confirm with this id.")
    status = serializers.CharField(source="job.status")
    confirm_url = serializers.SerializerMethodField()
    format = serializers.ChoiceField(choices=["csv", "xlsx"])
    columns = serializers.ListField(child=serializers.CharField())
    ignored_columns = serializers.ListField(child=serializers.CharField())
    total = serializers.IntegerField(source="job.total")
    counts = serializers.DictField(child=serializers.IntegerField())
    rows = PreviewRowSerializer(
        many=True, help_text="The first 200 rows and every error row (up to 1,000)."
    )

    def get_confirm_url(self, preview) -> str:
        return self.context["request"].build_absolute_uri(
            f"/api/participants/import/{preview.job.pk}/confirm/"
        )


PREVIEW_EXPIRED = reason_response(
    status=409,
    name="PreviewExpired",
    reason="preview_expired",
    description="Not confirmed within `IMPORT_PREVIEW_EXPIRY_HOURS` (24 h): its rows were "
    f'deleted. `{{"detail": "{PREVIEW_EXPIRED_MESSAGE}", "reason": "preview_expired"}}`.',
)

JOB_ID = OpenApiParameter(
    "id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Import job id (24 hex)."
)


class ParticipantImportViewSet(viewsets.ViewSet):
    """Import participants from a spreadsheet: preview first, nothing written before confirm."""

    lookup_value_regex = "[^/]+"
    permission_classes = [IsAuthenticated, has_perms(*IMPORT_PERMISSIONS)]
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Upload a CSV/XLSX file: the preview of what it would do (staff)",
        description="Every row is validated and matched by e-mail (case-insensitive). Nothing is "
        "written until the returned job is confirmed.",
        request={"multipart/form-data": ImportUploadSerializer},
        responses={
            201: ImportPreviewSerializer,
            400: VALIDATION_ERROR,
            401: NOT_AUTHENTICATED,
            403: STAFF_ONLY,
        },
    )
    def create(self, request):
        serializer = ImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        try:
            preview = participant_import_preview(
                content=upload.read(), file_name=upload.name, user_name=request.user.get_username()
            )
        except ImportFileError as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from exc
        data = ImportPreviewSerializer(preview, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Confirm a previewed import: it runs as a job (staff)",
        description="Queued through the outbox: with the broker down it starts later and its "
        "status stays `queued`. Follow it at `/api/jobs/{id}/`. Confirming twice changes nothing.",
        parameters=[JOB_ID],
        request=None,
        responses={
            202: JobOutputSerializer,
            401: NOT_AUTHENTICATED,
            403: STAFF_ONLY,
            404: JOB_NOT_FOUND,
            409: PREVIEW_EXPIRED,
        },
    )
    @action(detail=True, methods=["post"], parser_classes=[])
    def confirm(self, request, pk=None):
        job = job_for_api(job_id=pk, user=request.user, kind=IMPORT_KIND)
        try:
            job = participant_import_confirm(job=job)
        except ImportPreviewExpired:
            return Response(
                {"detail": PREVIEW_EXPIRED_MESSAGE, "reason": "preview_expired"},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)
