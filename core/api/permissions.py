"""API permission rules shared by the apps (everything under /api/ needs a signed-in user).

One rule for the admin and the API: what Django's model permissions grant in the admin is what
the API allows. Writes need ``add``/``change``/``delete`` on the model; reads of personal data
(participants, check-in records, the scan log) need ``view`` on it. Superusers hold every
permission. See the access table in the README.
"""

from rest_framework.permissions import BasePermission, DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """Writes need the model's add/change/delete permission; reads need a signed-in user."""

    message = "You do not have the permission (granted in the admin) to change this."


class ModelPermissionsWithView(ModelPermissions):
    """Like ``ModelPermissions``, and reads need the model's ``view`` permission (personal data)."""

    message = "You do not have the permission (granted in the admin) to see or change this."
    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


def has_perms(*perms: str) -> type[BasePermission]:
    """Return a permission class that requires a signed-in user holding every one of ``perms``."""

    class HasPerms(BasePermission):
        message = "You do not have the permission (granted in the admin) to see this."

        def has_permission(self, request, view):
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(perms))

    HasPerms.__name__ = HasPerms.__qualname__ = f"HasPerms({', '.join(perms)})"
    return HasPerms
