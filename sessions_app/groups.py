"""The "Door staff" group: users in it may check participants in and out, and nothing more."""

from django.apps import apps as global_apps

DOOR_STAFF_GROUP = "Door staff"
CHECK_IN_PERMISSION = "sessions_app.check_in"  # app_label.codename, for user.has_perm()
_CODENAME = "check_in"
_PERMISSION_NAME = "Can check participants in and out of sessions"


def user_can_check_in(user) -> bool:
    """The door rule, for the API and the admin alike: staff, or the ``check_in`` permission, or
    a paired door device (at its own sessions only: ``DevicePrincipal.may_scan``)."""
    if not (user and user.is_authenticated):
        return False
    if getattr(user, "door_device", None) is not None:
        return True
    return user.is_staff or user.has_perm(CHECK_IN_PERMISSION)


def door_staff_group_ensure(*, apps=global_apps) -> bool:
    """Create the group and the ``check_in`` permission if missing; return True if created.

    Takes the app registry so the data migration can pass its historical models: Django creates
    permissions only after all migrations ran, so the migration creates this one itself.
    """
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")
    group_model = apps.get_model("auth", "Group")
    content_type, _ = content_type_model.objects.get_or_create(
        app_label="sessions_app", model="checkin"
    )
    permission, _ = permission_model.objects.get_or_create(
        codename=_CODENAME, content_type=content_type, defaults={"name": _PERMISSION_NAME}
    )
    group, created = group_model.objects.get_or_create(name=DOOR_STAFF_GROUP)
    group.permissions.add(permission)
    return created


def door_staff_bootstrap() -> str:
    """Ensure the group exists (a bootstrap step); return a message for the console."""
    created = door_staff_group_ensure()
    return f"Group '{DOOR_STAFF_GROUP}' {'created' if created else 'exists'}."
