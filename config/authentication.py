"""API token authentication that keeps each process's copy of a token for a few seconds.

DRF's TokenAuthentication reads the token and its user from MongoDB on every request: one round
trip per door scan before anything else happens. Here a process keeps the (user, token) pair for
``API_TOKEN_CACHE_SECONDS`` (core/process_cache.py), together with the user's permissions, so
neither the token nor the permission checks touch MongoDB again within that time.

The bound on revocation: a deleted token, a user saved (deactivated, made non-staff) or a change
to a user's or a group's permissions drops the copies at once in the process that made the change
(signals below), and within ``API_TOKEN_CACHE_SECONDS`` in every other process.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from core.process_cache import process_cache_clear, process_cache_drop, process_cache_get_or_load


def _key(token_key: str) -> str:
    return f"token:{token_key}"


class CachedTokenAuthentication(TokenAuthentication):
    """TokenAuthentication with a per-process copy of the token, its user and their permissions."""

    def authenticate_credentials(self, key):
        seconds = settings.API_TOKEN_CACHE_SECONDS
        if seconds <= 0 or not key.isalnum():
            return super().authenticate_credentials(key)

        def load():
            user, token = super(CachedTokenAuthentication, self).authenticate_credentials(key)
            user.get_all_permissions()  # fills the user's permission caches: they travel along
            return user, token

        return process_cache_get_or_load(_key(key), load, seconds=seconds)


def _drop_user_tokens(user_id) -> None:
    keys = Token.objects.filter(user_id=user_id).values_list("key", flat=True)
    process_cache_drop(*(_key(key) for key in keys))


def _token_deleted(sender, instance: Token, **kwargs) -> None:
    process_cache_drop(_key(instance.key))


def _user_saved(sender, instance, **kwargs) -> None:
    _drop_user_tokens(instance.pk)


def _user_permissions_changed(sender, instance, **kwargs) -> None:
    if isinstance(instance, Group):  # a group's permissions: whoever is in it
        process_cache_clear()
    else:
        _drop_user_tokens(instance.pk)


User = get_user_model()
post_delete.connect(_token_deleted, sender=Token, dispatch_uid="token_copy_drop")
post_save.connect(_user_saved, sender=User, dispatch_uid="token_copy_drop_user")
for _through in (User.user_permissions.through, User.groups.through, Group.permissions.through):
    m2m_changed.connect(
        _user_permissions_changed, sender=_through, dispatch_uid=f"token_copy_drop_{_through}"
    )
