"""The door's API permission (the shared rules are in ``core.api.permissions``)."""

from rest_framework.permissions import BasePermission

from ..groups import user_can_check_in


class CanCheckIn(BasePermission):
    """Check participants in and out: staff, or users with ``sessions_app.check_in`` (Door staff)."""

    message = "Checking participants in or out needs staff status or the check_in permission."

    def has_permission(self, request, view):
        return user_can_check_in(request.user)
