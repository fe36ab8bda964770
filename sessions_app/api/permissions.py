"""The door's API permission (the shared rules are in ``core.api.permissions``)."""

from rest_framework.permissions import BasePermission

from ..groups import user_can_check_in

DEVICE_SESSION_REASON = "device_session_not_allowed"
DEVICE_SESSION_DETAIL = "This door device may not scan at this session."


class CanCheckIn(BasePermission):
    """Check participants in and out: staff, or users with ``sessions_app.check_in`` (Door staff),
    or a paired door device at a session it may scan (the session's id in the URL)."""

    message = "Checking participants in or out needs staff status or the check_in permission."

    def has_permission(self, request, view):
        may_scan = getattr(request.user, "may_scan", None)  # a DevicePrincipal's
        if may_scan is not None and not may_scan(view.kwargs.get("pk")):
            self.message = {"detail": DEVICE_SESSION_DETAIL, "reason": DEVICE_SESSION_REASON}
            return False
        return user_can_check_in(request.user)
