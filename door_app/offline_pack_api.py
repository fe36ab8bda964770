"""GET /api/sessions/{id}/offline-pack/: the offline pack of a session (door_app.offline_pack).

Whoever may scan at the session may read it: a person with the check_in permission, a paired
door device at its own sessions (``Authorization: Device``, or the door page paired with a code).
The answer names nobody in clear; it is never cached by the browser's HTTP cache (the door page
keeps its own copy in IndexedDB).
"""

from __future__ import annotations

from django.utils.cache import add_never_cache_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import NOT_AUTHENTICATED, not_found
from sessions_app.api.permissions import CanCheckIn
from sessions_app.selectors import session_get

from .offline_pack import session_offline_pack

_PACK = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='`{"session": {id, title, capacity, check_in_count, status}, "salt", "kdf": '
    '{name, hash, iterations, hash_info, key_info, cipher, nonce_bytes}, "entries": [{"h", "n"}], '
    '"inside": [h, ...], "generated_at"}`: `h` a hash of the ticket code, `n` the full name '
    "encrypted with a key derived from the ticket code (docs/door-offline.md).",
)


class OfflinePackView(APIView):
    """The offline pack of one session: tickets by hash, names encrypted, who is inside."""

    permission_classes = [IsAuthenticated, CanCheckIn]

    @extend_schema(
        summary="A door's offline pack of the session (check_in permission, or its device)",
        parameters=[
            OpenApiParameter(
                "pk", OpenApiTypes.STR, OpenApiParameter.PATH, description="Session id (24 hex)."
            )
        ],
        responses={
            200: _PACK,
            401: NOT_AUTHENTICATED,
            403: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="No check_in permission, or a device at a session not its own "
                "(`device_session_not_allowed`).",
            ),
            404: not_found("session_not_found"),
        },
    )
    def get(self, request, pk):
        pack = session_offline_pack(session=session_get(session_id=pk))
        response = Response(pack.as_json())
        add_never_cache_headers(response)
        return response
