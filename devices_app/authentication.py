"""How a door device proves who it is: ``Authorization: Device <token>`` on the API.

Revocation is never cached: each request finds the device by its token's hash (one indexed
find in MongoDB, nothing kept in the process), so revoking a device in the admin, or deleting
it, fails its next request in every web process. ``last_seen_at`` is written at most every
``SEEN_EVERY`` per device and process, and a failed write never fails the request.

A device may reach only the endpoints in ``DEVICE_ENDPOINTS`` (deny by default: an endpoint
added later is closed to devices until listed here); which sessions it may scan at is the
door's permission (``sessions_app.api.permissions.CanCheckIn``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import DatabaseError
from django.utils import timezone
from pymongo.errors import PyMongoError
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied

from .models import DoorDevice
from .principal import DevicePrincipal
from .selectors import device_get_by_token
from .services import device_seen

logger = logging.getLogger(__name__)

KEYWORD = "Device"
SEEN_EVERY = timedelta(seconds=30)
# URL names (namespace "api") a device may POST to: check in, check out, undo a scan, rotate
# its token, lease places and renew and sync its lease (sessions_app/api/leases.py). Only these
# canonical URLs (not their ``.json`` twins), and only POST.
DEVICE_ENDPOINTS = frozenset(
    {
        "session-check-in", "session-check-out", "session-undo", "device-rotate",
        "session-leases", "lease-renew", "lease-sync",
    }
)  # fmt: skip
DEVICE_METHOD = "POST"
# URL names a device may GET: its session's offline pack (door_app, docs/door-offline.md).
DEVICE_READS = frozenset({"session-offline-pack"})
NOT_ALLOWED = "device_not_allowed"
REVOKED = "device_revoked"
INVALID = "device_token_invalid"


def device_may_reach(request) -> bool:
    """Tell whether a device may make ``request`` (a Django request): the API allow-list."""
    match = getattr(request, "resolver_match", None)
    if match is None or "format" in match.kwargs or match.namespace != "api":
        return False
    if request.method == "GET":
        return match.url_name in DEVICE_READS
    return request.method == DEVICE_METHOD and match.url_name in DEVICE_ENDPOINTS


def device_not_allowed() -> PermissionDenied:
    """The 403 of an endpoint a door device may not use."""
    return PermissionDenied(
        {"detail": "A door device may only check in and out.", "reason": NOT_ALLOWED}
    )


def device_note_seen(device: DoorDevice) -> None:
    """Write ``last_seen_at`` if the stored one is older than ``SEEN_EVERY``; never raise."""
    now = timezone.now()
    if device.last_seen_at is not None and now - device.last_seen_at < SEEN_EVERY:
        return
    try:
        device_seen(device=device, now=now)
    except (DatabaseError, PyMongoError) as error:  # telemetry: the scan matters more
        logger.warning("Device last-seen write failed: %s", type(error).__name__)


def device_authenticate(token: str) -> DoorDevice:
    """Return the device of ``token``, or raise 401 (unknown token, revoked device)."""
    device = device_get_by_token(token=token)
    if device is None:
        raise AuthenticationFailed({"detail": "Invalid device token.", "reason": INVALID})
    if device.revoked_at is not None:
        raise AuthenticationFailed(
            {"detail": "This device was revoked. Pair a new device.", "reason": REVOKED}
        )
    return device


class DeviceTokenAuthentication(BaseAuthentication):
    """``Authorization: Device <token>``: request.user a ``DevicePrincipal``, request.auth the
    device."""

    keyword = KEYWORD

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        if len(auth) != 2:
            raise AuthenticationFailed(
                {"detail": "Invalid device header: Device <token>.", "reason": INVALID}
            )
        try:
            token = auth[1].decode("ascii")
        except UnicodeError as error:
            raise AuthenticationFailed(
                {"detail": "Invalid device token.", "reason": INVALID}
            ) from error
        device = device_authenticate(token)
        device_note_seen(device)
        if not device_may_reach(request._request):
            raise device_not_allowed()
        return DevicePrincipal(device), device

    def authenticate_header(self, request):
        return self.keyword
