"""WebSocket sign-in of a door device (config/asgi.py puts it after the person's sign-in).

Two ways, as on HTTP: the token, offered as the subprotocol ``device.<token>`` (with
``checkin``; never in the URL) or sent as ``Authorization: Device <token>``; or a browser paired
as a device (door_app/pairing.py), whose Django session names the device. Either way the scope
gets ``user`` (a ``DevicePrincipal``) and ``sign_in_valid``, which the live consumer asks every
few seconds: False once the device is revoked, deleted, or its token rotated, and the socket is
closed. Nothing is cached: each question is one find in MongoDB.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from .middleware import SESSION_DEVICE_ID, SESSION_TOKEN_HASH
from .principal import DevicePrincipal
from .selectors import device_get_paired
from .services import secret_hash

DEVICE_PREFIX = "device."


def _device_token(scope) -> str | None:
    for protocol in scope.get("subprotocols") or []:
        if protocol.startswith(DEVICE_PREFIX):
            return protocol[len(DEVICE_PREFIX) :]
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            scheme, _, token = value.decode("latin1").partition(" ")
            if scheme.lower() == "device" and token.strip():
                return token.strip()
    return None


def _paired_credentials(scope) -> tuple[str, str] | None:
    token = _device_token(scope)
    if token:
        return None, secret_hash(token)
    session = scope.get("session")
    if session is None:
        return None
    device_id = session.get(SESSION_DEVICE_ID)
    return (device_id, session.get(SESSION_TOKEN_HASH, "")) if device_id else None


@database_sync_to_async
def _find(device_id, token_hash: str):
    return device_get_paired(device_id=device_id, token_hash=token_hash)


def _still_valid(device_pk, token_hash: str):
    async def check() -> bool:
        return await _find(device_pk, token_hash) is not None

    return check


class DeviceAuthMiddleware(BaseMiddleware):
    """Sign a WebSocket in as a door device when no person signed it in."""

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        person = user is not None and user.is_authenticated
        credentials = None if person else _paired_credentials(scope)
        if credentials is not None:
            device = await _find(*credentials)
            if device is not None:
                scope = dict(
                    scope,
                    user=DevicePrincipal(device),
                    sign_in_valid=_still_valid(device.pk, device.token_hash),
                )
        return await super().__call__(scope, receive, send)
