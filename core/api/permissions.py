"""API permission rules shared by the apps (everything under /api/ needs a signed-in user)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsStaffOrReadOnly(BasePermission):
    """Read: any authenticated user. Create, edit, delete: staff only."""

    message = "Only staff may create, change or delete this."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or user.is_staff
