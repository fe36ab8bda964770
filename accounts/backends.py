"""Django's ModelBackend with a permission query the MongoDB backend answers correctly.

``ModelBackend`` reads permissions with ``values_list("content_type__app_label", "codename")``;
on the SecantusDB stand-in a ``values_list`` across a relation returns wrong data (the app label
comes back as "1"), so ``user.has_perm("sessions_app.check_in")`` was False for Door staff. The
same data read with ``values(alias=F(...))`` is right on the stand-in and on MongoDB.
"""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import F


class MongoModelBackend(ModelBackend):
    """Authenticate like ModelBackend; compute permission names with aliased values()."""

    def _get_permissions(self, user_obj, obj, from_name):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        cache_name = f"_{from_name}_perm_cache"
        if not hasattr(user_obj, cache_name):
            if user_obj.is_superuser:
                perms = Permission.objects.all()
            else:
                perms = getattr(self, f"_get_{from_name}_permissions")(user_obj)
            rows = perms.values(app=F("content_type__app_label"), code=F("codename")).order_by()
            setattr(user_obj, cache_name, {f"{row['app']}.{row['code']}" for row in rows})
        return getattr(user_obj, cache_name)
