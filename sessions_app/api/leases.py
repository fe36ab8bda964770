"""Leases of places over the API: a door that may go offline asks for places, renews, syncs.

POST /api/sessions/{id}/leases/ is an action of ``SessionViewSet`` (views.py); the lease's own
calls (renew, sync) are here, at /api/leases/{id}/. Who may call: a paired door device (at its
own sessions) or a person with the check_in permission, each only for the leases it holds
(403 ``lease_not_yours``). Refusals are ``{"detail", "reason"}`` with a 4xx, never a 500.
"""

from bson import ObjectId
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from core.api.schema import NOT_AUTHENTICATED, VALIDATION_ERROR, not_found
from devices_app.principal import request_device

from ..groups import user_can_check_in
from ..services.leases import (
    LeaseError,
    OfflineScan,
    lease_get_for_holder,
    lease_renew,
    lease_sync,
    session_lease_grant,
)
from .lease_serializers import (
    LeaseRenewSerializer,
    LeaseRequestSerializer,
    LeaseSerializer,
    LeaseSyncAnswerSerializer,
    LeaseSyncSerializer,
)
from .permissions import DEVICE_SESSION_DETAIL, DEVICE_SESSION_REASON


class LeaseRefused(APIException):
    """A ``LeaseError`` in DRF's error shape."""

    def __init__(self, error: LeaseError):
        super().__init__({"detail": error.detail, "reason": error.reason})
        self.status_code = error.status


def _refusal(description: str) -> OpenApiResponse:
    return OpenApiResponse(OpenApiTypes.OBJECT, description=description)


LEASE_ID = OpenApiParameter(
    "id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Lease id (24 hex characters)."
)
_FORBIDDEN = _refusal(
    "No check_in permission; a device at a session not its own (`device_session_not_allowed`); "
    "a lease held by another door or user (`lease_not_yours`)."
)
_GRANT_409 = _refusal(
    '`{"detail", "reason"}`: `no_places_to_lease` (nothing free, or a capacity too small for a '
    "lease), `session_not_open`."
)
_LEASE_404 = _refusal('`{"detail", "reason": "lease_not_found"}`.')


def _holder(request) -> dict:
    return {"device": request_device(request), "actor": request.user.get_username()}


def lease_grant_response(request, session_id) -> Response:
    """POST /api/sessions/{id}/leases/ (called by ``SessionViewSet.leases``)."""
    serializer = LeaseRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        answer = session_lease_grant(
            session_id=session_id, places=serializer.validated_data["places"], **_holder(request)
        )
    except LeaseError as error:
        raise LeaseRefused(error) from error
    return Response(LeaseSerializer(answer.as_json()).data, status=201)


grant_schema = extend_schema(
    summary="Lease places of the session to this door, for scanning offline",
    description="The places are taken from the capacity now (online doors count them as "
    "taken); fewer than asked may be given (at most `LEASE_MAX_PLACES`, at most "
    "`LEASE_MAX_FRACTION` of the capacity, never more than is free). Asking again while holding "
    "a lease renews it and tops it up: the same lease.",
    request=LeaseRequestSerializer,
    responses={
        201: LeaseSerializer,
        400: VALIDATION_ERROR,
        401: NOT_AUTHENTICATED,
        403: _FORBIDDEN,
        404: not_found("session_not_found"),
        409: _GRANT_409,
    },
)


class HoldsLeases(BasePermission):
    """A paired door device, or a person with the check_in permission (the lease's holder is
    checked on the lease itself)."""

    message = "Leases need a door device or the check_in permission."

    def has_permission(self, request, view):
        return user_can_check_in(request.user)


class LeaseViewSet(viewsets.GenericViewSet):
    """A door's lease: renew it, sync the scans made offline."""

    lookup_value_regex = "[^/]+"
    permission_classes = [IsAuthenticated, HoldsLeases]
    serializer_class = LeaseSerializer

    def get_serializer_class(self):
        return {"renew": LeaseRenewSerializer, "sync": LeaseSyncSerializer}.get(
            self.action, LeaseSerializer
        )

    def _lease(self, request, pk):
        device = request_device(request)
        try:
            lease = lease_get_for_holder(
                lease_id=pk, device=device, actor=request.user.get_username(),
                may_check_in=user_can_check_in(request.user),
            )  # fmt: skip
        except LeaseError as error:
            raise LeaseRefused(error) from error
        may_scan = getattr(request.user, "may_scan", None)
        if may_scan is not None and not may_scan(lease.session_id):
            raise LeaseRefused(LeaseError(403, DEVICE_SESSION_REASON, DEVICE_SESSION_DETAIL))
        return lease

    @extend_schema(
        summary="Renew this door's lease (and top it up to `places` unused)",
        parameters=[LEASE_ID],
        request=LeaseRenewSerializer,
        responses={
            200: LeaseSerializer,
            400: VALIDATION_ERROR,
            401: NOT_AUTHENTICATED,
            403: _FORBIDDEN,
            404: _LEASE_404,
            409: _refusal('`{"detail", "reason": "lease_settled"}`: ask for a new lease.'),
        },
    )
    @action(detail=True, methods=["post"])
    def renew(self, request, pk=None):
        serializer = LeaseRenewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lease = self._lease(request, pk)
        try:
            answer = lease_renew(lease=lease, places=serializer.validated_data.get("places"))
        except LeaseError as error:
            raise LeaseRefused(error) from error
        return Response(LeaseSerializer(answer.as_json()).data)

    @extend_schema(
        summary="Sync the scans this door made offline, in order, and give places back",
        description="Each scan is answered with a verdict and its conflict, if any (also in "
        "the scan log: GET /api/sessions/{id}/conflicts/). Idempotent by each scan's nonce; the "
        "`return` once per `sync_id`. A settled lease's admissions are still recorded (the "
        "people are inside), each with the conflict `lease_expired`.",
        parameters=[LEASE_ID],
        request=LeaseSyncSerializer,
        responses={
            200: LeaseSyncAnswerSerializer,
            400: VALIDATION_ERROR,
            401: NOT_AUTHENTICATED,
            403: _FORBIDDEN,
            404: _LEASE_404,
        },
    )
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        serializer = LeaseSyncSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lease = self._lease(request, pk)
        scans = [
            OfflineScan(
                nonce=scan["nonce"], direction=scan["direction"], scanned_at=scan["scanned_at"],
                ticket_code=scan.get("ticket_code") or "",
                participant=ObjectId(scan["participant"]) if scan.get("participant") else None,
            )
            for scan in data["scans"]
        ]  # fmt: skip
        answer = lease_sync(
            lease=lease, scans=scans, give_back=data["return"], sync_id=data["sync_id"],
            **_holder(request),
        )  # fmt: skip
        return Response(answer.as_json())
