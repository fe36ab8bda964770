"""Jobs API: the status and progress of a job (an import), for whoever started it."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api.schema import NOT_AUTHENTICATED

from ..selectors import JobNotFoundError, job_get_for_user
from .serializers import JOB_NOT_FOUND, JobOutputSerializer


def job_for_api(*, job_id, user, kind: str | None = None):
    """Return the job the user may see, or answer 404 ``{"detail", "reason": "job_not_found"}``."""
    try:
        return job_get_for_user(job_id=job_id, user=user, kind=kind)
    except JobNotFoundError as exc:
        raise exceptions.NotFound({"detail": exc.detail, "reason": exc.reason}) from exc


class JobViewSet(viewsets.ViewSet):
    """Long-running jobs (participant imports): status, rows done of total, counts, errors."""

    lookup_value_regex = "[^/]+"
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="A job's status and progress (its starter, or users with `view job`)",
        parameters=[
            OpenApiParameter(
                "id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Job id (24 hex)."
            )
        ],
        responses={
            200: JobOutputSerializer,
            401: NOT_AUTHENTICATED,
            404: JOB_NOT_FOUND,
        },
    )
    def retrieve(self, request, pk=None):
        job = job_for_api(job_id=pk, user=request.user)
        return Response(JobOutputSerializer(job).data)
