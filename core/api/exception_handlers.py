"""The API's exception handler: domain errors in DRF's error shape, never a 500 for bad input."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.exceptions import NotFoundError


def api_exception_handler(exc, context):
    """Translate service-layer errors, then defer to DRF.

    - Django ``ValidationError`` from a service: 400 with field errors (``message_dict``) or
      ``non_field_errors``.
    - ``NotFoundError``: 404 ``{"detail": ..., "reason": "session_not_found" | ...}``.
    - ``ProtectedError``: 409 ``{"detail": ...}`` (the object has check-in history).
    """
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {
                ("non_field_errors" if field == "__all__" else field): messages
                for field, messages in exc.message_dict.items()
            }
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, NotFoundError):
        return Response({"detail": exc.detail, "reason": exc.reason}, status=404)
    elif isinstance(exc, ProtectedError | RestrictedError):
        return Response(
            {
                "detail": "This object has check-in history and cannot be deleted "
                "(a session can be closed or cancelled instead)."
            },
            status=status.HTTP_409_CONFLICT,
        )
    return exception_handler(exc, context)
