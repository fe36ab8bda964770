"""Who a paired device is to the rest of the app: ``request.user`` of a device's request.

A device is not a Django user: it has no password, no admin access and no permissions. Its
requests (API token, or a door page paired with a code) carry a ``DevicePrincipal``; the door's
permission rule lets it check in and out, at its own sessions only (``may_scan``).
"""

from __future__ import annotations

from .models import DoorDevice


class DevicePrincipal:
    """``request.user`` for a paired door device."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, device: DoorDevice):
        self.door_device = device

    def __str__(self) -> str:
        return self.door_device.name

    def get_username(self) -> str:
        return self.door_device.name

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perm_list, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label) -> bool:
        return False

    def may_scan(self, session_id) -> bool:
        """Tell whether the device may check in and out at ``session_id``."""
        device = self.door_device
        return device.all_sessions or str(session_id) in {str(s) for s in device.session_ids}


def request_device(request) -> DoorDevice | None:
    """Return the paired device a request comes from, or None for a person (or anonymous)."""
    return getattr(request.user, "door_device", None)
