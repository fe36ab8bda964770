"""Reads of door devices: the list, a device by its token, its state in words."""

from __future__ import annotations

from bson import ObjectId
from django.db.models import QuerySet

from .models import DoorDevice
from .services import secret_hash

UNPAIRED, PAIRED, REVOKED = "unpaired", "paired", "revoked"


def device_list() -> QuerySet[DoorDevice]:
    """Return every device, by name."""
    return DoorDevice.objects.order_by("name", "pk")


def device_get_by_token(*, token: str) -> DoorDevice | None:
    """Return the device whose token is ``token`` (revoked ones too), or None: one indexed find."""
    if not token or len(token) > 128:
        return None
    return DoorDevice.objects.filter(token_hash=secret_hash(token)).first()


def device_get_paired(*, device_id, token_hash: str) -> DoorDevice | None:
    """Return the device if it is still paired under ``token_hash`` and not revoked, else None.

    ``device_id`` None: whichever device holds the token (a WebSocket's token).
    """
    if not token_hash:
        return None
    devices = DoorDevice.objects.filter(token_hash=token_hash, revoked_at=None)
    if device_id is not None:
        if not ObjectId.is_valid(str(device_id)):
            return None
        devices = devices.filter(pk=ObjectId(str(device_id)))
    return devices.first()


def device_state(device: DoorDevice) -> str:
    """Return ``unpaired``, ``paired`` or ``revoked``."""
    if device.revoked_at is not None:
        return REVOKED
    return PAIRED if device.token_hash else UNPAIRED
