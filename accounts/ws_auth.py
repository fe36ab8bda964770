"""WebSocket sign-in and origin checks (config/asgi.py).

Two ways in, as for the API: the staff browser session (the cookie, through Channels'
``AuthMiddlewareStack``) or an API token (``accounts.authentication``, the same per-process copy
as the API). A token travels in the ``Sec-WebSocket-Protocol`` header — the client offers the
subprotocols ``checkin`` and ``token.<key>``, the server answers ``checkin`` — or, for clients
that can set headers, ``Authorization: Token <key>``. Never in the URL: URLs end up in logs.

A signed-in connection also gets ``scope["sign_in_valid"]``, an async callable the consumer
calls every few seconds: False once the token was deleted or expired, or the user deactivated or
given a new password (tokens through the process's copy, so within ``API_TOKEN_CACHE_SECONDS``
of a change made in another process). The live app cannot import config; this is how it asks.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import AuthenticationFailed

from accounts.authentication import CachedTokenAuthentication

TOKEN_PREFIX = "token."


def _token_key(scope) -> str | None:
    for protocol in scope.get("subprotocols") or []:
        if protocol.startswith(TOKEN_PREFIX):
            return protocol[len(TOKEN_PREFIX) :]
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            scheme, _, key = value.decode("latin1").partition(" ")
            if scheme.lower() == "token" and key.strip():
                return key.strip()
    return None


@database_sync_to_async
def _token_user(key: str):
    if not key.isalnum() or len(key) > 64:
        return AnonymousUser()
    try:
        user, _token = CachedTokenAuthentication().authenticate_credentials(key)
    except AuthenticationFailed:
        return AnonymousUser()
    return user


@database_sync_to_async
def _session_user_unchanged(user_id, password: str) -> bool:
    # The session's own check (Django's session auth hash) ran at connect; this is the same
    # question asked again: still active, same password.
    stored = get_user_model().objects.filter(pk=user_id, is_active=True).values("password").first()
    return stored is not None and stored["password"] == password


def _token_still_valid(key: str):
    async def check() -> bool:
        return (await _token_user(key)).is_authenticated

    return check


def _session_still_valid(user):
    user_id, password = user.pk, user.password

    async def check() -> bool:
        return await _session_user_unchanged(user_id, password)

    return check


class TokenAuthMiddleware(BaseMiddleware):
    """Sign a WebSocket in with an API token when no browser session signed it in."""

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        key = _token_key(scope)
        if user is not None and user.is_authenticated:
            scope = dict(scope, sign_in_valid=_session_still_valid(user))
        elif key:
            user = await _token_user(key)
            scope = dict(scope, user=user)
            if user.is_authenticated:
                scope["sign_in_valid"] = _token_still_valid(key)
        return await super().__call__(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """Refuse a browser page from another site (its ``Origin`` is not an allowed host).

    A connection without ``Origin`` is no browser's, so no other site's page can ride on a
    staff cookie through it; it still has to sign in (with a token, or a cookie it holds).
    """

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def origin_validated(application):
    """Wrap ``application`` in the origin check against ``ALLOWED_HOSTS``."""
    allowed = list(settings.ALLOWED_HOSTS) or ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(application, allowed)
