"""Django's ModelBackend with permission names read without a join.

``ModelBackend`` reads a user's permission names in one query across relations: the user's (or
their groups') permissions with their content types' app labels. On the MongoDB backend that is
an aggregate whose ``$lookup`` stages join every permission before anything is filtered
(docs/mongodb-stand-in.md, "Joins come first"): measured on the stand-in, 52 ms of its CPU for a
door-staff user, 22 ms for a superuser, paid by every admin request and by every API token
copy's load (``API_TOKEN_CACHE_SECONDS``, per token and web process). The stand-in also got
``values_list`` across a relation wrong (the app label came back as "1": ``has_perm`` was False
for Door staff).

Here the names come from the permission ids linked to the user and to their groups (plain reads
of Django's link collections) and a process copy of every permission's name (two plain reads of
``auth_permission`` and ``django_content_type``). The copy is read again when it lacks an id
(a permission created since, by a migration) and after ``NAMES_SECONDS``: a permission renamed
in place (a data migration; the admin has no page for it) is seen within that.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from core.process_cache import process_cache_drop, process_cache_get_or_load_shared

NAMES_KEY = "permission-names"
NAMES_SECONDS = 300.0


def _names_load() -> dict:
    apps = dict(ContentType.objects.order_by().values_list("pk", "app_label"))
    # No ordering: Permission's default one is by its content type's fields (a join).
    rows = Permission.objects.order_by().values_list("pk", "content_type_id", "codename")
    return {pk: f"{apps.get(content_type, '')}.{codename}" for pk, content_type, codename in rows}


def _names() -> dict:
    return process_cache_get_or_load_shared(NAMES_KEY, _names_load, seconds=NAMES_SECONDS)


def permission_names(ids=None) -> set[str]:
    """Return the ``app_label.codename`` of the permissions ``ids`` (every permission: None)."""
    names = _names()
    if ids is None:
        return set(names.values())
    ids = list(ids)
    if any(pk not in names for pk in ids):  # created since the copy was made
        process_cache_drop(NAMES_KEY)
        names = _names()
    return {names[pk] for pk in ids if pk in names}


def _user_permission_ids(user) -> list:
    links = get_user_model().user_permissions.through.objects
    return list(links.filter(user_id=user.pk).values_list("permission_id", flat=True))


def _group_permission_ids(user) -> list:
    groups = list(
        get_user_model()
        .groups.through.objects.filter(user_id=user.pk)
        .values_list("group_id", flat=True)
    )
    if not groups:
        return []
    links = Group.permissions.through.objects
    return list(links.filter(group_id__in=groups).values_list("permission_id", flat=True))


class MongoModelBackend(ModelBackend):
    """Authenticate like ModelBackend; permission names from link reads and a process copy."""

    def _get_permissions(self, user_obj, obj, from_name):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        cache_name = f"_{from_name}_perm_cache"
        if not hasattr(user_obj, cache_name):
            if user_obj.is_superuser:
                ids = None
            elif from_name == "user":
                ids = _user_permission_ids(user_obj)
            else:
                ids = _group_permission_ids(user_obj)
            setattr(user_obj, cache_name, permission_names(ids))
        return getattr(user_obj, cache_name)
