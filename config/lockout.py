"""Sign-in lockout (django-axes): the client address, the 429 answer, the token endpoint.

Why django-axes, not DRF throttling: DRF's throttles count requests (not failed sign-ins) in the
cache, which is a per-process LocMem fallback while Redis is down, so a lockout would vanish in
an outage and differ between web processes; they know no user name and have no unlock. Axes
counts failures per user name and per client address in MongoDB (shared, durable, independent of
Redis), covers the admin login and every ``authenticate()`` call, and lists lockouts in the admin.
"""

from __future__ import annotations

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import PermissionDenied, ValidationError

LOCKED_OUT = "locked_out"
DETAIL = (
    "Too many failed sign-ins for this user name or from this address. Try again later, or ask "
    "an administrator to unlock it."
)


def client_ip(request) -> str | None:
    """The client's address: the peer, or the entry AUTH_LOCKOUT_PROXY_COUNT proxies appended."""
    count = settings.AUTH_LOCKOUT_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [address for address in forwarded if address]
    if count and len(forwarded) >= count:
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


def retry_after_seconds(request=None) -> int:
    cool_off = get_cool_off(request)
    return max(1, int(cool_off.total_seconds())) if cool_off else 3600


def lockout_response(request, original_response=None, credentials=None) -> JsonResponse:
    """429 in DRF's error shape with a stable reason and Retry-After (the cool-off)."""
    response = JsonResponse({"detail": DETAIL, "reason": LOCKED_OUT}, status=429)
    response["Retry-After"] = str(retry_after_seconds(request))
    return response


_TOKEN = inline_serializer(name="AuthTokenResponse", fields={"token": serializers.CharField()})
_LOCKED = inline_serializer(
    name="SignInLockedOut",
    fields={"detail": serializers.CharField(), "reason": serializers.ChoiceField([LOCKED_OUT])},
)


class ObtainAuthTokenView(ObtainAuthToken):
    """DRF's token endpoint, answering 429 (not a plain 400) once the sign-in is locked out."""

    @extend_schema(
        summary="Exchange a user name and password for an API token (door scanners)",
        request=AuthTokenSerializer,
        responses={
            200: _TOKEN,
            400: OpenApiResponse(description="Missing fields or wrong user name or password."),
            429: OpenApiResponse(_LOCKED, description="Locked out: see `Retry-After`."),
        },
    )
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except (ValidationError, PermissionDenied):
            # Axes marks the request (DRF's wrapper, which its middleware does not see) when this
            # failure reached the limit or the user name or address was already locked out.
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request)
            raise
