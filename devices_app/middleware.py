"""A browser paired as a door device: ``request.user`` is the device for the door page.

Pairing the door page (door_app/pairing.py) keeps the device's id and its token's hash in the
Django session (MongoDB), never the token itself. On each request that reads ``request.user``
the device is found again by id and token hash, not revoked (one find by primary key): a
revocation, a deletion or a rotation of the token ends the browser's pairing at its next request.
A person signed in on the same browser comes first.

A paired browser reaches the door page, the health URLs and the API endpoints a device may call
(``authentication.device_may_reach``); every other page (the admin, the board, the rest of the
API) answers 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.functional import SimpleLazyObject

from core.middleware import busy_response, database_unavailable_response
from core.mongo_failures import is_database_unavailable, note_database_failure

from .authentication import device_may_reach, device_note_seen
from .principal import DevicePrincipal
from .selectors import device_get_paired

SESSION_DEVICE_ID = "door_device_id"
SESSION_TOKEN_HASH = "door_device_token_hash"
# What a paired browser may open besides the API's allow-list: the door page, the health URLs.
DOOR_NAMESPACE = "door"
HEALTH_PREFIX = "health"


def session_device_remember(request, *, device) -> None:
    """Remember in ``request``'s session that this browser is ``device`` (a new session key)."""
    request.session.cycle_key()
    request.session[SESSION_DEVICE_ID] = str(device.pk)
    request.session[SESSION_TOKEN_HASH] = device.token_hash


def session_device(request):
    """Return the paired device the session names, if still paired and not revoked, else None."""
    device_id = request.session.get(SESSION_DEVICE_ID)
    if not device_id:
        return None
    device = device_get_paired(
        device_id=device_id, token_hash=request.session.get(SESSION_TOKEN_HASH, "")
    )
    if device is None:  # revoked, deleted, re-paired or rotated: this browser is not it any more
        request.session.pop(SESSION_DEVICE_ID, None)
        request.session.pop(SESSION_TOKEN_HASH, None)
        return None
    device_note_seen(device)
    return device


def _user(request, person):
    if person.is_authenticated or not request.session.get(SESSION_DEVICE_ID):
        return person
    device = session_device(request)
    return DevicePrincipal(device) if device is not None else person


class DeviceSessionMiddleware:
    """After Django's AuthenticationMiddleware: a paired browser's ``request.user`` is its device."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Lazy, like Django's: the session and the device are read only if the user is (inside
        # the database middleware's deadline and 503, never before it).
        person = request.user
        request.user = SimpleLazyObject(lambda: _user(request, person))
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.COOKIES:
            return None
        try:
            device = getattr(request.user, "door_device", None)
        except Exception as error:  # outside the view: the database middleware cannot answer it
            if not is_database_unavailable(error):
                raise
            # As core.middleware answers it in a view: slow (answers a ping) is busy, else 503.
            if not note_database_failure(error):
                return busy_response()
            return database_unavailable_response()
        if device is None:
            return None
        match = request.resolver_match
        door = match.namespace == DOOR_NAMESPACE
        health = not match.namespace and (match.url_name or "").startswith(HEALTH_PREFIX)
        if door or health or device_may_reach(request):
            return None
        raise PermissionDenied("A door device may only use the door page.")
