"""API tokens: a per-process copy for a few seconds, a lifetime, and revocation.

DRF's TokenAuthentication reads the token and its user from MongoDB on every request: one round
trip per door scan before anything else happens. Here a process keeps the (user, token) pair for
``API_TOKEN_CACHE_SECONDS`` (core/process_cache.py), together with the user's permissions, so
neither the token nor the permission checks touch MongoDB again within that time. The pair is
kept as objects, not pickled; each request gets its own copies of both (``model_copy``).

Lifetime: a token expires ``API_TOKEN_LIFETIME_HOURS`` after it was issued (checked on every
request, the copy included); the expired token is deleted and signing in issues a new key.

Revocation: a password change or a deactivation, saved through the model (the admin's forms,
``set_password`` then ``save()``), deletes every token of the user. The bound: a deleted token, a
user saved or a change to a user's or a group's permissions drops the copies at once in the
process that made the change (signals below), and within ``API_TOKEN_CACHE_SECONDS`` in every
other process. A queryset ``update()`` sends no signal: it revokes nothing (a deactivation made
that way still refuses the user's requests, within the copy's seconds).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from core.process_cache import (
    model_copy,
    process_cache_clear,
    process_cache_drop,
    process_cache_get_or_load_shared,
)

EXPIRED = "Token has expired. Sign in again for a new one."
# What ModelBackend (and accounts.backends) keep on a user: set in place of a set, never changed.
_PERMISSION_CACHES = ("_perm_cache", "_user_perm_cache", "_group_perm_cache")


def _key(token_key: str) -> str:
    return f"token:{token_key}"


def token_expired(token: Token) -> bool:
    """Tell whether ``token`` is older than ``API_TOKEN_LIFETIME_HOURS``."""
    lifetime = timedelta(hours=settings.API_TOKEN_LIFETIME_HOURS)
    return token.created + lifetime <= timezone.now()


def token_issue(*, user) -> Token:
    """Return the user's token, or a new one if it has none or its token expired."""
    token, created = Token.objects.get_or_create(user=user)
    if not created and token_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    return token


def _token_credentials(key: str) -> tuple:
    """DRF's ``authenticate_credentials`` without its join: the token by its key, then its user.

    DRF reads ``Token.objects.select_related("user")``: on the MongoDB backend an aggregate that
    joins every token with its user before it matches the key (docs/mongodb-stand-in.md, "Joins
    come first"). Two reads by ``_id`` instead; the same answers and messages.
    """
    try:
        token = Token.objects.get(key=key)
    except Token.DoesNotExist:
        raise AuthenticationFailed(_("Invalid token.")) from None
    user = get_user_model().objects.filter(pk=token.user_id).first()
    if user is None or not user.is_active:
        raise AuthenticationFailed(_("User inactive or deleted."))
    token.user = user
    return user, token


class CachedTokenAuthentication(TokenAuthentication):
    """TokenAuthentication with a per-process copy of the token, its user and their permissions."""

    def authenticate_credentials(self, key):
        seconds = settings.API_TOKEN_CACHE_SECONDS
        if seconds <= 0 or not key.isalnum():
            user, token = _token_credentials(key)
        else:

            def load():
                user, token = _token_credentials(key)
                user.get_all_permissions()  # fills the user's permission caches: they travel along
                # Frozen: every request's copy shares them (Django never changes them in place;
                # a superuser's holds every permission, a few hundred strings to copy otherwise).
                for name in _PERMISSION_CACHES:
                    if isinstance(getattr(user, name, None), set):
                        setattr(user, name, frozenset(getattr(user, name)))
                return user, token

            kept_user, kept_token = process_cache_get_or_load_shared(
                _key(key), load, seconds=seconds
            )
            user, token = model_copy(kept_user), model_copy(kept_token)
            if token._state.fields_cache.get("user") is kept_user:  # token.user is the user
                token._state.fields_cache["user"] = user
        if token_expired(token):
            Token.objects.filter(key=token.key).delete()
            process_cache_drop(_key(token.key))
            raise AuthenticationFailed(EXPIRED)
        return user, token


def _drop_user_tokens(user_id, *, revoke: bool = False) -> None:
    keys = list(Token.objects.filter(user_id=user_id).values_list("key", flat=True))
    process_cache_drop(*(_key(key) for key in keys))
    if revoke and keys:
        Token.objects.filter(user_id=user_id).delete()


def _token_deleted(sender, instance: Token, **kwargs) -> None:
    process_cache_drop(_key(instance.key))


def _user_saving(sender, instance, update_fields=None, **kwargs) -> None:
    # Compare with the stored user before the save overwrites it: a new password hash or a
    # deactivation revokes the tokens. A save of other fields only (the login's last_login) is
    # not read at all.
    instance._revoke_tokens = False
    if instance.pk is None or (
        update_fields is not None and not {"password", "is_active"} & set(update_fields)
    ):
        return
    before = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is not None:
        instance._revoke_tokens = before["password"] != instance.password or (
            before["is_active"] and not instance.is_active
        )


def _user_saved(sender, instance, **kwargs) -> None:
    _drop_user_tokens(instance.pk, revoke=getattr(instance, "_revoke_tokens", False))


def _user_permissions_changed(sender, instance, **kwargs) -> None:
    if isinstance(instance, Group):  # a group's permissions: whoever is in it
        process_cache_clear()
    else:
        _drop_user_tokens(instance.pk)


User = get_user_model()
post_delete.connect(_token_deleted, sender=Token, dispatch_uid="token_copy_drop")
pre_save.connect(_user_saving, sender=User, dispatch_uid="token_revoke_compare")
post_save.connect(_user_saved, sender=User, dispatch_uid="token_copy_drop_user")
for _through in (User.user_permissions.through, User.groups.through, Group.permissions.through):
    m2m_changed.connect(
        _user_permissions_changed, sender=_through, dispatch_uid=f"token_copy_drop_{_through}"
    )
