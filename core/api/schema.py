"""OpenAPI building blocks shared by the apps' APIs (drf-spectacular)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from core.exceptions import NotFoundReason


class NotFoundReasonSerializer(serializers.Serializer):
    """404: DRF's error shape plus the reason code."""

    detail = serializers.CharField()
    reason = serializers.ChoiceField(choices=[reason.value for reason in NotFoundReason])


NOT_AUTHENTICATED = OpenApiResponse(OpenApiTypes.OBJECT, description="Not authenticated.")
# Responses of the plain CRUD endpoints (sessions and participants).
VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Bad input: field errors in DRF's shape, e.g. "
    '`{"capacity": ["Ensure this value is greater than or equal to 0."]}`.',
)
STAFF_ONLY = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="The user lacks the model permission this needs (granted in the admin).",
)
CONFLICT = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="The object has check-in history and cannot be deleted.",
)


def not_found(reason: str) -> OpenApiResponse:
    """Document a 404 carrying ``reason`` (also answered for a malformed id in the URL)."""
    return OpenApiResponse(
        NotFoundReasonSerializer,
        description=f'Unknown or malformed id: `{{"detail": ..., "reason": "{reason}"}}`.',
    )


def reason_response(*, status: int, name: str, reason: str, description: str) -> OpenApiResponse:
    """Document a ``status`` answer in DRF's error shape plus one ``reason`` code (component
    ``name``)."""
    serializer = type(
        f"{name}Serializer",
        (serializers.Serializer,),
        {
            "__doc__": f"{status}: DRF's error shape plus the reason code.",
            "__module__": __name__,
            "detail": serializers.CharField(),
            "reason": serializers.ChoiceField(choices=[reason]),
        },
    )
    return OpenApiResponse(serializer, description=description)


def crud_responses(action: str, output, reason: str) -> dict:
    """Return the documented responses of a CRUD ``action``."""
    by_action = {
        "list": {200: output, 400: VALIDATION_ERROR, 403: STAFF_ONLY},
        "retrieve": {200: output, 403: STAFF_ONLY, 404: not_found(reason)},
        "create": {201: output, 400: VALIDATION_ERROR, 403: STAFF_ONLY},
        "update": {200: output, 400: VALIDATION_ERROR, 403: STAFF_ONLY, 404: not_found(reason)},
        "destroy": {204: None, 403: STAFF_ONLY, 404: not_found(reason), 409: CONFLICT},
    }
    return {**by_action[action], 401: NOT_AUTHENTICATED}


UNKNOWN_FORMAT = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='A `format` the endpoint does not offer: `{"format": ["Unknown format; ..."]}`.',
)


def csv_responses(what: str, errors: dict) -> dict:
    """Document a CSV download: the file (``what`` its columns), and its errors as JSON."""
    errors = {400: UNKNOWN_FORMAT, 401: NOT_AUTHENTICATED, 403: STAFF_ONLY, **errors}
    return {
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=what),
        **{(status, "application/json"): response for status, response in errors.items()},
    }
