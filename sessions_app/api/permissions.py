"""API permission rules (everything under /api/ needs an authenticated user first)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..groups import CHECK_IN_PERMISSION


class IsStaffOrReadOnly(BasePermission):
    """Read: any authenticated user. Create, edit, delete: staff only."""

    message = "Only staff may create, change or delete this."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or user.is_staff


class CanCheckIn(BasePermission):
    """Check participants in and out: staff, or users with ``sessions_app.check_in`` (Door staff)."""

    message = "Checking participants in or out needs staff status or the check_in permission."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user.is_staff or user.has_perm(CHECK_IN_PERMISSION)
