"""Devices API: add devices (a pairing code each), list them, pair one, rotate its token."""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.contrib.auth.signals import user_login_failed
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import ModelPermissionsWithView
from core.api.schema import NOT_AUTHENTICATED, STAFF_ONLY, VALIDATION_ERROR

from ..models import DoorDevice
from ..principal import request_device
from ..selectors import device_list
from ..services import PairingError, device_create, device_pair, device_token_rotate
from .serializers import (
    DeviceInputSerializer,
    DeviceOutputSerializer,
    IssuedCodeSerializer,
    PairedSerializer,
    PairInputSerializer,
)

# The name pairing failures are counted under by the sign-in lockout (django-axes): a code is
# guessed like a password, so it is delayed like one.
PAIRING_LOCKOUT_NAME = "door-device-pairing"


class IsDevice(BasePermission):
    """A paired door device's own token (``Authorization: Device``; not a paired browser)."""

    message = "Only a paired door device, with its token, can do this."

    def has_permission(self, request, view):
        return isinstance(request.auth, DoorDevice)


_PAIRING_REFUSED = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="No code (a field error), or a code that pairs nothing: "
    '`{"detail": ..., "reason": ...}` with `pairing_code_invalid`, `pairing_code_expired`, '
    "`pairing_code_used` or `device_revoked`.",
)


class DeviceViewSet(viewsets.GenericViewSet):
    """Door devices: shared tablets and scanners, each paired once with a one-time code."""

    queryset = device_list()
    serializer_class = DeviceOutputSerializer
    pagination_class = None
    filter_backends = []

    def get_permissions(self):
        if self.action == "rotate":
            return [IsAuthenticated(), IsDevice()]
        return [IsAuthenticated(), ModelPermissionsWithView()]

    def get_serializer_class(self):
        return DeviceInputSerializer if self.action == "create" else DeviceOutputSerializer

    @extend_schema(summary="Door devices and their state (no secrets)")
    def list(self, request):
        return Response(DeviceOutputSerializer(device_list(), many=True).data)

    @extend_schema(
        summary="Add a door device; answers its one-time pairing code (valid 10 minutes)",
        request=DeviceInputSerializer,
        responses={
            201: IssuedCodeSerializer,
            400: VALIDATION_ERROR,
            401: NOT_AUTHENTICATED,
            403: STAFF_ONLY,
        },
    )
    def create(self, request):
        serializer = DeviceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        issued = device_create(
            name=data["name"],
            location=data["location"],
            session_ids=data.get("sessions"),
            created_by=request.user.get_username(),
        )
        return Response(IssuedCodeSerializer(issued).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Give this device a new token (the old one stops working at once)",
        request=None,
        responses={200: PairedSerializer, 401: NOT_AUTHENTICATED, 403: STAFF_ONLY},
    )
    @action(detail=False, methods=["post"])
    def rotate(self, request):
        issued = device_token_rotate(device=request_device(request))
        return Response(PairedSerializer(issued).data)


class DevicePairView(APIView):
    """Pair a door device with its one-time code: no sign-in (the code is the credential)."""

    authentication_classes = []  # no session, so no CSRF: a fresh tablet has neither
    permission_classes = [AllowAny]
    serializer_class = PairInputSerializer

    @extend_schema(
        summary="Pair a device: exchange its one-time code for its token (no sign-in)",
        request=PairInputSerializer,
        responses={
            200: PairedSerializer,
            400: _PAIRING_REFUSED,
            429: OpenApiResponse(description="Too many wrong codes: see `Retry-After`."),
        },
    )
    def post(self, request):
        credentials = {"username": PAIRING_LOCKOUT_NAME}
        if AxesProxyHandler.is_locked(request, credentials):
            return get_lockout_response(request, credentials=credentials)
        serializer = PairInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            issued = device_pair(code=serializer.validated_data["code"])
        except PairingError as error:
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            if getattr(request, "axes_locked_out", False):
                return get_lockout_response(request, credentials=credentials)
            body = {"detail": error.detail, "reason": error.reason}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(PairedSerializer(issued).data)
