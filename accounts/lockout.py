"""Sign-in lockout (django-axes): three counts, each a short capped delay, and the 429 answer.

Why django-axes, not DRF throttling: DRF's throttles count requests (not failed sign-ins) in the
cache, which is a per-process LocMem fallback while Redis is down, so a lockout would vanish in
an outage and differ between web processes; they know no user name and have no unlock. Axes
records failures in MongoDB (shared, durable, independent of Redis), sees every
``authenticate()`` call (admin login, door login, token endpoint) and lists them in the admin.

Why this handler and not axes' own lock: axes locks a user name (or an address) for a fixed time
once it has N failures, and a success clears every count it matches. So anyone could lock any
name for as long as they kept guessing, a venue's doors behind one NAT address locked each other
out, and an account holder could clear a victim's count from the same address by signing in as
themselves. Here a lock is a delay: ``AUTH_LOCKOUT_FIRST_DELAY_SECONDS`` after the failure that
reached a limit, doubling with each further counted failure, at most
``AUTH_LOCKOUT_MAX_DELAY_SECONDS``; a sign-in refused during a delay is neither checked nor
counted, so a delay cannot be stretched. The counts, each locking only what it counts:

- a user name at one address (``AXES_FAILURE_LIMIT``): password guessing from one place;
- a user name from many addresses (``AUTH_LOCKOUT_NAME_ADDRESSES`` different ones): guessing
  spread over addresses. One address can never reach it, so an attacker at one place cannot
  delay the owner elsewhere at all;
- an address across user names (``AUTH_LOCKOUT_ADDRESS_FAILURES``, high: a venue shares one).

A success clears its own user name's failures at its own address (axes' reset with
``AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]``), nobody else's.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Q
from django.http import JsonResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts.authentication import token_issue

LOCKED_OUT = "locked_out"
DETAIL = (
    "Too many failed sign-ins for this user name or from this address. Try again after the "
    "delay in Retry-After, or ask an administrator to unlock it."
)


def client_ip(request) -> str | None:
    """The client's address: the peer, or the entry AUTH_LOCKOUT_PROXY_COUNT proxies appended."""
    count = settings.AUTH_LOCKOUT_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [address for address in forwarded if address]
    if count and len(forwarded) >= count:
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


def lockout_delay_seconds(*, beyond_limit: int) -> float:
    """Return the delay after a failure that is ``beyond_limit`` counted failures past a limit."""
    first = settings.AUTH_LOCKOUT_FIRST_DELAY_SECONDS
    return min(settings.AUTH_LOCKOUT_MAX_DELAY_SECONDS, first * 2 ** min(beyond_limit, 32))


def _remaining(rows: list[dict], *, count: int, limit: int, now: datetime) -> float:
    if not rows or count < limit:
        return 0.0
    last = max(row["attempt_time"] for row in rows)
    delay = timedelta(seconds=lockout_delay_seconds(beyond_limit=count - limit))
    return max(0.0, (last + delay - now).total_seconds())


def lockout_seconds(*, username: str | None, ip_address: str | None, now: datetime) -> float:
    """Return how long sign-ins for ``username`` from ``ip_address`` are still refused (0: not)."""
    scopes = [Q(ip_address=ip_address)] if ip_address else []
    if username is not None:
        scopes.append(Q(username=username))
    if not scopes:
        return 0.0
    since = now - settings.AXES_COOLOFF_TIME
    query = scopes[0] if len(scopes) == 1 else scopes[0] | scopes[1]
    rows = list(
        AccessAttempt.objects.filter(query, attempt_time__gte=since).values(
            "username", "ip_address", "failures_since_start", "attempt_time"
        )
    )
    name = [row for row in rows if username is not None and row["username"] == username]
    pair = [row for row in name if row["ip_address"] == ip_address]
    address = [row for row in rows if ip_address and row["ip_address"] == ip_address]

    def failures(some: list[dict]) -> int:
        return sum(row["failures_since_start"] for row in some)

    return max(
        _remaining(pair, count=failures(pair), limit=settings.AXES_FAILURE_LIMIT, now=now),
        _remaining(
            name,
            count=len({row["ip_address"] for row in name}),
            limit=settings.AUTH_LOCKOUT_NAME_ADDRESSES,
            now=now,
        ),
        _remaining(
            address,
            count=failures(address),
            limit=settings.AUTH_LOCKOUT_ADDRESS_FAILURES,
            now=now,
        ),
    )


class LockoutHandler(AxesDatabaseHandler):
    """Axes' MongoDB-stored attempts, locked by the three counts above (never a fixed lock)."""

    def is_locked(self, request, credentials=None) -> bool:
        seconds = lockout_seconds(
            username=get_client_username(request, credentials),
            ip_address=getattr(request, "axes_ip_address", None),
            # Not the request's axes_attempt_time: a new attempt row is stamped at its save.
            now=timezone.now(),
        )
        request.axes_lockout_seconds = seconds
        return seconds > 0

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        # Axes judged the failure by the (user name, address) count alone; the failure that
        # reaches the name's or the address's limit is answered 429 as well.
        if request is not None and self.is_locked(request, credentials):
            request.axes_locked_out = True
            request.axes_credentials = credentials


def retry_after_seconds(request) -> int:
    return max(1, math.ceil(getattr(request, "axes_lockout_seconds", 0.0)))


def lockout_response(request, original_response=None, credentials=None) -> JsonResponse:
    """429 in DRF's error shape with a stable reason and Retry-After (the delay left)."""
    response = JsonResponse({"detail": DETAIL, "reason": LOCKED_OUT}, status=429)
    response["Retry-After"] = str(retry_after_seconds(request))
    return response


_TOKEN = inline_serializer(name="AuthTokenResponse", fields={"token": serializers.CharField()})
_LOCKED = inline_serializer(
    name="SignInLockedOut",
    fields={"detail": serializers.CharField(), "reason": serializers.ChoiceField([LOCKED_OUT])},
)


class ObtainAuthTokenView(ObtainAuthToken):
    """DRF's token endpoint: 429 once locked out, a new key once the old one expired."""

    @extend_schema(
        summary="Exchange a user name and password for an API token (door scanners)",
        description="The token expires `API_TOKEN_LIFETIME_HOURS` after it was issued; signing in "
        "again before that returns the same key, afterwards a new one.",
        request=AuthTokenSerializer,
        responses={
            200: _TOKEN,
            400: OpenApiResponse(description="Missing fields or wrong user name or password."),
            429: OpenApiResponse(_LOCKED, description="Locked out: see `Retry-After`."),
        },
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except (ValidationError, PermissionDenied):
            # Axes marks the request (DRF's wrapper, which its middleware does not see) when this
            # failure reached a limit or the sign-in was refused during a delay.
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request)
            raise
        user = serializer.validated_data["user"]
        # No login() here, so axes' reset on success does not run: clear the same attempts.
        AxesProxyHandler.reset_attempts(username=user.get_username(), ip_address=client_ip(request))
        return Response({"token": token_issue(user=user).key})
